"""CLI command families.

Each module here defines ``register(subparsers)`` that adds its sub-commands and sets
``handler`` as the parser default.  Modules must import heavy libraries (pandas,
geopandas, folium, scipy, dask) inside their handlers only, so that ``corridors --help``
and ``corridors share`` start fast.
"""

#: Modules registered by :func:`corridors.cli.build_parser`, in help order.
COMMAND_MODULES = (
    "corridors.commands.core",
    "corridors.commands.maps",
    "corridors.commands.tntp",
    "corridors.commands.scenario",
    "corridors.commands.calibrate",
    "corridors.commands.backcast",
    "corridors.commands.cache",
)
