"""User equilibrium with one cost mask per class of OD pairs (bi-conjugate Frank-Wolfe).

A scenario may close features to some OD segments only (China-EU traffic may not cross
Russia, China-Russia traffic may).  Each such *class* of OD pairs routes on the link costs
plus its own mask (an infinite cost on the edges closed to it); all classes share the
links, so they congest together.  The Frank-Wolfe family carries over unchanged: every
iteration loads each class all-or-nothing on its masked costs, and the search direction
and step (exact line search on the Beckmann objective of the total flows) combine the
classes' loadings with the same weights, which keeps every class feasible.  With one
class and no mask this is :func:`corridors.equilibrium.user_equilibrium` (same loading,
same steps, same result); the loading, the trees and the path bookkeeping are the
engine's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from corridors import equilibrium as eq

__all__ = ["ClassDemand", "class_user_equilibrium"]


@dataclass(frozen=True)
class ClassDemand:
    """The OD pairs of one class and the edges closed to them.

    Attributes
    ----------
    origins, destinations : sequence of int
        Node indices of the OD pairs.
    demand : sequence of float
        Flow of every pair (flow unit).
    closed : numpy.ndarray of bool or None
        Per link: True where the class may not go (infinite cost).
    """

    origins: Sequence[int]
    destinations: Sequence[int]
    demand: Sequence[float]
    closed: np.ndarray | None = None


def class_user_equilibrium(net: eq.LinkArrays, classes: Sequence[ClassDemand], *, fixed_cost: np.ndarray,
                           gap: float = 1e-4, max_iter: int = 500,
                           callback: Callable[[eq.IterationRecord], Any] | None = None
                           ) -> list[eq.EquilibriumResult]:
    """Bi-conjugate Frank-Wolfe user equilibrium of several classes sharing the links.

    Parameters
    ----------
    net : LinkArrays
    classes : sequence of ClassDemand
    fixed_cost : numpy.ndarray
        Flow-independent cost per link (cost unit).
    gap, max_iter, callback
        As for :func:`corridors.equilibrium.user_equilibrium`.

    Returns
    -------
    list of EquilibriumResult
        One per class, each with the total link flows and costs and the class's routes
        (:func:`corridors.equilibrium.paths_for`).
    """
    start = time.perf_counter()
    fixed = np.asarray(fixed_cost, dtype=np.float64)
    loaders = []
    for cls in classes:
        dem = eq._demand(net, cls.origins, cls.destinations, cls.demand)
        mask = np.zeros(net.n_links) if cls.closed is None else np.where(cls.closed, np.inf, 0.0)
        loaders.append((eq._Loader(net, dem, eq._graph(net, dem), 1), dem, mask))

    def load(cost: np.ndarray) -> tuple[np.ndarray, tuple]:
        total = np.zeros(net.n_links)
        trees = []
        for loader, _, mask in loaders:
            vol, tree = loader.load(cost + mask, True)
            total += vol
            trees.append(tree)
        return total, tuple(trees)

    records: list[eq.IterationRecord] = []
    trees: list[tuple] = []
    converged = False
    c = eq.link_cost(net, np.zeros(net.n_links), fixed)
    x, tr = load(c)
    trees.append(tr)
    wx = np.ones(1)
    ws1 = ws2 = np.zeros(0)
    s1 = s2 = None
    tau_prev = step = 1.0
    n_conj = 0
    while True:
        c = eq.link_cost(net, x, fixed)
        y, tr = load(c)
        tx = float(c @ x)
        rg = (tx - float(c @ y)) / tx if tx > 0 else 0.0
        rec = eq.IterationRecord(len(records) + 1, rg, eq.beckmann(net, x, fixed), time.perf_counter() - start,
                                 step)
        records.append(rec)
        if callback is not None:
            callback(rec)
        if rg <= gap:
            converged = True
            break
        if len(records) >= max_iter:
            break
        trees.append(tr)
        k = len(trees)
        wx, ws1, ws2 = (np.pad(a, (0, k - a.size)) for a in (wx, ws1, ws2))
        ey = np.zeros(k)
        ey[-1] = 1.0
        s, coef, n_conj, d, tau = eq.conjugate_step(net, fixed, x, y, s1, s2, tau_prev, n_conj)
        if tau <= 0.0:
            break
        s_w = coef[0] * ey + coef[1] * ws1 + coef[2] * ws2
        wx = (1.0 - tau) * wx + tau * s_w
        ws1, ws2 = s_w, ws1
        x = x + tau * d
        s2, s1 = s1, s
        tau_prev = step = tau
    costs = eq.link_cost(net, x, fixed)
    last = records[-1]
    out = []
    for i, (loader, dem, _) in enumerate(loaders):
        store = eq._PathStore(net=net, graph=loader.graph, dem=dem, trees=tuple(t[i] for t in trees),
                              weights=wx[:len(trees)])
        out.append(eq.EquilibriumResult(flows=x, costs=costs, iterations=tuple(records), converged=converged,
                                        relative_gap=last.relative_gap, beckmann=last.beckmann,
                                        seconds=time.perf_counter() - start, algorithm="bfw", paths=store))
    return out
