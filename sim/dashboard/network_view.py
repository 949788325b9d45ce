"""A snapshot of the social network, rebuilt from the manifest (the run folder does not store it).

Same scenario + same seed draws the same population and the same network
(the network has its own seeded stream), so rebuilding is exact and cheap.
Large networks are shown as a breadth-first (snowball) sample, laid out by
a few iterations of a force layout; the page says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy import sparse
from scipy.sparse.csgraph import breadth_first_order

from learncomm.sim.dashboard.common import GROUP_LABELS, base_layout, colour, esc, rounded
from learncomm.sim.engine.model import CommunityModel
from learncomm.sim.schema.roles import Roles
from learncomm.sim.schema.scenario import Scenario
from learncomm.sim.schema.vocab import GROUPS

MAX_NODES = 500


@dataclass
class NetworkSample:
    """The learners a run page draws (all of them, or a snowball sample) with their ties and layout."""

    nodes: np.ndarray  # learner ids shown
    edges: np.ndarray  # (E, 2) positions into `nodes`
    xy: np.ndarray  # (len(nodes), 2)
    total: int
    communities: list[str]
    note: str


def rebuild_graph(manifest: dict[str, Any]) -> tuple[sparse.csr_matrix, np.ndarray, list[str]]:
    """The union of the communities' networks (symmetric, learners × learners) and the rebuilt initial confidence."""
    sc = Scenario.model_validate(manifest["scenario"])
    # The roles act after the network is drawn and never change it: build without them (no decider, no LLM).
    model = CommunityModel(sc.model_copy(update={"roles": Roles()}), seed=manifest["seed"], agents=False)
    n = model.state.n
    mats = [
        sparse.csr_matrix((np.ones(len(c.indices), dtype=np.int8), c.indices, c.indptr), shape=(n, n))
        for c in model.world.networks
    ]
    graph = mats[0] if len(mats) == 1 else sum(mats[1:], mats[0])
    return graph.tocsr(), model.state.initial_confidence.copy(), list(model.world.names)


def snowball(graph: sparse.csr_matrix, limit: int, rng: np.random.Generator) -> np.ndarray:
    """Up to `limit` learners in breadth-first order from a random start (restarting in another component if needed)."""
    n = graph.shape[0]
    if n <= limit:
        return np.arange(n)
    taken: list[int] = []
    seen = np.zeros(n, dtype=bool)
    while len(taken) < limit:
        start = int(rng.choice(np.flatnonzero(~seen)))
        order = breadth_first_order(graph, start, directed=False, return_predecessors=False)
        order = order[~seen[order]][: limit - len(taken)]
        seen[order] = True
        taken.extend(order.tolist())
    return np.asarray(taken)


def force_layout(n: int, edges: np.ndarray, iterations: int = 60, seed: int = 0) -> np.ndarray:
    """Fruchterman-Reingold on a dense distance matrix (fine for ≤ 500 nodes), started on a circle in sample order."""
    angle = np.linspace(0, 2 * np.pi, n, endpoint=False)
    pos = np.column_stack([np.cos(angle), np.sin(angle)]) + np.random.default_rng(seed).normal(0, 0.01, (n, 2))
    if n < 3:
        return pos
    k = np.sqrt(4.0 / n)
    temp = 0.2
    for _ in range(iterations):
        delta = pos[:, None, :] - pos[None, :, :]
        dist = np.sqrt((delta**2).sum(-1)) + 1e-6
        disp = (delta * (k * k / dist**2)[..., None]).sum(1)  # repulsion between all pairs
        if len(edges):
            d = pos[edges[:, 0]] - pos[edges[:, 1]]
            ln = np.sqrt((d**2).sum(1))[:, None] + 1e-6
            pull = d * ln / k  # attraction along edges
            np.add.at(disp, edges[:, 0], -pull)
            np.add.at(disp, edges[:, 1], pull)
        length = np.sqrt((disp**2).sum(1))[:, None] + 1e-9
        pos += disp / length * np.minimum(length, temp)
        temp *= 0.95
    return pos


def sample_network(manifest: dict[str, Any], learners: pd.DataFrame, limit: int = MAX_NODES) -> NetworkSample:
    graph, initial_conf, names = rebuild_graph(manifest)
    n = graph.shape[0]
    nodes = snowball(graph, limit, np.random.default_rng(int(manifest.get("seed", 0))))
    sub = graph[nodes][:, nodes].tocoo()
    keep = sub.row < sub.col
    edges = np.column_stack([sub.row[keep], sub.col[keep]])
    xy = force_layout(len(nodes), edges, seed=int(manifest.get("seed", 0)))
    if n <= limit:
        note = f"All {n:,} learners and their {len(edges):,} ties."
    else:
        note = (
            f"A sample: {len(nodes):,} of {n:,} learners, taken breadth-first (a snowball) from a random learner, "
            f"with the {len(edges):,} ties among them; ties to learners outside the sample are not drawn."
        )
    if len(learners) == n and not np.allclose(learners["confidence_initial"].to_numpy(float), initial_conf):
        note += (
            " Warning: the rebuilt learners differ from this run's (made by another learncomm version?); "
            "the ties may not be this run's."
        )
    return NetworkSample(nodes=nodes, edges=edges, xy=xy, total=n, communities=names, note=note)


def network_figure(snap: NetworkSample, learners: pd.DataFrame) -> go.Figure:
    """Nodes coloured by confidence group (a button switches to final confidence), sized by final knowledge; open =
    dropped out."""
    lx = learners.set_index("learner_id").reindex(snap.nodes)
    x, y = snap.xy[:, 0], snap.xy[:, 1]
    ex = np.column_stack([x[snap.edges[:, 0]], x[snap.edges[:, 1]], np.full(len(snap.edges), np.nan)]).ravel()
    ey = np.column_stack([y[snap.edges[:, 0]], y[snap.edges[:, 1]], np.full(len(snap.edges), np.nan)]).ravel()
    fig = go.Figure(
        go.Scatter(
            x=rounded(ex, 3),
            y=rounded(ey, 3),
            mode="lines",
            line={"color": "rgba(120,120,120,0.35)", "width": 0.7},
            hoverinfo="skip",
            name="ties",
            showlegend=False,
        )
    )
    group_colour, conf_colour = [], []
    for g in GROUPS:
        m = (lx["confidence_group"] == g).to_numpy()
        if not m.any():
            continue
        d = lx[m]
        size = 5 + 16 * d["knowledge_final"].to_numpy(float)
        symbol = np.where(d["retained"].to_numpy(bool), "circle", "circle-open").tolist()
        hover = [
            f"learner {i}<br>{GROUP_LABELS[g]}<br>confidence {a:.2f} → {b:.2f}<br>knowledge {c:.2f} → {e:.2f}"
            f"<br>{'active' if r else 'dropped out'}"
            for i, a, b, c, e, r in zip(
                d.index,
                d["confidence_initial"],
                d["confidence_final"],
                d["knowledge_initial"],
                d["knowledge_final"],
                d["retained"],
                strict=True,
            )
        ]
        fig.add_trace(
            go.Scatter(
                x=rounded(x[m], 3),
                y=rounded(y[m], 3),
                mode="markers",
                name=esc(GROUP_LABELS[g]),
                legendgroup=g,
                marker={
                    "size": rounded(size, 1),
                    "color": colour(g),
                    "symbol": symbol,
                    "line": {"width": 0.5, "color": "#333"},
                    "colorscale": "RdBu",
                    "cmin": 0,
                    "cmax": 1,
                    "showscale": False,
                    "colorbar": {"title": {"text": "final<br>confidence"}},
                },
                hovertext=hover,
                hoverinfo="text",
            )
        )
        group_colour.append(colour(g))
        conf_colour.append(rounded(d["confidence_final"].to_numpy(float), 3))
    idx = list(range(1, len(fig.data)))
    scale_on = [True] + [False] * (len(idx) - 1)
    fig.update_layout(
        updatemenus=[
            {
                "type": "buttons",
                "direction": "right",
                "x": 0,
                "y": 1.12,
                "xanchor": "left",
                "showactive": True,
                "buttons": [
                    {
                        "label": "colour: confidence group",
                        "method": "restyle",
                        "args": [{"marker.color": group_colour, "marker.showscale": [False] * len(idx)}, idx],
                    },
                    {
                        "label": "colour: final confidence",
                        "method": "restyle",
                        "args": [{"marker.color": conf_colour, "marker.showscale": scale_on}, idx],
                    },
                ],
            }
        ]
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    return base_layout(fig, 640, margin={"l": 10, "r": 10, "t": 70, "b": 40})
