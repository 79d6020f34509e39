"""The smoke check of a deployed API, end to end against the app under uvicorn, and its SigV4 signing."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Callable
from email.message import Message
from pathlib import Path

import pytest

from infra import smoke

pytestmark = pytest.mark.integration


def test_every_check_passes_against_the_app(serve: Callable[..., str], artifact_dir: Path) -> None:
    # GIVEN the app on loopback, without a stage prefix
    lines: list[str] = []
    # WHEN the smoke check runs THEN every check passes, one line each
    assert smoke.run(smoke.Client(serve(artifact_dir)), lines.append) == 0
    assert len(lines) == len(smoke.CHECKS) + 1 and all(line.startswith("ok") for line in lines[:-1]), lines
    assert lines[-1] == f"{len(smoke.CHECKS)} of {len(smoke.CHECKS)} checks passed\n"


def test_every_check_passes_under_a_stage_prefix(staged: str) -> None:
    lines: list[str] = []
    assert smoke.run(smoke.Client(staged + "/prod"), lines.append) == 0, lines


def test_a_failing_deployment_is_reported_check_by_check(serve: Callable[..., str], artifact_dir: Path) -> None:
    # GIVEN a URL where nothing of this API answers (the stage left out, say)
    lines: list[str] = []
    failed = smoke.run(smoke.Client(serve(artifact_dir) + "/nowhere"), lines.append)
    # THEN every check fails with its reason, and the exit status says so
    assert failed == len(smoke.CHECKS)
    assert lines[0].startswith("FAIL  health: AssertionError: status 404")
    assert smoke.main([serve(artifact_dir) + "/nowhere"]) == 1


class _Response:
    def __init__(self, status: int) -> None:
        self.status, self.headers = status, {"content-type": "application/json"}

    def read(self) -> bytes:
        return b"{}"

    def __enter__(self) -> _Response:
        return self

    def __exit__(self, *args: object) -> None:
        return None


def test_429_and_503_are_retried_with_backoff() -> None:
    # GIVEN an API that answers 429, then 503, then 200
    answers = iter([429, 503, 200])
    pauses: list[float] = []

    def opener(request: urllib.request.Request, timeout: float) -> _Response:
        status = next(answers)
        if status != 200:
            raise urllib.error.HTTPError(request.full_url, status, "busy", Message(), None)
        return _Response(status)

    # WHEN a check calls it THEN it retries after 0.5 s and 1 s, and gets the answer
    reply = smoke.Client("https://api.example", sleep=pauses.append, opener=opener).call("GET", "/health")
    assert reply.status == 200 and pauses == [0.5, 1.0]


def test_sigv4_headers_are_botocore_s(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN credentials as the environment gives them
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token")
    sign = smoke.sigv4_signer("eu-west-1")
    # WHEN a request to the API is signed
    url = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/predict"
    headers = sign("POST", url, b'{"features": {}}', {"content-type": "application/json"})
    # THEN the headers are SigV4's for execute-api in that region, with the session token
    authorization = headers["Authorization"]
    assert re.match(
        r"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\d{8}/eu-west-1/execute-api/aws4_request, "
        r"SignedHeaders=[a-z;-]*content-type[a-z;-]*x-amz-date[a-z;-]*, Signature=[0-9a-f]{64}$",
        authorization,
    ), authorization
    assert re.fullmatch(r"\d{8}T\d{6}Z", headers["X-Amz-Date"])
    assert headers["X-Amz-Security-Token"] == "session-token"
    assert smoke.region_of(url) == "eu-west-1"
