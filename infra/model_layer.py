"""What a model layer may hold: the model's own files under model/, nothing else. Standard library only.

Lambda lays every layer over /opt: a model layer holding anything else (python/sitecustomize.py, say)
could run code in the function. Packaging and the check of a deployed layer both ask here.
"""

from __future__ import annotations

from model.manifest import ARRAYS_FILE, CARD_FILE, FILE

LAYER_FILES = (FILE, ARRAYS_FILE, CARD_FILE)
ALLOWED = frozenset(f"model/{name}" for name in LAYER_FILES)


def layer_problems(paths: list[str]) -> list[str]:
    """Paths a model layer must not hold (directories aside)."""
    return sorted(p for p in paths if not p.endswith("/") and p not in ALLOWED)
