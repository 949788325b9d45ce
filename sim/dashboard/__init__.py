"""Dashboards: self-contained HTML pages (Plotly, no network) for runs, comparisons, sweeps, model checks and a
results folder.

`write_dashboard(path)` finds out what PATH is and writes its page;
`write_index(root)` lists every run, comparison, sweep and model check under
a results folder. The `learncomm run`, `compare` and `sweep` commands call them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from learncomm.sim.dashboard.common import DashboardError, assets_root
from learncomm.sim.dashboard.folders import Kind, Siblings, children, detect, siblings, stale
from learncomm.sim.dashboard.index_page import build_index
from learncomm.sim.dashboard.run_page import build_run

__all__ = ["DashboardError", "write_dashboard", "write_index", "build_all"]


def write_dashboard(
    path: Path, embed: bool = False, force: bool = False, warn: Callable[[str], None] | None = None
) -> Path:
    """Build the dashboard of a run, comparison, sweep or model check folder (or of every folder under a results
    root, plus its index).

    Returns the page to open: `<folder>/dashboard.html`, or `<root>/index.html` for a results root. Under a results
    root, pages newer than their inputs are kept (a thousand runs stay quick); `force` rebuilds them all.
    """
    path = Path(path)
    kind = detect(path)
    if kind == "root":
        build_all(path, embed=embed, force=force, warn=warn)
        return write_index(path)
    return _build(path, kind, embed)


def _build(path: Path, kind: Kind, embed: bool = False) -> Path:
    if kind == "run":
        return build_run(path, embed=embed)
    if kind == "comparison":  # the other pages' modules load only when such a page is built
        from learncomm.sim.dashboard.compare_page import build_comparison

        return build_comparison(path, embed=embed)
    if kind == "sweep":
        from learncomm.sim.dashboard.sweep_page import build_sweep

        return build_sweep(path, embed=embed)
    if kind == "check":
        from learncomm.sim.dashboard.check_page import build_check

        return build_check(path, embed=embed)
    if kind == "calibration":
        from learncomm.sim.dashboard.calibration_page import build_calibration

        return build_calibration(path, embed=embed)
    if kind == "eval":
        from learncomm.sim.dashboard.eval_page import build_eval

        return build_eval(path, embed=embed)
    raise DashboardError(f"{path}: not a run, comparison, sweep, model check, calibration or llm eval folder")


def build_all(
    root: Path, embed: bool = False, force: bool = False, warn: Callable[[str], None] | None = None
) -> list[Path]:
    """Dashboards for every run, comparison, sweep and model check under `root`; with force=False, only where the
    page is missing, older than any of its inputs, or built from another set of inputs (`folders.stale`: for a run,
    its replicates beside it count, so a seed added later updates the bands and "One run"). A folder whose page
    cannot be built (a damaged file) is skipped and passed to `warn`, so one bad folder never stops the others or
    the index."""
    with assets_root(root):  # every page under the root shares root/plotly.min.js
        return _build_all(Path(root), embed, force, warn)


def _build_all(root: Path, embed: bool, force: bool, warn: Callable[[str], None] | None) -> list[Path]:
    built = []
    runs_in: dict[Path, Siblings] = {}  # each parent's run manifests, read once (a thousand runs stay quick)
    mtimes: dict[str, float] = {}  # and each input file's time, looked up once
    for folder, kind in children(root):
        if kind == "run" and folder.parent not in runs_in:
            runs_in[folder.parent] = siblings(folder.parent)
        sibs = runs_in.get(folder.parent) if kind == "run" else None
        if not force and not stale(folder, kind, sibs, mtimes):
            continue
        try:
            built.append(_build(folder, kind, embed))
        except Exception as exc:  # noqa: BLE001 - damaged files raise many types; skip the folder, keep going
            if warn is not None:
                why = str(exc) if isinstance(exc, DashboardError) else f"{type(exc).__name__}: {exc}"
                warn(f"{folder}: skipped, its dashboard cannot be built: {why}")
    return built


def write_index(results_root: Path) -> Path:
    """Write `<results_root>/index.html`: every run, comparison, sweep and model check there, with links and key
    facts."""
    return build_index(Path(results_root))
