"""`manifest.json` as typed, immutable values: the one definition of its shape, read and written here.

`parse` checks every field for presence and type, and a failure names its dotted path, what was
expected and what was found; `document` writes the same values back as JSON-ready data, so that
`parse(document(m)) == m`. Nothing else in the core, the function or training names a manifest key
(the smoke check reads the public card's `model_version` and `features`, as any client would; metrics.json
is training's own, read in training.results). Standard library only:
the pre-traffic hook, deployed without numpy, reads the golden examples through `release`.
"""

import types
from collections.abc import Callable, Mapping
from typing import Annotated, Any, NamedTuple, Union, get_args, get_origin

from model.errors import ManifestError

JSON = dict[str, Any]


class Within(NamedTuple):
    """A number's allowed range: [low, high], or (low, high) when `open`."""

    low: float
    high: float
    open: bool


class Spread(NamedTuple):
    """A mapping of summaries written into its parent object, each key with this prefix (not nested)."""

    prefix: str


# The field holds the key its record is stored under in the parent mapping; it is not written.
KEY = "the mapping's key"
SHARE = Annotated[float, Within(0.0, 1.0, open=True)]  # a probability threshold or a miscoverage level
PROBABILITY = Annotated[float, Within(0.0, 1.0, open=False)]
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
    probability_malignant: PROBABILITY
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
    name: Annotated[str, KEY]
    threshold: SHARE
    target: str
    cv_sensitivity: Summary
    cv_specificity: Summary


class ConformalLevel(NamedTuple):
    alpha: SHARE
    malignant_if_p_at_least: PROBABILITY
    benign_if_p_at_most: PROBABILITY
    cv: Annotated[Mapping[str, Summary], Spread("cv_")]  # coverage_malignant, coverage_benign, indeterminate


class Conformal(NamedTuple):
    method: str
    levels: tuple[ConformalLevel, ...]


class OutOfDistribution(NamedTuple):
    method: str
    threshold: float
    range_threshold: float
    threshold_rule: str
    # false_flag_rate and detection rates, measured in the outer folds
    cv: Annotated[Mapping[str, Summary], Spread("cv_")]


class MetricsSummary(NamedTuple):
    protocol: str
    scores: Annotated[Mapping[str, Summary], Spread("")]  # accuracy, auc, sensitivity, specificity, brier, ...


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


class LikelihoodRatioTest(NamedTuple):
    compared: str  # "M2 against M0", "M2 against M1"
    deviance_difference: float
    df: int
    p_value: PROBABILITY


class Lineage(NamedTuple):
    """Where an updated version came from (cohort.update): its parent, the site, the method and the evidence."""

    parent_version: str
    site: str
    method: str  # "M0", "M1", "M2", or "M1 from a known prevalence"
    description: str
    coefficients: Mapping[str, float]  # intercept and slope on the parent's log-odds, each with _low and _high
    tests: tuple[LikelihoodRatioTest, ...]
    n: int
    events: int | None  # None: an unlabelled cohort (a known prevalence)
    sample_size: Mapping[str, float]  # each criterion's minimum n and the achieved interval widths
    override: str  # what --allow-small-sample allowed, or "none"
    cohort_sha256: str
    command: str
    drift_reference: str
    conformal: str


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
    lineage: Lineage | None = None  # an updated version's origin; absent from a trained one


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

    def within(self, key: str, bounds: Within) -> float:
        """A number in its range: (0, 1) for a threshold or a miscoverage level, [0, 1] for a probability."""
        value = self.number(key)
        inside = bounds.low < value < bounds.high if bounds.open else bounds.low <= value <= bounds.high
        if not inside:
            shown = f"({bounds.low:g}, {bounds.high:g})" if bounds.open else f"[{bounds.low:g}, {bounds.high:g}]"
            raise ManifestError(f"manifest field {self._at(key)} must lie in {shown}, got {value}")
        return value

    def summary(self, key: str) -> Summary:
        s = self.obj(key)
        return Summary(mean=s.number("mean"), std=s.number("std"), n=s.integer("n"))


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _unpack(hint: Any) -> tuple[Any, tuple[Any, ...], bool]:
    """(the type, its annotations, whether None is allowed) of a field's type hint."""
    meta: tuple[Any, ...] = ()
    if get_origin(hint) is Annotated:
        hint, *rest = get_args(hint)
        meta = tuple(rest)
    if get_origin(hint) in (Union, types.UnionType) and type(None) in get_args(hint):
        [hint] = [a for a in get_args(hint) if a is not type(None)]
        return hint, meta, True
    return hint, meta, False


class _Field(NamedTuple):
    """How one field of a record is read and written, worked out from its type hint once."""

    name: str
    tp: Any
    within: Within | None
    spread: Spread | None
    is_key: bool
    optional: bool


_FIELDS: dict[type, tuple[tuple[_Field, ...], frozenset[str]]] = {}


def _fields(cls: type) -> tuple[tuple[_Field, ...], frozenset[str]]:
    """A record's fields, and the names its JSON object holds as keys of their own (not spread)."""
    if cls not in _FIELDS:
        fields = []
        # The module's annotations are objects, not strings: the class's own hold them as written.
        for name, hint in cls.__annotations__.items():
            tp, meta, optional = _unpack(hint)
            within = next((m for m in meta if isinstance(m, Within)), None)
            spread = next((m for m in meta if isinstance(m, Spread)), None)
            fields.append(_Field(name, tp, within, spread, KEY in meta, optional))
        declared = frozenset(f.name for f in fields if f.spread is None)
        _FIELDS[cls] = (tuple(fields), declared)
    return _FIELDS[cls]


def _is_record(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, tuple) and hasattr(tp, "_fields")


def _read_value(f: _Field, r: _Reader) -> Any:
    tp, key = f.tp, f.name
    if tp is str:
        return r.text(key)
    if tp is int:
        return r.integer(key)
    if tp is float:
        return r.number(key) if f.within is None else r.within(key, f.within)
    if _is_record(tp):
        return read(tp, r.obj(key))
    origin, args = get_origin(tp), get_args(tp)
    if origin is tuple:
        return r.strings(key) if args[0] is str else tuple(read(args[0], item) for item in r.items(key))
    if origin is Mapping:
        value = args[1]
        if value is float:
            return r.obj(key).numbers()
        if value is str:
            return r.obj(key).texts()
        if _is_record(value):
            return {name: read(value, item, name) for name, item in r.obj(key).entries()}
        return r.obj(key).doc  # free-form: hyperparameters, the platform's description
    raise TypeError(f"no manifest reading for {tp!r}")  # a new field's type: add it here


def read[R](cls: type[R], r: _Reader, key: str | None = None) -> R:
    """A record from its JSON object, field by field from its type hints; `key` is the object's key in its
    parent mapping, for a field that holds it."""
    fields, declared = _fields(cls)
    values: dict[str, Any] = {}
    for f in fields:
        if f.is_key:
            values[f.name] = key
        elif f.spread is not None:
            prefix = f.spread.prefix
            values[f.name] = {
                k.removeprefix(prefix): r.summary(k) for k in r.doc if k.startswith(prefix) and k not in declared
            }
        elif f.optional and f.name not in r.doc:
            values[f.name] = None
        else:
            values[f.name] = _read_value(f, r)
    return cls(**values)


def _write_value(value: Any) -> Any:
    if _is_record(type(value)):
        return write(value)
    if isinstance(value, tuple):
        return [_write_value(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _write_value(v) for k, v in value.items()}
    return value


def write(record: Any) -> JSON:
    """A record's JSON object, field by field from its type hints: what `read` reads back."""
    out: JSON = {}
    for f in _fields(type(record))[0]:
        value = getattr(record, f.name)
        if f.is_key or value is None:
            continue
        if f.spread is not None:
            out.update({f"{f.spread.prefix}{k}": _write_value(v) for k, v in value.items()})
        else:
            out[f.name] = _write_value(value)
    return out


# The sections GET /model publishes, in this order.
_CARD: tuple[str, ...] = ("model", "features", "operating_points", "conformal", "out_of_distribution", "metrics")
_CARD += ("explanation", "data", "examples", "golden")


def parse(document: object) -> Manifest:
    """A Manifest from the decoded JSON of `manifest.json`; raises ManifestError naming the field."""
    return read(Manifest, _Reader(document, ""))


def document(m: Manifest) -> JSON:
    """The JSON-ready form of `m`, as `manifest.json` holds it."""
    return write(m)


def _sorted(value: Any) -> Any:
    """`value` with every object's keys in sorted order, as `manifest.json` stores them."""
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def card(m: Manifest) -> JSON:
    """The public description of the model (GET /model): version, disclaimer and the card's sections."""
    sections = {key: _sorted(_write_value(getattr(m, key))) for key in _CARD}
    lineage = {} if m.lineage is None else {"lineage": _sorted(_write_value(m.lineage))}
    return {"model_version": m.model_version, "disclaimer": m.disclaimer, **sections, **lineage}


def release(document: object) -> Release:
    """The golden examples of a manifest or of the public card (both hold these fields)."""
    return read(Release, _Reader(document, ""))


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
