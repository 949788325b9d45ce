"""Dashboards in a real browser: headless Chromium opens each page from disk with the network off.

Needs Debian's `chromium` and Playwright's Python package (the test extra);
never `playwright install` (no browser downloads). Without them these tests
skip, or fail when LEARNCOMM_REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from test_dashboard_data import EVIL_TOPIC, LABELS, PWNED, labelled_sweep, noisy_sobol, results_root

from learncomm.sim.dashboard import write_dashboard

RENDERED = (
    """() => window.Plotly && [...document.querySelectorAll('.plotly-graph-div')].every(e => e._fullLayout && e.data)"""
)
TRACES = """() => [...document.querySelectorAll('.js-plotly-plot')].map(e => [e.id, e.data.length])"""


def _missing() -> str | None:
    if shutil.which("chromium") is None:
        return "Chromium is not installed (apt-get install -y chromium; scripts/test.sh does it when run as root)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = _missing()
    if missing:
        if os.environ.get("LEARNCOMM_REQUIRE_BROWSER") == "1":
            pytest.fail(f"LEARNCOMM_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=shutil.which("chromium"), args=["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND"]
        )
        yield b
        b.close()


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    r = results_root(tmp_path_factory.mktemp("dash"))
    write_dashboard(r)
    return r


class Page:
    """A page opened from disk, offline, with its console errors, page errors and any network attempt recorded."""

    def __init__(self, browser: Any, path: Path, wait: bool = True) -> None:
        self.ctx = browser.new_context(viewport={"width": 1400, "height": 900})
        self.network: list[str] = []
        self.errors: list[str] = []

        def route(r: Any) -> None:
            if r.request.url.startswith("file:"):
                r.continue_()
            else:
                self.network.append(r.request.url)
                r.abort()

        self.ctx.route("**/*", route)
        self.page = self.ctx.new_page()
        self.page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.goto(path.resolve().as_uri())
        if wait:
            self.page.wait_for_function(RENDERED, timeout=20_000)

    def js(self, script: str, arg: Any = None) -> Any:
        return self.page.evaluate(script, arg)

    def check_clean(self, plots: int) -> None:
        traces = self.js(TRACES)
        assert len(traces) == plots, traces
        assert all(n > 0 for _, n in traces), traces
        assert self.errors == [], self.errors
        assert self.network == [], self.network
        assert self.js("() => window.__pwned") is None

    def close(self) -> None:
        self.ctx.close()


def test_run_dashboard_renders_and_decision_text_shows_as_text(browser: Any, root: Path) -> None:
    p = Page(browser, root / "roles-seed1" / "dashboard.html")
    p.check_clean(plots=12)
    # hover the decision whose text was replaced by a <script>: the label shows it literally
    where = p.js("""() => { const d = document.getElementById('fig-interventions').data;
        for (let c = 0; c < d.length; c++) for (let i = 0; i < d[c].hovertext.length; i++)
            if (d[c].hovertext[i].includes('__pwned')) return [c, i]; return null; }""")
    assert where is not None
    p.js("([c, i]) => Plotly.Fx.hover('fig-interventions', [{curveNumber: c, pointNumber: i}])", where)
    label = p.page.locator("#fig-interventions .hoverlayer .hovertext").first
    label.wait_for(timeout=5000)
    assert PWNED in label.text_content()
    assert "decider: policy" in label.text_content()
    cells = p.page.locator("#interventions table td", has_text="__pwned")
    assert cells.count() == 1 and cells.first.text_content() == PWNED
    # another decision's hover has its own text
    p.js("() => Plotly.Fx.hover('fig-interventions', [{curveNumber: 0, pointNumber: 1}])")
    assert "text:" in p.page.locator("#fig-interventions .hoverlayer .hovertext").first.text_content()
    # the network's colour button switches to final confidence (arrays instead of one colour per group)
    p.page.locator("#fig-network .updatemenu-button", has_text="final confidence").click()
    assert p.js("() => Array.isArray(document.getElementById('fig-network').data[1].marker.color)")
    p.check_clean(plots=12)
    p.close()


def test_run_page_scales_topics_names_them_and_hides_empty_cost_panels(browser: Any, root: Path) -> None:
    from learncomm.sim.dashboard.common import GROUP_COLOURS, MODE_COLOURS

    p = Page(browser, root / "roles-seed2" / "dashboard.html")
    shown = p.js("""() => { const t = document.getElementById('fig-topics'), h = t.data[0];
        const z = h.z.flat().filter(v => v !== null);
        const cost = document.getElementById('fig-llm-cost')._fullLayout;
        const mix = document.getElementById('fig-participation').data;
        return {zmin: h.zmin, zmax: h.zmax, lo: Math.min(...z), hi: Math.max(...z), bar: h.colorbar.title.text,
                axes: Object.keys(cost).filter(k => /^xaxis\\d*$/.test(k)).length,
                note: (document.querySelector('#llm-cost .note') || {}).textContent,
                ask: mix.find(t => t.name === 'ask').line.color,
                hover: document.getElementById('fig-interventions').data.flatMap(t => t.hovertext).join(' '),
                cells: [...document.querySelectorAll('#interventions table td:nth-child(6)')].map(c => c.textContent)};
    }""")
    # the colour scale spans the data (every cell looked alike on 0-1), and the colour bar says so
    assert shown["zmin"] <= shown["lo"] and shown["hi"] <= shown["zmax"] and shown["zmax"] - shown["zmin"] < 0.9
    assert f"{shown['zmin']:.2f}–{shown['zmax']:.2f}" in shown["bar"]
    # a policy run called no model: one panel (decisions), no empty token and cost panels, and a note saying why
    assert shown["axes"] == 1 and "No language-model tokens or cost" in shown["note"]
    # decisions name their topics, in the hover labels and the table
    assert "topic: topic-" in shown["hover"] and '"topic": ' not in shown["hover"]
    assert any("topic: topic-" in c for c in shown["cells"]) and not any('"topic"' in c for c in shown["cells"])
    assert shown["ask"] == MODE_COLOURS["ask"] != GROUP_COLOURS["low"]
    p.check_clean(plots=12)
    p.close()


PARTICIPATION = """() => Object.fromEntries(['fig-lorenz', 'fig-survival', 'fig-flow'].map(id => {
    const e = document.getElementById(id);
    return [id, {traces: e.data.length,
                 names: e.data.map(t => t.name),
                 lines: e.querySelectorAll('.scatterlayer .trace .js-line').length,
                 bars: e.querySelectorAll('.barlayer .point path').length,
                 shapes: e.querySelectorAll('.shapelayer path').length}]; }))"""


def hover_label(p: Page, fig: str, trace_name: str, point: int) -> str:
    curve = p.js(  # the first trace of that name that has hover labels (a replicate band has none)
        f"() => document.getElementById('{fig}').data.findIndex(t => t.name.startsWith('{trace_name}') "
        "&& t.hoverinfo !== 'skip')"
    )
    assert curve >= 0, trace_name
    p.js(  # a trace in another subplot than the first is hovered on its own axes
        f"""([c, i]) => {{ const t = document.getElementById('{fig}')._fullData[c];
            Plotly.Fx.hover('{fig}', [{{curveNumber: c, pointNumber: i}}], t.xaxis + t.yaxis); }}""",
        [curve, point],
    )
    label = p.page.locator(f"#{fig} .hoverlayer .hovertext").first
    label.wait_for(timeout=5000)
    return label.text_content() or ""


def test_participation_panels_draw_with_hover_numbers(browser: Any, root: Path) -> None:
    p = Page(browser, root / "roles-seed1" / "dashboard.html")
    drawn = p.js(PARTICIPATION)
    lorenz, survival, flow = drawn["fig-lorenz"], drawn["fig-survival"], drawn["fig-flow"]
    # four panels: equality line, band markers and (for a group with posts) its curve, each drawn as a path
    assert {"low confidence", "medium confidence", "high confidence", "all learners"} <= set(lorenz["names"])
    assert lorenz["lines"] >= 8 and lorenz["shapes"] >= 4  # equality lines and curves; the shaded 90-9-1 bands
    assert survival["lines"] == survival["traces"] >= 5  # groups + all, and at least two first-question fates
    assert any(n.startswith("first question answered") for n in survival["names"])
    assert flow["bars"] > 0 and flow["lines"] >= 2  # arrivals/leavers bars; active members and posts lines
    assert "of the posts" in hover_label(p, "fig-lorenz", "all learners", 5)
    assert "still members" in hover_label(p, "fig-survival", "all learners", 1)
    bands = hover_label(p, "fig-lorenz", "90-9-1 bands", 0)
    assert "lurkers (0 posts)" in bands and "members" in bands
    assert "active members" in hover_label(p, "fig-flow", "active members", 3)
    p.check_clean(plots=12)
    p.close()


def test_a_run_where_nobody_posted_says_so(browser: Any, root: Path, tmp_path: Path) -> None:
    run = tmp_path / "quiet"
    shutil.copytree(root / "evil", run)
    learners = pd.read_parquet(run / "learners.parquet")
    learners.assign(posts=0, activity_level="lurker").to_parquet(run / "learners.parquet", index=False)
    p = Page(browser, write_dashboard(run))
    assert "Nobody posted in this run" in p.page.locator("#participation").text_content()
    assert p.page.locator("#fig-lorenz").count() == 0
    p.check_clean(plots=9)  # the Lorenz panel is left out, survival and arrivals still draw
    p.close()


def test_topic_names_from_a_scenario_file_show_as_text(browser: Any, root: Path) -> None:
    p = Page(browser, root / "evil" / "dashboard.html")
    p.check_clean(plots=10)  # no AI roles: no intervention or cost plots
    ticks = p.js("() => [...document.querySelectorAll('#fig-topics .ytick text')].map(t => t.textContent)")
    assert EVIL_TOPIC in ticks and "plain & simple" in ticks
    assert p.page.locator("#fig-topics img").count() == 0
    p.close()


def test_comparison_dashboard_renders(browser: Any, root: Path) -> None:
    p = Page(browser, root / "cmp" / "dashboard.html")
    p.check_clean(plots=8)  # forests (learners, mechanisms, community), d, left behind, individual, two over time
    p.js("() => Plotly.Fx.hover('fig-forest-learners', [{curveNumber: 1, pointNumber: 0}])")
    hover = p.page.locator("#fig-forest-learners .hoverlayer .hovertext").first.text_content()
    assert "95% CI" in hover and "learners per seed: " in hover  # group sizes
    p.close()


def test_comparison_shows_whom_it_leaves_behind_and_the_groups_over_time(browser: Any, root: Path) -> None:
    p = Page(browser, root / "cmp" / "dashboard.html")
    table = pd.read_parquet(root / "cmp" / "comparison.parquet")
    gain = table[(table["outcome"] == "knowledge_gain") & (table["kind"] == "learners")]
    bars = p.js("() => document.getElementById('fig-left-behind').data.map(t => ({y: t.y, x: t.x, name: t.name}))")
    worse, same, better = bars
    assert "worse off" in worse["name"] and same["name"] == "unchanged" and "better off" in better["name"]
    # ranked: the group with most learners worse off is drawn at the top (last on a horizontal bar axis)
    assert worse["x"] == sorted(worse["x"]) and len(worse["y"]) == len(gain)
    top = gain.sort_values("share_worse").iloc[-1]
    assert worse["x"][-1] == pytest.approx(round(top["share_worse"] * 100, 2))
    assert all("(n=" in y for y in worse["y"]) and any(y.startswith("shy (n=") for y in worse["y"])
    for i in range(len(worse["x"])):  # each group's three shares make 100%
        assert worse["x"][i] + same["x"][i] + better["x"][i] == pytest.approx(100, abs=0.05)
    p.js("() => Plotly.Fx.hover('fig-left-behind', [{curveNumber: 0, pointNumber: 0}])")
    assert "paired learners per seed" in p.page.locator("#fig-left-behind .hoverlayer .hovertext").first.text_content()
    cells = p.page.locator("#left-behind table td", has_text="shy")
    assert cells.count() == 1
    # the outcome menu redraws the bars for another outcome
    p.page.locator("#fig-left-behind .updatemenu-header").click()
    p.page.locator("#fig-left-behind .updatemenu-dropdown-button", has_text="days taking part").click()
    days = table[(table["outcome"] == "days_present") & (table["kind"] == "learners")]
    after = p.js("() => document.getElementById('fig-left-behind').data[0].x")
    assert sorted(after) == pytest.approx(sorted(round(x * 100, 2) for x in days["share_worse"]))
    # individual differences: one box per group, quantiles from the table
    box = p.js("() => document.getElementById('fig-individual').data[0]")
    assert len(box["median"]) == len(gain) and box["q1"][0] <= box["median"][0] <= box["q3"][0]
    # over time: per group an A and a B line, each with its band, over every day
    lines = p.js(
        "() => document.getElementById('fig-trajectories').data.filter(t => t.mode === 'lines')"
        ".map(t => ({name: t.name, n: t.x.length, group: t.legendgroup}))"
    )
    tr = pd.read_parquet(root / "cmp" / "trajectories.parquet")
    assert len(lines) == 2 * tr["group"].nunique() and {ln["group"] for ln in lines} == {"A", "B"}
    assert all(ln["n"] == tr["day"].nunique() for ln in lines)
    titles = p.js("() => [...document.querySelectorAll('#fig-trajectories .annotation-text')].map(a => a.textContent)")
    assert any(t.startswith("shy (n=") for t in titles) and any(t.startswith("low confidence") for t in titles)
    assert p.page.locator("#fig-trajectories-motivation").count() == 1
    p.close()


def test_sweep_dropdowns_switch_the_figures(browser: Any, root: Path) -> None:
    p = Page(browser, root / "sweep" / "dashboard.html")
    p.check_clean(plots=4)
    state = """() => { const g = id => document.getElementById(id).data;
        const pc = document.getElementById('fig-parcoords'), par = g('fig-parcoords');
        return {effects: g('fig-effects')[2].y, raw: g('fig-effects')[0].y, heat: g('fig-heat')[0].z,
                sens: g('fig-sensitivity')[0].y,
                par: par[0].type === 'parcoords' ? par[0].line.color : par.map(t => t.y),
                label: par[0].type === 'parcoords' ? par[0].dimensions.slice(-1)[0].label
                    : pc.layout.xaxis.ticktext.slice(-1)[0],
                lines: par[0].type === 'parcoords' ? par[0].dimensions[0].values.length
                    : par.reduce((n, t) => n + t.x.filter(x => x === null).length, 0),
                shown: document.querySelector('.sel-name').textContent,
                group: document.getElementById('sel-group').disabled}; }"""
    values = "(c) => JSON.parse(document.getElementById('sweep-data').textContent).outcomes[c].values"
    before = p.js(state)
    assert before["shown"] == "knowledge_gain_all" and before["raw"] == p.js(values, "knowledge_gain_all")
    p.page.select_option("#sel-group", "low")
    low = p.js(state)
    assert low["shown"] == "knowledge_gain_low" and low["raw"] == p.js(values, "knowledge_gain_low")
    assert (
        low["effects"] != before["effects"]
        and low["par"] != before["par"]
        and low["heat"] != before["heat"]
        and low["sens"] != before["sens"]
    )
    p.page.select_option("#sel-outcome", "equity_gap")
    eq = p.js(state)
    assert (
        eq["shown"] == "equity_gap"
        and eq["group"] is True
        and eq["label"] == "equity_gap"
        and eq["raw"] == p.js(values, "equity_gap")
    )
    p.page.select_option("#sel-outcome", "confidence_change")  # only the low group was swept: the group follows
    static = p.js(state)
    assert static["shown"] == "confidence_change_low" and static["lines"] == len(static["raw"])  # one line per run
    p.page.click("#pc-interactive")  # the WebGL parallel coordinates, with brushing
    interactive = p.js(state)
    assert interactive["label"] == "confidence_change_low" and interactive["par"] == p.js(
        values, "confidence_change_low"
    )
    assert interactive["lines"] == len(static["raw"])
    p.page.select_option("#sel-outcome", "equity_gap")
    assert p.js(state)["par"] == p.js(values, "equity_gap") and p.js(state)["label"] == "equity_gap"
    p.check_clean(plots=4)
    p.close()


def test_labelled_parameter_is_drawn_in_the_file_order(browser: Any, tmp_path: Path) -> None:
    p = Page(browser, write_dashboard(labelled_sweep(tmp_path)))
    p.check_clean(plots=3)  # a grid: no sensitivity indices
    drawn = p.js("""() => { const e = document.getElementById('fig-effects'), L = e._fullLayout;
        return {axis: L.xaxis._categories, ticks: [...e.querySelectorAll('.xtick text')].map(t => t.textContent),
                mean: e.data[2].x, band: e.data[1].x}; }""")
    # the runs, the mean line and the band share one category axis in the sweep file's order: the line never
    # doubles back and the band does not fold over itself
    assert drawn["axis"] == LABELS and drawn["mean"] == LABELS
    assert drawn["band"] == LABELS + LABELS[::-1]
    assert [t for t in drawn["ticks"] if t in LABELS] == LABELS
    # the parallel coordinates label every category of a labelled axis (not only its two ends), low to high
    notes = p.js("""() => document.getElementById('fig-parcoords').layout.annotations
        .filter(a => a.x === 0).sort((a, b) => a.y - b.y).map(a => a.text)""")
    assert notes == LABELS
    p.close()


def test_sensitivity_panel_says_does_not_vary_and_too_small_a_sample(browser: Any, tmp_path: Path) -> None:
    out = noisy_sobol(tmp_path)
    saved = json.loads((out / "sensitivity.json").read_text())
    p = Page(browser, write_dashboard(out))
    p.check_clean(plots=4)
    note = p.page.locator("#sens-note")
    warned = saved["warnings"]["knowledge_gain_all"]  # the first outcome shown: four base samples are too few
    assert note.is_visible() and "too small" in note.text_content()
    assert f"samples: {warned['samples_needed']}" in note.text_content()
    p.page.select_option("#sel-outcome", "retained")
    assert note.is_visible() and note.text_content().startswith("retained_all: does not vary")
    assert not p.page.locator("#sens-missing").is_visible()
    bars = p.js("() => document.getElementById('fig-sensitivity').data.map(t => t.y)")
    assert bars and all(v is None for y in bars for v in y)  # no 0 ± 0 bars
    p.page.select_option("#sel-outcome", "equity_gap")
    assert note.is_visible() == ("equity_gap" in saved["warnings"])
    assert p.errors == []
    p.close()


def test_index_links_open_dashboards(browser: Any, root: Path) -> None:
    p = Page(browser, root / "index.html", wait=False)
    hrefs = p.js("() => [...document.querySelectorAll('a')].map(a => a.href)")
    assert len(hrefs) == 6 and all(Path(h.removeprefix("file://")).is_file() for h in hrefs), hrefs
    p.page.locator("a", has_text="sweep").click()
    p.page.wait_for_function(RENDERED, timeout=20_000)
    assert p.page.title().startswith("Sweep")
    assert p.errors == [] and p.network == []
    p.close()


def test_missing_plotly_js_says_how_to_fix_it(browser: Any, root: Path, tmp_path: Path) -> None:
    shutil.copytree(root / "evil", tmp_path / "moved")  # a run folder moved away from the shared plotly.min.js
    p = Page(browser, tmp_path / "moved" / "dashboard.html", wait=False)
    p.page.locator(".warn").wait_for(timeout=5000)
    assert "learncomm dashboard" in p.page.locator(".warn").text_content()
    p.close()


def test_run_warnings_show_as_text_first_on_the_page(browser: Any, root: Path, tmp_path: Path) -> None:
    import json

    run = tmp_path / "warned"
    shutil.copytree(root / "evil", run)
    summary = json.loads((run / "summary.json").read_text())
    summary["warnings"] = [
        {"code": "role_never_acted", "message": "the ideator role never acted: it starts on day 99"},
        {"code": "x", "message": PWNED},
    ]
    (run / "summary.json").write_text(json.dumps(summary))
    p = Page(browser, write_dashboard(run))
    ids = p.js("() => [...document.querySelectorAll('section')].map(s => s.id)")
    assert ids[0] == "warnings"
    notes = p.js("() => [...document.querySelectorAll('#warnings .note')].map(n => n.textContent)")
    assert notes == ["the ideator role never acted: it starts on day 99 (role_never_acted)", f"{PWNED} (x)"]
    p.check_clean(plots=10)


def test_calibration_page_renders_every_figure_and_the_log_name_as_text(browser: Any, tmp_path: Path) -> None:
    from test_calibrate import TINY, model_log

    from learncomm.sim.calibrate.plan import Options, make_setup
    from learncomm.sim.calibrate.report import write_outputs
    from learncomm.sim.calibrate.search import run_calibration
    from learncomm.sim.dashboard.calibration_page import build_calibration

    folder = tmp_path / "<i>evil"
    folder.mkdir()
    base = folder / "tiny.yaml"
    base.write_text(TINY, encoding="utf-8")
    log, members = model_log(folder, base, {"params.post_rate": 0.3})
    setup, _ = make_setup(log, str(base), ["post_rate=0.05:0.8"], members, Options(budget=3, batch=3))
    run_calibration(setup, tmp_path / "cal")
    write_outputs(setup, tmp_path / "cal")
    p = Page(browser, build_calibration(tmp_path / "cal"))
    p.check_clean(plots=6)
    assert p.page.locator("i", has_text="evil").count() == 0  # the path is text, not markup
    assert "<i>evil" in p.page.locator("header").text_content()
    p.close()


def test_comparison_shows_overrides_and_run_warnings_as_text(browser: Any, root: Path, tmp_path: Path) -> None:
    folder = tmp_path / "cmp"
    shutil.copytree(root / "cmp", folder)
    m = json.loads((folder / "manifest.json").read_text())
    m["request"]["sets_b"] = ["roles.ideator={start_day: 99}", PWNED]
    m["warnings"] = {
        "A": [],
        "B": [{"code": "role_never_acted", "message": f"the ideator role never acted {PWNED}", "seeds": 3}],
    }
    (folder / "manifest.json").write_text(json.dumps(m))
    p = Page(browser, write_dashboard(folder))
    facts = p.js(
        "() => Object.fromEntries([...document.querySelectorAll('dl.facts div')]"
        ".map(d => [d.querySelector('dt').textContent, d.querySelector('dd').textContent]))"
    )
    assert facts["B changes"] == f"community with roles.ideator={{start_day: 99}} {PWNED}"
    assert "A changes" not in facts
    ids = p.js("() => [...document.querySelectorAll('section')].map(s => s.id)")
    assert ids[0] == "warnings"
    notes = p.js("() => [...document.querySelectorAll('#warnings .note')].map(n => n.textContent)")
    assert notes == [f"B (community), 3 of 3 seeds: the ideator role never acted {PWNED} (role_never_acted)"]
    p.check_clean(plots=8)
    p.close()


def test_sweep_subgroup_panel_draws_and_its_menu_switches_the_outcome(browser: Any, root: Path, tmp_path: Path) -> None:
    from learncomm.sim.runs.subgroups import GroupSpec
    from learncomm.sim.sweeps.groups import write_groups

    folder = tmp_path / "sweep"
    shutil.copytree(root / "sweep", folder)
    summary = pd.read_parquet(folder / "summary.parquet")
    record = json.loads((folder / "sweep.json").read_text())
    width = len(next((folder / "runs").glob("point=*")).name.split("=")[1])
    spec = GroupSpec(by=("confidence_group",), custom=(("shy", "confidence_initial < 0.3"),))
    write_groups(folder, spec, summary, record["parameter_order"], width)
    p = Page(browser, write_dashboard(folder))
    p.check_clean(plots=5)
    names = p.js("() => document.getElementById('fig-subgroups').data.map(t => t.name)")
    assert names[0] == "all" and "shy" in names and "confidence_group=low" in names
    before = p.js("() => document.getElementById('fig-subgroups').data[0].y")
    p.page.locator("#fig-subgroups .updatemenu-header-group").click()
    p.page.locator("#fig-subgroups .updatemenu-dropdown-button").nth(1).click()
    after = p.js("() => document.getElementById('fig-subgroups').data[0].y")
    t = pd.read_parquet(folder / "groups.parquet")
    first = record["parameter_order"][0]
    want = t[t["subgroup"] == "all"].groupby(first)["confidence_change"].mean().to_list()
    assert after != before and after == pytest.approx(want, abs=1e-5)
    p.close()
