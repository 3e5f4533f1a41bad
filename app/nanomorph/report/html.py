"""The HTML report: ONE self-contained file for a batch results folder or a project.

Images and plots are embedded as base64 PNG (``data:`` URIs); the style sheet is inline; there is
no script and no external resource, so the file can be mailed, archived or opened offline. Every
piece of user text (paths, class names, error messages, parameters) goes through
:func:`html.escape`.

Sections: summary cards; the run's parameters; percolation (wire density by verdict,
connectivity, overlays of spanning clusters); classes (distribution, confidence; for a project
with labels, the label-efficiency curve, the confusion matrix and the embedding map);
segmentation scores where ground truth exists; failed images; every image in a table.
"""

from __future__ import annotations

import base64
import html
import os
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from nanomorph import defaults
from nanomorph.errors import NanomorphError, display_path
from nanomorph.jobs import CancelToken, Job, run_job
from nanomorph.report.data import ReportData, load_report_data
from nanomorph.report.plots import VERDICT_COLORS, VERDICTS, class_colors, verdict

# Rows of the per-image table (the table of a huge batch stays readable; the CSV has them all).
MAX_TABLE_ROWS = 500
MAX_MOVIES = 6  # movies plotted over time; the table holds them all

CSS = """
:root { --ink:#222831; --muted:#6b7280; --line:#e3e6ea; --band:#1f2a37; --accent:#e64b28; }
* { box-sizing: border-box; }
body { margin:0; background:#f5f6f8; color:var(--ink);
  font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; }
header { background:var(--band); color:#fff; padding:28px 0 62px; }
header .meta { color:#c9d1db; font-size:13px; margin-top:4px; word-break:break-all; }
header h1 { margin:0; font-size:24px; font-weight:600; letter-spacing:.2px; }
header .brand { color:#f59e7e; font-size:12px; text-transform:uppercase; letter-spacing:1.5px; }
main, .wrap { max-width:1120px; margin:0 auto; padding:0 28px; }
main { padding-bottom:40px; }
section { background:#fff; border:1px solid var(--line); border-radius:10px;
  padding:20px 24px; margin:22px 0; box-shadow:0 1px 2px rgba(16,24,40,.04); }
h2 { font-size:17px; margin:0 0 14px; font-weight:600; }
h3 { font-size:14px; margin:18px 0 8px; color:var(--muted); font-weight:600; }
.cards { display:grid; grid-template-columns:repeat(auto-fit,minmax(150px,1fr)); gap:12px;
  margin-top:-38px; }
.card { background:#fff; border:1px solid var(--line); border-radius:10px; padding:14px 16px;
  box-shadow:0 2px 6px rgba(16,24,40,.06); }
.card .value { font-size:26px; font-weight:650; line-height:1.1; }
.card .label { color:var(--muted); font-size:12px; margin-top:4px; }
.card .bar { height:4px; border-radius:2px; margin-top:10px; }
table { border-collapse:collapse; width:100%; font-size:13px; }
th, td { text-align:left; padding:6px 10px; border-bottom:1px solid var(--line);
  vertical-align:top; }
th { color:var(--muted); font-weight:600; font-size:12px; background:#fafbfc; }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
table.params th { width:210px; background:none; }
table.params td { word-break:break-all; }
tbody tr:nth-child(even) td { background:#fbfbfc; }
.figs { display:flex; flex-wrap:wrap; gap:18px; align-items:flex-start; }
figure { margin:0; }
figure img { max-width:100%; height:auto; display:block; }
figcaption { color:var(--muted); font-size:12px; margin-top:4px; }
.thumbs { display:grid; grid-template-columns:repeat(auto-fill,minmax(240px,1fr)); gap:16px; }
.thumbs figure { border:1px solid var(--line); border-radius:8px; overflow:hidden;
  background:#fafbfc; }
.thumbs img { width:100%; image-rendering:auto; }
.thumbs figcaption { padding:6px 10px 8px; }
.thumbs b { color:var(--ink); display:block; font-weight:600; word-break:break-all; }
.legend span { display:inline-block; margin-right:16px; color:var(--muted); font-size:12px; }
.legend i { display:inline-block; width:11px; height:11px; border-radius:2px;
  margin-right:5px; vertical-align:-1px; }
.pill { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px;
  color:#fff; white-space:nowrap; }
.err { color:#b42318; }
.note { color:var(--muted); font-size:13px; }
details summary { cursor:pointer; color:var(--muted); margin:6px 0; }
footer { color:var(--muted); font-size:12px; text-align:center; padding:10px 0 30px; }
"""


def report_job(source, out, *, thumbnails: int = defaults.REPORT_THUMBNAILS,
               repeats: int = defaults.EVALUATE_REPEATS,
               cancel: CancelToken | None = None) -> Job[Path]:
    """Write the HTML report of a project or a batch results folder (a job; atomic write).

    Parameters
    ----------
    source : str or os.PathLike
        A project folder or the output folder of ``nanomorph batch``.
    out : str or os.PathLike
        The HTML file to write.
    thumbnails : int
        Overlays to show.
    repeats : int
        Random splits per K of the classifier evaluation.
    cancel : CancelToken, optional
        Checked between steps.

    Yields
    ------
    Progress
        Per step.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    NanomorphError
        When the source holds nothing to report or the file cannot be written.
    """
    from nanomorph.io.atomic import atomic_write_bytes

    data = yield from load_report_data(source, thumbnails=thumbnails, repeats=repeats,
                                       cancel=cancel)
    text = render_html(data)
    try:
        return atomic_write_bytes(out, text.encode("utf-8"))
    except OSError as exc:
        raise NanomorphError(f"the report cannot be written ({exc.strerror or exc})",
                             out) from None


def write_report(source, out, **options) -> Path:
    """:func:`report_job` run to completion.

    Parameters
    ----------
    source : str or os.PathLike
        A project folder or a batch results folder.
    out : str or os.PathLike
        The HTML file to write.
    **options
        As :func:`report_job`.

    Returns
    -------
    Path
        The file written.
    """
    return run_job(report_job(source, out, **options))


def render_html(data: ReportData) -> str:
    """The report page.

    Parameters
    ----------
    data : ReportData
        What it shows.

    Returns
    -------
    str
        A complete, self-contained HTML document.
    """
    from nanomorph import __version__

    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    sections = [_parameters(data), _percolation(data), _timeline(data), _morphometry(data),
                _classes(data),
                _consistency(data), _segmenter(data),
                _segmentation(data),
                _failures(data), _image_table(data), _notes(data)]
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(data.title)}</title><style>{CSS}</style></head><body>",
        f'<header><div class="wrap"><div class="brand">nanomorph report</div>'
        f"<h1>{_e(data.title)}</h1>"
        f'<div class="meta">{_e(data.source)} · generated {now} · nanomorph {__version__}'
        "</div></div></header>",
        f"<main>{_cards(data)}", *[s for s in sections if s], "</main>",
        "<footer>One self-contained file: images and plots are embedded. Overlay colours: "
        "vermilion = a cluster spanning both ways, amber = spanning one way, blue = other "
        "clusters.</footer></body></html>"])


# -- sections ------------------------------------------------------------------------------------
def _cards(data: ReportData) -> str:
    ok = [r for r in data.rows if r.get("status") == "ok"]
    counts = Counter(verdict(r) for r in ok)
    failed = sum(r.get("status") == "error" for r in data.rows)
    cards = [(len(data.rows), "images", "#9aa4b2"), (len(ok), "analysed", "#9aa4b2")]
    cards += [(counts[v], v, VERDICT_COLORS[v]) for v in VERDICTS]
    if failed:
        cards.append((failed, "failed", "#b42318"))
    return '<div class="cards">' + "".join(
        f'<div class="card"><div class="value">{n}</div><div class="label">{_e(label)}</div>'
        f'<div class="bar" style="background:{color}"></div></div>'
        for n, label, color in cards) + "</div>"


def _parameters(data: ReportData) -> str:
    title = "Run parameters" if data.kind == "results" else "Project"
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in data.params)
    return f'<section><h2>{title}</h2><table class="params">{rows}</table></section>'


def _percolation(data: ReportData) -> str:
    from nanomorph.report import plots

    ok = [r for r in data.rows if r.get("status") == "ok"]
    if not ok:
        return ('<section><h2>Percolation</h2><p class="note">No image was analysed yet.</p>'
                "</section>")
    parts = ["<section><h2>Percolation</h2>",
             _figure(plots.density_by_verdict(ok),
                     "Left: fraction of the frame covered by wire, per verdict (box: quartiles). "
                     "Right: share of the wire in the largest cluster; a network percolates "
                     "when one cluster spans the frame both ways.")]
    if data.thumbnails:
        legend = "".join(f'<span><i style="background:{c}"></i>{_e(n)}</span>' for n, c in (
            ("spanning both ways", VERDICT_COLORS["percolates"]),
            ("spanning one way", VERDICT_COLORS["spans one way"]),
            ("other clusters", VERDICT_COLORS["does not span"])))
        parts.append(f'<h3>Spanning clusters</h3><p class="legend">{legend}</p>'
                     '<div class="thumbs">')
        parts += [f'<figure><img alt="{_e(t.name)}" src="{_uri(t.png)}"><figcaption>'
                  f"<b>{_e(t.name)}</b>{_e(t.caption)}</figcaption></figure>"
                  for t in data.thumbnails]
        parts.append("</div>")
    parts.append("</section>")
    return "".join(parts)


def _classes(data: ReportData) -> str:
    from nanomorph.report import plots

    predicted = [r for r in data.rows if r.get("label")]
    labelled = [r for r in data.rows if r.get("true_label")]
    if not predicted and not labelled:
        return ""
    names = list(data.classes) or sorted({r.get("label") for r in predicted})
    colors = class_colors(names, data.classes)
    counts = {}
    if labelled:
        counts["labelled"] = Counter(r["true_label"] for r in labelled)
    if predicted:
        counts["predicted"] = Counter(r["label"] for r in predicted)
    confidences: dict[str, list[float]] = {}
    for r in predicted:
        confidences.setdefault(r["label"], []).append(r["confidence"])
    parts = ["<section><h2>Classes</h2><div class=\"figs\">",
             _figure(plots.class_counts(counts, colors), {
                 ("labelled", "predicted"): "Images per class: labelled by you (solid) and "
                                            "predicted by the classifier (light).",
                 ("labelled",): "Images per class, as you labelled them.",
                 ("predicted",): "Images per class, as the classifier predicts them."}[
                 tuple(counts)]),
             _figure(plots.confidence_histogram(confidences, colors),
                     "Confidence of the predictions, by predicted class.") if predicted else "",
             "</div>"]
    if data.evaluation:
        parts.append(_evaluation(data.evaluation, colors))
    parts.append("</section>")
    return "".join(parts)


def _evaluation(evaluation: dict, colors: dict) -> str:
    from nanomorph.report import plots

    encoder, control = evaluation["encoder"], evaluation["control"]
    classes = encoder["classes"]
    parts = ["<h3>Classifier evaluation (labelled images, repeated random splits)</h3>",
             '<div class="figs">',
             _figure(plots.label_efficiency(encoder["results"], control["results"],
                                            evaluation["encoder_name"], len(classes)),
                     "Accuracy on the images left out, mean ± sd over splits; the control "
                     "classifies by wire density alone.")]
    if encoder["results"]:
        last = encoder["results"][-1]
        parts.append(_figure(plots.confusion_matrix(last["confusion"], classes, last["k"]),
                             "Confusion matrix at the largest K."))
    xy = evaluation["map"]["xy"]
    if len(xy):
        parts.append(_figure(plots.embedding_map(xy, evaluation["map_labels"],
                                                 evaluation["map_predicted"], colors,
                                                 evaluation["map"]["method"]),
                             "Embedding map: labelled images filled, the others hollow in "
                             "their predicted class's colour."))
    parts.append("</div>")
    if encoder["results"]:
        head = "<tr><th>K</th><th>accuracy</th><th>macro F1</th><th>control accuracy</th>" \
               "<th>splits</th></tr>"
        by_k = {r["k"]: r for r in control["results"]}
        body = "".join(
            f"<tr><td>{r['k']}</td><td class=\"num\">{r['accuracy_mean']:.3f} ± "
            f"{r['accuracy_std']:.3f}</td><td class=\"num\">{r['macro_f1_mean']:.3f}</td>"
            f"<td class=\"num\">{_fmt(by_k.get(r['k'], {}).get('accuracy_mean'), '.3f')}"
            f"</td><td class=\"num\">{r['repeats']}</td></tr>" for r in encoder["results"])
        parts.append(f'<table style="max-width:640px">{head}{body}</table>')
    return "".join(parts)


def _consistency(data: ReportData) -> str:
    """Class ↔ connectivity: how many images agree, and the ones that do not."""
    from collections import Counter

    flagged = [r for r in data.rows if r.get("consistency")]
    if not flagged:
        return ""
    counts = Counter(r["consistency"] for r in flagged)
    disagreeing = [r for r in flagged if r["consistency"] == "disagrees"]
    rows = "".join(
        f"<tr><td>{_e(_name(r))}</td><td>{_e(r.get('true_label') or r.get('label') or '')}</td>"
        f"<td>{'percolates' if r.get('percolates') else 'does not percolate'}</td></tr>"
        for r in disagreeing)
    table = ("<table><tr><th>image</th><th>class</th><th>verdict</th></tr>" + rows
             + "</table>") if disagreeing else ""
    return ("<section><h2>Class ↔ connectivity</h2>"
            f"<p>{counts['ok']} images agree with what their class expects (a network "
            "percolates, dispersed wires and a single wire do not), "
            f"<b>{counts['disagrees']} disagree</b> (mislabelled, mis-masked or interesting), "
            f"{counts['unknown']} cannot tell (no verdict, or a class that may do either)."
            f"</p>{table}</section>")


def _timeline(data: ReportData) -> str:
    """Movies and stacks: metrics against time, the percolation onset."""
    from nanomorph.report.timeline import (
        movies,
        onset_words,
        percolating,
        percolation_onset,
        timeline_png,
    )

    series = movies(data.rows)
    if not series:
        return ""
    parts = ["<section><h2>Over time</h2><p>Each movie or stack frame by frame: shaded where "
             "the frame percolates; the line marks the onset, the first frame from which every "
             "later frame percolates.</p>"]
    for path, frames in list(series.items())[:MAX_MOVIES]:
        when = onset_words(frames, percolation_onset(percolating(frames)))
        parts.append(_figure(timeline_png(frames),
                             f"{display_path(os.path.basename(path))}: {len(frames['frame'])} "
                             f"frames, {when}."))
    if len(series) > MAX_MOVIES:
        parts.append(f'<p class="note">The first {MAX_MOVIES} of {len(series)} movies; the '
                     "results table holds every frame.</p>")
    parts.append("</section>")
    return "".join(parts)


def _morphometry(data: ReportData) -> str:
    """Diameter, length and orientation distributions, and the numbers of each measured image."""
    from nanomorph.report.morphometry import (
        image_distributions,
        morphometry_png,
        wire_distributions,
    )

    measured = [r for r in data.rows if r.get("wires") is not None]
    if not measured:
        return ""
    per_wire = bool(data.morphometry)
    dist = wire_distributions(data.morphometry) if per_wire else image_distributions(measured)
    what = ("every traced wire of the measured images (lengths: wires that stay inside the "
            "frame; rose weighted by length)" if per_wire else
            "one value per image (its mean diameter and mean length; rose weighted by each "
            "image's order parameter)")
    left_out = (f" {dist.left_out} images measured in another unit are left out of the plots."
                if dist.left_out else "")
    unit = dist.unit
    head = ["image", "wires", f"diameter ({unit})", f"length ({unit})", "direction °", "S",
            "n·L² / threshold"]
    body = "".join(
        f"<tr><td>{_e(_name(r))}</td>{_num(r['wires'], 'd')}"
        f"<td class=\"num\">{_fmt(r.get('diameter_mean'), '.3g')} ± "
        f"{_fmt(r.get('diameter_sd'), '.2g')}</td>{_num(r.get('length_mean'), '.4g')}"
        f"{_num(r.get('orientation_deg'), '.0f')}{_num(r.get('order_parameter'), '.2f')}"
        f"{_num(r.get('nL2_over_threshold'), '.2f')}</tr>" for r in measured[:MAX_TABLE_ROWS])
    header = "".join(f"<th>{h}</th>" for h in head)
    return ("<section><h2>Wire morphometry</h2>"
            f"<p>{len(measured)} images measured: diameters along the centre lines away from "
            "ends and crossings, wires traced through crossings, S = order parameter (0 "
            "isotropic, 1 aligned), n·L² of the film over the stick-percolation threshold "
            f"5.637 (above 1: a film of such sticks percolates).{left_out}</p>"
            + _figure(morphometry_png(dist), f"Distributions over {what}.")
            + f"<table><tr>{header}</tr>{body}</table></section>")


def _segmentation(data: ReportData) -> str:
    import numpy as np

    from nanomorph.report import plots

    scored = [r for r in data.rows if r.get("dice") is not None]
    if not scored:
        return ""
    dice = np.array([r["dice"] for r in scored])
    iou = np.array([r["iou"] for r in scored])
    worst = sorted(scored, key=lambda r: r["dice"])[:5]
    rows = "".join(f"<tr><td>{_e(_name(r))}</td><td class=\"num\">{r['dice']:.3f}</td>"
                   f"<td class=\"num\">{r['iou']:.3f}</td></tr>" for r in worst)
    return ("<section><h2>Segmentation against ground truth</h2>"
            f"<p>{len(scored)} images scored against the project's stored masks: Dice "
            f"<b>{dice.mean():.3f}</b> ± {dice.std():.3f}, IoU <b>{iou.mean():.3f}</b> ± "
            f"{iou.std():.3f} (mean ± sd).</p><div class=\"figs\">"
            + _figure(plots.segmentation_scores(dice.tolist(), iou.tolist()),
                      "Per-image scores.")
            + "<div><h3>Lowest Dice</h3><table><tr><th>image</th><th>Dice</th><th>IoU</th>"
              f"</tr>{rows}</table></div></div></section>")


def _segmenter(data: ReportData) -> str:
    from nanomorph.report import plots
    from nanomorph.workflows.segment import DIFFERENCE_NAMES, DIFFERENCE_RGB

    model = data.segmenter
    if model is None:
        return ""
    config = model["config"]
    parts = [f"<section><h2>Segmentation model — {_e(model['name'])}</h2>",
             f"<p>Trained on {len(config.get('images', []))} masked images; classes "
             f"{_e(', '.join(config.get('classes', [])))}; encoder {_e(config.get('encoder'))};"
             f" best epoch {_e(config.get('best_epoch'))} ({_e(config.get('stop_reason'))}). "
             "Validation Dice is measured on bands of the training images held out from "
             "training; the table below scores each kept prediction against the image's mask, "
             "and its mean counts only images the model did not train on.</p>",
             '<div class="figs">']
    if model["history"]:
        parts.append(_figure(plots.training_curves(model["history"]),
                             "Training loss and validation Dice per epoch."))
    rows = model["rows"]
    if rows:
        held = model["held_out_dice"]
        summary = (f"held-out mean Dice <b>{held:.3f}</b>" if held is not None
                   else "every scored image was a training image")
        body = "".join(f"<tr><td>{_e(r['image'])}</td><td class=\"num\">{r['dice']:.3f}</td>"
                       f"<td class=\"num\">{r['iou']:.3f}</td>"
                       f"<td>{'training' if r['trained'] else 'held out'}</td></tr>"
                       for r in sorted(rows, key=lambda r: (r["trained"], r["dice"])))
        parts.append(f"<div><p>{len(rows)} predictions scored, {summary}.</p><table><tr>"
                     f"<th>image</th><th>Dice</th><th>IoU</th><th>role</th></tr>{body}"
                     "</table></div>")
    parts.append("</div>")
    if model["overlays"]:
        legend = " ".join(f'<span style="color:{DIFFERENCE_RGB[k]}">■</span> {_e(name)}'
                          for k, name in DIFFERENCE_NAMES.items())
        parts.append(f'<p>{legend}</p><div class="figs">'
                     + "".join(_figure(t.png, f"{t.name}: {t.caption}")
                               for t in model["overlays"]) + "</div>")
    else:
        parts.append('<p class="note">No prediction of a held-out image is kept: predict '
                     "images in the Segment step to see them here.</p>")
    parts.append("</section>")
    return "".join(parts)


def _failures(data: ReportData) -> str:
    failed = [r for r in data.rows if r.get("status") == "error"]
    if not failed:
        return ""
    rows = "".join(f"<tr><td>{_e(display_path(r['path']))}</td>"
                   f'<td class="err">{_e(r.get("error") or "")}</td></tr>' for r in failed)
    return (f"<section><h2>Failed images ({len(failed)})</h2><table><tr><th>image</th>"
            f"<th>reason</th></tr>{rows}</table></section>")


def _image_table(data: ReportData) -> str:
    shown = data.rows[:MAX_TABLE_ROWS]
    with_classes = any(r.get("label") or r.get("true_label") for r in data.rows)
    head = ["image", "verdict", "wire %", "clusters", "largest %"]
    head += ["label", "confidence"] if with_classes else []
    body = []
    for r in shown:
        if r.get("status") == "ok":
            v = verdict(r)
            cells = [f'<span class="pill" style="background:{VERDICT_COLORS[v]}">{_e(v)}</span>',
                     _num(100 * r["foreground_fraction"], ".1f"), _num(r["n_clusters"], "d"),
                     _num(100 * r["largest_cluster_fraction"], ".0f")]
        else:
            cells = [_e(r.get("status", "")), "", "", ""]
        if with_classes:
            label = r.get("true_label") or r.get("label") or ""
            how = " (labelled)" if r.get("true_label") else ""
            cells += [_e(label + how), _num(r.get("confidence"), ".2f")]
        body.append(f"<tr><td>{_e(_name(r))}</td>" + "".join(
            c if c.startswith("<td") else f"<td>{c}</td>" for c in cells) + "</tr>")
    more = (f'<p class="note">The first {MAX_TABLE_ROWS} of {len(data.rows)} images; the '
            "results table holds them all.</p>" if len(data.rows) > MAX_TABLE_ROWS else "")
    header = "".join(f"<th>{h}</th>" for h in head)
    return (f"<section><h2>Images</h2><details><summary>Show all {len(shown)} images"
            f"</summary><table><tr>{header}</tr>{''.join(body)}</table>{more}</details>"
            "</section>")


def _notes(data: ReportData) -> str:
    if not data.notes:
        return ""
    items = "".join(f"<li>{_e(n)}</li>" for n in dict.fromkeys(data.notes))
    return f'<section><h2>Notes</h2><ul class="note">{items}</ul></section>'


# -- helpers -------------------------------------------------------------------------------------
def _figure(png: bytes, caption: str) -> str:
    width = int.from_bytes(png[16:20], "big")  # the PNG header's width
    return (f'<figure style="max-width:{width}px"><img alt="{_e(caption)}" width="{width}" '
            f'src="{_uri(png)}"><figcaption>{_e(caption)}</figcaption></figure>')


def _uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _name(row: dict) -> str:
    return display_path(os.path.basename(row["path"]))


def _num(value, spec: str) -> str:
    return f'<td class="num">{_fmt(value, spec)}</td>'


def _fmt(value, spec: str) -> str:
    return "" if value is None else format(value, spec)
