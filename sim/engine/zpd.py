"""The zone of proximal development: how much a gap to a more knowing other can teach.

Its own module because the day's learning (learning.py) and the roles' levers
(levers.py, meeting notes) both use it, and levers.py sits below learning.py.
"""

from __future__ import annotations

import numpy as np


def zpd_gain(gap: np.ndarray, peak: float) -> np.ndarray:
    """g * zpd(g) with zpd(g) = exp(-g^2 / (2 peak^2)): largest at g = peak, small for big gaps, 0 if not behind."""
    g = np.maximum(gap, 0.0)
    return g * np.exp(-(g * g) / (2.0 * peak * peak))
