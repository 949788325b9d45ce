"""How counts and numbers are written for people, in one place for the CLI tables, the dashboards and messages.

"1 day" not "1 days", and never "-0.000": a value that rounds to zero is shown as zero, because a minus sign on a
rounded zero reads as a (tiny) loss that the table cannot show.
"""

from __future__ import annotations

import math


def plural(n: float, word: str, many: str | None = None) -> str:
    """'1 day', '2 days', '0 days' (with `many` for irregular plurals: plural(3, 'person', 'people'))."""
    shown = f"{n:,}" if isinstance(n, int) else f"{n:g}"
    return f"{shown} {word if n == 1 else (many or word + 's')}"


def number(x: float, digits: int = 3, thousands: bool = False) -> str:
    """x with `digits` decimals, '–' when missing or not finite, and no minus sign on a value that rounds to zero."""
    if x is None or not math.isfinite(float(x)):
        return "–"
    s = f"{float(x):{',' if thousands else ''}.{digits}f}"
    return s[1:] if s.startswith("-") and float(s.replace(",", "")) == 0 else s
