"""The page in headless Chromium (Debian's), driven by Playwright against the app on loopback."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from infra.paths import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.browser]
SHOTS = ROOT / "test-artifacts" / "browser"


def _shot(tab: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _classify_malignant(tab: Any) -> None:
    tab.click("#fill-malignant")
    tab.click("#submit")
    tab.wait_for_selector("#result .result-label")


def test_classify_a_malignant_example(serve: Callable[..., str], artifact_dir: Path, page: Any) -> None:
    base = serve(artifact_dir)
    response = page.goto(base + "/")
    # THEN the page comes with a strict CSP, and the disclaimer is visible without scrolling
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp and "http" not in csp
    box = page.locator(".disclaimer").bounding_box()
    assert box["y"] + box["height"] <= 900 and "not a diagnostic tool" in page.inner_text(".disclaimer")
    # WHEN the malignant example is filled and submitted
    _classify_malignant(page)
    # THEN the label, the probability and a chart with bars appear
    assert page.inner_text("#result .result-label") == "Malignant"
    assert "Probability of malignancy" in page.inner_text("#result .probability")
    assert page.locator("#result svg.bars rect.bar").count() == 10
    assert page.get_attribute("#result .gauge", "aria-valuenow")
    _shot(page, "malignant")
    assert page.problems == []


def test_negative_value_shows_its_error_next_to_the_field(
    serve: Callable[..., str], artifact_dir: Path, page: Any
) -> None:
    page.goto(serve(artifact_dir) + "/")
    page.click("#fill-benign")
    page.fill("#f-radius_mean", "-1")
    page.click("#submit")
    assert "must be >= 0" in page.inner_text("#e-radius_mean")
    assert page.get_attribute("#f-radius_mean", "aria-invalid") == "true"
    assert page.inner_text("#result") == ""
    _shot(page, "negative-value")


def test_three_csv_rows_give_a_table_of_three(
    serve: Callable[..., str], artifact_dir: Path, page: Any, examples: dict[str, dict[str, float]]
) -> None:
    page.goto(serve(artifact_dir) + "/")
    manifest = json.loads((artifact_dir / "manifest.json").read_text())
    kaggle = [f["aliases"][1] for f in manifest["features"]]
    rows = [examples["benign"], examples["malignant"], examples["benign"]]
    csv = ",".join(kaggle) + "\n" + "\n".join(",".join(str(r[f["name"]]) for f in manifest["features"]) for r in rows)
    page.fill("#csv", csv)
    page.click("#csv-submit")
    page.wait_for_selector("#batch-table")
    assert page.locator("#batch-table tr.batch-row").count() == 3
    labels = page.locator("#batch-table tr.batch-row td:nth-child(2)").all_inner_texts()
    assert labels == ["benign", "malignant", "benign"]
    page.locator("#batch-table summary").nth(1).click()
    assert page.locator("#batch-table details[open] svg.bars rect.bar").count() == 10
    _shot(page, "batch")


def test_works_with_explain_off(serve: Callable[..., str], artifact_dir: Path, page: Any) -> None:
    page.goto(serve(artifact_dir) + "/")
    page.uncheck("#explain")
    _classify_malignant(page)
    assert page.locator("#result svg.bars").count() == 0
    assert page.inner_text("#result .result-label") == "Malignant"


@pytest.mark.parametrize("status", [413, 415, 422])
def test_keeps_working_when_the_server_refuses(
    serve: Callable[..., str], artifact_dir: Path, page: Any, status: int
) -> None:
    page.goto(serve(artifact_dir) + "/")
    violation = {
        "field": "features.texture_mean",
        "rule": "finite",
        "value": "nan",
        "message": "features.texture_mean must be a finite number",
    }
    body = {
        "error": {
            "status": status,
            "title": "refused",
            "detail": f"refused with {status}",
            "violations": [violation] if status == 422 else [],
        },
        "disclaimer": "x",
    }
    page.route(
        "**/predict", lambda route: route.fulfill(status=status, content_type="application/json", body=json.dumps(body))
    )
    page.click("#fill-malignant")
    page.click("#submit")
    page.wait_for_function("document.getElementById('status').textContent.includes('Error')")
    assert f"Error {status}" in page.inner_text("#status")
    if status == 422:
        assert "finite" in page.inner_text("#e-texture_mean")
    # AND once the server answers again, the page works
    page.unroute("**/predict")
    page.click("#submit")
    page.wait_for_selector("#result .result-label")
    assert page.problems == []


def test_page_under_a_stage_prefix(staged: str, page: Any) -> None:
    page.goto(staged + "/prod/")
    assert page.get_attribute("body", "data-api") == "/prod"
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    _classify_malignant(page)
    assert any(url.endswith("/prod/predict") for url in requests)
    assert page.inner_text("#result .result-label") == "Malignant"
    docs = page.evaluate("document.querySelector('#docs-link').href")
    assert docs.endswith("/prod/docs") and page.request.get(docs).status == 200
    _shot(page, "stage-prefix")
    assert page.problems == []


@pytest.mark.parametrize("entry", ["/prod/", "/prod"])
def test_docs_run_nothing_from_a_third_party_under_a_stage_prefix(staged: str, page: Any, entry: str) -> None:
    # GIVEN the page reached through the stage URL, with or without the trailing slash (the bare ApiUrl)
    page.goto(staged + entry)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    # WHEN the docs link is followed
    page.click("#docs-link")
    page.wait_for_selector(".opblock-summary-path", timeout=30_000)
    # THEN Swagger UI renders the operations from the API's own origin, under the stage, under a strict CSP
    assert page.url == staged + "/prod/docs"
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/predict" in paths and "/predict/batch" in paths
    assert requests and all(url.startswith(staged + "/prod/") for url in requests), requests
    csp = page.request.get(staged + "/prod/docs").headers["content-security-policy"]
    assert "script-src 'self'" in csp and "http" not in csp
    _shot(page, f"docs{entry.replace('/', '-')}")
    assert page.problems == []


@pytest.mark.parametrize("entry", ["", "/prod"])
def test_swagger_try_it_out_executes_the_example_as_it_is(staged: str, page: Any, entry: str) -> None:
    # GIVEN the docs page, reached directly or through a named stage
    page.goto(staged + entry + "/docs")
    operation = page.locator(".opblock-post").filter(
        has=page.locator(".opblock-summary-path", has_text=re.compile(r"^/predict$"))
    )
    # WHEN a newcomer opens POST /predict, presses "Try it out" and then "Execute" without editing anything
    operation.locator(".opblock-summary").click()
    operation.locator(".try-out__btn").click()
    body = operation.locator("textarea.body-param__text").input_value()
    operation.locator(".execute").click()
    # THEN the body was the document's first example, sent to the server it names, and answered 200
    status = operation.locator(".live-responses-table .response .response-col_status").first
    expect(status).to_have_text("200", timeout=30_000)
    assert json.loads(body)["features"]["radius_mean"] > 0
    answer = operation.locator(".live-responses-table .response-col_description pre").first.inner_text()
    assert '"label": "malignant"' in answer and "not a diagnostic tool" in answer
    _shot(page, f"swagger-try-it-out{entry.replace('/', '-')}")
    assert page.problems == []


def test_phone_sized_screen_and_keyboard(serve: Callable[..., str], artifact_dir: Path, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 800}, is_mobile=True)
    tab = context.new_page()
    tab.goto(serve(artifact_dir) + "/")
    assert tab.evaluate("document.documentElement.scrollWidth") <= 390
    tab.focus("#fill-malignant")
    tab.keyboard.press("Enter")
    tab.focus("#submit")
    tab.keyboard.press("Enter")
    tab.wait_for_selector("#result .result-label")
    labels = tab.evaluate("[...document.querySelectorAll('input[type=number]')].every(i => i.labels.length === 1)")
    assert labels
    _shot(tab, "phone")
    context.close()


def test_what_if_a_slider_moves_the_answer_and_the_counterfactual_flips_it(
    serve: Callable[..., str], artifact_dir: Path, page: Any
) -> None:
    page.goto(serve(artifact_dir) + "/")
    page.click("#fill-benign")
    page.click("#submit")
    page.wait_for_selector("#result .result-label")
    assert page.is_visible("#what-if") and page.inner_text("#result .result-label") == "Benign"
    before = page.inner_text("#result .probability")
    # WHEN a feature's slider is moved to the top of its training range with the keyboard
    page.focus("#w-concave_points_worst")
    page.keyboard.press("End")
    # THEN the form's field follows, and the answer shown changes (debounced, one request)
    expect(page.locator("#result .probability")).not_to_have_text(before, timeout=15000)
    top = page.get_attribute("#w-concave_points_worst", "max")
    assert float(page.input_value("#f-concave_points_worst")) == float(top)
    # AND the similar cases are a table of five, the counterfactual a sentence about the model
    assert page.locator("#similar-cases tr.similar-case").count() == 5
    statement = page.inner_text("#counterfactual-statement")
    assert statement.startswith("The model would answer malignant if ")
    # WHEN the counterfactual is applied
    page.click("#apply-counterfactual")
    # THEN the model answers the other label
    expect(page.locator("#result .result-label")).to_have_text("Malignant", timeout=15000)
    _shot(page, "what-if")
    assert page.problems == []


def test_typing_outside_the_training_range_is_refused_in_the_what_if_panel(
    serve: Callable[..., str], artifact_dir: Path, page: Any
) -> None:
    page.goto(serve(artifact_dir) + "/")
    _classify_malignant(page)
    top = float(page.get_attribute("#wv-radius_mean", "max"))
    page.fill("#wv-radius_mean", str(top * 2))
    assert page.get_attribute("#wv-radius_mean", "aria-invalid") == "true"
    assert "training range" in page.inner_text("#status")
    assert float(page.input_value("#f-radius_mean")) <= top


AXE = ROOT / "tests" / "clients" / "typescript" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"]


def _axe_violations(tab: Any) -> list[dict[str, Any]]:
    tab.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = tab.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))",
        AXE_TAGS,
    )
    return found


def test_the_page_passes_axe_core_as_loaded_and_with_a_result(
    serve: Callable[..., str], artifact_dir: Path, browser: Any
) -> None:
    # axe-core is injected into the page: the context bypasses the page's CSP for that script alone
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    tab = context.new_page()
    tab.goto(serve(artifact_dir) + "/")
    assert _axe_violations(tab) == []
    _classify_malignant(tab)
    tab.wait_for_selector("#similar-cases")
    assert _axe_violations(tab) == []
    context.close()


def test_outlining_three_nuclei_on_the_demo_fills_the_form_and_predicts(
    serve: Callable[..., str], artifact_dir: Path, browser: Any
) -> None:
    import urllib.request

    base = serve(artifact_dir)
    with urllib.request.urlopen(base + "/features/demo", timeout=30) as response:
        demo = json.loads(response.read())
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)  # for axe-core alone
    tab = context.new_page()
    tab.goto(base + "/")
    # WHEN the synthetic demo is opened and three nuclei are outlined by clicking around them
    tab.click("#load-demo")
    expect(tab.locator("#outline-status")).to_contain_text("Synthetic")
    canvas = tab.locator("#outline-canvas")
    for outline in demo["outlines"][:3]:
        box = canvas.bounding_box()
        scale = box["width"] / demo["image"]["width"]
        for x, y in outline[::4]:
            tab.mouse.click(box["x"] + x * scale, box["y"] + y * scale)
        tab.click("#close-outline")
    expect(tab.locator("#outline-count")).to_contain_text("3 outlines closed")
    tab.click("#measure")
    # THEN each nucleus's features are shown with the conventions and safeguards, the form is filled, and the
    # model answers
    tab.wait_for_selector("#result .result-label")
    assert tab.locator("#nuclei tr").count() == 4
    assert "wdbc-outline-1" in tab.inner_text("#safeguards") and "not the original" in tab.inner_text("#safeguards")
    assert float(tab.input_value("#f-radius_mean")) > 0 and float(tab.input_value("#f-texture_mean")) > 0
    assert tab.inner_text("#result .result-label") in ("Benign", "Malignant")
    _shot(tab, "outlined-demo")
    # AND axe-core finds nothing with the panel in use
    assert _axe_violations(tab) == []
    context.close()
