"""The sweep dashboard (SWEEP_DIR/dashboard.html): how outcomes depend on the swept parameters.

Dropdowns pick the outcome, the confidence group and the parameter pair; the
data for every choice is stored once in the page as JSON, and a small inline
script swaps it into the figures (no external JavaScript, no network).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from learncomm.sim.dashboard.common import (
    GROUP_LABELS,
    Section,
    atomic_write_text,
    base_layout,
    esc,
    figure_html,
    page,
    rounded,
)
from learncomm.sim.dashboard.folders import inputs_tag
from learncomm.sim.dashboard.sweep_data import SweepData, payload, read_sweep_results, split
from learncomm.sim.dashboard.sweep_groups_view import groups_section
from learncomm.sim.schema.vocab import SCOPES

GL_RUNS = 5000  # above this many runs the single-run dots use WebGL

SCRIPT = """<script>(function(){
var D=JSON.parse(document.getElementById('sweep-data').textContent);
var so=document.getElementById('sel-outcome'),sg=document.getElementById('sel-group'),
 sp=document.getElementById('sel-pair');
function col(){var o=D.options[so.value];if(o['-']){sg.disabled=true;return o['-'];}sg.disabled=false;
 if(!(sg.value in o)){sg.value=Object.keys(o)[0];}return o[sg.value];}
function get(S,p,k){return k&&S[p]&&S[p][k]!=null?S[p][k]:null;}
function update(){var c=col(),O=D.outcomes[c],T=D.titles[c];
 document.querySelectorAll('.sel-name').forEach(function(e){e.textContent=c;});
 var ef=document.getElementById('fig-effects');
 if(ef&&ef.data){var ys=[],cd=[],ids=[];D.params.forEach(function(p,i){var e=O.effects[p];
   ys.push(O.values,e.hi.concat(e.lo.slice().reverse()),e.mean);cd.push(null,null,e.n);ids.push(3*i,3*i+1,3*i+2);});
  Plotly.restyle(ef,{y:ys,customdata:cd},ids);Plotly.relayout(ef,{'yaxis.title.text':T});}
 var hm=document.getElementById('fig-heat');
 if(hm&&hm.data&&sp){var pr=sp.value.split('|'),a=D.axes[pr[0]],b=D.axes[pr[1]];
  Plotly.restyle(hm,{x:[a.labels],y:[b.labels],z:[O.heat[sp.value]],'colorbar.title.text':T},[0]);
  Plotly.relayout(hm,{'xaxis.title.text':D.titles[pr[0]],'yaxis.title.text':D.titles[pr[1]]});}
 drawPC(c);
 var se=document.getElementById('fig-sensitivity');
 if(se&&se.data){var S=D.sensitivity[c]||{},
   K=D.method==='morris'?[['mu_star','mu_star_conf'],['sigma',null]]:[['S1','S1_conf'],['ST','ST_conf']];
  Plotly.restyle(se,{y:K.map(function(k){return D.params.map(function(p){return get(S,p,k[0]);});}),
   'error_y.array':K.map(function(k){return D.params.map(function(p){return get(S,p,k[1]);});})},[0,1]);
  var nt=D.sensitivity_notes[c],msg=document.getElementById('sens-missing'),sn=document.getElementById('sens-note');
  if(msg){msg.style.display=D.sensitivity[c]||nt?'none':'block';}
  if(sn){sn.textContent=nt||'';sn.style.display=nt?'block':'none';}}
}
function drawPC(c){var pc=document.getElementById('fig-parcoords');if(!pc){return;}
 var O=D.outcomes[c].values,T=D.titles[c],dims=D.pc.concat([{label:T,values:O}]);
 if(pc.dataset.mode==='interactive'){Plotly.react(pc,[{type:'parcoords',dimensions:dims,line:{color:O,colorscale:'Viridis',showscale:true,
   colorbar:{title:{text:T}}}}],pcLayout(false));return;}
 // static SVG lines: WebGL parcoords takes seconds to draw without a GPU; runs coloured by the outcome's sextile
 var k=dims.length,norm=dims.map(function(d){var v=d.values.filter(function(x){return x!=null;}),
   lo=Math.min.apply(null,v),hi=Math.max.apply(null,v);
   return {lo:lo,hi:hi,s:hi>lo?hi-lo:1,d:d};});
 var order=O.map(function(v,i){return [v,i];}).filter(function(a){return a[0]!=null;})
   .sort(function(a,b){return a[0]-b[0];});
 var B=PC_COLOURS.length,tr=PC_COLOURS.map(function(col,b){
   return {type:'scatter',mode:'lines',x:[],y:[],hoverinfo:'skip',opacity:0.45,
   line:{color:col,width:1},name:'outcome, '+(b+1)+'/'+B+' from the lowest'};});
 order.forEach(function(a,r){var t=tr[Math.min(B-1,Math.floor(r*B/order.length))];
  for(var j=0;j<k;j++){var v=dims[j].values[a[1]];t.x.push(j);t.y.push(v==null?null:(v-norm[j].lo)/norm[j].s);}
  t.x.push(null);t.y.push(null);});
 var lab=function(v){return (+v.toPrecision(3)).toString();},ann=[];
 // a numeric axis: its two ends; a labelled (categorical) one: every category at its height, in the file's order
 norm.forEach(function(n,j){if(n.d.ticktext){n.d.tickvals.forEach(function(v,i){ann.push({x:j,y:(v-n.lo)/n.s,
   text:n.d.ticktext[i],showarrow:false,xanchor:'right',xshift:-4,font:{size:10},bgcolor:'rgba(255,255,255,0.7)'});});return;}
  ann.push({x:j,y:1.06,text:lab(n.hi),showarrow:false,font:{size:10}},
   {x:j,y:-0.06,text:lab(n.lo),showarrow:false,font:{size:10}});});
 var L=pcLayout(true);
 L.xaxis={tickvals:dims.map(function(d,j){return j;}),ticktext:dims.map(function(d){return d.label;}),
   side:'top',showgrid:true,gridcolor:'#999',zeroline:false};
 L.yaxis={visible:false,range:[-0.12,1.12]};L.annotations=ann;Plotly.react(pc,tr,L);}
function pcLayout(flat){return {template:'plotly_white',height:480,margin:{l:80,r:80,t:flat?60:70,b:40},showlegend:flat,
 legend:{orientation:'h',y:-0.08}};}
var PC_COLOURS=['#440154','#414487','#2a788e','#22a884','#7ad151','#fde725'];
var bt=document.getElementById('pc-interactive');
if(bt){bt.addEventListener('click',function(){var pc=document.getElementById('fig-parcoords');
 pc.dataset.mode='interactive';bt.disabled=true;drawPC(col());});}
[so,sg,sp].forEach(function(s){if(s){s.addEventListener('change',update);}});
drawPC(col());
window.sweepUpdate=update;
})();</script>"""


def effects_figure(d: SweepData, col: str, p: dict[str, Any]) -> go.Figure:
    """Per parameter: every run (faint), mean over runs at each value, and its 95% interval as a band."""
    n = len(d.params)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[esc(x) for x in d.params],
        horizontal_spacing=0.07,
        vertical_spacing=0.5 / max(rows, 1) if rows > 1 else 0.1,
    )
    o = p["outcomes"][col]
    # SVG up to a few thousand runs: WebGL costs ~0.5 s per figure to start where the GPU is emulated (headless, VMs)
    scatter = go.Scattergl if len(d.table) > GL_RUNS else go.Scatter
    for i, name in enumerate(d.params):
        ax, r, c = d.axes[name], i // cols + 1, i % cols + 1
        raw = d.table[name]
        x_runs = rounded(raw.to_numpy(float), 6) if ax.numeric else [esc(v) for v in raw.astype(str)]
        x_bins = ax.centres if ax.numeric else [esc(v) for v in ax.labels]
        e = o["effects"][name]
        fig.add_trace(
            scatter(
                x=x_runs,
                y=o["values"],
                mode="markers",
                marker={"size": 4, "color": "rgba(90,90,90,0.25)"},
                name="one run",
                showlegend=i == 0,
                legendgroup="runs",
                hoverinfo="skip",
            ),
            row=r,
            col=c,
        )
        fig.add_trace(
            go.Scatter(
                x=x_bins + x_bins[::-1],
                y=e["hi"] + e["lo"][::-1],
                mode="lines",
                fill="toself",
                fillcolor="rgba(0,114,178,0.2)",
                line={"width": 0},
                name="95% interval",
                showlegend=i == 0,
                legendgroup="band",
                hoverinfo="skip",
            ),
            row=r,
            col=c,
        )
        fig.add_trace(
            go.Scatter(
                x=x_bins,
                y=e["mean"],
                customdata=e["n"],
                mode="lines+markers",
                line={"color": "#0072B2", "width": 2.5},
                name="mean over runs",
                showlegend=i == 0,
                legendgroup="mean",
                text=[esc(v) for v in ax.labels],
                hovertemplate="value %{text}<br>mean %{y:.4f} over %{customdata} runs<extra></extra>",
            ),
            row=r,
            col=c,
        )
        fig.update_xaxes(
            title_text=esc(name) + ("" if len(ax.labels) == d.table[name].nunique() else " (binned)"), row=r, col=c
        )
        if not ax.numeric:  # the sweep file's order (not the runs' or the alphabet's), for the runs, means and band
            fig.update_xaxes(type="category", categoryorder="array", categoryarray=x_bins, row=r, col=c)
    fig.update_yaxes(title_text=esc(col), row=1, col=1)
    return base_layout(fig, 80 + 330 * rows, margin={"l": 70, "r": 30, "t": 50, "b": 70})


def heat_figure(d: SweepData, col: str, p: dict[str, Any]) -> go.Figure | None:
    if not p["pairs"]:
        return None
    a, b = p["pairs"][0].split("|")
    fig = go.Figure(
        go.Heatmap(
            x=[esc(v) for v in d.axes[a].labels],
            y=[esc(v) for v in d.axes[b].labels],
            z=p["outcomes"][col]["heat"][p["pairs"][0]],
            colorscale="Viridis",
            colorbar={"title": {"text": esc(col)}},
            hoverongaps=False,
            hovertemplate="x %{x}<br>y %{y}<br>mean %{z:.4f}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text=esc(a), type="category")
    fig.update_yaxes(title_text=esc(b), type="category")
    return base_layout(fig, 520)


def parcoords_dimensions(d: SweepData) -> list[dict[str, Any]]:
    """The parameters' axes for the parallel coordinates (the page's script adds the chosen outcome and draws them)."""
    dims: list[dict[str, Any]] = []
    for name in d.params:
        ax = d.axes[name]
        if ax.numeric:
            dims.append({"label": esc(name), "values": rounded(d.table[name].to_numpy(float), 6)})
        else:
            dims.append(
                {
                    "label": esc(name),
                    "values": ax.codes.tolist(),
                    "tickvals": list(range(len(ax.labels))),
                    "ticktext": [esc(v) for v in ax.labels],
                }
            )
    return dims


def sensitivity_figure(d: SweepData, col: str) -> go.Figure:
    s = (d.sensitivity or {}).get(col, {})
    keys = (
        (
            ("mu_star", "mu_star_conf", "μ* (mean absolute elementary effect)"),
            ("sigma", None, "σ (interactions, non-linearity)"),
        )
        if d.method == "morris"
        else (("S1", "S1_conf", "S1 (first order: alone)"), ("ST", "ST_conf", "ST (total: with interactions)"))
    )
    fig = go.Figure()
    for (k, conf, label), c in zip(keys, ("#0072B2", "#E69F00"), strict=False):
        y = [s.get(x, {}).get(k) for x in d.params]
        err = {"type": "data", "array": [s.get(x, {}).get(conf) for x in d.params], "visible": True} if conf else None
        fig.add_trace(
            go.Bar(
                x=[esc(x) for x in d.params],
                y=rounded([v if v is not None else math.nan for v in y], 5),
                name=label,
                marker_color=c,
                error_y=err,
            )
        )
    fig.update_layout(barmode="group")
    fig.update_yaxes(title_text="index" if d.method != "morris" else f"effect on {esc(col)}")
    return base_layout(fig, 400)


def controls(d: SweepData, col: str, p: dict[str, Any]) -> str:
    base, scope = split(col)
    opts = "".join(
        f'<option value="{esc(b)}"{" selected" if b == base else ""}>{esc(b)}</option>' for b in p["options"]
    )
    groups = "".join(
        f'<option value="{g}"{" selected" if g == (scope or "all") else ""}>{esc(GROUP_LABELS[g])}</option>'
        for g in SCOPES
    )
    html = (
        '<div class="controls"><span><label for="sel-outcome">outcome</label> <select '
        f'id="sel-outcome">{opts}</select></span>'
        f'<span><label for="sel-group">confidence group</label> <select id="sel-group">{groups}</select></span>'
        f'<span>shown: <b class="sel-name">{esc(col)}</b></span></div>'
    )
    return html


def pair_control(p: dict[str, Any]) -> str:
    opts = "".join(f'<option value="{esc(k)}">{esc(k.replace("|", " × "))}</option>' for k in p["pairs"])
    return (
        '<div class="controls"><span><label for="sel-pair">parameter pair</label> <select '
        f'id="sel-pair">{opts}</select></span></div>'
    )


def facts(d: SweepData) -> list[tuple[str, Any]]:
    r = d.record
    design = r.get("design")
    kind = design.get("kind") if isinstance(design, dict) else design
    created = (
        r.get("created")
        or datetime.fromtimestamp((d.path / "summary.parquet").stat().st_mtime, UTC).isoformat(timespec="seconds")
        + " (file time)"
    )
    base = r.get("base", {})
    scen = base.get("scenario", {}) if isinstance(base, dict) else {}
    return [
        ("sweep", r.get("name", d.path.name)),
        ("base scenario", scen.get("name") or (base.get("source") if isinstance(base, dict) else base)),
        ("design", kind),
        ("parameters", len(d.params)),
        ("points", len(r.get("points") or [])),
        ("replicates", r.get("replicates")),
        ("runs shown", f"{len(d.table):,}" + (f" ({d.failed} failed, left out)" if d.failed else "")),
        ("learners", scen.get("learners")),
        ("days", scen.get("days")),
        ("created", created),
    ]


def build_sweep(path: Path, embed: bool = False) -> Path:
    """Write SWEEP_DIR/dashboard.html and return its path."""
    d = read_sweep_results(Path(path))
    p = payload(d)
    p["params"] = d.params
    for ax in p["axes"].values():  # labels and names come from the sweep file: escaped before Plotly sees them
        ax["labels"] = [esc(v) for v in ax["labels"]]
    p["titles"] = {n: esc(n) for n in [*d.params, *d.outcomes]}
    col = d.outcomes[0]
    secs = [
        Section(
            "effects",
            "Each parameter's effect",
            "one panel per parameter: grey dots are single runs, the blue line the mean over all runs at "
            "each value (other parameters vary too), the band its 95% interval over those runs (replicates "
            "included). Many distinct values are "
            "grouped into bins. A flat line: the outcome does not depend on that parameter.",
            controls(d, col, p) + figure_html(effects_figure(d, col, p), "fig-effects"),
        )
    ]
    sub = groups_section(d)  # sweep --by / --group: per-group means against the parameters
    if sub is not None:
        secs.append(sub)
    hm = heat_figure(d, col, p)
    if hm is not None:
        secs.append(
            Section(
                "pairs",
                "Two parameters together",
                "mean outcome for each combination of two parameters' values (bins); colour changes "
                "along a diagonal show an interaction. Blank cells: no run had that combination.",
                pair_control(p) + figure_html(hm, "fig-heat"),
            )
        )
    p["pc"] = parcoords_dimensions(d)
    secs.append(
        Section(
            "parcoords",
            "All runs (parallel coordinates)",
            "each line is one run, crossing every parameter's axis at its value (bottom: "
            "lowest, top: highest) and ending at the outcome; colour: the outcome's sextile, dark lowest, "
            "yellow highest. The interactive "
            "version lets you drag along an axis to keep only a range of runs.",
            '<p><button id="pc-interactive" type="button">Make interactive (WebGL: drag along an axis to filter runs; '
            "slow without a graphics card)</button></p>" + figure_html(base_layout(go.Figure(), 480), "fig-parcoords"),
        )
    )
    if d.sensitivity:
        shown = "" if col in d.sensitivity_notes else ' style="display:none"'
        how = (
            "Sobol indices: S1 is the share of the outcome's variance due to a parameter alone, ST including "
            "its interactions; whiskers are 95% intervals."
            if d.method != "morris"
            else "Morris screening: μ* is a parameter's mean absolute effect on the outcome (whiskers: 95% "
            "interval), σ its spread (interactions, curvature)."
        )
        secs.append(
            Section(
                "sensitivity",
                "Sensitivity indices",
                how,
                '<p class="note" id="sens-missing" style="display:none">No indices for this outcome in '
                "sensitivity.json.</p>"
                + f'<p class="note" id="sens-note"{shown}>'
                + esc(d.sensitivity_notes.get(col, ""))
                + "</p>"
                + figure_html(sensitivity_figure(d, col), "fig-sensitivity"),
            )
        )
    else:
        secs.append(
            Section(
                "sensitivity",
                "Sensitivity indices",
                "Sobol or Morris designs write sensitivity.json, shown here.",
                "",
                notes=["No sensitivity.json in this sweep (its design has none, or the analysis has not run)."],
            )
        )
    data = (
        json.dumps(p, separators=(",", ":"), allow_nan=False, default=str)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )
    extra = f'<script type="application/json" id="sweep-data">{data}</script>{SCRIPT}'
    target = Path(path) / "dashboard.html"
    atomic_write_text(
        target,
        page(
            f"Sweep: {d.record.get('name', Path(path).name)}",
            facts(d),
            secs,
            target,
            embed=embed,
            extra_body=extra,
            inputs=inputs_tag(Path(path), "sweep"),
        ),
    )
    return target
