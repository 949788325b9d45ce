"""Named random streams derived from a run's seed.

Each stream is seeded by the run's seed and a stable hash of its name (as
Starsim does), so adding a stream, or a draw on one stream, never shifts the
numbers of another.
"""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, name: str) -> np.random.Generator:
    """The generator of stream `name` for `seed`: the same numbers for the same (seed, name), always."""
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(zlib.crc32(name.encode()),)))
