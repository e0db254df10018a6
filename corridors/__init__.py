"""corridors: an open model of Eurasian freight corridors.

Geo layers -> a freight network (NetworkX) -> route choice -> route-share queries.
The public API is small; everything else lives in the modules named for what they hold.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "CorridorsError",
    "LayerError",
    "QueryError",
    "CostParameters",
    "Network",
    "load_network",
    "load_demand",
    "validate_geodata",
    "assign",
    "AssignmentResult",
    "ShareResult",
    "best_routes",
    "Scenario",
    "load_scenario",
    "run_scenario",
    "sweep",
    "network_map",
    "flow_map",
    "compare_map",
    "save_map",
]

from corridors._errors import CorridorsError, LayerError, QueryError  # noqa: E402

_LAZY = {
    "CostParameters": "corridors.network",
    "Network": "corridors.network",
    "load_network": "corridors.network",
    "validate_geodata": "corridors.layers",
    "load_demand": "corridors.assignment",
    "assign": "corridors.assignment",
    "AssignmentResult": "corridors.assignment",
    "best_routes": "corridors.share",
    "ShareResult": "corridors.share",
    "Scenario": "corridors.scenario_schema",
    "load_scenario": "corridors.scenario_schema",
    "run_scenario": "corridors.scenarios",
    "sweep": "corridors.montecarlo",
    "network_map": "corridors.maps",
    "flow_map": "corridors.maps",
    "compare_map": "corridors.maps",
    "save_map": "corridors.maps",
}


def __getattr__(name: str):
    # Lazy re-exports keep `import corridors` (and so the CLI's start) cheap.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'corridors' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
