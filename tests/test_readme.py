"""The README and the docs/ pages hold nothing the code contradicts: targets, commands and their flags, files,
routes, settings; and the README stays a short front page."""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache
from types import ModuleType

import pytest
from starlette.routing import Route

from handler.settings import ENVIRONMENT
from infra.paths import ROOT

README = (ROOT / "README.md").read_text()
DOCS = "\n".join([README, *(page.read_text() for page in sorted((ROOT / "docs").glob("*.md")))])
BENCHMARKS = (ROOT / "BENCHMARKS.md").read_text()
# Paths the README names that are made by a run, or live inside a layer, not in the repository.
NOT_IN_THE_REPOSITORY = ("artifacts/", "build/", ".aws-sam/", "report/", "test-artifacts/", ".venv", "/opt/")
LAYER_PATHS = ("model/manifest.json", "model/model.npz", "model/MODEL_CARD.md", "python/sitecustomize.py")
PACKAGES = ("model", "cohort", "training", "handler", "handler/kserve", "infra", "local", "benchmarks", "tests")
ARTIFACT_FILES = ("manifest.json", "model.npz", "metrics.json", "MODEL_CARD.md", "pipeline.joblib", "report.html")


def _targets() -> list[str]:
    return sorted(set(re.findall(r"\bmake ([a-z][a-z-]*)", DOCS)))


@pytest.mark.parametrize("target", _targets())
def test_every_make_target_named_exists(target: str) -> None:
    result = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


def _commands() -> list[tuple[str, str | None, tuple[str, ...]]]:
    """(module, subcommand or None, flags) for every `python -m ...` the docs show."""
    found: set[tuple[str, str | None, tuple[str, ...]]] = set()
    for module, rest in re.findall(r"python -m ([a-z_][a-z_.]*)([^`\n#]*)", DOCS + BENCHMARKS):
        words = rest.split()
        sub = words[0] if words and re.fullmatch(r"[a-z][a-z-]*", words[0]) else None
        found.add((module, sub, tuple(sorted(set(re.findall(r"(--[a-z][a-z0-9-]*)", rest))))))
    return sorted(found, key=str)


@cache
def _help(module: str, sub: str | None) -> tuple[int, str]:
    command = [sys.executable, "-m", module, *([sub] if sub else []), "--help"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize(("module", "sub", "flags"), _commands(), ids=str)
def test_every_command_answers_help_with_the_flags_shown(module: str, sub: str | None, flags: tuple[str, ...]) -> None:
    code, text = _help(module, sub)
    if code != 0 and sub is not None:  # the word after the module was an argument, not a subcommand
        code, text = _help(module, None)
    assert code == 0, text[-2000:]
    for flag in flags:
        assert flag in text, f"python -m {module} {sub or ''}: {flag} is not in --help"


def _paths() -> list[str]:
    found = set()
    for token in re.findall(r"`([^`\s]+)`", DOCS):
        # Media types and CloudWatch namespaces have slashes too.
        media_type = re.fullmatch(r"(application|text|image)/[a-z+.-]+|AWS/[A-Za-z]+", token)
        if media_type or token.startswith(("http", "/", "-", "$", "*")) or any(c in token for c in "<>{}*$=[]()|,"):
            continue
        if "/" in token or re.search(r"\.(py|json|toml|yaml|md|txt|lock|js|css)$", token):
            found.add(token)
    return sorted(found)


@pytest.mark.parametrize("path", _paths())
def test_every_file_and_folder_named_exists(path: str) -> None:
    if path.startswith(NOT_IN_THE_REPOSITORY) or path in LAYER_PATHS or path in ARTIFACT_FILES:
        pytest.skip("made by a run, or a path inside a layer")
    # The layout table names each package's modules by file name alone.
    candidates = [ROOT / path, *(ROOT / package / path for package in PACKAGES)]
    assert any(c.exists() for c in candidates), path


def _routes() -> list[tuple[str, str]]:
    found = set()
    for method, path in re.findall(r"`(GET|POST) (/[^`\s]*)`", DOCS):
        for expanded in {re.sub(r"\[([^\]]*)\]", "", path), re.sub(r"\[([^\]]*)\]", r"\1", path)}:
            found.add((method, expanded))
    return sorted(found)


@pytest.mark.parametrize(("method", "path"), _routes())
def test_every_route_named_is_served(lambda_module: ModuleType, method: str, path: str) -> None:
    concrete = re.sub(r"\{[^}]+\}", "x", path)
    lambda_module.app.openapi()  # builds the protocol routes that are otherwise built on first use
    routes = [r for r in lambda_module.app.router.routes if isinstance(r, Route)]
    matching = [r for r in routes if r.path_regex.match(concrete) and method in (r.methods or ())]
    assert matching, f"{method} {path}"


def test_every_setting_listed_is_read_by_the_settings_object() -> None:
    paragraph = DOCS[DOCS.index("Settings, read once from the environment") :].split("\n\n")[0]
    listed = set(re.findall(r"`([A-Z][A-Z_]+)`", paragraph))
    assert listed == set(ENVIRONMENT)


def test_the_readme_is_a_front_page_that_links_every_docs_page() -> None:
    assert README.count("\n") <= 300
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert f"(docs/{page.name})" in README, page.name
        assert "not a diagnostic tool" in page.read_text(), page.name


def test_the_rule_table_is_the_rules_declared() -> None:
    from model.rules import RULES

    rows = re.findall(r"^\| `([a-z_]+)` \| (hard|soft): ", DOCS, flags=re.MULTILINE)
    assert rows == [(rule.name, "hard" if rule.hard else "soft") for rule in RULES]


def test_the_answer_table_is_the_answer_declared() -> None:
    from model.predictor import ANSWER

    rows = re.findall(r"^\| `([a-z_]+)` \| (always|with `[a-z_]+`, else null) \|", DOCS, flags=re.MULTILINE)
    assert rows == [(f.name, "always" if f.asked_by is None else f"with `{f.asked_by}`, else null") for f in ANSWER]
