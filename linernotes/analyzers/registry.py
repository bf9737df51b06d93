"""The analyzer registry: each measured analysis is a named, versioned, pure stage.

A stage declares what it reads (``"features"`` for the shared front end, or the name of another
stage whose result it needs), its parameters (a frozen pydantic model, part of the cache key)
and its result model. The runner orders stages by their inputs, so adding an analyzer means
registering one function; nothing else changes.

Examples
--------
>>> from pydantic import BaseModel
>>> class EnergyParams(BaseModel, frozen=True):
...     floor_db: float = -60.0
>>> class EnergyResult(BaseModel):
...     mean_rms: float
>>> @analyzer("energy_demo", version="1", params=EnergyParams(), register_stage=False)
... def energy(features, params):
...     return EnergyResult(mean_rms=float(features.rms.mean()))
>>> energy.stage.name
'energy_demo'
"""

from __future__ import annotations

import hashlib
import json
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

#: Name of the shared front-end input (a :class:`linernotes.features.Features`).
FEATURES = "features"


@dataclass(frozen=True)
class Stage:
    """One registered analyzer.

    ``func(inputs..., params)`` receives the declared inputs positionally in the order of
    ``inputs`` and returns an instance of ``result_model``. ``summarize`` maps that result to
    fields of the record's summary (e.g. ``{"bpm": 120.0}``); ``confidence_fields`` names the
    result attribute holding each summary field's confidence (e.g. ``{"bpm": "bpm_confidence"}``).
    """

    name: str
    version: str
    func: Callable[..., BaseModel]
    params: BaseModel
    inputs: tuple[str, ...] = (FEATURES,)
    summarize: Callable[[Any], Mapping[str, Any]] | None = None
    confidence_fields: Mapping[str, str] = field(default_factory=dict)
    description: str = ""

    @property
    def result_model(self) -> type[BaseModel]:
        """The pydantic model the stage returns (from its return annotation)."""
        return typing.get_type_hints(self.func)["return"]

    @property
    def params_dict(self) -> dict[str, Any]:
        return self.params.model_dump(mode="json")

    @property
    def params_hash(self) -> str:
        """Stable digest of the parameters, part of the store key."""
        blob = json.dumps(self.params_dict, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def run(self, *inputs: Any) -> BaseModel:
        return self.func(*inputs, self.params)


_REGISTRY: dict[str, Stage] = {}


def register(stage: Stage) -> Stage:
    """Add (or replace) a stage in the registry."""
    _REGISTRY[stage.name] = stage
    return stage


def analyzer(
    name: str,
    *,
    version: str,
    params: BaseModel,
    inputs: tuple[str, ...] = (FEATURES,),
    summarize: Callable[[Any], Mapping[str, Any]] | None = None,
    confidence_fields: Mapping[str, str] | None = None,
    register_stage: bool = True,
) -> Callable[[Callable[..., BaseModel]], Callable[..., BaseModel]]:
    """Decorator that registers ``func`` as a stage and keeps it callable as a plain function
    (``func.stage`` is the :class:`Stage`)."""

    def wrap(func: Callable[..., BaseModel]) -> Callable[..., BaseModel]:
        stage = Stage(
            name=name,
            version=version,
            func=func,
            params=params,
            inputs=inputs,
            summarize=summarize,
            confidence_fields=dict(confidence_fields or {}),
            description=(func.__doc__ or "").strip().splitlines()[0] if func.__doc__ else "",
        )
        if register_stage:
            register(stage)
        func.stage = stage  # type: ignore[attr-defined]
        return func

    return wrap


def registered_stages() -> list[Stage]:
    """All stages, ordered so that every stage comes after the stages it reads (the built-in
    analyzers register when :mod:`linernotes.analyzers` is imported, which importing this
    module does)."""
    ordered: list[Stage] = []
    seen: set[str] = set()

    def visit(stage: Stage, path: tuple[str, ...]) -> None:
        if stage.name in seen:
            return
        if stage.name in path:
            raise ValueError(f"analyzer dependency cycle: {' -> '.join((*path, stage.name))}")
        for dep in stage.inputs:
            if dep != FEATURES:
                if dep not in _REGISTRY:
                    raise ValueError(f"analyzer {stage.name!r} reads unknown stage {dep!r}")
                visit(_REGISTRY[dep], (*path, stage.name))
        seen.add(stage.name)
        ordered.append(stage)

    for stage in sorted(_REGISTRY.values(), key=lambda s: s.name):
        visit(stage, ())
    return ordered


def get_stage(name: str) -> Stage:
    return _REGISTRY[name]
