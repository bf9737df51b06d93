"""Measure one track: decode once, extract the shared features, run every registered stage
whose result the store does not already hold, and assemble the :class:`TrackRecord`.

This is the core that the library's batch (:mod:`linernotes.library.analyze`) and the Python
API call. The store is anything with the :class:`ResultStore` methods (the library database
is one); the pipeline never decides where records live.

Examples
--------
>>> from linernotes.pipeline import analyze_file
>>> record = analyze_file("examples/band_120bpm_4-4_A-minor.mp3")  # doctest: +SKIP
>>> record.summary.bpm, record.summary.key  # doctest: +SKIP
(120.0, 'A minor')
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from linernotes.analyzers.registry import FEATURES, Stage, get_stage, registered_stages
from linernotes.audio.decode import open_audio
from linernotes.audio.fingerprint import fingerprint
from linernotes.audio.tags import read_tags
from linernotes.errors import AudioError
from linernotes.features import FeatureParams, extract_features
from linernotes.fileio import StrPath, content_hash, not_regular_reason, path_text
from linernotes.models import AnalysisSection, FileInfo, Provenance, TrackRecord
from linernotes.quality import stage as _quality_stage  # noqa: F401  (registers signal_quality)
from linernotes.version import __version__


@dataclass(frozen=True)
class ResultKey:
    """Identity of one analyzer result."""

    content_hash: str
    analyzer: str
    version: str
    params_hash: str


class ResultStore(Protocol):
    """What the pipeline asks of a store: file hashes cached by (path, size, mtime), stage
    results by :class:`ResultKey`, and a finished record by content hash."""

    def cached_hash(self, path: Path, size: int, mtime_ns: int) -> str | None: ...

    def remember_hash(self, path: Path, size: int, mtime_ns: int, content_hash: str) -> None: ...

    def get_result(self, key: ResultKey) -> dict[str, Any] | None: ...

    def put_results(
        self, items: list[tuple[ResultKey, dict[str, Any], dict[str, Any]]]
    ) -> None: ...

    def record_by_hash(self, content_hash: str) -> str | None: ...


def pipeline_stages() -> list[Stage]:
    """Every stage a track goes through, in dependency order: the analyzers' and those other
    layers register (quality's ``signal_quality``, registered when this module imports it)."""
    return registered_stages()


def file_hash(path: Path, store: ResultStore | None) -> str:
    """Content hash, reused from the store while the file's size and mtime are unchanged."""
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise AudioError(path, "file not found") from exc
    except OSError as exc:
        raise AudioError(path, f"cannot stat: {exc.strerror or exc}") from exc
    problem = not_regular_reason(st.st_mode)
    if problem is not None:
        raise AudioError(path, problem)
    if store is not None:
        cached = store.cached_hash(path, st.st_size, st.st_mtime_ns)
        if cached:
            return cached
    try:
        digest = content_hash(path)
    except PermissionError as exc:
        raise AudioError(path, "permission denied") from exc
    except IsADirectoryError as exc:
        raise AudioError(path, "is a directory, not an audio file") from exc
    except OSError as exc:
        raise AudioError(path, f"cannot read: {exc.strerror or exc}") from exc
    if store is not None:
        store.remember_hash(path, st.st_size, st.st_mtime_ns, digest)
    return digest


def stage_key(stage: Stage, digest: str, frontend: FeatureParams) -> ResultKey:
    """Store key of a stage's result: its parameters plus the front end's, plus the versions
    of the stages it reads (a new rhythm version invalidates what depends on rhythm)."""
    deps = {dep: _dep_version(dep) for dep in stage.inputs if dep != FEATURES}
    blob = json.dumps(
        {"params": stage.params_dict, "frontend": frontend.as_dict(), "deps": deps},
        sort_keys=True,
    )
    return ResultKey(
        digest, stage.name, stage.version, hashlib.sha256(blob.encode()).hexdigest()[:16]
    )


def _dep_version(name: str) -> str:
    return get_stage(name).version


def record_is_current(
    record: TrackRecord, stages: Sequence[Stage], frontend: FeatureParams | None = None
) -> bool:
    """True when the record holds a section for every stage, at the stage's version and
    parameters, computed with the same front end."""
    if record.frontend != (frontend or FeatureParams()).as_dict():
        return False
    for stage in stages:
        section = record.analyses.get(stage.name)
        if (
            section is None
            or section.version != stage.version
            or section.params != stage.params_dict
        ):
            return False
    return True


def analyze_file(
    path: StrPath,
    *,
    store: ResultStore | None = None,
    force: bool = False,
    frontend: FeatureParams | None = None,
    stages: Sequence[Stage] | None = None,
) -> TrackRecord:
    """Analyse one audio file and return its record.

    Parameters
    ----------
    path : path-like
        The audio file (any format FFmpeg decodes).
    store : ResultStore, optional
        Library store: finished stage results (and a finished record of the same content)
        are reused and new results saved. The record itself is not saved here.
    force : bool
        Recompute every stage even if the store holds its result.
    frontend : FeatureParams, optional
        Settings of the shared feature front end.
    stages : sequence of Stage, optional
        Stages to run (default: all registered, in dependency order).

    Raises
    ------
    AudioError
        The file cannot be analysed; the message names the file and the reason.
    """
    p = Path(path).absolute()
    frontend = frontend or FeatureParams()
    stages = list(stages) if stages is not None else pipeline_stages()
    digest = file_hash(p, store)

    if store is not None and not force:
        stored = store.record_by_hash(digest)
        if stored is not None:
            record = TrackRecord.from_json(stored)
            if record_is_current(record, stages, frontend) and all(
                store.get_result(stage_key(s, digest, frontend)) is not None for s in stages
            ):
                record.file.path = path_text(p)
                return record

    source = open_audio(p)
    info = source.info
    cached: dict[str, dict[str, Any]] = {}
    if store is not None and not force:
        for stage in stages:
            hit = store.get_result(stage_key(stage, digest, frontend))
            if hit is not None:
                cached[stage.name] = hit

    results: dict[str, BaseModel] = {}
    features = None
    if any(stage.name not in cached for stage in stages):
        features = extract_features(
            source.chunks(), info.sample_rate, info.channels, params=frontend
        )
    else:
        # every stage is cached but the record is not: drain the decoder for the file facts
        for _ in source.chunks():
            pass

    new_results: list[tuple[ResultKey, dict[str, Any], dict[str, Any]]] = []
    for stage in stages:
        if stage.name in cached:
            results[stage.name] = stage.result_model.model_validate(cached[stage.name])
            continue
        inputs = [features if dep == FEATURES else results[dep] for dep in stage.inputs]
        result = stage.run(*inputs)
        results[stage.name] = result
        new_results.append(
            (stage_key(stage, digest, frontend), stage.params_dict, result.model_dump(mode="json"))
        )

    record = assemble_record(p, digest, source, results, stages, frontend)
    if store is not None and new_results:
        store.put_results(new_results)
    return record


def _format_name(ffmpeg_names: str | None, path: Path) -> str | None:
    """FFmpeg names demuxers by families ("mov,mp4,m4a,3gp,3g2,mj2"): keep the member that
    matches the file's extension, else the first."""
    names = [n for n in (ffmpeg_names or "").split(",") if n]
    suffix = path.suffix.lower().lstrip(".")
    return suffix if suffix in names else (names[0] if names else None)


def _fingerprint(path: Path) -> str | None:
    found = fingerprint(path)
    return found.encode() if found is not None else None


def assemble_record(
    path: Path,
    digest: str,
    source,
    results: dict[str, BaseModel],
    stages: Sequence[Stage],
    frontend: FeatureParams,
) -> TrackRecord:
    """Build the record: file facts, one section per stage, and the measured summary."""
    info = source.info
    report = source.report
    file_info = FileInfo(
        path=path_text(path),
        content_hash=digest,
        size_bytes=path.stat().st_size,
        format=_format_name(info.format, path),
        codec=info.codec,
        duration=info.duration,
        sample_rate=info.sample_rate,
        channels=info.channels,
        bit_rate=info.bit_rate,
        tags=read_tags(path, info.metadata),
        decode=report,
        fingerprint=_fingerprint(path),
    )
    record = TrackRecord(
        file=file_info,
        tool={"name": "linernotes", "version": __version__},
        frontend=frontend.as_dict(),
    )
    for stage in stages:
        result = results[stage.name]
        record.analyses[stage.name] = AnalysisSection(
            analyzer=stage.name,
            version=stage.version,
            params=stage.params_dict,
            provenance=Provenance.MEASURED,
            result=result.model_dump(mode="json"),
        )
        if stage.summarize is None:
            continue
        for name, value in stage.summarize(result).items():
            conf_attr = stage.confidence_fields.get(name)
            confidence = getattr(result, conf_attr, None) if conf_attr else None
            record.summary.set(name, value, source=Provenance.MEASURED, confidence=confidence)
    if report.decoded_duration is not None:
        record.summary.set(
            "duration", round(report.decoded_duration, 3), source=Provenance.MEASURED
        )
    return record
