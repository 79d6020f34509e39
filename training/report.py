"""The evaluation report (one self-contained HTML file, PNGs beside it) and MODEL_CARD.md.

    python -m training.report ARTIFACT_DIR

Drawn only from what training stored (metrics.json, oof.npz, explanations.npz, manifest.json):
no refitting, a few seconds, and the same artifact always gives the same bytes.
"""

from __future__ import annotations

import argparse
import base64
import html
import logging
import sys
from pathlib import Path

import matplotlib.pyplot as plt

from model.schema import DISCLAIMER
from training.card import render_card
from training.plots import PLOTS, png
from training.report_inputs import Inputs, clinical_comparison, ood_feature_rows, pct, robustness_rows

log = logging.getLogger("training.report")


def render_html(run: Inputs, images: dict[str, bytes]) -> str:
    s = run.family.summary
    table = "".join(
        f"<tr><td>{html.escape(f.title)}{' (shipped)' if n == run.chosen else ''}</td>"
        + "".join(
            f"<td>{f.summary[m].mean:.4f} &plusmn; {f.summary[m].std:.4f}</td>"
            for m in ("accuracy", "auc", "sensitivity", "specificity", "brier", "ece")
        )
        + "</tr>"
        for n, f in run.metrics.families.items()
    )
    ood_rows = "".join(
        f"<tr><td>{a}</td><td>{b}</td><td>{c}</td><td>{html.escape(e)}</td></tr>"
        for a, b, c, e in ood_feature_rows(run)
    )
    robust = "".join(
        f"<tr><td>{a}</td><td>{b}</td><td>{c}</td><td>{e}</td></tr>" for a, b, c, e in robustness_rows(run)
    )
    figures = "".join(
        f'<figure><img alt="{plot.name}" src="data:image/png;base64,{base64.b64encode(images[plot.name]).decode()}">'
        f"<figcaption>{html.escape(plot.caption)}</figcaption></figure>"
        for plot in PLOTS
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>WDBC classifier: evaluation report</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#111}}
table{{border-collapse:collapse}}td,th{{border:1px solid #bbb;padding:4px 8px;text-align:right}}
td:first-child{{text-align:left}}.warn{{background:#fff3cd;border:1px solid #E69F00;padding:1em}}
img{{max-width:100%}}figure{{margin:2em 0}}</style></head><body>
<p class="warn"><strong>{html.escape(DISCLAIMER)}</strong></p>
<h1>Evaluation report, model {html.escape(run.manifest.model_version)}</h1>
<p>Shipped: {html.escape(run.family.title)} ({html.escape(run.metrics.selection_rule)}).
Protocol: {html.escape(run.metrics.protocol)}, seed {run.metrics.seed}.
Data: {html.escape(run.metrics.data.source)}.
Nested-CV accuracy {s["accuracy"].mean:.4f} &plusmn; {s["accuracy"].std:.4f}, AUC {s["auc"].mean:.4f},
Brier {s["brier"].mean:.4f}, ECE {s["ece"].mean:.4f}.</p>
<h2>Model comparison</h2><table><tr><th>family</th><th>accuracy</th><th>AUC</th><th>sensitivity</th>
<th>specificity</th><th>Brier</th><th>ECE</th></tr>{table}</table>
{figures}
<h2>Robustness</h2><p>The shipped family's outer-fold models on perturbed copies of their test rows, at the
balanced operating point and alpha 0.05: multiplicative measurement noise (seeded) and the loss of the standard-error
block (replaced by training medians).</p>
<table><tr><th>case</th><th>accuracy</th><th>sensitivity</th><th>indeterminate</th></tr>{robust}</table>
<h2>Out of distribution, feature by feature</h2><p>Share of held-out rows (outer folds) flagged when one
feature alone is multiplied or divided by 10, as a unit or typing slip would; overall: false flags
{pct(run.manifest.out_of_distribution.cv["false_flag_rate"].mean)}, any one feature times 10
{pct(run.manifest.out_of_distribution.cv["detection_rate_one_feature_times_10"].mean)}, divided by 10
{pct(run.manifest.out_of_distribution.cv["detection_rate_one_feature_over_10"].mean)}, two columns swapped
{pct(run.manifest.out_of_distribution.cv["detection_rate_two_columns_swapped"].mean)}.</p>
<table><tr><th>feature</th><th>times 10</th><th>divided by 10</th><th>why a slip can go unseen</th></tr>
{ood_rows}</table>
<h2>Importance and clinical knowledge</h2><p>{html.escape(clinical_comparison(run))}</p>
<h2>How to validate this model on your data</h2><p><code>python -m model evaluate COHORT.csv --model DIR
--format html --output report.html</code> judges this model on a labelled cohort from another site: discrimination,
calibration-in-the-large and slope, Brier scores, rates at each operating point with Wilson intervals, conformal
coverage, input shift, a decision curve and the overlap with the training rows, each figure beside what nested
cross-validation predicted, with a verdict in words.</p>
</body></html>
"""


def write(directory: Path) -> dict[str, Path]:
    """Draw every plot, write report/*.png, report/report.html and MODEL_CARD.md; return their paths."""
    run = Inputs(directory)
    with plt.rc_context({"font.size": 9, "svg.hashsalt": "wdbc"}):
        images = {plot.name: png(plot.draw(run)) for plot in PLOTS}
    out = directory / "report"
    out.mkdir(exist_ok=True)
    paths = {}
    for name, data in images.items():
        paths[name] = out / f"{name}.png"
        paths[name].write_bytes(data)
    paths["html"] = out / "report.html"
    paths["html"].write_text(render_html(run, images))
    paths["card"] = directory / "MODEL_CARD.md"
    paths["card"].write_text(render_card(run))
    return paths


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("artifact", type=Path)
    args = parser.parse_args(argv)
    paths = write(args.artifact)
    log.info("report: %s; model card: %s", paths["html"], paths["card"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
