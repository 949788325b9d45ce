"""Design generators: sizes, bounds, integer and log handling, grid products, seeds paired across points."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from learncomm.sim.schema.sweep import Parameter, SweepFile
from learncomm.sim.sweeps.designs import design_size, from_unit, generate, grid_values, replicate_seeds


def spec(
    design: str = "grid", samples: int | None = None, seed: int = 0, replicates: int = 1, **params: dict[str, Any]
) -> SweepFile:
    return SweepFile.model_validate(
        {
            "base": "community",
            "design": design,
            "samples": samples,
            "seed": seed,
            "replicates": replicates,
            "parameters": {k.replace("__", "."): v for k, v in params.items()},
        }
    )


def test_grid_is_the_product_in_file_order_last_fastest() -> None:
    s = spec(params__alpha_ask={"values": [0.1, 0.2]}, network__rewiring={"low": 0, "high": 1, "levels": 3})
    d = generate(s)
    assert [tuple(p.values()) for p in d.points] == [
        (0.1, 0.0),
        (0.1, 0.5),
        (0.1, 1.0),
        (0.2, 0.0),
        (0.2, 0.5),
        (0.2, 1.0),
    ]
    assert list(d.points[0]) == ["params.alpha_ask", "network.rewiring"]
    assert design_size(s) == 6 and d.unit is None


def test_grid_levels_integer_and_log() -> None:
    assert grid_values(Parameter(low=1, high=3, levels=5, integer=True)) == [1, 2, 3]  # rounding merges neighbours
    logs = grid_values(Parameter(low=0.001, high=0.1, levels=3, log=True))
    assert logs == pytest.approx([0.001, 0.01, 0.1])
    assert all(isinstance(v, int) for v in grid_values(Parameter(low=10, high=1000, levels=3, integer=True, log=True)))


@pytest.mark.parametrize("design", ["random", "latin_hypercube"])
def test_sampled_designs_size_bounds_and_types(design: str) -> None:
    s = spec(
        design,
        samples=400,
        seed=3,
        params__alpha_ask={"low": 0.1, "high": 0.3},
        learners={"low": 20, "high": 25, "integer": True},
        params__study_rate={"low": 0.001, "high": 0.1, "log": True},
        setting={"values": ["classroom", "community"]},
    )
    d = generate(s)
    assert len(d.points) == 400 == design_size(s) and d.unit is not None and d.unit.shape == (400, 4)
    a = np.array([p["params.alpha_ask"] for p in d.points])
    n = [p["learners"] for p in d.points]
    r = np.array([p["params.study_rate"] for p in d.points])
    assert a.min() >= 0.1 and a.max() <= 0.3
    assert all(isinstance(x, int) for x in n) and set(n) == set(range(20, 26))  # every integer, both ends included
    assert r.min() >= 0.001 and r.max() <= 0.1
    assert 0.4 < np.mean(r < math.sqrt(0.001 * 0.1)) < 0.6  # log-uniform: half below the geometric mean
    assert {p["setting"] for p in d.points} == {"classroom", "community"}


def test_latin_hypercube_puts_one_point_in_each_stratum() -> None:
    d = generate(
        spec(
            "latin_hypercube",
            samples=20,
            params__alpha_ask={"low": 0, "high": 1},
            params__study_rate={"low": 0, "high": 1},
        )
    )
    for j in range(2):
        assert sorted(np.floor(d.unit[:, j] * 20).astype(int)) == list(range(20))


def test_integer_mapping_gives_each_integer_an_equal_share() -> None:
    p = Parameter(low=1, high=4, integer=True)
    values = [from_unit(p, u) for u in np.linspace(0, 1, 4001)]
    counts = [values.count(k) for k in range(1, 5)]
    assert max(counts) - min(counts) <= 2
    assert from_unit(p, 0.0) == 1 and from_unit(p, 1.0) == 4


def test_sobol_and_morris_sizes_and_salib_structure() -> None:
    from SALib.sample import sobol

    params = {
        "params__alpha_ask": {"low": 0.1, "high": 0.5},
        "network__rewiring": {"low": 0, "high": 1},
        "learners": {"low": 10, "high": 50, "integer": True},
    }
    s = spec("sobol", samples=8, **params)
    d = generate(s)
    assert len(d.points) == 8 * (3 + 2) == design_size(s)
    # the same unit matrix SALib gives for that seed, so SALib's analysis reads the outputs in the right order
    from learncomm.sim.sweeps.designs import _design_seed

    expected = sobol.sample(
        {"num_vars": 3, "names": list(s.parameters), "bounds": [[0, 1]] * 3},
        8,
        calc_second_order=False,
        seed=_design_seed(0),
    )
    np.testing.assert_array_equal(d.unit, expected)
    s2 = SweepFile.model_validate({**s.model_dump(), "second_order": True})
    assert len(generate(s2).points) == 8 * (2 * 3 + 2) == design_size(s2)
    m = spec("morris", samples=5, **params)
    dm = generate(m)
    assert len(dm.points) == 5 * (3 + 1) == design_size(m)
    assert set(np.round(dm.unit.ravel() * 3, 9)) <= {0.0, 1.0, 2.0, 3.0}  # 4 levels
    # a trajectory moves one parameter at a time
    for t in range(5):
        block = dm.unit[t * 4 : (t + 1) * 4]
        assert all((np.abs(np.diff(block, axis=0)) > 1e-12).sum(axis=1) == 1)


def test_designs_are_deterministic_from_the_sweep_seed() -> None:
    params = {"params__alpha_ask": {"low": 0.1, "high": 0.5}, "network__rewiring": {"low": 0, "high": 1}}
    for design in ("random", "latin_hypercube", "sobol", "morris"):
        a, b = generate(spec(design, samples=8, seed=5, **params)), generate(spec(design, samples=8, seed=5, **params))
        c = generate(spec(design, samples=8, seed=6, **params))
        assert a.points == b.points, design
        assert a.points != c.points, design


def test_replicate_seeds_are_distinct_reproducible_and_paired_across_points() -> None:
    seeds = replicate_seeds(11, 50)
    assert len(set(seeds)) == 50 and seeds == replicate_seeds(11, 50) and seeds != replicate_seeds(12, 50)
    assert all(0 <= s < 2**31 for s in seeds)
    d = generate(spec(replicates=4, seed=11, params__alpha_ask={"values": [0.1, 0.2, 0.3]}))
    assert d.seeds == replicate_seeds(11, 4)
    # changing the parameters never changes the seeds: replicate r is the same draw everywhere
    other = generate(spec(replicates=4, seed=11, network__rewiring={"values": [0.0, 1.0]}))
    assert other.seeds == d.seeds
