"""The page at GET /: a form generated from the feature schema, served with a strict CSP.

Everything the page needs is inline in one response (no CDN, no fonts), so it works offline and
behind any stage prefix; the Content-Security-Policy allows exactly its own script and style, by hash.
"""

import base64
import hashlib
import html
import json
from importlib import resources
from typing import Any

from handler.headers import page_headers
from model.manifest import Manifest
from model.predictor import Predictor
from model.rules import HARD_RULES
from model.schema import ALIASES, DISCLAIMER, FEATURES, STATISTIC_NAMES, Feature

# Where the docs link goes: from the stage prefix, so that it resolves under /prod/ and from the bare API URL.
DOCS_MARKER = "__docs_href__"
STAT_TITLES = {"mean": "Mean over the nuclei", "se": "Standard error", "worst": "Worst (mean of the three largest)"}


def _asset(name: str) -> str:
    return resources.files("handler").joinpath("static", name).read_text(encoding="utf-8")


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _field(feature: Feature, low: float, high: float) -> str:
    name = html.escape(feature.name)
    return (
        f'<div class="field"><label for="f-{name}">{name}</label>'
        f'<input id="f-{name}" name="{name}" type="number" step="any" min="0" required inputmode="decimal" '
        f'aria-describedby="h-{name} e-{name}">'
        f'<span class="hint" id="h-{name}">{html.escape(feature.description)} Unit: {html.escape(feature.unit)}. '
        f"Training range {low:g} to {high:g}.</span>"
        f'<span class="error" id="e-{name}" role="alert"></span></div>'
    )


def _slider(feature: Feature, low: float, high: float) -> str:
    """A what-if control: a slider across the training range, and the same value typed."""
    name = html.escape(feature.name)
    step = (high - low) / 200 if high > low else "any"
    bounds = f'min="{low!r}" max="{high!r}"'
    return (
        f'<div class="slider"><label for="w-{name}">{name}</label>'
        f'<input type="range" id="w-{name}" data-name="{name}" {bounds} step="{step}">'
        f'<label for="wv-{name}" class="visually-hidden">{name}, typed</label>'
        f'<input type="number" id="wv-{name}" data-name="{name}" {bounds} step="any" inputmode="decimal"></div>'
    )


def _data(manifest: Manifest, ranges: dict[str, tuple[float, float]]) -> dict[str, Any]:
    """What page.js reads: the schema, the examples, the hard rules, the ranges, the outline panel's limits (the
    extractor's: imported with the page, not at init)."""
    from model import features

    return {
        "features": [{"name": f.name, "description": f.description} for f in FEATURES],
        "aliases": ALIASES,
        "examples": {k: dict(v.features) for k, v in manifest.examples.items()},
        "rules": RULES_FOR_THE_PAGE,
        "ranges": ranges,
        "outlines": {"max_pixels": features.MAX_IMAGE_PIXELS, "max_vertices": features.MAX_VERTICES},
    }


def _lineage(manifest: Manifest) -> str:
    """An updated version names its parent and its site."""
    lineage = manifest.lineage
    if lineage is None:
        return ""
    return (
        f'\n<p id="lineage">Updated for the site {html.escape(lineage.site)} from model '
        f"{html.escape(lineage.parent_version)} ({html.escape(lineage.method)}), on {lineage.n} of the site's rows."
        "</p>"
    )


# The "Outline nuclei" panel (page.js drives it); its limits come with the page's data.
OUTLINE_PANEL = """<section class="panel" id="outline-panel" aria-labelledby="outline-title">
<h2 id="outline-title">Outline nuclei: features from an image (an exploration)</h2>
<p>Open an image: it stays in this browser, and only its grey levels and your outlines are sent. Click around
each nucleus to outline it and close the outline; or paste the outlines as GeoJSON (QuPath's export) or as a
list of polygons. The features follow this project's documented conventions, not the original program's, whose
normalisations were never published: check the out-of-distribution flag, and judge the model on your own
labelled images, before relying on any answer.</p>
<div class="toolbar">
<label for="image-file">Image</label><input type="file" id="image-file" accept="image/*">
<button type="button" class="secondary" id="load-demo">Open the synthetic demo</button>
<label for="scale">Units per pixel</label>
<input type="number" id="scale" min="0" step="any" value="1" inputmode="decimal">
</div>
<canvas id="outline-canvas" width="0" height="0"
aria-label="The image and its outlines: click to add a point to the current outline"></canvas>
<div class="toolbar">
<button type="button" class="secondary" id="close-outline">Close the outline</button>
<button type="button" class="secondary" id="undo-point">Undo the last point</button>
<button type="button" class="secondary" id="clear-outlines">Clear the outlines</button>
<span id="outline-count" role="status" aria-live="polite"></span>
</div>
<label for="geojson">Or paste the outlines (GeoJSON, or polygons of [x, y] pixel points)</label>
<textarea id="geojson" spellcheck="false"></textarea>
<div class="toolbar"><button type="button" id="measure">Measure, fill the form and classify</button></div>
<p id="outline-status" role="status" aria-live="polite"></p>
<div id="nuclei-table"></div>
<p class="safeguards" id="safeguards"></p>
</section>"""

# The hard rules as the core declares them: the page checks them before sending (model.rules).
RULES_FOR_THE_PAGE = [
    {"name": r.name, "relation": r.relation, "pairs": [list(p) for p in r.pairs], "hint": r.hint} for r in HARD_RULES
]


class Page:
    """The rendered page and its CSP, built once per cold start from the loaded model."""

    def __init__(self, predictor: Predictor) -> None:
        manifest = predictor.manifest
        ranges = {f.name: (f.training_min, f.training_max) for f in manifest.features}
        data = _data(manifest, ranges)
        fieldsets = "".join(
            f'<fieldset><legend>{STAT_TITLES[stat]}</legend><div class="grid">'
            + "".join(_field(f, *ranges[f.name]) for f in FEATURES if f.statistic == stat)
            + "</div></fieldset>"
            for stat in STATISTIC_NAMES
        )
        sliders = "".join(_slider(f, *ranges[f.name]) for f in FEATURES)
        options = "".join(
            f'<option value="{html.escape(name)}">{html.escape(name)} (threshold {t:.3f})</option>'
            for name, t in predictor.operating_points.items()
        )
        self._script, self._style = _asset("page.js"), _asset("page.css")
        self._schema = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
        self._body = f"""<main>
<h1>WDBC breast-tumour classifier</h1>
<p>Model {html.escape(predictor.version)}: a calibrated {html.escape(manifest.model.title)} over the 30 nuclear
features of the Wisconsin Diagnostic Breast Cancer data, with exact per-feature explanations.
<a id="docs-link" href="{DOCS_MARKER}">API documentation</a>.</p>{_lineage(manifest)}
<form id="predict-form" novalidate>
<div class="toolbar">
<button type="button" class="secondary" id="fill-benign">Fill a benign example</button>
<button type="button" class="secondary" id="fill-malignant">Fill a malignant example</button>
<label for="operating-point">Operating point</label><select id="operating-point">{options}</select>
<label><input type="checkbox" id="explain" checked> explain</label>
<label><input type="checkbox" id="cases" checked> what would change it, and similar cases</label>
</div>
{fieldsets}
<div class="toolbar"><button type="submit" id="submit">Classify</button></div>
<p id="status" role="status" aria-live="polite"></p>
</form>
<section class="panel" id="result" aria-live="polite" aria-label="Result"></section>
<section class="panel" id="what-if" aria-labelledby="what-if-title" hidden>
<h2 id="what-if-title">What if: move a value</h2>
<p>Move a feature within its training range, with its slider or by typing; the answer above follows. The
model's answer changes, not the tumour: this shows how the model behaves.</p>
<div class="what-if-grid">{sliders}</div>
</section>
{OUTLINE_PANEL}
<section class="panel"><h2>Several rows at once</h2>
<form id="csv-form"><label for="csv">Paste CSV rows: with a header in any accepted naming style (radius_mean,
mean radius, concave points_mean), or 30 values per row in schema order (32 with id and diagnosis first).</label>
<textarea id="csv" spellcheck="false"></textarea>
<div class="toolbar"><button type="submit" id="csv-submit">Classify the rows</button></div>
<p id="csv-status" role="status" aria-live="polite"></p></form>
<div id="batch-result"></div></section>
</main>"""
        self.csp = (
            f"default-src 'none'; script-src {_hash(self._script)}; style-src {_hash(self._style)}; "
            "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        )
        self.headers = page_headers(self.csp)

    def render(self, root_path: str) -> str:
        """The page for a request under `root_path` (the API Gateway stage prefix, or empty)."""
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>WDBC classifier: research proof of concept</title><link rel="icon" href="data:,">
<style>{self._style}</style></head>
<body data-api="{html.escape(root_path)}">
<header><p class="disclaimer" role="note">{html.escape(DISCLAIMER)}</p></header>
{self._body.replace(DOCS_MARKER, html.escape(root_path) + "/docs")}
<script type="application/json" id="schema">{self._schema}</script>
<script>{self._script}</script>
</body></html>"""
