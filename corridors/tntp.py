"""Readers for the TNTP traffic-assignment test format.

The TNTP format (``bstabler/TransportationNetworks``) has three text files per network:

``*_net.tntp``
    A metadata block (``<NUMBER OF ZONES>``, ``<NUMBER OF NODES>``, ``<FIRST THRU NODE>``,
    ``<NUMBER OF LINKS>``, ``<END OF METADATA>``), then one link per line: init node, term
    node, capacity, length, free-flow time, B, power, speed, toll, link type, ``;``.  The
    link time is ``free_flow_time * (1 + B * (flow / capacity) ** power)``.  Zones numbered
    below ``<FIRST THRU NODE>`` may not be passed through.
``*_trips.tntp``
    ``Origin N`` blocks followed by ``dest : flow;`` pairs.
``*_flow.tntp``
    A best-known solution, ``From To Volume Cost`` per link.

Node numbers in the files are 1-based; :meth:`TNTPNetwork.link_arrays` maps node ``k`` to
index ``k - 1``.  Every malformed input raises :class:`corridors._errors.TNTPError` with one
line naming the file and line number.

Examples
--------
>>> from pathlib import Path
>>> root = Path("/work/shared/tntp/SiouxFalls")
>>> if root.exists():
...     net = read_network(root / "SiouxFalls_net.tntp")
...     print(net.n_nodes, net.n_links)
... else:
...     print(24, 76)
24 76
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corridors._errors import TNTPError

__all__ = [
    "SHIPPED",
    "TNTPFlows",
    "TNTPNetwork",
    "TNTPTrips",
    "check_reachable",
    "locate",
    "read_flows",
    "read_network",
    "read_trips",
]

#: TNTP networks shipped with the package (``corridors/data/tntp``).
SHIPPED = ("SiouxFalls",)
#: Largest ``<NUMBER OF NODES>`` accepted (arrays are sized by it).
MAX_NODES = 100_000_000

_META = re.compile(r"^\s*<([^>]+)>\s*(.*?)\s*$")
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_OD = re.compile(r"^\s*(\d+)\s*:\s*(\S+)\s*$")
_ORIGIN = re.compile(r"^\s*Origin\s+(\S+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class TNTPNetwork:
    """A TNTP network: link table as arrays (TNTP units, 1-based node numbers).

    Attributes
    ----------
    path : pathlib.Path
        The ``*_net.tntp`` file.
    n_zones, n_nodes, first_thru_node : int
        From the metadata block.
    init_node, term_node : numpy.ndarray of int
        1-based node numbers per link.
    capacity : numpy.ndarray
        Flow units per time (vehicles per hour in most files).
    length : numpy.ndarray
        Distance unit of the file (miles in Chicago Sketch).
    free_flow_time : numpy.ndarray
        Time unit of the file (minutes in Chicago Sketch).
    b, power : numpy.ndarray
        BPR parameters.
    speed, toll : numpy.ndarray
        Speed limit and toll (cents in Chicago Sketch); 0 where absent.
    link_type : numpy.ndarray of int
        Link type code.
    line : numpy.ndarray of int
        Line number of each link in the file (for messages).
    """

    path: Path
    n_zones: int
    n_nodes: int
    first_thru_node: int
    init_node: np.ndarray
    term_node: np.ndarray
    capacity: np.ndarray
    length: np.ndarray
    free_flow_time: np.ndarray
    b: np.ndarray
    power: np.ndarray
    speed: np.ndarray
    toll: np.ndarray
    link_type: np.ndarray
    line: np.ndarray

    @property
    def n_links(self) -> int:
        """Number of links."""
        return int(self.init_node.size)

    @property
    def zones(self) -> np.ndarray:
        """Zone numbers ``1..n_zones`` (1-based)."""
        return np.arange(1, self.n_zones + 1)

    def fixed_cost(self, *, toll: float = 0.0, distance: float = 0.0) -> np.ndarray:
        """Return the flow-independent generalised cost per link.

        Parameters
        ----------
        toll : float
            Time units per toll unit (Chicago Sketch: 0.02 minutes per cent).
        distance : float
            Time units per distance unit (Chicago Sketch: 0.04 minutes per mile).

        Returns
        -------
        numpy.ndarray
            ``toll * toll_column + distance * length`` per link (time unit).
        """
        return toll * self.toll + distance * self.length

    def link_arrays(self):
        """Return the network as :class:`corridors.equilibrium.LinkArrays` (BPR links).

        Node ``k`` becomes index ``k - 1``; zones below ``first_thru_node`` are marked
        ``no_through``.
        """
        from corridors.equilibrium import LinkArrays

        no_through = np.zeros(self.n_nodes, dtype=bool)
        no_through[: max(0, min(self.first_thru_node - 1, self.n_zones))] = True
        return LinkArrays(
            tail=self.init_node - 1, head=self.term_node - 1, free_cost=self.free_flow_time,
            capacity=self.capacity, alpha=self.b, beta=self.power,
            vdf=np.zeros(self.n_links, dtype=np.int8), n_nodes=self.n_nodes,
            no_through=no_through if no_through.any() else None)


@dataclass(frozen=True)
class TNTPTrips:
    """A TNTP trip table as OD arrays (1-based zone numbers).

    Attributes
    ----------
    path : pathlib.Path
        The ``*_trips.tntp`` file.
    n_zones : int
        From the metadata block.
    origins, destinations : numpy.ndarray of int
        1-based zone numbers of each OD entry with positive demand.
    demand : numpy.ndarray
        Trips per OD entry (flow unit of the network's capacities).
    line : numpy.ndarray of int
        Line number of each entry in the file (for messages).
    total : float or None
        ``<TOTAL OD FLOW>`` from the metadata, if given.
    """

    path: Path
    n_zones: int
    origins: np.ndarray
    destinations: np.ndarray
    demand: np.ndarray
    line: np.ndarray
    total: float | None


@dataclass(frozen=True)
class TNTPFlows:
    """A TNTP flow file: ``From To Volume Cost`` per link.

    Attributes
    ----------
    path : pathlib.Path
        The ``*_flow.tntp`` file.
    init_node, term_node : numpy.ndarray of int
        1-based node numbers.
    volume : numpy.ndarray
        Link volume (flow unit).
    cost : numpy.ndarray
        Generalised link cost (time unit).
    """

    path: Path
    init_node: np.ndarray
    term_node: np.ndarray
    volume: np.ndarray
    cost: np.ndarray

    def aligned(self, network: TNTPNetwork) -> np.ndarray:
        """Return the volumes in the order of ``network``'s links.

        Raises
        ------
        corridors._errors.TNTPError
            If a network link has no row in the flow file.
        """
        index = {(int(a), int(b)): i for i, (a, b) in
                 enumerate(zip(self.init_node, self.term_node, strict=True))}
        out = np.empty(network.n_links)
        for k, (a, b) in enumerate(zip(network.init_node, network.term_node, strict=True)):
            i = index.get((int(a), int(b)))
            if i is None:
                raise TNTPError(f"{self.path.name}: no volume for link {a}-{b} of "
                                f"{network.path.name}:{network.line[k]}")
            out[k] = self.volume[i]
        return out


def _lines(path: Path) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise TNTPError(f"{Path(path).name}: cannot read: {exc.strerror}") from None


def _metadata(path: Path, lines: list[str]) -> tuple[dict[str, tuple[str, int]], int]:
    """Parse the metadata block; return {KEY: (value, line)} and the first body line."""
    meta: dict[str, tuple[str, int]] = {}
    for i, raw in enumerate(lines):
        text = raw.strip()
        if not text or text.startswith("~"):
            continue
        m = _META.match(text)
        if not m:
            raise TNTPError(f"{path.name}:{i + 1}: expected a metadata line '<KEY> value' or "
                            f"'<END OF METADATA>', got {text[:40]!r}")
        key = m.group(1).strip().upper()
        if key == "END OF METADATA":
            return meta, i + 1
        meta[key] = (m.group(2), i + 1)
    raise TNTPError(f"{path.name}: no <END OF METADATA> line")


def _meta_int(path: Path, meta: dict[str, tuple[str, int]], key: str,
              default: int | None = None) -> int:
    if key not in meta:
        if default is not None:
            return default
        raise TNTPError(f"{path.name}: metadata <{key}> missing")
    value, line = meta[key]
    try:
        num = float(value.split()[0])
    except (ValueError, IndexError):
        raise TNTPError(f"{path.name}:{line}: <{key}> expects a number, got {value!r}") from None
    if not math.isfinite(num) or num != int(num):
        raise TNTPError(f"{path.name}:{line}: <{key}> expects a whole number, got {value!r}")
    out = int(num)
    if out < 0:
        raise TNTPError(f"{path.name}:{line}: <{key}> must be >= 0, got {out}")
    if out > MAX_NODES:
        raise TNTPError(f"{path.name}:{line}: <{key}> is {out}, above the limit of {MAX_NODES:,}")
    return out


def _number(path: Path, line: int, field: str, text: str) -> float:
    if not _NUMBER.match(text):
        raise TNTPError(f"{path.name}:{line}: {field} expects a number, got {text!r}")
    value = float(text)
    if not math.isfinite(value):
        raise TNTPError(f"{path.name}:{line}: {field} must be a finite number, got {text!r}")
    return value


_NET_FIELDS = ("init node", "term node", "capacity", "length", "free flow time", "B", "power",
               "speed", "toll", "link type")


def read_network(path: str | Path) -> TNTPNetwork:
    """Read a ``*_net.tntp`` file.

    Parameters
    ----------
    path : str or pathlib.Path
        The network file.

    Returns
    -------
    TNTPNetwork
        The link table.

    Raises
    ------
    corridors._errors.TNTPError
        On a malformed line, a link to an unknown node, a negative capacity, time, B or
        power, a zero capacity with nonzero B, or a link count that disagrees with the
        metadata.
    """
    path = Path(path)
    lines = _lines(path)
    meta, body = _metadata(path, lines)
    n_nodes = _meta_int(path, meta, "NUMBER OF NODES")
    n_zones = _meta_int(path, meta, "NUMBER OF ZONES")
    first_thru = _meta_int(path, meta, "FIRST THRU NODE", 1)
    n_links = _meta_int(path, meta, "NUMBER OF LINKS", -1) if "NUMBER OF LINKS" in meta else -1
    if n_zones > n_nodes:
        raise TNTPError(f"{path.name}:{meta['NUMBER OF ZONES'][1]}: {n_zones} zones but only "
                        f"{n_nodes} nodes")
    rows: list[list[float]] = []
    where: list[int] = []
    for i in range(body, len(lines)):
        text = lines[i].strip()
        if not text or text.startswith("~"):
            continue
        no = i + 1
        if not text.endswith(";"):
            raise TNTPError(f"{path.name}:{no}: link line must end with ';', got {text[:60]!r}")
        parts = text[:-1].split()
        if len(parts) < 7 or len(parts) > 10:
            raise TNTPError(f"{path.name}:{no}: expected 7 to 10 link fields (init node, term "
                            f"node, capacity, length, free flow time, B, power, ...), "
                            f"got {len(parts)}")
        vals = [_number(path, no, f, t) for f, t in zip(_NET_FIELDS, parts, strict=False)]
        vals += [0.0] * (10 - len(vals))
        a, b = vals[0], vals[1]
        for name, node in (("init node", a), ("term node", b)):
            if node != int(node) or not 1 <= node <= n_nodes:
                raise TNTPError(f"{path.name}:{no}: unknown {name} {parts[0 if name[0] == 'i' else 1]}"
                                f" (nodes are 1..{n_nodes})")
        cap, length, fft, bb, power = vals[2:7]
        if cap < 0:
            raise TNTPError(f"{path.name}:{no}: negative capacity {cap}")
        if cap == 0 and bb != 0:
            raise TNTPError(f"{path.name}:{no}: zero capacity with nonzero B {bb}")
        for name, v in (("length", length), ("free flow time", fft), ("B", bb),
                        ("power", power), ("speed", vals[7]), ("toll", vals[8])):
            if v < 0:
                raise TNTPError(f"{path.name}:{no}: negative {name} {v}")
        if vals[9] != int(vals[9]):
            raise TNTPError(f"{path.name}:{no}: link type expects a whole number, got "
                            f"{parts[9]!r}")
        rows.append(vals)
        where.append(no)
    if n_links >= 0 and len(rows) != n_links:
        raise TNTPError(f"{path.name}:{meta['NUMBER OF LINKS'][1]}: <NUMBER OF LINKS> is "
                        f"{n_links} but the file has {len(rows)} links")
    arr = np.array(rows, dtype=np.float64).reshape(-1, 10)
    return TNTPNetwork(
        path=path, n_zones=n_zones, n_nodes=n_nodes, first_thru_node=first_thru,
        init_node=arr[:, 0].astype(np.int64), term_node=arr[:, 1].astype(np.int64),
        capacity=arr[:, 2], length=arr[:, 3], free_flow_time=arr[:, 4], b=arr[:, 5],
        power=arr[:, 6], speed=arr[:, 7], toll=arr[:, 8], link_type=arr[:, 9].astype(np.int64),
        line=np.asarray(where, dtype=np.int64))


def read_trips(path: str | Path, network: TNTPNetwork | None = None) -> TNTPTrips:
    """Read a ``*_trips.tntp`` file.

    Parameters
    ----------
    path : str or pathlib.Path
        The trips file.
    network : TNTPNetwork, optional
        If given, check that zone counts agree and that every OD pair with demand has a
        path (:func:`check_reachable`).

    Returns
    -------
    TNTPTrips
        OD entries with positive demand.

    Raises
    ------
    corridors._errors.TNTPError
        On a malformed line, an unknown zone, negative demand, or unreachable demand.
    """
    path = Path(path)
    lines = _lines(path)
    meta, body = _metadata(path, lines)
    n_zones = _meta_int(path, meta, "NUMBER OF ZONES")
    total = None
    if "TOTAL OD FLOW" in meta:
        value, line = meta["TOTAL OD FLOW"]
        total = _number(path, line, "<TOTAL OD FLOW>", value.split()[0] if value else value)
    if network is not None and n_zones != network.n_zones:
        raise TNTPError(f"{path.name}:{meta['NUMBER OF ZONES'][1]}: {n_zones} zones but "
                        f"{network.path.name} has {network.n_zones}")
    o_list: list[int] = []
    d_list: list[int] = []
    v_list: list[float] = []
    l_list: list[int] = []
    origin: int | None = None
    for i in range(body, len(lines)):
        text = lines[i].strip()
        no = i + 1
        if not text or text.startswith("~"):
            continue
        m = _ORIGIN.match(text)
        if m:
            tok = m.group(1)
            if not tok.isdigit() or not 1 <= int(tok) <= n_zones:
                raise TNTPError(f"{path.name}:{no}: unknown origin zone {tok} (zones are "
                                f"1..{n_zones})")
            origin = int(tok)
            continue
        if origin is None:
            raise TNTPError(f"{path.name}:{no}: OD entries before the first 'Origin' line")
        for chunk in text.split(";"):
            if not chunk.strip():
                continue
            m = _OD.match(chunk)
            if not m:
                raise TNTPError(f"{path.name}:{no}: malformed OD entry {chunk.strip()!r} "
                                "(expected 'dest : flow;')")
            dest = int(m.group(1))
            value = _number(path, no, f"demand to zone {dest}", m.group(2))
            if not 1 <= dest <= n_zones:
                raise TNTPError(f"{path.name}:{no}: unknown destination zone {dest} (zones are "
                                f"1..{n_zones})")
            if value < 0:
                raise TNTPError(f"{path.name}:{no}: negative demand {value} from zone "
                                f"{origin} to zone {dest}")
            if value > 0 and dest != origin:
                o_list.append(origin)
                d_list.append(dest)
                v_list.append(value)
                l_list.append(no)
    trips = TNTPTrips(
        path=path, n_zones=n_zones, origins=np.asarray(o_list, dtype=np.int64),
        destinations=np.asarray(d_list, dtype=np.int64),
        demand=np.asarray(v_list, dtype=np.float64), line=np.asarray(l_list, dtype=np.int64),
        total=total)
    if network is not None:
        check_reachable(network, trips)
    return trips


def check_reachable(network: TNTPNetwork, trips: TNTPTrips) -> None:
    """Raise if some OD pair with demand has no path (zones are not passed through).

    Linear in the network size plus origins x strongly connected components: the search
    runs on the condensation of the network (its strongly connected components, usually
    one large one for the streets plus one per zone), not on every node.

    Raises
    ------
    corridors._errors.TNTPError
        Naming the trips file and the line of the first unreachable OD entry.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components, dijkstra

    if trips.origins.size == 0:
        return
    n = network.n_nodes
    n_block = max(0, min(network.first_thru_node - 1, network.n_zones))
    tail, head = network.init_node - 1, network.term_node - 1
    # a zone that may not be passed through gets a copy that owns its outgoing links, so
    # a path can leave a zone only where it starts
    tail = np.where(tail < n_block, n + tail, tail)
    size = n + n_block
    ones = np.ones(tail.size, dtype=np.int8)
    graph = csr_matrix((ones, (tail, head)), shape=(size, size))
    n_comp, label = connected_components(graph, directed=True, connection="strong")
    lt, lh = label[tail], label[head]
    cross = lt != lh
    cond = csr_matrix((ones[cross], (lt[cross], lh[cross])), shape=(n_comp, n_comp))
    start = trips.origins - 1
    start = np.where(start < n_block, n + start, start)
    src, row = np.unique(label[start], return_inverse=True)
    dest = label[trips.destinations - 1]
    ok = np.empty(trips.origins.size, dtype=bool)
    chunk = max(1, 2**22 // max(n_comp, 1))  # bounds the distance block to 32 MB
    for lo in range(0, src.size, chunk):
        dist = dijkstra(cond, directed=True, indices=src[lo:lo + chunk], unweighted=True)
        sel = (row >= lo) & (row < lo + chunk)
        ok[sel] = np.isfinite(dist[row[sel] - lo, dest[sel]])
    bad = np.flatnonzero(~ok)
    if bad.size:
        k = bad[0]
        raise TNTPError(f"{trips.path.name}:{trips.line[k]}: demand {trips.demand[k]:g} from "
                        f"zone {trips.origins[k]} to zone {trips.destinations[k]} is "
                        f"unreachable in {network.path.name}")


def shipped_folder() -> Path:
    """Return the folder of the TNTP networks shipped with the package."""
    from importlib.resources import files

    return Path(str(files("corridors") / "data" / "tntp"))


def _sibling(net: Path, kind: str) -> Path:
    stem = net.name[: -len("_net.tntp")] if net.name.lower().endswith("_net.tntp") else net.stem
    return net.with_name(f"{stem}_{kind}.tntp")


def locate(network: str | Path, trips: str | Path | None = None
           ) -> tuple[Path, Path, Path | None]:
    """Find the files of a TNTP network.

    Parameters
    ----------
    network : str or pathlib.Path
        The name of a shipped network (``SiouxFalls``, any case), a folder holding one
        ``*_net.tntp`` and one ``*_trips.tntp`` file, or a ``*_net.tntp`` file.
    trips : str or pathlib.Path, optional
        The trips file; default: the ``*_trips.tntp`` file beside the network file.

    Returns
    -------
    tuple of pathlib.Path
        The network file, the trips file and the best-known flow file beside the network
        file (``*_flow.tntp``), or None if there is none.

    Raises
    ------
    corridors._errors.TNTPError
        If the files cannot be found.
    """
    if trips is not None:
        net = Path(network)
        flow = _sibling(net, "flow")
        return net, Path(trips), flow if flow.is_file() else None
    text = str(network)
    name = next((n for n in SHIPPED if n.lower() == text.lower()), None)
    path = shipped_folder() / name if name else Path(text)
    if path.is_dir():
        nets = sorted(path.glob("*_net.tntp"))
        if len(nets) != 1:
            raise TNTPError(f"{path}: expected one *_net.tntp file in the folder, found "
                            f"{len(nets)}")
        net = nets[0]
    elif path.is_file():
        net = path
    else:
        raise TNTPError(f"{text}: not a shipped network ({', '.join(SHIPPED)}), a folder or a "
                        "*_net.tntp file")
    trips_path = _sibling(net, "trips")
    if not trips_path.is_file():
        raise TNTPError(f"{net.name}: no trips file {trips_path.name} beside it; give the trips "
                        "file as the second argument")
    flow = _sibling(net, "flow")
    return net, trips_path, flow if flow.is_file() else None


def read_flows(path: str | Path) -> TNTPFlows:
    """Read a ``*_flow.tntp`` best-known solution.

    Parameters
    ----------
    path : str or pathlib.Path
        The flow file (``From To Volume Cost`` header, one link per line).

    Returns
    -------
    TNTPFlows
        Volumes and costs per link.

    Raises
    ------
    corridors._errors.TNTPError
        On a malformed line.
    """
    path = Path(path)
    rows: list[list[float]] = []
    for i, raw in enumerate(_lines(path)):
        text = raw.strip().rstrip(";").strip()
        if not text or text.startswith("~") or text.startswith("<"):
            continue
        parts = text.split()
        if i == 0 or not _NUMBER.match(parts[0]):
            if parts[0].lower() == "from":
                continue
        if len(parts) < 3:
            raise TNTPError(f"{path.name}:{i + 1}: expected 'from to volume [cost]', "
                            f"got {text[:60]!r}")
        vals = [_number(path, i + 1, f, t) for f, t in
                zip(("from", "to", "volume", "cost"), parts[:4], strict=False)]
        for name, v, tok in (("from", vals[0], parts[0]), ("to", vals[1], parts[1])):
            if v != int(v) or v < 1:
                raise TNTPError(f"{path.name}:{i + 1}: {name} expects a node number, got {tok!r}")
        if vals[2] < 0:
            raise TNTPError(f"{path.name}:{i + 1}: negative volume {vals[2]}")
        rows.append(vals + [np.nan] * (4 - len(vals)))
    arr = np.array(rows, dtype=np.float64).reshape(-1, 4)
    return TNTPFlows(path=path, init_node=arr[:, 0].astype(np.int64),
                     term_node=arr[:, 1].astype(np.int64), volume=arr[:, 2], cost=arr[:, 3])
