"""Shared fixtures: one quick-profile artifact per test session, trained on the embedded data."""

from __future__ import annotations

import base64
import fcntl
import importlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from handler.settings import get_settings
from infra.paths import ROOT
from local.events import LocalContext
from local.ports import free_port
from model.predictor import Predictor
from tests.support import Answer
from training import cli, data


@pytest.fixture(scope="session")
def dataset() -> data.Dataset:
    return data.embedded()


def _trained_once(tmp_path_factory: pytest.TempPathFactory, name: str, *options: str) -> Path:
    """A quick-profile artifact trained once per test session, shared by pytest-xdist's workers.

    The workers' temporary folders share a parent; the first worker to take the lock trains, the
    others wait for it and read the same artifact.
    """
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    out = shared / name / "model"
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "manifest.json").exists():
            command = ["--profile", "quick", "--seed", "0", "--jobs", "1", *options, "--out", str(out)]
            assert cli.main(command) == 0
    return out


@pytest.fixture(scope="session")
def artifact_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _trained_once(tmp_path_factory, "artifact")


@pytest.fixture(scope="session")
def linear_artifact_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The quick profile shipping the linear SVM, the family the default profile usually chooses."""
    return _trained_once(tmp_path_factory, "artifact-linear", "--family", "svm_linear")


@pytest.fixture(scope="session")
def predictor(artifact_dir: Path) -> Predictor:
    return Predictor.load(artifact_dir)


@pytest.fixture
def benign_row(dataset: data.Dataset) -> np.ndarray:
    return dataset.x[np.flatnonzero(dataset.y == 0)[0]].copy()


@pytest.fixture
def malignant_row(dataset: data.Dataset) -> np.ndarray:
    return dataset.x[np.flatnonzero(dataset.y == 1)[0]].copy()


@pytest.fixture(scope="session")
def lambda_module(artifact_dir: Path) -> Iterator[ModuleType]:
    """handler.lambda_function imported as Lambda would, with MODEL_DIR at the session's artifact."""
    patch = pytest.MonkeyPatch()
    patch.setenv("MODEL_DIR", str(artifact_dir))
    patch.setenv("POWERTOOLS_METRICS_NAMESPACE", "WdbcClassifierTest")
    patch.setenv("MAX_BATCH_SIZE", "1000")
    get_settings.cache_clear()
    for name in ("handler.lambda_function", "handler.observability"):
        sys.modules.pop(name, None)
    module = importlib.import_module("handler.lambda_function")
    yield module
    patch.undo()
    get_settings.cache_clear()


@pytest.fixture
def invoke(lambda_module: ModuleType) -> Callable[[dict[str, Any]], Answer]:
    def call(event: dict[str, Any]) -> Answer:
        out = lambda_module.handler(event, LocalContext())
        text = out.get("body") or ""
        if out.get("isBase64Encoded"):
            text = base64.b64decode(text).decode()
        headers = {k.lower(): v for k, v in (out.get("headers") or {}).items()}
        is_json = headers.get("content-type", "").startswith("application/json")
        return Answer(out["statusCode"], headers, json.loads(text) if is_json and text else text)

    return call


@pytest.fixture(scope="session")
def examples(artifact_dir: Path) -> dict[str, dict[str, float]]:
    manifest = json.loads((artifact_dir / "manifest.json").read_text())
    return {name: e["features"] for name, e in manifest["examples"].items()}


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Start the app under uvicorn on a free loopback port; returns its base URL. Stopped after the test."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(model_dir: Path, *extra: str) -> str:
        port = free_port()
        env = {**os.environ, "MODEL_DIR": str(model_dir), "LOG_LEVEL": "WARNING"}
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "handler.lambda_function:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
            *extra,
        ]
        log = tmp_path / f"uvicorn-{port}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        processes.append(process)
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return f"http://127.0.0.1:{port}"
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def staged(lambda_module: ModuleType) -> Iterator[str]:
    """The app as API Gateway's named stage presents it: the path keeps /prod, root_path says so.

    This is what handler.lambda_function's stage-aware Mangum adapters produce from real events; uvicorn's
    own --root-path expects a proxy to have stripped the prefix, which API Gateway does not do.
    """
    import uvicorn

    app = lambda_module.app

    async def stage(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and (scope["path"] == "/prod" or scope["path"].startswith("/prod/")):
            scope = {**scope, "root_path": "/prod"}
        await app(scope, receive, send)

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(stage, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start within 60 s"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying hosts this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (no browser download)."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A tab that records the page's own errors in `tab.problems`."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    problems: list[str] = []
    # A refused request logs "Failed to load resource" by design; anything else is a fault of the page.
    tab.on(
        "console", lambda m: problems.append(m.text) if m.type == "error" and "Failed to load" not in m.text else None
    )
    tab.on("pageerror", lambda e: problems.append(str(e)))
    tab.problems = problems
    yield tab
    context.close()
