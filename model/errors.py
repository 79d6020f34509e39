"""Domain errors of the inference core. They know nothing of HTTP; adapters map them."""

from __future__ import annotations

from dataclasses import dataclass


class ModelError(Exception):
    """Base class of every error the core raises."""


class ArtifactError(ModelError):
    """The model artifact cannot be used."""


class ArtifactMissingError(ArtifactError):
    """A file of the artifact is absent."""


class ChecksumError(ArtifactError):
    """A file's sha256 differs from the manifest's."""


class FormatVersionError(ArtifactError):
    """The artifact was written in a format this code does not read."""


class ShapeError(ArtifactError):
    """An array of the artifact has the wrong shape or is missing."""


@dataclass(frozen=True)
class Violation:
    """One broken input rule: which field, which rule, what value, and how to fix it."""

    field: str
    rule: str
    value: object
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"field": self.field, "rule": self.rule, "value": self.value, "message": self.message}


class InputError(ModelError):
    """One or more input records break hard rules."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        super().__init__("; ".join(v.message for v in violations))


class ExplanationError(ModelError):
    """An explanation failed its own efficiency check: an internal error, never returned."""
