"""Shared fixtures: one quick-profile artifact per test session, trained on the embedded data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model.predictor import Predictor
from training import cli, data


@pytest.fixture(scope="session")
def dataset() -> data.Dataset:
    return data.embedded()


@pytest.fixture(scope="session")
def artifact_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("artifact") / "model"
    assert cli.main(["--profile", "quick", "--seed", "0", "--jobs", "1", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def predictor(artifact_dir: Path) -> Predictor:
    return Predictor.load(artifact_dir)


@pytest.fixture
def benign_row(dataset: data.Dataset) -> np.ndarray:
    return dataset.x[np.flatnonzero(dataset.y == 0)[0]].copy()


@pytest.fixture
def malignant_row(dataset: data.Dataset) -> np.ndarray:
    return dataset.x[np.flatnonzero(dataset.y == 1)[0]].copy()
