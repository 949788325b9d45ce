"""Per-learner paired effects and per-subgroup trajectories for `compare`.

Common random numbers give learner i the same draw in A and B on the same seed
(the population stream), so B − A of one learner is an individual effect of the
scenario difference. A pair is used only when the learner's drawn attributes
(`IDENTITY`) are the same in both runs: a scenario difference that changes the
population (another size or confidence mix) changes who learner i is, and those
learners are counted as unpaired instead.

"Unchanged" means |B − A| <= `TOLERANCE[outcome]`: one percentage point on the 0-1
scales (knowledge, confidence, motivation) and an exact match for counts and
retention. Better off means higher in B.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from learncomm.sim.schema.vocab import LEARNER_OUTCOMES

if TYPE_CHECKING:
    from learncomm.sim.engine.model import CommunityModel

IDENTITY = ("confidence_group", "access_class", "knowledge_initial", "confidence_initial", "motivation_initial")
TOLERANCE: dict[str, float] = {
    "knowledge_gain": 0.01,
    "confidence_change": 0.01,
    "motivation_final": 0.01,
    "retained": 0.0,
    "days_present": 0.0,
    "ask": 0.0,
    "explain": 0.0,
    "meet": 0.0,
}
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def pair(la: pd.DataFrame, lb: pd.DataFrame) -> pd.DataFrame:
    """One row per learner in both runs: `paired` (same drawn attributes), and per outcome `<o>_a`, `<o>_b`,
    `<o>_diff` (B − A)."""
    cols = ["learner_id", *IDENTITY, *LEARNER_OUTCOMES]
    m = la[cols].merge(lb[cols], on="learner_id", suffixes=("_a", "_b"), how="inner", validate="one_to_one")
    same = np.ones(len(m), dtype=bool)
    for c in IDENTITY:
        x, y = m[f"{c}_a"].to_numpy(), m[f"{c}_b"].to_numpy()
        same &= np.isclose(x, y, rtol=0, atol=1e-12) if x.dtype.kind == "f" else (x == y)
    out = pd.DataFrame({"learner_id": m["learner_id"].to_numpy(), "paired": same})
    for o in LEARNER_OUTCOMES:
        a, b = m[f"{o}_a"].to_numpy(float), m[f"{o}_b"].to_numpy(float)
        out[f"{o}_a"], out[f"{o}_b"], out[f"{o}_diff"] = a, b, b - a
    return out


def shares(diff: np.ndarray, tol: float) -> tuple[float, float, float]:
    """Shares of learners better off, worse off and unchanged (|diff| <= tol); NaN for nobody."""
    if len(diff) == 0:
        return float("nan"), float("nan"), float("nan")
    eps = tol + 1e-12  # float noise never makes an identical learner better or worse
    better, worse = float(np.mean(diff > eps)), float(np.mean(diff < -eps))
    return better, worse, 1.0 - better - worse


def quantiles(diff: np.ndarray) -> dict[str, float]:
    vals = np.quantile(diff, QUANTILES) if len(diff) else np.full(len(QUANTILES), np.nan)
    return {f"diff_q{round(q * 100):02d}": float(v) for q, v in zip(QUANTILES, vals, strict=True)}


class Recorder:
    """Each learner's mean knowledge and motivation per day, plus who had joined and who was active: what the
    comparison's per-subgroup trajectories are computed from (two float and two bool arrays per day)."""

    def __init__(self) -> None:
        self.days: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def __call__(self, model: CommunityModel) -> None:
        s = model.state
        k = s.knowledge.mean(axis=1)
        self.days.append((k, s.motivation.copy(), s.joined.copy(), s.active.copy()))

    def trajectories(self, learner_ids: np.ndarray, groups: dict[str, pd.Series]) -> pd.DataFrame:
        """Per group and day: mean knowledge of the members who had joined, mean motivation of those active (as
        the timeseries' `knowledge_<scope>` and `motivation_<scope>`), and how many had joined."""
        n = max(len(d[0]) for d in self.days)

        def stack(i: int, fill: float | bool) -> np.ndarray:
            if all(len(d[i]) == n for d in self.days):  # the usual case: nobody was added during the run
                return np.stack([d[i] for d in self.days])
            return np.stack([np.pad(d[i], (0, n - len(d[i])), constant_values=fill) for d in self.days])

        k, mot = stack(0, 0.0).astype(float), stack(1, 0.0).astype(float)
        joined, active = stack(2, False).astype(float), stack(3, False).astype(float)
        names = list(groups)
        member = np.zeros((n, len(names)))
        for j, g in enumerate(names):
            member[learner_ids[groups[g].to_numpy()], j] = 1.0
        jm, am = joined @ member, active @ member  # (days, groups)
        know = np.divide((k * joined) @ member, jm, out=np.full(jm.shape, np.nan), where=jm > 0)
        moti = np.divide((mot * active) @ member, am, out=np.full(am.shape, np.nan), where=am > 0)
        days = np.arange(len(self.days))
        return pd.DataFrame(
            {
                "group": np.tile(names, len(days)),
                "day": np.repeat(days, len(names)),
                "knowledge": know.ravel(),
                "motivation": moti.ravel(),
                "learners": jm.ravel().astype(np.int64),
            }
        )
