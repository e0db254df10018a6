"""Tests of the array assignment engine on hand-solvable networks and Sioux Falls."""

from __future__ import annotations

import math
import os
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy import integrate, sparse

from corridors._errors import CorridorsError
from corridors.equilibrium import (
    BPR,
    QUEUE,
    LinkArrays,
    _link_cost_derivative,
    all_or_nothing,
    beckmann,
    link_cost,
    paths_for,
    relative_gap,
    stochastic_user_equilibrium,
    user_equilibrium,
)

# the shared TNTP networks beside the project (or where $CORRIDORS_TNTP_DIR points)
TNTP = Path(os.environ.get("CORRIDORS_TNTP_DIR",
                           Path(__file__).resolve().parents[2] / "shared" / "tntp"))
ALGORITHMS = ("fw", "cfw", "bfw")


def make_net(links, n_nodes, **kw) -> LinkArrays:
    """links: (tail, head, free_cost, capacity, alpha, beta[, vdf])."""
    cols = list(zip(*links, strict=True))
    vdf = cols[6] if len(cols) > 6 else [BPR] * len(links)
    return LinkArrays(tail=cols[0], head=cols[1], free_cost=cols[2], capacity=cols[3],
                      alpha=cols[4], beta=cols[5], vdf=vdf, n_nodes=n_nodes, **kw)


def conservation(net: LinkArrays, flows, origins, destinations, demand) -> np.ndarray:
    """Per node: inflow - outflow - (demand in - demand out); zero if flows conserve."""
    bal = np.bincount(net.head, weights=flows, minlength=net.n_nodes)
    bal -= np.bincount(net.tail, weights=flows, minlength=net.n_nodes)
    od = np.asarray(origins) != np.asarray(destinations)
    bal -= np.bincount(np.asarray(destinations)[od], weights=np.asarray(demand)[od],
                       minlength=net.n_nodes)
    bal += np.bincount(np.asarray(origins)[od], weights=np.asarray(demand)[od],
                       minlength=net.n_nodes)
    return bal


# ---------------------------------------------------------------------------------------
# Hand-solvable networks
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_two_parallel_links_closed_form(algorithm):
    # t1 = 1 + x1 (t0 = 1, alpha = 1, capacity 1), t2 = 2 + x2 / 2 (t0 = 2, capacity 4):
    # equal costs at x1 = (2 + D) / 3; D = 10 -> x = (4, 6), cost 5 on both.
    net = make_net([(0, 1, 1.0, 1.0, 1.0, 1.0), (0, 1, 2.0, 4.0, 1.0, 1.0)], 2)
    res = user_equilibrium(net, [0], [1], [10.0], algorithm=algorithm, gap=1e-10)
    assert res.converged
    np.testing.assert_allclose(res.flows, [4.0, 6.0], atol=1e-6)
    np.testing.assert_allclose(res.costs, [5.0, 5.0], atol=1e-6)
    # Beckmann: int (1 + x) on [0, 4] + int (2 + x / 2) on [0, 6] = 12 + 21
    assert res.beckmann == pytest.approx(33.0, abs=1e-6)


def test_parallel_links_one_uncongested():
    net = make_net([(0, 1, 10.0, 1000.0, 1.0, 1.0), (0, 1, 20.0, 1000.0, 0.0, 1.0)], 2)
    res = user_equilibrium(net, [0], [1], [1500.0], gap=1e-12)
    np.testing.assert_allclose(res.flows, [1000.0, 500.0], atol=1e-4)


def test_low_demand_uses_only_the_fast_link():
    net = make_net([(0, 1, 10.0, 1000.0, 1.0, 1.0), (0, 1, 20.0, 1000.0, 0.0, 1.0)], 2)
    res = user_equilibrium(net, [0], [1], [500.0], gap=1e-12)
    np.testing.assert_allclose(res.flows, [500.0, 0.0], atol=1e-9)
    assert res.relative_gap == pytest.approx(0.0, abs=1e-12)


def braess(with_bridge: bool) -> LinkArrays:
    # s=0, a=1, b=2, t=3: s-a and b-t congest (1 + x / 100), a-t and s-b cost 15, a-b costs 1.
    links = [(0, 1, 1.0, 100.0, 1.0, 1.0), (1, 3, 15.0, 1.0, 0.0, 1.0),
             (0, 2, 15.0, 1.0, 0.0, 1.0), (2, 3, 1.0, 100.0, 1.0, 1.0)]
    if with_bridge:
        links.append((1, 2, 1.0, 1.0, 0.0, 1.0))
    return make_net(links, 4)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_braess_paradox(algorithm):
    # Without the bridge: 1000 on each side, cost 1 + 10 + 15 = 26.  With it: the side
    # routes carry q, the bridge route p, with u = q + p = 1300 on s-a and b-t equalising
    # 16 + u / 100 = 3 + 2 u / 100; D = 2000 -> q = 700, p = 600, cost 29 > 26.
    base = user_equilibrium(braess(False), [0], [3], [2000.0], algorithm=algorithm, gap=1e-10)
    np.testing.assert_allclose(base.flows, [1000, 1000, 1000, 1000], atol=1e-4)
    res = user_equilibrium(braess(True), [0], [3], [2000.0], algorithm=algorithm, gap=1e-9,
                           max_iter=5000)
    np.testing.assert_allclose(res.flows, [1300, 700, 700, 1300, 600], atol=0.05)
    cost_base = float(base.costs @ base.flows) / 2000
    cost_bridge = float(res.costs @ res.flows) / 2000
    assert cost_base == pytest.approx(26.0, abs=1e-6)
    assert cost_bridge == pytest.approx(29.0, abs=1e-3)


def test_track_paths_route_shares():
    res = user_equilibrium(braess(True), [0], [3], [2000.0], gap=1e-9, max_iter=5000,
                           track_paths=True)
    routes = paths_for(res, 0, 3, min_share=1e-6)
    by_nodes = {r.nodes: r for r in routes}
    assert set(by_nodes) == {(0, 1, 3), (0, 2, 3), (0, 1, 2, 3)}
    assert by_nodes[(0, 1, 2, 3)].flow == pytest.approx(600.0, abs=0.1)
    assert by_nodes[(0, 1, 3)].share == pytest.approx(0.35, abs=1e-4)
    assert by_nodes[(0, 1, 2, 3)].links == (0, 4, 3)
    assert sum(r.share for r in paths_for(res, 0, 3)) == pytest.approx(1.0)
    for r in routes:  # all used routes cost the same at equilibrium
        assert r.cost == pytest.approx(29.0, abs=1e-3)


def test_track_paths_flows_add_up_to_link_flows():
    net, o, d, q = grid(4, seed=3)
    res = user_equilibrium(net, o, d, q, gap=1e-6, track_paths=True)
    total = np.zeros(net.n_links)
    for oi, di in {(int(a), int(b)) for a, b in zip(o, d, strict=True) if a != b}:
        for r in paths_for(res, oi, di, min_share=0.0):
            total[list(r.links)] += r.flow
    np.testing.assert_allclose(total, res.flows, rtol=1e-9, atol=1e-6)


def test_paths_for_needs_tracking():
    res = user_equilibrium(braess(True), [0], [3], [10.0])
    with pytest.raises(ValueError, match="track_paths"):
        paths_for(res, 0, 3)


def test_zone_is_not_a_through_node():
    # 0 -> 1 -> 2 is short, but 1 is a zone; the long way 0 -> 3 -> 2 must be used.
    links = [(0, 1, 1.0, 1.0, 0.0, 1.0), (1, 2, 1.0, 1.0, 0.0, 1.0),
             (0, 3, 5.0, 1.0, 0.0, 1.0), (3, 2, 5.0, 1.0, 0.0, 1.0)]
    nt = np.array([True, True, True, False])
    net = make_net(links, 4, no_through=nt)
    np.testing.assert_allclose(all_or_nothing(net, [0, 1], [2, 2], [10.0, 3.0]),
                               [0, 3, 10, 10])
    free = make_net(links, 4)
    np.testing.assert_allclose(all_or_nothing(free, [0, 1], [2, 2], [10.0, 3.0]),
                               [10, 13, 0, 0])


def test_unreachable_demand_raises():
    links = [(0, 1, 1.0, 1.0, 0.0, 1.0), (1, 2, 1.0, 1.0, 0.0, 1.0)]
    net = make_net(links, 3, no_through=np.array([True, True, True]))
    with pytest.raises(CorridorsError, match="node 0 to node 2"):
        all_or_nothing(net, [0], [2], [1.0])


def test_parallel_links_aon_takes_the_cheaper():
    net = make_net([(0, 1, 3.0, 1.0, 0.0, 1.0), (0, 1, 2.0, 1.0, 0.0, 1.0),
                    (0, 1, 4.0, 1.0, 0.0, 1.0)], 2)
    np.testing.assert_allclose(all_or_nothing(net, [0], [1], [7.0]), [0, 7, 0])


def test_zero_cost_links_load_correctly():
    # chain of zero-cost links: distance ties everywhere
    links = [(i, i + 1, 0.0, 1.0, 0.0, 1.0) for i in range(6)]
    net = make_net(links, 7)
    flows = all_or_nothing(net, [0, 0, 2], [6, 3, 5], [1.0, 2.0, 4.0])
    np.testing.assert_allclose(flows, [3, 3, 7, 5, 5, 1])


def test_demand_formats_agree():
    net, o, d, q = grid(4, seed=1)
    pairs = all_or_nothing(net, o, d, q)
    uo, ud = np.unique(o), np.unique(d)
    mat = np.zeros((uo.size, ud.size))
    np.add.at(mat, (np.searchsorted(uo, o), np.searchsorted(ud, d)), q)
    np.testing.assert_allclose(all_or_nothing(net, uo, ud, mat), pairs)
    np.testing.assert_allclose(all_or_nothing(net, uo, ud, sparse.csr_matrix(mat)), pairs)


def test_fixed_cost_enters_outside_the_vdf():
    # BPR on t0 only: link 0: fixed 5 + 1 * (1 + x), link 1: 2 * (1 + x / 4) -> the fixed
    # cost is not scaled by congestion.
    net = make_net([(0, 1, 1.0, 1.0, 1.0, 1.0), (0, 1, 2.0, 4.0, 1.0, 1.0)], 2)
    res = user_equilibrium(net, [0], [1], [10.0], gap=1e-12, fixed_cost=np.array([5.0, 0.0]))
    # 6 + x1 = 2 + (10 - x1) / 2 -> 1.5 x1 = 1 -> x1 = 2 / 3
    np.testing.assert_allclose(res.flows, [2 / 3, 28 / 3], atol=1e-6)
    assert res.beckmann == pytest.approx(beckmann(net, res.flows, np.array([5.0, 0.0])))


def test_max_iter_reports_not_converged():
    net, o, d, q = grid(5, seed=2, load=3.0)
    res = user_equilibrium(net, o, d, q, gap=1e-12, max_iter=3)
    assert not res.converged
    assert len(res.iterations) == 3
    assert res.relative_gap == res.iterations[-1].relative_gap > 1e-12


def test_iteration_records_and_callback():
    seen = []
    net, o, d, q = grid(4, seed=5, load=2.0)
    res = user_equilibrium(net, o, d, q, gap=1e-6, callback=seen.append)
    assert tuple(seen) == res.iterations
    assert [r.iteration for r in seen] == list(range(1, len(seen) + 1))
    assert all(b.seconds >= a.seconds for a, b in zip(seen, seen[1:], strict=False))
    # the Beckmann objective decreases along Frank-Wolfe steps
    obj = [r.beckmann for r in seen]
    assert all(b <= a * (1 + 1e-12) for a, b in zip(obj, obj[1:], strict=False))
    assert res.relative_gap == pytest.approx(relative_gap(net, o, d, q, res.flows), rel=1e-6)


def test_bad_arrays_raise():
    with pytest.raises(ValueError, match="capacity"):
        make_net([(0, 1, 1.0, 0.0, 0.15, 4.0)], 2)
    with pytest.raises(ValueError, match="capacity"):
        make_net([(0, 1, 1.0, -1.0, 0.0, 4.0)], 2)
    with pytest.raises(ValueError, match="node index"):
        make_net([(0, 5, 1.0, 1.0, 0.0, 4.0)], 2)
    with pytest.raises(ValueError, match="beta"):
        make_net([(0, 1, 1.0, 1.0, 1.0, 5.0, QUEUE)], 2)
    net = make_net([(0, 1, 1.0, 1.0, 0.0, 1.0)], 2)
    with pytest.raises(ValueError, match="algorithm"):
        user_equilibrium(net, [0], [1], [1.0], algorithm="msa")
    with pytest.raises(ValueError, match="demand"):
        all_or_nothing(net, [0], [1], [-1.0])


@pytest.mark.parametrize("workers", [2])
def test_result_does_not_depend_on_workers(workers):
    net, o, d, q = grid(11, seed=7, load=2.0)  # 121 origins: two batches
    one = user_equilibrium(net, o, d, q, gap=1e-5, workers=1)
    many = user_equilibrium(net, o, d, q, gap=1e-5, workers=workers)
    assert np.array_equal(one.flows, many.flows)
    assert len(one.iterations) == len(many.iterations)


# ---------------------------------------------------------------------------------------
# Volume-delay functions
# ---------------------------------------------------------------------------------------


def vdf_net(vdf: int) -> LinkArrays:
    if vdf == QUEUE:
        return make_net([(0, 1, 3.0, 50.0, 2.0, 0.3, QUEUE), (0, 1, 0.0, 10.0, 1.0, 4.0, QUEUE),
                         (0, 1, 1.0, 20.0, 5.0, 0.01, QUEUE)], 2)
    return make_net([(0, 1, 3.0, 50.0, 0.15, 4.0), (0, 1, 2.0, 10.0, 1.0, 1.0),
                     (0, 1, 1.0, 20.0, 0.5, 2.5)], 2)


@pytest.mark.parametrize("vdf", [BPR, QUEUE])
@pytest.mark.parametrize("x", [0.0, 3.0, 10.0, 20.0, 55.0, 200.0])
def test_vdf_integral_and_derivative(vdf, x):
    net = vdf_net(vdf)
    fixed = np.array([0.5, 0.0, 2.0])
    flows = np.full(3, x)
    for k in range(3):
        def c(w, k=k):
            v = np.zeros(3)
            v[k] = w
            return link_cost(net, v, fixed)[k]

        one = np.zeros(3)
        one[k] = x
        expected = integrate.quad(c, 0.0, x, epsabs=1e-11, epsrel=1e-11)[0] if x else 0.0
        assert beckmann(net, one, fixed) == pytest.approx(expected, rel=1e-8, abs=1e-9)
        h = 1e-5 * max(x, 1.0)
        if x > h:
            num = (c(x + h) - c(x - h)) / (2 * h)
            assert _link_cost_derivative(net, flows)[k] == pytest.approx(num, rel=1e-5)


def test_queue_vdf_shape():
    # t0 + alpha ((z - 1) + sqrt((z - 1)^2 + beta z)): t0 at zero flow, t0 + alpha sqrt(beta)
    # at capacity, finite and convex when oversaturated.
    net = make_net([(0, 1, 3.0, 50.0, 2.0, 0.3, QUEUE)], 2)
    assert link_cost(net, np.array([0.0]))[0] == pytest.approx(3.0)
    assert link_cost(net, np.array([50.0]))[0] == pytest.approx(3.0 + 2.0 * math.sqrt(0.3))
    xs = np.linspace(0, 500, 201)
    ts = np.array([link_cost(net, np.array([x]))[0] for x in xs])
    assert np.all(np.isfinite(ts))
    assert np.all(np.diff(ts) > 0)
    assert np.all(np.diff(ts, 2) > -1e-12)
    assert ts[-1] == pytest.approx(3.0 + 2.0 * 2 * 9, rel=0.01)  # ~ 2 alpha (z - 1)


def test_queue_vdf_equilibrium_closed_form():
    # Two crossings: a queueing border post (t0 = 10) and a BPR-free bypass costing 12.
    # Equilibrium: 10 + alpha ((z-1) + sqrt((z-1)^2 + beta z)) = 12 solved for z.
    alpha, beta, cap = 4.0, 0.2, 100.0
    net = make_net([(0, 1, 10.0, cap, alpha, beta, QUEUE), (0, 1, 12.0, 1.0, 0.0, 1.0, BPR)], 2)
    res = user_equilibrium(net, [0], [1], [300.0], gap=1e-12, max_iter=2000)
    # 2/alpha = 0.5 = (z-1) + sqrt((z-1)^2 + beta z) -> (0.5 - u)^2 = u^2 + beta (u + 1)
    # -> 0.25 - u = beta u + beta -> u = (0.25 - beta) / (1 + beta)
    z = 1 + (0.25 - beta) / (1 + beta)
    assert res.flows[0] == pytest.approx(z * cap, rel=1e-6)
    assert res.costs[0] == pytest.approx(12.0, rel=1e-9)


# ---------------------------------------------------------------------------------------
# Stochastic user equilibrium
# ---------------------------------------------------------------------------------------


def test_sue_logit_without_congestion():
    net = make_net([(0, 1, 10.0, 1.0, 0.0, 1.0), (0, 2, 20.0, 1.0, 0.0, 1.0),
                    (1, 3, 0.0, 1.0, 0.0, 1.0), (2, 3, 0.0, 1.0, 0.0, 1.0)], 4)
    res = stochastic_user_equilibrium(net, [0], [3], [100.0], theta=0.1)
    share = 1 / (1 + math.exp(-1.0))
    np.testing.assert_allclose(res.flows, [100 * share, 100 * (1 - share)] * 2, rtol=1e-9)
    routes = paths_for(res, 0, 3)
    assert routes[0].nodes == (0, 1, 3)
    assert routes[0].share == pytest.approx(share)


def test_sue_with_congestion_is_a_logit_fixed_point():
    theta = 0.5
    net = make_net([(0, 1, 1.0, 1.0, 1.0, 1.0), (0, 1, 2.0, 4.0, 1.0, 1.0)], 2)
    res = stochastic_user_equilibrium(net, [0], [1], [10.0], theta=theta, gap=1e-6,
                                      max_iter=20000)
    assert res.converged
    c = res.costs
    p1 = 1 / (1 + math.exp(-theta * (c[1] - c[0])))
    assert res.flows[0] / 10.0 == pytest.approx(p1, abs=1e-4)
    # large theta approaches the deterministic equilibrium (4, 6)
    sharp = stochastic_user_equilibrium(net, [0], [1], [10.0], theta=50.0, gap=1e-6,
                                        max_iter=20000)
    np.testing.assert_allclose(sharp.flows, [4.0, 6.0], atol=0.05)
    assert all(r.flow_change >= 0 for r in res.iterations)


def test_sue_generates_routes_as_congestion_grows():
    res = stochastic_user_equilibrium(braess(True), [0], [3], [2000.0], theta=1.0, gap=1e-5,
                                      max_iter=5000)
    routes = paths_for(res, 0, 3, min_share=0.01)
    assert {r.nodes for r in routes} == {(0, 1, 3), (0, 2, 3), (0, 1, 2, 3)}
    assert sum(r.flow for r in paths_for(res, 0, 3, min_share=0)) == pytest.approx(2000.0)
    assert np.abs(conservation(braess(True), res.flows, [0], [3], [2000.0])).max() < 1e-6


# ---------------------------------------------------------------------------------------
# Property tests
# ---------------------------------------------------------------------------------------


def grid(n: int, *, seed: int = 0, load: float = 1.0):
    """An n x n bidirectional grid with random BPR links and demand between random nodes."""
    rng = np.random.default_rng(seed)
    links = []
    for i in range(n):
        for j in range(n):
            v = i * n + j
            for w in ([v + 1] if j + 1 < n else []) + ([v + n] if i + 1 < n else []):
                for a, b in ((v, w), (w, v)):
                    links.append((a, b, float(rng.uniform(1, 10)), float(rng.uniform(50, 200)),
                                  0.15, 4.0))
    net = make_net(links, n * n)
    k = n * n
    o = np.repeat(np.arange(k), 2)
    d = rng.integers(0, k, size=o.size)
    q = rng.uniform(10, 100, size=o.size) * load
    return net, o, d, q


@st.composite
def random_networks(draw):
    n = draw(st.integers(2, 7))
    # a ring guarantees strong connectivity; chords and parallel links are random
    pairs = [(i, (i + 1) % n) for i in range(n)]
    extra = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=12))
    pairs += [(a, b) for a, b in extra if a != b]
    links = [(a, b, draw(st.floats(0.0, 20.0)), draw(st.floats(1.0, 100.0)),
              draw(st.sampled_from([0.0, 0.15, 1.0])), draw(st.sampled_from([1.0, 4.0])))
             for a, b in pairs]
    net = make_net(links, n)
    m = draw(st.integers(1, 6))
    o = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    d = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    q = draw(st.lists(st.floats(0.0, 500.0), min_size=m, max_size=m))
    return net, np.array(o), np.array(d), np.array(q)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_networks())
def test_aon_conserves_flow_and_matches_networkx(case):
    net, o, d, q = case
    flows = all_or_nothing(net, o, d, q)
    assert np.abs(conservation(net, flows, o, d, q)).max() <= 1e-9 * max(1.0, q.sum())
    # total cost equals the sum of shortest-path costs (networkx as the reference)
    g = nx.DiGraph()
    for a, b, c in zip(net.tail, net.head, net.free_cost, strict=True):
        if not g.has_edge(a, b) or g[a][b]["w"] > c:
            g.add_edge(int(a), int(b), w=float(c))
    expected = sum(qq * nx.shortest_path_length(g, int(oo), int(dd), weight="w")
                   for oo, dd, qq in zip(o, d, q, strict=True) if oo != dd)
    assert float(net.free_cost @ flows) == pytest.approx(expected, rel=1e-9, abs=1e-9)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_networks(), st.sampled_from(ALGORITHMS))
def test_ue_conserves_flow_and_gap_is_nonnegative(case, algorithm):
    net, o, d, q = case
    res = user_equilibrium(net, o, d, q, algorithm=algorithm, gap=1e-6, max_iter=200)
    assert np.abs(conservation(net, res.flows, o, d, q)).max() <= 1e-7 * max(1.0, q.sum())
    assert np.all(res.flows >= -1e-9)
    for rec in res.iterations:
        assert rec.relative_gap >= -1e-12
    assert res.beckmann <= res.iterations[0].beckmann * (1 + 1e-12) + 1e-12


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_networks(), st.lists(st.booleans(), min_size=7, max_size=7))
def test_aon_never_passes_through_zones(case, flags):
    net, o, d, q = case
    nt = np.array(flags[: net.n_nodes])
    zoned = LinkArrays(tail=net.tail, head=net.head, free_cost=net.free_cost,
                       capacity=net.capacity, alpha=net.alpha, beta=net.beta, vdf=net.vdf,
                       n_nodes=net.n_nodes, no_through=nt)
    try:
        flows = all_or_nothing(zoned, o, d, q)
    except CorridorsError:
        assume(False)
    assert np.abs(conservation(zoned, flows, o, d, q)).max() <= 1e-9 * max(1.0, q.sum())
    out = np.bincount(zoned.tail, weights=flows, minlength=zoned.n_nodes)
    inflow = np.bincount(zoned.head, weights=flows, minlength=zoned.n_nodes)
    od = o != d
    starts = np.bincount(o[od], weights=q[od], minlength=zoned.n_nodes)
    ends = np.bincount(d[od], weights=q[od], minlength=zoned.n_nodes)
    # a zone only emits what starts there and only absorbs what ends there
    np.testing.assert_allclose(out[nt], starts[nt], atol=1e-9 * max(1.0, q.sum()))
    np.testing.assert_allclose(inflow[nt], ends[nt], atol=1e-9 * max(1.0, q.sum()))


# ---------------------------------------------------------------------------------------
# Sioux Falls against the best-known solution
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sioux_falls():
    from corridors import tntp

    folder = tntp.shipped_folder() / "SiouxFalls"  # shipped with the package

    net = tntp.read_network(folder / "SiouxFalls_net.tntp")
    trips = tntp.read_trips(folder / "SiouxFalls_trips.tntp", net)
    best = tntp.read_flows(folder / "SiouxFalls_flow.tntp").aligned(net)
    return net.link_arrays(), trips, best


@pytest.mark.parametrize("algorithm", ["bfw", "cfw"])
def test_sioux_falls_matches_best_known(sioux_falls, algorithm):
    arrays, trips, best = sioux_falls
    res = user_equilibrium(arrays, trips.origins - 1, trips.destinations - 1, trips.demand,
                           algorithm=algorithm, gap=1e-5, max_iter=5000)
    assert res.converged and res.relative_gap <= 1e-5
    rms = np.sqrt(np.mean((res.flows - best) ** 2))
    assert rms < 0.005 * best.mean()
    ref = beckmann(arrays, best)
    assert abs(res.beckmann - ref) / ref < 1e-4
    # the best-known flows are an equilibrium of our cost model
    assert relative_gap(arrays, trips.origins - 1, trips.destinations - 1, trips.demand,
                        best) < 1e-10


def test_sioux_falls_fw_is_slower_but_converges(sioux_falls):
    arrays, trips, best = sioux_falls
    fw = user_equilibrium(arrays, trips.origins - 1, trips.destinations - 1, trips.demand,
                          algorithm="fw", gap=1e-3)
    bfw = user_equilibrium(arrays, trips.origins - 1, trips.destinations - 1, trips.demand,
                           algorithm="bfw", gap=1e-3)
    assert fw.converged and bfw.converged
    assert len(bfw.iterations) <= len(fw.iterations)


@pytest.mark.slow
def test_chicago_sketch_matches_best_known():
    folder = TNTP / "ChicagoSketch"
    if not folder.is_dir():
        pytest.skip(f"TNTP test networks not found at {folder} (shared/tntp beside the project, "
                    "or set CORRIDORS_TNTP_DIR)")
    from corridors import tntp

    net = tntp.read_network(folder / "ChicagoSketch_net.tntp")
    trips = tntp.read_trips(folder / "ChicagoSketch_trips.tntp", net)
    best = tntp.read_flows(folder / "ChicagoSketch_flow.tntp").aligned(net)
    arrays = net.link_arrays()
    fixed = net.fixed_cost(toll=0.02, distance=0.04)
    res = user_equilibrium(arrays, trips.origins - 1, trips.destinations - 1, trips.demand,
                           gap=1e-5, fixed_cost=fixed, workers=0)
    assert res.converged
    assert np.sqrt(np.mean((res.flows - best) ** 2)) < 0.005 * best.mean()
    ref = beckmann(arrays, best, fixed)
    assert abs(res.beckmann - ref) / ref < 1e-4
    assert ref == pytest.approx(17313018.7387477, rel=1e-9)  # the README's optimal objective


# ---------------------------------------------------------------------------------------
# Graph reduction: dead ends and degree-2 chains
# ---------------------------------------------------------------------------------------


def streets():
    """Zones 0 and 1 joined by streets with every reducible feature.

    Two-way chain 0 - 2 - 3 - 4 - 1 (nodes 2, 3, 4 have two neighbours); one-way loop
    0 -> 5 -> 6 -> 1 -> 7 -> 0; a cul-de-sac 3 - 8 - 9 (two nodes deep); a node 10 with a
    way in only; a pair of parallel one-way chains 2 -> 11 -> 4 and 2 -> 12 -> 4 (nodes 11
    and 12 are one-way degree-2 nodes); a self-loop at 3; an isolated ring 13 -> 14 -> 13.
    """
    two_way = [(0, 2), (2, 3), (3, 4), (4, 1), (3, 8), (8, 9)]
    one_way = [(0, 5), (5, 6), (6, 1), (1, 7), (7, 0), (2, 11), (11, 4), (2, 12), (12, 4),
               (4, 10), (3, 3), (13, 14), (14, 13)]
    pairs = [(a, b) for a, b in two_way] + [(b, a) for a, b in two_way] + one_way
    rng = np.random.default_rng(5)
    links = [(a, b, float(rng.uniform(1, 5)), 30.0, 0.15, 4.0) for a, b in pairs]
    return make_net(links, 15)


def test_reduction_removes_dead_ends_and_contracts_chains():
    from corridors import _shortest

    net = streets()
    g = _shortest.build(net.n_nodes, net.tail, net.head, np.array([0, 1]), None)
    # only the zones and the junctions 2 (0, 3, 11, 12) and 4 (3, 1, 11, 12, 10) survive;
    # 3 is a degree-2 node once its cul-de-sac and self-loop are gone
    assert sorted(np.flatnonzero(g.node_of >= 0).tolist()) == [0, 1, 2, 4]
    dead = {(8, 9), (9, 8), (3, 8), (8, 3), (4, 10), (3, 3), (13, 14), (14, 13)}
    for k, (a, b) in enumerate(zip(net.tail.tolist(), net.head.tolist(), strict=True)):
        assert (g.link_edge[k] < 0) == ((a, b) in dead)
    # each internal edge's links form a connected walk in travel order
    for e in range(g.n_edges):
        links = g.edge_links[g.edge_ptr[e]:g.edge_ptr[e + 1]]
        assert np.array_equal(net.head[links[:-1]], net.tail[links[1:]])


def test_reduction_is_exact():
    import corridors.equilibrium as eq

    net = streets()
    o, d, q = [0, 1, 0], [1, 0, 1], [40.0, 25.0, 15.0]
    reduced = user_equilibrium(net, o, d, q, gap=1e-10, track_paths=True)
    everything = np.arange(net.n_nodes)
    original = eq._graph

    def unreduced(net_, dem):  # every node a terminal: nothing can be removed or bypassed
        from corridors import _shortest

        g = _shortest.build(net_.n_nodes, net_.tail, net_.head, everything, net_.no_through)
        assert g.n_nodes == net_.n_nodes
        return g

    eq._graph = unreduced
    try:
        full = user_equilibrium(net, o, d, q, gap=1e-10, track_paths=True)
    finally:
        eq._graph = original
    np.testing.assert_allclose(reduced.flows, full.flows, rtol=1e-7, atol=1e-7)
    assert reduced.relative_gap <= 1e-10
    routes = paths_for(reduced, 0, 1)
    assert sum(r.flow for r in routes) == pytest.approx(55.0)
    for r in routes:  # routes are walks of original links from 0 to 1
        assert net.tail[r.links[0]] == 0 and net.head[r.links[-1]] == 1
        assert np.array_equal(net.head[list(r.links[:-1])], net.tail[list(r.links[1:])])


def test_reduction_keeps_zone_on_a_chain_and_blocks_it():
    # 0 - 1 - 2 is a chain, but 1 is a zone that may not be passed through: 0 -> 2 must
    # take the long way 0 -> 3 -> 2
    links = [(0, 1, 1.0, 10.0, 0.0, 1.0), (1, 2, 1.0, 10.0, 0.0, 1.0),
             (0, 3, 5.0, 10.0, 0.0, 1.0), (3, 2, 5.0, 10.0, 0.0, 1.0)]
    net = make_net(links, 4, no_through=[False, True, False, False])
    np.testing.assert_allclose(all_or_nothing(net, [0, 0], [2, 1], [3.0, 1.0]),
                               [1.0, 0.0, 3.0, 3.0])


def test_sue_step_rules_agree_and_fisk_is_faster():
    net, o, d, q = grid(4, seed=9, load=1.0)
    fisk = stochastic_user_equilibrium(net, o, d, q, theta=0.5, gap=1e-6, max_iter=5000)
    msa = stochastic_user_equilibrium(net, o, d, q, theta=0.5, gap=1e-4, max_iter=5000,
                                      step_rule="msa")
    assert fisk.converged and fisk.algorithm == "sue-fisk" and msa.algorithm == "sue-msa"
    np.testing.assert_allclose(fisk.flows, msa.flows, rtol=5e-3, atol=1e-3 * q.mean())
    assert len(fisk.iterations) < len(msa.iterations)
    assert np.abs(conservation(net, fisk.flows, o, d, q)).max() < 1e-6 * q.sum()
