"""Fine-tuning methods, one module each (as PEFT keeps each tuner in its own folder).

Every module of this package whose name does not start with ``_`` defines ``METHOD``, an instance of
a ``Method`` subclass (``_base``); the registry below finds them, in the guide's order. The trainer,
config validation, the data loader and the pages ask the registry, never a method by name, so
adding a method is adding a module here (see README, "Adding a method").
"""

from __future__ import annotations

import importlib
import pkgutil

from venus_core.errors import VenusError
from venus_core.methods._base import Method, TrainingHooks


def _discover() -> dict[str, Method]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            module = importlib.import_module(f"{__name__}.{info.name}")
            found.append(module.METHOD)
    return {m.name: m for m in sorted(found, key=lambda m: m.order)}


METHODS: dict[str, Method] = _discover()
ALIASES: dict[str, str] = {alias: m.name for m in METHODS.values() for alias in m.aliases}


def names() -> tuple[str, ...]:
    """Every method's name, in the guide's order (the ``training_method`` choices)."""
    return tuple(METHODS)


def canonical(name: str) -> str:
    """The method's name for any of its spellings (``plm-dora`` is ``dora``)."""
    return ALIASES.get(name, name)


def get_method(name: str) -> Method:
    name = canonical(name)
    if name not in METHODS:
        raise VenusError(f"Unknown training method '{name}'. Choose from {', '.join(METHODS)}.")
    return METHODS[name]


__all__ = ["METHODS", "Method", "TrainingHooks", "canonical", "get_method", "names"]
