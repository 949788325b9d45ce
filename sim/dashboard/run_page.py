"""The run dashboard (RUN_DIR/dashboard.html): how outcomes change over time, per confidence group."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from learncomm.sim.dashboard import network_view, participation_view, roles_view, run_figures
from learncomm.sim.dashboard.common import Section, atomic_write_text, esc, figure_html, fmt, page, table_html
from learncomm.sim.dashboard.folders import Run, inputs_tag, load_run, replicates
from learncomm.sim.schema.vocab import LEARNER_OUTCOMES, SCOPES

OUTCOME_ROWS = (
    ("knowledge_gain", "knowledge gain", 3),
    ("confidence_change", "confidence change", 3),
    ("motivation_final", "final motivation", 3),
    ("retained", "retention (share still active)", 3),
    ("days_present", "days taking part", 1),
    ("ask", "questions asked", 1),
    ("explain", "explanations given", 1),
    ("meet", "meetups attended", 1),
)


def facts(m: dict[str, Any], n_rep: int) -> list[tuple[str, Any]]:
    """The key facts at the top of the page."""
    decider = ", ".join(m.get("decider") or []) or "none (no AI roles acted)"
    out = [
        ("scenario", m.get("scenario_name")),
        ("seed", m.get("seed")),
        ("learners", f"{m.get('learners', 0):,}"),
        ("days", m.get("days")),
        ("created", m.get("created")),
        ("communities", ", ".join(m.get("communities") or [])),
        ("topics", len(m.get("topics") or [])),
        ("AI-role deciders", decider),
        ("scenario hash", str(m.get("scenario_hash", ""))[:12]),
        ("learncomm", m.get("learncomm")),
    ]
    if n_rep > 1:
        out.append(("replicates", f"{n_rep} runs of this scenario (bands)"))
    return out


def summary_table(summary: dict[str, Any]) -> str:
    groups = summary.get("groups", {})
    scopes = [g for g in (*SCOPES, "tutors", "tutees") if g in groups]
    header = ["outcome", *(f"{g} (n={groups[g].get('learners', 0):,})" for g in scopes)]
    rows = [[label, *(fmt(groups[g].get(key), digits) for g in scopes)] for key, label, digits in OUTCOME_ROWS]
    c = summary.get("community", {})
    extra = (
        f"Equity gap (high − low knowledge gain) on the last day: {fmt(c.get('equity_gap'))}; active learners: "
        f"{fmt(c.get('active_learners'))}; "
        f"Gini of posts: {fmt(c.get('posts_gini'))}; meetup attendances: {fmt(c.get('meetup_attendance_total'), 0)}."
    )
    return table_html(header, rows) + f"<p>{esc(extra)}</p>"


def sections(run: Run) -> tuple[list[Section], int]:
    reps = replicates(run)
    b = run_figures.Bands([ts for _, ts in reps])
    n_rep = len(reps)
    band = (
        f" Lines are the mean over {n_rep} runs of this scenario (seeds {', '.join(str(s) for s, _ in reps)}); "
        "bands are 95% intervals over those runs."
        if n_rep > 1
        else " One run of this scenario, so no band; runs of the same scenario with other seeds in the same "
        "folder add 95% bands."
    )
    out = [
        Section(
            "outcomes",
            "Outcomes at the end, per confidence group",
            "means over each group's learners on the last day (this run only); "
            "'all' is everyone; low, medium and high are the confidence groups drawn at the start.",
            summary_table(run.summary),
        ),
        Section(
            "over-time",
            "Knowledge, confidence and motivation over time",
            "one line per confidence group (dotted: all learners); a group that pulls away from the others is "
            "being helped more (or left behind)." + band,
            figure_html(run_figures.over_time(b), "fig-over-time"),
        ),
        Section(
            "equity",
            "Equity gap over time",
            "how much more knowledge the high-confidence group has gained than the low-confidence group since day 0; "
            "above the dashed zero line the confident gain more." + band,
            figure_html(run_figures.equity_gap(b), "fig-equity"),
        ),
        Section(
            "participation-mix",
            "Participation mix",
            "what the learners who took part did each day, stacked to 100% per group: studied alone, asked in public, "
            "observed, explained, or attended a meetup. Low-confidence learners who ask less and observe more "
            "show a thinner indigo (ask) band." + (" Mean over the runs." if n_rep > 1 else ""),
            figure_html(run_figures.participation(b), "fig-participation"),
        ),
        Section(
            "retention",
            "Retention and community size",
            "left: the share of each group's members still active (members leave when motivation runs out, or "
            "drift away with a daily hazard that falls with tenure and ties; the Participation section below shows "
            "it by days as a member); right: how many learners are still active (dashed: joined so far, when "
            "members arrive over time)." + band,
            figure_html(run_figures.retention(b), "fig-retention"),
        ),
        participation_view.section(run.learners, b, band),
        Section(
            "distributions",
            "Who gained how much",
            "the spread of each learner's knowledge gain and confidence change in this run, as a share of the "
            "group (binned, so the page stays small at any size); a group to the right of the dashed zero line gained.",
            figure_html(run_figures.distributions(run.learners), "fig-distributions"),
        ),
    ]
    heat = run_figures.topic_heatmap(run.learners, run.manifest.get("topics") or [])
    if heat is not None:
        out.append(
            Section(
                "topics",
                "Knowledge by topic",
                "mean final knowledge of each topic (rows) in each confidence group (columns), on the 0–1 "
                "knowledge scale (the numbers in the cells). The colours span this run's own range, given on the "
                "colour bar, so differences between topics and groups show. "
                "Per-topic knowledge is stored for the last day only, so this is the end state, "
                "not a change over time.",
                figure_html(heat, "fig-topics"),
            )
        )
    out.append(network_section(run))
    out.extend(subgroup_sections(run.summary))
    out.extend(roles_sections(run))
    out[:0] = warnings_sections(run.summary)  # first: what did not happen
    return out, n_rep


def warnings_sections(summary: dict[str, Any]) -> list[Section]:
    """summary.json's `warnings` (sim/runs/run_warnings.py) as one block of notes; none without warnings."""
    found = summary.get("warnings")
    items = [w for w in found if isinstance(w, dict)] if isinstance(found, list) else []
    if not items:
        return []
    notes = [f"{w.get('message', '')} ({w.get('code', '')})" for w in items[:50]]
    how = "what this run was asked to do and did not (summary.json `warnings`; docs/results.md lists the codes)."
    return [Section("warnings", "Warnings", how, "", notes=notes)]


def network_section(run: Run) -> Section:
    how = (
        "each dot is a learner, each line a tie in the community's network (rebuilt from the scenario and "
        "seed: the run folder does not store it). "
        "Colour: confidence group (the button switches to final confidence, red = low, blue = high); size: "
        "final knowledge; "
        "an open circle dropped out. Ties are drawn between learners with similar interests, with some random ties."
    )
    try:
        snap = network_view.sample_network(run.manifest, run.learners)
    except Exception as exc:  # a scenario from another version may not rebuild; the rest of the page still helps
        return Section(
            "network", "Social network", how, "", notes=[f"The network could not be rebuilt from the manifest: {exc}"]
        )
    fig = network_view.network_figure(snap, run.learners)
    return Section(
        "network", "Social network (snapshot at the end)", how, figure_html(fig, "fig-network"), notes=[snap.note]
    )


def subgroup_sections(summary: dict[str, Any]) -> list[Section]:
    """Outcomes per subgroup: confidence group x access class (every run) and the groups asked for with
    `run --by/--group` (summary.json `subgroups`); names and values are data, escaped by table_html."""
    sub = summary.get("subgroups") or {}
    cols = ("knowledge_gain", "confidence_change", "retained", "days_present")
    tables = []
    for key, rows in sub.items():
        if not isinstance(rows, list) or not rows:
            continue
        title = "groups asked for (--by, --group)" if key == "requested" else key
        names = [
            str(
                r.get("group")
                or " & ".join(f"{k}={v}" for k, v in r.items() if k not in (*LEARNER_OUTCOMES, "learners"))
            )
            for r in rows
        ]
        body = [[n, fmt(r.get("learners")), *(fmt(r.get(c)) for c in cols)] for n, r in zip(names, rows, strict=True)]
        tables.append(
            f"<h3>{esc(title)}</h3>" + table_html(["group", "learners", *(LEARNER_OUTCOMES[c] for c in cols)], body)
        )
    if not tables:
        return []
    how = (
        "mean outcomes of the learners in each subgroup at the end of the run: who is left behind within this run "
        "(for the difference a scenario makes, learner by learner, use learncomm compare --by)."
    )
    return [Section("subgroups", "Outcomes per subgroup", how, "".join(tables))]


def roles_sections(run: Run) -> list[Section]:
    inter = run.interventions
    roles = run.summary.get("roles") or {}
    if inter.empty and not roles:
        return [
            Section(
                "roles",
                "AI roles",
                "decisions of the AI helper roles (ideator, secretary, benchmarker, source) and what they cost.",
                "",
                notes=["No AI role acted in this run (the scenario enables none)."],
            )
        ]
    out = []
    if not inter.empty:
        topics = [str(t) for t in run.manifest.get("topics") or []]
        table, note = roles_view.intervention_table(inter, topics)
        out.append(
            Section(
                "interventions",
                "AI roles' interventions",
                "one mark per decision: day (x) and role (y), coloured by who decided "
                "(a rule-based policy or a language model); a red × fell back to the policy. Hover a mark for "
                "the decision and the text "
                "the role wrote; the table below lists them all.",
                figure_html(roles_view.timeline(inter, topics), "fig-interventions") + table,
                notes=[note] if note else [],
            )
        )
    if roles:
        fig, table, spent_note = roles_view.accounting(roles)
        out.append(
            Section(
                "llm-cost",
                "Language-model calls, tokens and cost per role",
                "LLM calls are answered model calls (cache hits are free); "
                "fallbacks are decisions the model could not make (bad output, error) that the policy made instead; "
                "cost uses the scenario's prices per million tokens.",
                figure_html(fig, "fig-llm-cost") + table,
                notes=[spent_note] if spent_note else [],
            )
        )
    quality = run.summary.get("llm_quality") or {}
    if quality:
        table, warnings = roles_view.quality_table(quality)
        out.append(
            Section(
                "llm-quality",
                "What the language model decided",
                "per role, over the decisions a language model was asked for: valid answers; how often it took "
                "the policy's first choice, beside what a pick blind to the options would give; the share of its "
                "picks at the most picked shown position (options are shown in a shuffled order, so a model "
                "choosing by content spreads its picks) with a chi-square p against a blind pick; and the checks "
                "of its messages (docs/roles.md, 'Is the model deciding anything?').",
                table,
                notes=[f"warning: {w}" for w in warnings],
            )
        )
    return out


def build_run(path: Path, embed: bool = False) -> Path:
    """Write RUN_DIR/dashboard.html and return its path."""
    run = load_run(path)
    secs, n_rep = sections(run)
    target = Path(path) / "dashboard.html"
    m = run.manifest
    title = f"Run: {m.get('scenario_name', path.name)} (seed {m.get('seed')})"
    tag = inputs_tag(Path(path), "run")
    atomic_write_text(target, page(title, facts(m, n_rep), secs, target, embed=embed, inputs=tag))
    return target
