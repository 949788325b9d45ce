"""Design generators: which parameter values a sweep runs, and the paired replicate seeds.

Everything is derived from the sweep's one `seed`, so the same file always
gives the same points and seeds. Sampled designs work in the unit cube and
map each coordinate to a value (linear or log, rounded for integers); the
unit coordinates are kept because the sensitivity analysis needs them.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from learncomm.sim.schema.sweep import Parameter, SweepFile

# Separate streams from the one sweep seed, so adding replicates never moves the points.
_SEEDS_STREAM, _DESIGN_STREAM = 1, 2


@dataclass
class Design:
    """The points (dotted path -> value, in file order) and the seeds every point runs with."""

    points: list[dict[str, Any]]
    seeds: list[int]
    unit: np.ndarray | None = None  # (points, parameters) coordinates in [0, 1] for sampled designs


def replicate_seeds(seed: int, replicates: int) -> list[int]:
    """Distinct run seeds for replicates 0..R-1; replicate r uses the same seed at every point
    (common random numbers), so points differ only by their parameters."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, _SEEDS_STREAM]))
    return [int(s) for s in rng.choice(2**31 - 1, size=replicates, replace=False)]


def _design_seed(seed: int) -> int:
    return int(np.random.SeedSequence([seed, _DESIGN_STREAM]).generate_state(1)[0])


def from_unit(p: Parameter, u: float) -> Any:
    """The value of a range parameter at unit coordinate u (0 = low, 1 = high)."""
    assert p.low is not None and p.high is not None
    u = min(max(float(u), 0.0), 1.0)
    if p.integer:
        lo, hi = int(p.low), int(p.high)
        if p.log:
            x = math.exp(math.log(lo) + u * (math.log(hi + 1) - math.log(lo)))
            return min(int(math.floor(x)), hi)
        return min(lo + int(math.floor(u * (hi - lo + 1))), hi)  # each integer equally likely
    if p.log:
        return float(math.exp(math.log(p.low) + u * (math.log(p.high) - math.log(p.low))))
    return float(p.low + u * (p.high - p.low))


def grid_values(p: Parameter) -> list[Any]:
    """The values a grid takes for one parameter: its list, or `levels` evenly spaced (log-spaced) values."""
    if not p.is_range:
        return list(p.values or [])
    assert p.low is not None and p.high is not None and p.levels is not None
    xs = np.geomspace(p.low, p.high, p.levels) if p.log else np.linspace(p.low, p.high, p.levels)
    if p.integer:
        return list(dict.fromkeys(int(round(x)) for x in xs))  # rounding can merge neighbours
    return [float(x) for x in xs]


def _from_unit_any(p: Parameter, u: float) -> Any:
    """Range: mapped value; values list: one of the values, each equally likely."""
    if p.is_range:
        return from_unit(p, u)
    values = p.values or []
    return values[min(int(u * len(values)), len(values) - 1)]


def unit_sample(spec: SweepFile) -> np.ndarray:
    """The sampled designs' points in the unit cube, from SALib (sobol, morris) or scipy (random, LHS)."""
    names = list(spec.parameters)
    d, n, seed = len(names), int(spec.samples or 0), _design_seed(spec.seed)
    problem = {"num_vars": d, "names": names, "bounds": [[0.0, 1.0]] * d}
    if spec.design == "random":
        return np.random.default_rng(seed).random((n, d))
    # scipy.stats and SALib load only for the designs that use them: `learncomm` imports this module at start.
    if spec.design == "latin_hypercube":
        from scipy.stats import qmc

        try:
            sampler = qmc.LatinHypercube(d=d, rng=np.random.default_rng(seed))
        except TypeError:  # scipy < 1.15 calls it seed
            sampler = qmc.LatinHypercube(d=d, seed=np.random.default_rng(seed))
        return sampler.random(n)
    if spec.design == "sobol":
        from SALib.sample import sobol

        return np.asarray(sobol.sample(problem, n, calc_second_order=spec.second_order, seed=seed))
    if spec.design == "morris":
        from SALib.sample import morris

        return np.asarray(morris.sample(problem, n, num_levels=spec.morris_levels, seed=seed))
    raise ValueError(f"not a sampled design: {spec.design}")


def design_size(spec: SweepFile) -> int:
    """How many points the design has, computed without generating it (to refuse huge sweeps early)."""
    d, n = len(spec.parameters), int(spec.samples or 0)
    if spec.design == "grid":
        return math.prod(len(grid_values(p)) for p in spec.parameters.values())
    if spec.design == "sobol":
        return n * (2 * d + 2 if spec.second_order else d + 2)
    if spec.design == "morris":
        return n * (d + 1)
    return n


def generate(spec: SweepFile) -> Design:
    """The sweep's points and replicate seeds."""
    seeds = replicate_seeds(spec.seed, spec.replicates)
    params = spec.parameters
    if spec.design == "grid":
        combos = itertools.product(*(grid_values(p) for p in params.values()))  # last parameter varies fastest
        return Design(points=[dict(zip(params, c, strict=True)) for c in combos], seeds=seeds)
    unit = unit_sample(spec)
    points = [{path: _from_unit_any(p, u) for (path, p), u in zip(params.items(), row, strict=True)} for row in unit]
    return Design(points=points, seeds=seeds, unit=unit)
