"""`manifest.json` as typed, immutable values: the one definition of its shape, read and written here.

`parse` checks every field for presence and type, and a failure names its dotted path, what was
expected and what was found; `document` writes the same values back as JSON-ready data, so that
`parse(document(m)) == m`. Nothing else in the core, the function or training names a manifest key
(the smoke check reads the public card's `model_version` and `features`, as any client would; metrics.json
is training's own, read in training.results). Standard library only:
the pre-traffic hook, deployed without numpy, reads the golden examples through `release`.
"""

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from model.errors import ManifestError

JSON = dict[str, Any]
FILE = "manifest.json"
ARRAYS_FILE = "model.npz"  # the arrays whose checksum the manifest holds
CARD_FILE = "MODEL_CARD.md"


class Summary(NamedTuple):
    """A cross-validated figure: mean and SD over `n` outer folds."""

    mean: float
    std: float
    n: int

    def to_json(self) -> JSON:
        return dict(self._asdict())


class FeatureSpec(NamedTuple):
    name: str
    description: str
    unit: str
    aliases: tuple[str, ...]
    training_min: float
    training_max: float


class Example(NamedTuple):
    """A real training row, used by the docs, the page and the release checks."""

    id: str
    features: Mapping[str, float]


class Golden(NamedTuple):
    """What the model answers for one example at one operating point; every release must reproduce it."""

    example: str
    operating_point: str
    label: str
    probability_malignant: float
    log_odds: float


class Calibration(NamedTuple):
    """Calibrated log-odds = slope * margin + offset."""

    method: str
    slope: float
    offset: float


class ModelSpec(NamedTuple):
    family: str
    title: str
    kind: str  # "rbf" or "linear": which margin model the arrays hold
    estimator: str
    hyperparameters: Mapping[str, Any]
    calibration: Calibration
    n_support_vectors: int | None = None  # RBF only
    gamma: float | None = None  # RBF only


class OperatingPoint(NamedTuple):
    name: str
    threshold: float
    target: str
    cv_sensitivity: Summary
    cv_specificity: Summary


class ConformalLevel(NamedTuple):
    alpha: float
    malignant_if_p_at_least: float
    benign_if_p_at_most: float
    cv: Mapping[str, Summary]  # coverage_malignant, coverage_benign, indeterminate


class Conformal(NamedTuple):
    method: str
    levels: tuple[ConformalLevel, ...]


class OutOfDistribution(NamedTuple):
    method: str
    threshold: float
    range_threshold: float
    threshold_rule: str
    cv: Mapping[str, Summary]  # false_flag_rate and detection rates, measured in the outer folds


class MetricsSummary(NamedTuple):
    protocol: str
    scores: Mapping[str, Summary]  # accuracy, auc, sensitivity, specificity, brier, log_loss, ece


class ExplanationSpec(NamedTuple):
    method: str
    background: str
    background_size: int


class DataSpec(NamedTuple):
    source: str
    n_rows: int
    n_malignant: int
    n_benign: int
    sha256: str


class TrainingSpec(NamedTuple):
    profile: str
    seed: int
    selection_rule: str


class Manifest(NamedTuple):
    format_version: int
    model_version: str  # content hash; empty until the artifact is written
    disclaimer: str
    features: tuple[FeatureSpec, ...]
    examples: Mapping[str, Example]
    golden: tuple[Golden, ...]
    model: ModelSpec
    operating_points: Mapping[str, OperatingPoint]
    conformal: Conformal
    out_of_distribution: OutOfDistribution
    metrics: MetricsSummary
    explanation: ExplanationSpec
    data: DataSpec
    training: TrainingSpec
    libraries: Mapping[str, str]
    platform: Mapping[str, Any]  # the BLAS library and kernel training ran on
    files: Mapping[str, str]  # file name -> sha256; empty until the artifact is written


class Release(NamedTuple):
    """What a release check needs, read from a manifest or from the public card alike."""

    model_version: str
    examples: Mapping[str, Example]
    golden: tuple[Golden, ...]


class _Reader:
    """Typed access to one JSON object; every failure names the dotted path."""

    def __init__(self, document: object, path: str) -> None:
        if not isinstance(document, dict):
            raise ManifestError(f"manifest field {path or '(top level)'} must be an object, got {_kind(document)}")
        self.doc: dict[str, Any] = document
        self.path = path

    def _get(self, key: str) -> Any:
        if key not in self.doc:
            raise ManifestError(f"manifest field {self._at(key)} is missing; retrain with this version of the code")
        return self.doc[key]

    def _at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _wrong(self, key: str, expected: str) -> ManifestError:
        return ManifestError(f"manifest field {self._at(key)} must be {expected}, got {_kind(self.doc[key])}")

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str):
            raise self._wrong(key, "a string")
        return value

    def number(self, key: str) -> float:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._wrong(key, "a number")
        return float(value)

    def integer(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._wrong(key, "an integer")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self._get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._wrong(key, "a list of strings")
        return tuple(value)

    def obj(self, key: str) -> "_Reader":
        return _Reader(self._get(key), self._at(key))

    def items(self, key: str) -> list["_Reader"]:
        value = self._get(key)
        if not isinstance(value, list):
            raise self._wrong(key, "a list")
        return [_Reader(item, f"{self._at(key)}[{i}]") for i, item in enumerate(value)]

    def numbers(self) -> dict[str, float]:
        return {key: self.number(key) for key in self.doc}

    def texts(self) -> dict[str, str]:
        return {key: self.text(key) for key in self.doc}

    def entries(self) -> list[tuple[str, "_Reader"]]:
        return [(key, self.obj(key)) for key in self.doc]

    def share(self, key: str) -> float:
        """A number strictly between 0 and 1: a probability threshold or a miscoverage level."""
        value = self.number(key)
        if not 0.0 < value < 1.0:
            raise ManifestError(f"manifest field {self._at(key)} must lie in (0, 1), got {value}")
        return value

    def probability(self, key: str) -> float:
        """A number in [0, 1]."""
        value = self.number(key)
        if not 0.0 <= value <= 1.0:
            raise ManifestError(f"manifest field {self._at(key)} must lie in [0, 1], got {value}")
        return value

    def summary(self, key: str) -> Summary:
        s = self.obj(key)
        return Summary(mean=s.number("mean"), std=s.number("std"), n=s.integer("n"))

    def summaries(self, prefix: str) -> dict[str, Summary]:
        """Every `prefix...` field that holds a summary, keyed without the prefix."""
        return {key.removeprefix(prefix): self.summary(key) for key in self.doc if key.startswith(prefix)}


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _plain(record: Any) -> JSON:
    """A record whose fields are all JSON scalars, as its JSON object (the names are the keys)."""
    return dict(record._asdict())


def _flat(prefix: str, summaries: Mapping[str, Summary]) -> JSON:
    return {f"{prefix}{key}": s.to_json() for key, s in summaries.items()}


# Each section: (read from a _Reader, write to JSON). Both sides of one field sit next to each other.


def _read_feature(f: _Reader) -> FeatureSpec:
    return FeatureSpec(
        name=f.text("name"),
        description=f.text("description"),
        unit=f.text("unit"),
        aliases=f.strings("aliases"),
        training_min=f.number("training_min"),
        training_max=f.number("training_max"),
    )


def _write_feature(f: FeatureSpec) -> JSON:
    return {
        "name": f.name,
        "description": f.description,
        "unit": f.unit,
        "aliases": list(f.aliases),
        "training_min": f.training_min,
        "training_max": f.training_max,
    }


def _read_examples(examples: _Reader) -> dict[str, Example]:
    return {name: Example(id=e.text("id"), features=e.obj("features").numbers()) for name, e in examples.entries()}


def _write_examples(examples: Mapping[str, Example]) -> JSON:
    return {name: {"id": e.id, "features": dict(e.features)} for name, e in examples.items()}


def _read_golden(g: _Reader) -> Golden:
    return Golden(
        example=g.text("example"),
        operating_point=g.text("operating_point"),
        label=g.text("label"),
        probability_malignant=g.probability("probability_malignant"),
        log_odds=g.number("log_odds"),
    )


def _write_golden(g: Golden) -> JSON:
    return _plain(g)


def _read_model(model: _Reader) -> ModelSpec:
    calibration = model.obj("calibration")
    rbf = model.text("kind") == "rbf"
    return ModelSpec(
        family=model.text("family"),
        title=model.text("title"),
        kind=model.text("kind"),
        estimator=model.text("estimator"),
        hyperparameters=model.obj("hyperparameters").doc,
        calibration=Calibration(
            method=calibration.text("method"),
            slope=calibration.number("slope"),
            offset=calibration.number("offset"),
        ),
        n_support_vectors=model.integer("n_support_vectors") if rbf else None,
        gamma=model.number("gamma") if rbf else None,
    )


def write_model(m: ModelSpec) -> JSON:
    out: JSON = {
        "family": m.family,
        "title": m.title,
        "kind": m.kind,
        "estimator": m.estimator,
        "hyperparameters": dict(m.hyperparameters),
        "calibration": _plain(m.calibration),
    }
    if m.n_support_vectors is not None:
        out["n_support_vectors"] = m.n_support_vectors
    if m.gamma is not None:
        out["gamma"] = m.gamma
    return out


def _read_operating_point(name: str, op: _Reader) -> OperatingPoint:
    return OperatingPoint(
        name=name,
        threshold=op.share("threshold"),
        target=op.text("target"),
        cv_sensitivity=op.summary("cv_sensitivity"),
        cv_specificity=op.summary("cv_specificity"),
    )


def write_operating_point(op: OperatingPoint) -> JSON:
    return {
        "threshold": op.threshold,
        "target": op.target,
        "cv_sensitivity": op.cv_sensitivity.to_json(),
        "cv_specificity": op.cv_specificity.to_json(),
    }


def _read_conformal(conformal: _Reader) -> Conformal:
    levels = tuple(
        ConformalLevel(
            alpha=level.share("alpha"),
            malignant_if_p_at_least=level.probability("malignant_if_p_at_least"),
            benign_if_p_at_most=level.probability("benign_if_p_at_most"),
            cv=level.summaries("cv_"),
        )
        for level in conformal.items("levels")
    )
    return Conformal(method=conformal.text("method"), levels=levels)


def write_conformal(c: Conformal) -> JSON:
    levels = [
        {
            "alpha": lv.alpha,
            "malignant_if_p_at_least": lv.malignant_if_p_at_least,
            "benign_if_p_at_most": lv.benign_if_p_at_most,
            **_flat("cv_", lv.cv),
        }
        for lv in c.levels
    ]
    return {"method": c.method, "levels": levels}


def _read_ood(ood: _Reader) -> OutOfDistribution:
    return OutOfDistribution(
        method=ood.text("method"),
        threshold=ood.number("threshold"),
        range_threshold=ood.number("range_threshold"),
        threshold_rule=ood.text("threshold_rule"),
        cv=ood.summaries("cv_"),
    )


def write_ood(o: OutOfDistribution) -> JSON:
    return {
        "method": o.method,
        "threshold": o.threshold,
        "range_threshold": o.range_threshold,
        "threshold_rule": o.threshold_rule,
        **_flat("cv_", o.cv),
    }


def _read_metrics(metrics: _Reader) -> MetricsSummary:
    scores = {key: metrics.summary(key) for key in metrics.doc if key != "protocol"}
    return MetricsSummary(protocol=metrics.text("protocol"), scores=scores)


def _write_metrics(m: MetricsSummary) -> JSON:
    return {"protocol": m.protocol, **_flat("", m.scores)}


def _read_explanation(e: _Reader) -> ExplanationSpec:
    return ExplanationSpec(
        method=e.text("method"), background=e.text("background"), background_size=e.integer("background_size")
    )


def _write_explanation(e: ExplanationSpec) -> JSON:
    return _plain(e)


def _read_data(data: _Reader) -> DataSpec:
    return DataSpec(
        source=data.text("source"),
        n_rows=data.integer("n_rows"),
        n_malignant=data.integer("n_malignant"),
        n_benign=data.integer("n_benign"),
        sha256=data.text("sha256"),
    )


def write_data(d: DataSpec) -> JSON:
    return _plain(d)


def _read_training(t: _Reader) -> TrainingSpec:
    return TrainingSpec(profile=t.text("profile"), seed=t.integer("seed"), selection_rule=t.text("selection_rule"))


def _write_training(t: TrainingSpec) -> JSON:
    return _plain(t)


# The sections GET /model publishes, in this order, each with the function that writes it.
_CARD: tuple[tuple[str, Callable[[Manifest], Any]], ...] = (
    ("model", lambda m: write_model(m.model)),
    ("features", lambda m: [_write_feature(f) for f in m.features]),
    ("operating_points", lambda m: {name: write_operating_point(op) for name, op in m.operating_points.items()}),
    ("conformal", lambda m: write_conformal(m.conformal)),
    ("out_of_distribution", lambda m: write_ood(m.out_of_distribution)),
    ("metrics", lambda m: _write_metrics(m.metrics)),
    ("explanation", lambda m: _write_explanation(m.explanation)),
    ("data", lambda m: write_data(m.data)),
    ("examples", lambda m: _write_examples(m.examples)),
    ("golden", lambda m: [_write_golden(g) for g in m.golden]),
)


def parse(document: object) -> Manifest:
    """A Manifest from the decoded JSON of `manifest.json`; raises ManifestError naming the field."""
    top = _Reader(document, "")
    return Manifest(
        format_version=top.integer("format_version"),
        model_version=top.text("model_version"),
        disclaimer=top.text("disclaimer"),
        features=tuple(_read_feature(f) for f in top.items("features")),
        examples=_read_examples(top.obj("examples")),
        golden=tuple(_read_golden(g) for g in top.items("golden")),
        model=_read_model(top.obj("model")),
        operating_points={name: _read_operating_point(name, op) for name, op in top.obj("operating_points").entries()},
        conformal=_read_conformal(top.obj("conformal")),
        out_of_distribution=_read_ood(top.obj("out_of_distribution")),
        metrics=_read_metrics(top.obj("metrics")),
        explanation=_read_explanation(top.obj("explanation")),
        data=_read_data(top.obj("data")),
        training=_read_training(top.obj("training")),
        libraries=top.obj("libraries").texts(),
        platform=top.obj("platform").doc,
        files=top.obj("files").texts(),
    )


def document(m: Manifest) -> JSON:
    """The JSON-ready form of `m`, as `manifest.json` holds it."""
    return {
        "format_version": m.format_version,
        "model_version": m.model_version,
        "disclaimer": m.disclaimer,
        **{key: write(m) for key, write in _CARD},
        "training": _write_training(m.training),
        "libraries": dict(m.libraries),
        "platform": dict(m.platform),
        "files": dict(m.files),
    }


def _sorted(value: Any) -> Any:
    """`value` with every object's keys in sorted order, as `manifest.json` stores them."""
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def card(m: Manifest) -> JSON:
    """The public description of the model (GET /model): version, disclaimer and the card's sections."""
    sections = {key: _sorted(write(m)) for key, write in _CARD}
    return {"model_version": m.model_version, "disclaimer": m.disclaimer, **sections}


def release(document: object) -> Release:
    """The golden examples of a manifest or of the public card (both hold these fields)."""
    top = _Reader(document, "")
    return Release(
        model_version=top.text("model_version"),
        examples=_read_examples(top.obj("examples")),
        golden=tuple(_read_golden(g) for g in top.items("golden")),
    )


def seal(
    document: Mapping[str, Any], format_version: int, files: Mapping[str, str], version_of: Callable[[JSON], str]
) -> JSON:
    """`document` with its format version, its files' checksums and its model version (`version_of` the rest)."""
    sealed = {**document, "format_version": format_version, "files": dict(files), "model_version": ""}
    sealed["model_version"] = version_of(sealed)
    return sealed


def version_body(document: Mapping[str, Any]) -> JSON:
    """The manifest's JSON without its own version: what the model version hashes, with the arrays."""
    return {k: v for k, v in document.items() if k != "model_version"}


def format_version(document: Mapping[str, Any]) -> object:
    """The format version a decoded manifest declares (None if it declares none), read before parsing the rest."""
    return document.get("format_version")


def declared_sha256(document: Mapping[str, Any], name: str) -> object:
    """The sha256 a decoded manifest declares for one of the artifact's files (None if none)."""
    files = document.get("files")
    return files.get(name) if isinstance(files, dict) else None


def declared_version(document: Mapping[str, Any]) -> object:
    return document.get("model_version")
