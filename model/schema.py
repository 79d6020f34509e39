"""The 30 WDBC features: names, descriptions, units, order and the naming styles we accept.

Everything that lists features (request schema, CSV reading, docs, the web page) derives from here.
"""

from typing import NamedTuple

DISCLAIMER = (
    "Research proof of concept, not a diagnostic tool: do not use it for screening, diagnosis or treatment decisions."
)

STATISTICS: tuple[tuple[str, str, str, str], ...] = (
    # (canonical suffix, sklearn style, Kaggle/UCI suffix, human wording)
    ("mean", "mean {m}", "{m}_mean", "mean over the nuclei in the image"),
    ("se", "{m} error", "{m}_se", "standard error over the nuclei in the image"),
    ("worst", "worst {m}", "{m}_worst", "mean of the three largest values in the image"),
)

MEASUREMENTS: tuple[tuple[str, str, str], ...] = (
    # (measurement as in the UCI file, description, unit)
    ("radius", "mean distance from the centre to points on the nucleus perimeter", "pixels"),
    ("texture", "standard deviation of grey-scale values inside the nucleus", "grey levels"),
    ("perimeter", "length of the nucleus boundary", "pixels"),
    ("area", "area inside the nucleus boundary", "square pixels"),
    ("smoothness", "local variation in radius lengths", "dimensionless"),
    ("compactness", "perimeter^2 / area - 1", "dimensionless"),
    ("concavity", "severity of concave portions of the contour", "dimensionless"),
    ("concave points", "number of concave portions of the contour (normalised)", "dimensionless"),
    ("symmetry", "symmetry of the nucleus about its longest chord", "dimensionless"),
    ("fractal dimension", '"coastline approximation" - 1', "dimensionless"),
)


class Feature(NamedTuple):
    """One input feature, in model order (`position` is its column)."""

    position: int
    name: str
    measurement: str
    statistic: str
    description: str
    unit: str
    aliases: tuple[str, ...]


def _build() -> tuple[Feature, ...]:
    features: list[Feature] = []
    for stat, sklearn_fmt, kaggle_fmt, wording in STATISTICS:
        for measurement, description, unit in MEASUREMENTS:
            snake = measurement.replace(" ", "_")
            features.append(
                Feature(
                    position=len(features),
                    name=f"{snake}_{stat}",
                    measurement=snake,
                    statistic=stat,
                    description=f"{measurement.capitalize()} ({description}), {wording}.",
                    unit=unit,
                    aliases=(sklearn_fmt.format(m=measurement), kaggle_fmt.format(m=measurement)),
                )
            )
    return tuple(features)


FEATURES: tuple[Feature, ...] = _build()
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
N_FEATURES = len(FEATURES)
INDEX: dict[str, int] = {f.name: f.position for f in FEATURES}
STATISTIC_NAMES: tuple[str, ...] = tuple(stat for stat, *_ in STATISTICS)
MEASUREMENT_NAMES: tuple[str, ...] = tuple(m.replace(" ", "_") for m, *_ in MEASUREMENTS)
# Each statistic's block of feature indices, in model order: mean, se, worst.
BLOCKS: dict[str, tuple[int, ...]] = {
    s: tuple(f.position for f in FEATURES if f.statistic == s) for s in STATISTIC_NAMES
}

# Every accepted spelling, folded to lower case, mapped to the canonical name.
ALIASES: dict[str, str] = {spelling.lower(): f.name for f in FEATURES for spelling in (f.name, *f.aliases)}

# Pairs (mean, worst): the worst value is the mean of the three largest, so never below the mean.
WORST_OF_MEAN: tuple[tuple[int, int], ...] = tuple(
    (INDEX[f"{m}_mean"], INDEX[f"{m}_worst"]) for m in dict.fromkeys(f.measurement for f in FEATURES)
)
SE_OF_MEAN: tuple[tuple[int, int], ...] = tuple(
    (INDEX[f"{m}_mean"], INDEX[f"{m}_se"]) for m in dict.fromkeys(f.measurement for f in FEATURES)
)


def envelope(version: str) -> dict[str, str]:
    """What every answer of the project carries beside its results: the model's version and the disclaimer."""
    return {"model_version": version, "disclaimer": DISCLAIMER}


# POST /features: the largest length unit per pixel its `scale` takes (the request's schema states it).
MAX_SCALE = 1e3

# What a request gets unless it asks otherwise: the operating point and the conformal miscoverage level.
DEFAULT_OPERATING_POINT = "balanced"
DEFAULT_ALPHA = 0.05

# Counterfactuals change 1 to 5 features (3 unless asked); 1 to 10 similar cases may be asked for.
COUNTERFACTUAL_FEATURES_DEFAULT = 3
COUNTERFACTUAL_FEATURES_MAX = 5
SIMILAR_CASES_MAX = 10


def canonical_name(spelling: str) -> str | None:
    """Return the canonical feature name for any accepted spelling, or None."""
    return ALIASES.get(spelling.strip().lower())
