"""Every error the inference core raises. They know nothing of HTTP; adapters map them."""

from collections.abc import Sequence
from typing import NamedTuple


class ModelError(Exception):
    """Base class of every error the core raises."""


class ArtifactError(ModelError):
    """The model artifact cannot be used."""


class ArtifactMissingError(ArtifactError):
    """A file of the artifact is absent, or the artifact path is not a directory."""


class ChecksumError(ArtifactError):
    """A file's sha256 differs from the manifest's, or the manifest was edited after training."""


class FormatVersionError(ArtifactError):
    """The artifact was written in a format version this code does not read."""


class ManifestError(ArtifactError):
    """`manifest.json` is not JSON, not an object, or a field is absent or of the wrong type."""


class ShapeError(ArtifactError):
    """An array of the artifact is missing or has the wrong shape."""


class NonFiniteArrayError(ArtifactError):
    """An array of the artifact holds NaN or infinity."""


class CsvError(ModelError):
    """A CSV file that cannot be read as WDBC data; the message names the row and column."""


class Violation(NamedTuple):
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


class UnknownOptionError(ModelError):
    """An operating point or miscoverage level the artifact does not define."""

    def __init__(self, option: str, got: object, allowed: Sequence[object]) -> None:
        self.option, self.got, self.allowed = option, got, allowed
        super().__init__(f"unknown {option} {got!r}; expected one of {allowed}")


class ExplanationError(ModelError):
    """An explanation failed its own efficiency check: an internal error, never returned."""
