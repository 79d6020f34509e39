"""schemathesis against the app served by uvicorn on loopback: every check, positive and negative data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import schemathesis_run

# slow: about a minute of generated requests
pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_schemathesis_finds_nothing(serve: Callable[..., str], artifact_dir: Path, tmp_path: Path) -> None:
    served = serve(artifact_dir)
    generated = schemathesis_run(served, max_examples=150, report_dir=tmp_path)
    assert generated >= 500
