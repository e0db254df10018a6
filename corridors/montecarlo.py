"""Monte Carlo sweeps over a scenario's uncertain inputs, run on Dask.

:func:`sweep` applies the scenario, builds the array model once
(:func:`corridors.sweep_model.compile_model`) and evaluates the draws in fixed-size chunks,
in this process or as Dask tasks (a ``LocalCluster`` or a running scheduler).  The inputs
of draw ``i`` come from ``numpy.random.default_rng(SeedSequence(seed, spawn_key=(i,)))``
and a draw's result does not depend on its chunk, so the results depend on the seed only,
never on the number of workers or the scheduler.  The math of a draw is
:mod:`corridors.sweep_model` (the formulas of :mod:`corridors.kernel`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from corridors._errors import QueryError, ScenarioError
from corridors.assignment import METHODS, route_key, route_sets, sue_choice_sets
from corridors.network import Network
from corridors.scenario_apply import apply_scenario, unreachable_error
from corridors.scenario_schema import Scenario, load_scenario
from corridors.sweep_model import Query, SweepModel, compile_mode_block, compile_model, evaluate, sample

__all__ = ["SweepResult", "sweep", "CHUNK_SIZE", "CHUNK_SIZE_EQUILIBRIUM"]

#: Draws per task (logit/shortest, equilibrium methods).  A draw's result does not depend
#: on the chunking; the sizes only balance task overhead against parallelism.
CHUNK_SIZE = 50
CHUNK_SIZE_EQUILIBRIUM = 10
_OUTPUT_ORDER = ("share", "through_teu", "total_teu", "stranded_teu", "iterations", "flow_change")


def _evaluate_chunk(model: SweepModel, inputs: np.ndarray, method: str) -> dict[str, np.ndarray]:
    """Dask task: evaluate one chunk of draws (module level so workers can import it)."""
    return evaluate(model, inputs, method)


@dataclass(frozen=True)
class SweepResult:
    """The outcome of :func:`sweep`.

    Attributes
    ----------
    scenario : Scenario
    method : str
    seed, draws : int
    through, from_, to : str
        The share query.
    table : pandas.DataFrame
        One row per draw: ``draw``, the drawn inputs (one column per uncertain name), and
        the outputs ``share``, ``through_teu``, ``total_teu``, ``stranded_teu`` (TEU/year
        from ``from_`` to ``to``), ``corridor:<name>`` and ``gateway:<name>`` (TEU/year).
    seconds : float
        Wall time of the draws (without building the model).
    runner : str
        Where the draws ran (``in-process``, ``LocalCluster(2 workers)``, a scheduler address).
    year : int or None
        Model year of a sweep with the mode choice (the table then has the drawn
        ``mode_choice:<parameter>`` and ``year_demand`` and the outputs
        ``land_teu:<direction>``, ``sea_teu:<direction>``, TEU/year).
    """

    scenario: Scenario
    method: str
    seed: int
    draws: int
    through: str
    from_: str
    to: str
    table: Any = field(repr=False)
    seconds: float = 0.0
    setup_seconds: float = 0.0
    runner: str = "in-process"
    year: int | None = None

    @property
    def draws_per_second(self) -> float:
        """Draws evaluated per second of wall time (model building excluded)."""
        return self.draws / self.seconds if self.seconds > 0 else math.inf

    def _percentile_rows(self, q: tuple[float, ...] = (5, 50, 95)) -> dict[str, dict[str, float]]:
        outputs = [c for c in self.table.columns if c in ("share", "through_teu", "total_teu", "stranded_teu")
                   or c.startswith(("corridor:", "gateway:", "land_teu:", "sea_teu:"))]
        out = {}
        for col in outputs:
            values = self.table[col].to_numpy(dtype=float)
            values = values[np.isfinite(values)]
            out[col] = {f"p{p:g}": (float(np.percentile(values, p)) if values.size else math.nan) for p in q}
            out[col]["mean"] = float(values.mean()) if values.size else math.nan
        return out

    def percentiles(self, q: tuple[float, ...] = (5, 50, 95)):
        """Percentiles (p5/p50/p95 by default) and mean of every output column.

        Returns
        -------
        pandas.DataFrame
            Index ``output`` (``share`` (0..1), ``through_teu``, ``total_teu``,
            ``stranded_teu``, ``corridor:<name>``, ``gateway:<name>``, TEU/year); columns
            ``p5``, ``p50``, ``p95`` (one per ``q``) and ``mean``.
        """
        from corridors.share import table_frame

        return table_frame(self._percentile_rows(q), "output", (*(f"p{p:g}" for p in q), "mean"))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no per-draw rows)."""
        return {"scenario": self.scenario.name, "method": self.method, "year": self.year, "seed": self.seed,
                "draws": self.draws,
                "query": {"through": self.through, "from": self.from_, "to": self.to},
                "inputs": list(self.scenario.uncertain), "runner": self.runner, "seconds": self.seconds,
                "draws_per_second": self.draws_per_second, "percentiles": self._percentile_rows()}

    def summary(self) -> str:
        """p5/p50/p95 table for the terminal."""
        pct = self._percentile_rows()
        lines = [
            f"sweep of {self.scenario.name}: {self.draws} draws, seed {self.seed}, method {self.method}, "
            f"{self.runner}, {self.seconds:.1f} s ({self.draws_per_second:,.0f} draws/s)",
            f"{'output':<52} {'p5':>12} {'p50':>12} {'p95':>12}",
        ]
        share = pct["share"]
        lines.append(f"{'share ' + self.from_ + ' -> ' + self.to + ' through ' + self.through:<52} "
                     f"{share['p5']:>12.1%} {share['p50']:>12.1%} {share['p95']:>12.1%}")
        for col in (["through_teu", "total_teu", "stranded_teu"] + [c for c in pct if c.startswith("corridor:")]
                    + [c for c in pct if c.startswith(("land_teu:", "sea_teu:"))]):
            if col == "stranded_teu" and pct[col]["p95"] == 0:
                continue
            row = pct[col]
            name = col.replace("corridor:", "TEU ") if col.startswith("corridor:") else col
            lines.append(f"{name:<52.52} {row['p5']:>12,.0f} {row['p50']:>12,.0f} {row['p95']:>12,.0f}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        share = self._percentile_rows()["share"]
        return (f"<SweepResult {self.scenario.name}: {self.draws} draws (seed {self.seed}, {self.method}), share "
                f"{self.from_}->{self.to} through {self.through} p50 {share['p50']:.1%} "
                f"[p5 {share['p5']:.1%}, p95 {share['p95']:.1%}]>")

    def _repr_html_(self) -> str:
        from corridors.share import html_card

        lines = [f"{self.draws} draws, seed {self.seed}, method {self.method}, {self.runner}, "
                 f"{self.seconds:.1f} s ({self.draws_per_second:,.0f} draws/s)",
                 f"share of {self.from_} -> {self.to} TEU through {self.through} and TEU/year by output; "
                 f"per-draw rows in .table"]
        return html_card(f"SweepResult {self.scenario.name}", lines, [("percentiles", self.percentiles())])

    def to_parquet(self, path: str | Path) -> Path:
        """Write the per-draw table as Parquet (atomically), with the run in its metadata."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from corridors._io import atomic_path

        table = pa.Table.from_pandas(self.table, preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta[b"corridors.sweep"] = json.dumps({k: v for k, v in self.to_dict().items() if k != "percentiles"},
                                              default=str).encode()
        table = table.replace_schema_metadata(meta)
        target = Path(path)
        with atomic_path(target) as tmp:
            pq.write_table(table, tmp)
        return target


def _chunks(inputs: np.ndarray, size: int) -> list[np.ndarray]:
    return [inputs[i:i + size] for i in range(0, inputs.shape[0], size)] or [inputs]


def _main_guarded() -> bool | None:
    """Whether the running script calls us from under ``if __name__ == "__main__":``.

    None when ``__main__`` is not a script file (Jupyter, ``python -c``, an interactive
    session): Dask's worker processes do not re-run anything there.
    """
    import ast
    import inspect
    import sys

    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or not path or not str(path).endswith(".py") or not Path(path).is_file():
        return None
    line = None
    frame = inspect.currentframe()
    while frame is not None:  # the outermost frame running the script's own top level
        if frame.f_globals is main.__dict__ and frame.f_code.co_name == "<module>":
            line = frame.f_lineno
        frame = frame.f_back
    if line is None:
        return None
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None

    def is_main_test(test: ast.expr) -> bool:
        return (isinstance(test, ast.Compare) and len(test.comparators) == 1
                and {ast.unparse(test.left), ast.unparse(test.comparators[0])} == {"__name__", "'__main__'"})

    for node in tree.body:
        if isinstance(node, ast.If) and is_main_test(node.test) and node.lineno <= line <= (node.end_lineno or 0):
            return True
    return False


def _check_main_guard(workers: int) -> None:
    """Refuse to start worker processes from the top level of an unguarded script.

    Dask starts its workers with the ``spawn`` method, which re-runs the main script in
    every worker: an unguarded script would print its output again in each and then fail
    with "Nanny failed to start".  One line says what to do instead.
    """
    if _main_guarded() is False:
        raise QueryError(
            f"sweep(workers={workers}) starts worker processes, which re-run this script: put the code under "
            "'if __name__ == \"__main__\":', or leave workers unset to sweep in this process (fastest on one "
            "machine)"
        )


def _run_chunks(model: SweepModel, chunks: list[np.ndarray], method: str, *, workers: int | None, scheduler: Any,
                processes: bool, progress: bool | None) -> tuple[list[dict], str]:
    from corridors._progress import progress_bar

    if scheduler is None and workers and processes:
        _check_main_guard(workers)
    bar = progress_bar(total=sum(c.shape[0] for c in chunks), unit="draw", desc="sweep", enabled=progress)
    if scheduler is None and not workers:
        results = []
        for chunk in chunks:
            results.append(_evaluate_chunk(model, chunk, method))
            bar.update(chunk.shape[0])
        bar.close()
        return results, "in-process"
    import logging

    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    own_client = True
    if scheduler is None:
        n = int(workers)
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=processes, dashboard_address=None,
                               silence_logs=logging.ERROR)
        client = Client(cluster)
        runner = f"LocalCluster({n} worker{'s' if n != 1 else ''}{'' if processes else ', threads'})"
    elif isinstance(scheduler, Client):
        client, own_client = scheduler, False
        runner = f"scheduler {scheduler.scheduler.address}"
    else:
        try:
            client = Client(str(scheduler), timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise QueryError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
        runner = f"scheduler {scheduler}"
    try:
        model_future = client.scatter(model, broadcast=True)
        futures = client.map(_evaluate_chunk, [model_future] * len(chunks), chunks, [method] * len(chunks),
                             pure=False)
        order = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(chunks)
        for future in as_completed(futures):
            i = order[future.key]
            results[i] = future.result()
            bar.update(chunks[i].shape[0])
        return results, runner
    finally:
        bar.close()
        if own_client:
            client.close()
        if cluster is not None:
            cluster.close()


def _refuse_non_finite(table: Any, scenario: Scenario, names: tuple[str, ...], query: Query) -> None:
    """Raise :class:`QueryError` if any value of the sweep table is NaN or infinite.

    A draw whose share is undefined (none of its TEU from ``from_`` to ``to`` is routed, e.g.
    a demand factor of 0 or all of it stranded) or whose figures overflow is refused as a
    whole: a sweep reports finite numbers or nothing (issue 13).
    """
    values = table.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    rows = np.flatnonzero(bad.any(axis=1))
    row, col = int(rows[0]), int(np.flatnonzero(bad[rows[0]])[0])
    column = table.columns[col]
    drawn = ", ".join(f"{name} = {table[name].iloc[row]:.6g}" for name in names)
    why = (f"no TEU from {query.from_} to {query.to} is routed in it" if column == "share"
           else "a figure overflows")
    raise QueryError(f"{scenario.label}: draw {row} ({drawn}) gives {column} = {values[row, col]}: {why}; "
                     f"{rows.size} of {len(table)} draws are not finite, no result is reported")


def sweep(scenario: Scenario | str | Path, *, draws: int = 1000, seed: int = 0, method: str | None = None,
          workers: int | None = None, scheduler: Any = None, processes: bool = True, network: Network | None = None,
          geodata: str | Path | None = None, through: str = "KAZ", from_: str = "CHN", to: str = "EU",
          progress: bool | None = None, chunk_size: int | None = None, year: int | None = None,
          mode: Any = None) -> SweepResult:
    """Monte Carlo sweep over a scenario's uncertain inputs, in this process or on Dask.

    The choice sets are generated once on the scenario network; every draw recomputes
    route costs from perturbed edge attributes and the route shares.  ``logit`` and
    ``shortest`` are vectorised over chunks of draws, ``sue`` is solved for a chunk at
    once (:func:`corridors.kernel.route_equilibrium`), ``ue`` draw by draw (bi-conjugate
    Frank-Wolfe on the whole graph); each is the model of
    :func:`corridors.assignment.assign`, so a draw at nominal inputs equals the single run.

    Parameters
    ----------
    scenario : Scenario, or a name or path
        Must define ``[[uncertain]]`` inputs.
    draws : int
        Number of draws.
    seed : int
        Seed; the results depend on it only (never on workers or scheduler).
    method : str, optional
        ``logit`` (default unless the scenario sets one), ``shortest``, ``ue``, ``sue``.
    workers : int, optional
        Workers of a Dask ``LocalCluster`` started for the sweep.  By default (None or 0)
        the draws run in this process, which is the fastest on one machine (the draws
        are vectorised; a cluster pays for starting and for shipping the model).  Worker
        processes re-run the main script, so a script that asks for them must call
        :func:`sweep` under ``if __name__ == "__main__":``; without that guard the call
        fails at once with a one-line :class:`~corridors.QueryError` saying so.
    scheduler : str or distributed.Client, optional
        Address (``tcp://host:8786``) of a running Dask scheduler, or a client, to use
        instead of a ``LocalCluster``.
    processes : bool
        ``LocalCluster`` workers as processes (True) or threads.
    network, geodata
        Baseline network or its geodata folder (default: the shipped data).
    through, from_, to : str
        The share query recorded per draw.
    progress : bool, optional
        Show a progress bar (tqdm, stderr); default: when stderr is a terminal or a
        Jupyter kernel (never after ``corridors -q``).
    chunk_size : int, optional
        Draws per task (default :data:`CHUNK_SIZE` for logit and shortest,
        :data:`CHUNK_SIZE_EQUILIBRIUM` for ue and sue); results do not depend on it.
    year : int, optional
        Model year with the mode choice (``network`` must be that year's,
        :func:`corridors.modes.year_network`): the China<->EU27 rows carry the year's
        all-mode demand, split between sea and land by the mode choice in every draw, which
        also draws the mode-choice estimates (``geodata/mode_calibration.json``) and the
        year's demand (``demand_all_relative_sd``); see :class:`corridors.sweep_model.ModeBlock`.
        The table gains their input columns and ``land_teu:<direction>``, ``sea_teu:<direction>``.
    mode : ModeParameters, optional
        Mode-choice parameters in use with ``year`` (default: ``[mode_choice]`` of ``parameters.toml``).

    Returns
    -------
    SweepResult

    Raises
    ------
    ScenarioError
        If the scenario defines no uncertain input, or is invalid.
    QueryError
        If any draw gives a result that is not a finite number (a share of no routed TEU,
        an overflow): one line naming the first such draw, its inputs and the output, and
        how many draws are affected.  No table is returned, so nothing is printed or written
        (the CLI exits with 2).
    """
    import pandas as pd

    from corridors.network import load_network

    if draws < 1:
        raise QueryError(f"draws must be at least 1, got {draws}")
    if chunk_size is not None and chunk_size < 1:
        raise QueryError(f"chunk_size must be at least 1, got {chunk_size}")
    start = time.perf_counter()
    if network is not None:
        base = network
    elif year is not None:
        from corridors.modes import year_network

        base = year_network(geodata, int(year))
    else:
        base = load_network(geodata)
    scenario = load_scenario(scenario, geodata=geodata if geodata is not None else base.geodata)
    items = tuple(scenario.spec.uncertain)
    if not items:
        raise ScenarioError(f"{scenario.label}: uncertain: the scenario names no uncertain input; add "
                            "[[uncertain]] tables to sweep it")
    method = method or scenario.method or "logit"
    if method not in METHODS:
        raise QueryError(f"unknown method '{method}'; expected one of {', '.join(METHODS)}")
    if year is not None and scenario.spec.year not in (None, int(year)):
        # the sweep's model year decides which features are in service (and the year's inputs);
        # the scenario's own changes apply to that year's network
        scenario = dataclasses.replace(scenario, spec=scenario.spec.model_copy(update={"year": int(year)}))
    snet = apply_scenario(base, scenario)
    if year is not None:  # the year's all-mode demand split by the mode choice, drawn per draw
        year_model, split, mode = _year_split(snet, int(year), mode)
        rows = split.demand_rows()
        mode_index = list(range(len(split.rows))) + [-1] * len(split.other_rows)
        keep = [k for k, r in enumerate(rows) if r["teu"] > 0]
        rows, mode_index = [rows[k] for k in keep], [mode_index[k] for k in keep]
    else:
        rows = [r for r in snet.demand_rows if r["teu"] > 0]
    sets = route_sets(snet, {route_key(r) for r in rows}, strict=False)
    stranded = tuple(r for r in rows if not sets.get(route_key(r)))
    if stranded and scenario.spec.on_unreachable == "error":
        raise unreachable_error(snet, scenario, stranded)
    if method == "sue":  # the choice sets grown where capacities bind, as assign(method="sue")
        sets = sue_choice_sets(snet, rows, sets)
    model = compile_model(snet, rows, sets, Query(through, from_, to), (scenario, items), method=method)
    if not model.query.any() and not model.stranded_query.any():
        raise QueryError(f"no demand from {from_} to {to} in the demand table")
    inputs = sample(items, int(seed), int(draws), calibration=model.calibration)
    names = model.names
    if year is not None:
        from corridors.years import load_year_tables

        block = compile_mode_block(model, split, rows, mode_index, year_model, load_year_tables(snet.geodata),
                                   (scenario, items), inputs.shape[1], mode, _fitted_year_models(base))
        model = dataclasses.replace(model, mode=block)
        inputs = np.hstack([inputs, block.sample(int(seed), int(draws))])
        names = (*names, *block.names)
    if chunk_size is None:
        chunk_size = CHUNK_SIZE if method in ("logit", "shortest") else CHUNK_SIZE_EQUILIBRIUM
    setup = time.perf_counter() - start
    start = time.perf_counter()
    chunks = _chunks(inputs, chunk_size)
    results, runner = _run_chunks(model, chunks, method, workers=workers, scheduler=scheduler,
                                  processes=processes, progress=progress)
    seconds = time.perf_counter() - start
    columns: dict[str, Any] = {"draw": np.arange(draws)}
    for j, name in enumerate(names):
        columns[name] = inputs[:, j]
    keys = [k for k in _OUTPUT_ORDER if k in results[0]]
    keys += [k for r in results for k in r if k not in _OUTPUT_ORDER]
    for key in dict.fromkeys(keys):
        if key in ("iterations", "flow_change") and method in ("logit", "shortest"):
            continue
        # ue may use a corridor or gateway in some chunks only: 0 TEU where absent
        columns[key] = np.concatenate([r.get(key, np.zeros(c.shape[0])) for r, c in zip(results, chunks,
                                                                                         strict=True)])
    table = pd.DataFrame(columns)
    _refuse_non_finite(table, scenario, names, Query(through, from_, to))
    return SweepResult(scenario=scenario, method=method, seed=int(seed), draws=int(draws), through=through,
                       from_=from_, to=to, table=table, seconds=seconds, setup_seconds=setup, runner=runner,
                       year=None if year is None else int(year))


def _fitted_year_models(network: Network) -> dict:
    """Year models of the fitted years on the baseline network's parameters (the mode-choice ridge)."""
    from corridors import modes
    from corridors.network import load_network
    from corridors.years import FITTED_YEARS

    out = {}
    for y in FITTED_YEARS:
        net = network if network.params.year == y and not hasattr(network, "scenario") else load_network(
            network.geodata, params=dataclasses.replace(network.params, year=y))
        out[y] = modes.YearModel.build(net, y)
    return out


def _year_split(network: Network, year: int, mode):
    """The year model of a (scenario) network, its mode split at ``mode`` and the parameters used."""
    from corridors import modes

    if network.params.year != year:
        raise QueryError(f"sweep: year {year} needs the network of that year (modes.year_network), got the "
                         f"network of {network.params.year}")
    mode = modes.load_mode_parameters(network.geodata) if mode is None else mode
    model = modes.YearModel.build(network, year)
    return model, model.split(mode), mode
