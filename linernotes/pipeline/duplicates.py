"""The same recording in several files (another format, another folder), found by acoustic
fingerprint, and which copy a training set keeps.

Two tracks are the same recording when their fingerprints (the record's
``file.fingerprint``, :mod:`linernotes.audio.fingerprint`) agree on at least the tool's
:data:`~linernotes.audio.fingerprint.SAME_RECORDING` share of their bits and their durations
differ by at most 1 s or 2 %. Of each group one copy is kept: lossless before lossy, then the
higher sample rate, then the higher bit rate, then the shorter path (so the choice depends only
on the files, not on the order they were found).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from linernotes.audio.fingerprint import Fingerprint, fingerprint, same_recording
from linernotes.export.placement import is_lossless_codec
from linernotes.models import TrackRecord


@dataclass
class DuplicateGroup:
    """Files holding one recording: the one kept, the others, and why that one."""

    kept: Path
    others: list[Path] = field(default_factory=list)
    similarity: dict[Path, float] = field(default_factory=dict)
    reason: str = ""

    def describe(self, path: Path) -> str:
        """Why ``path`` (one of ``others``) is left out of a training set."""
        score = self.similarity.get(path, 0.0)
        return (f"same recording as {self.kept.name} (acoustic fingerprint, {score:.0%} of "
                f"bits agree); kept {self.kept.name}: {self.reason}; --keep-duplicates keeps "
                "both")  # fmt: skip

    def as_dict(self) -> dict[str, object]:
        return {"kept": str(self.kept), "reason": self.reason,
                "duplicates": [{"path": str(p), "similarity": round(self.similarity[p], 4)}
                               for p in self.others]}  # fmt: skip


def is_lossless(record: TrackRecord) -> bool:
    return is_lossless_codec(record.file.codec)


def _rank(item: tuple[Path, TrackRecord]) -> tuple:
    path, record = item
    info = record.file
    return (not is_lossless(record), -(info.sample_rate or 0), -(info.bit_rate or 0),
            len(str(path)), str(path))  # fmt: skip


def _why(kept: TrackRecord, others: list[TrackRecord]) -> str:
    info = kept.file
    if is_lossless(kept) and not all(is_lossless(o) for o in others):
        return f"lossless ({info.codec}) before lossy"
    if any((o.file.sample_rate or 0) < (info.sample_rate or 0) for o in others):
        return f"higher sample rate ({info.sample_rate} Hz)"
    if any((o.file.bit_rate or 0) < (info.bit_rate or 0) for o in others):
        return f"higher bit rate ({round((info.bit_rate or 0) / 1000)} kb/s)"
    return "the shortest path of equal copies"


def _fingerprint_of(path: Path, record: TrackRecord) -> Fingerprint | None:
    if record.file.fingerprint:
        return Fingerprint.decode(record.file.fingerprint)
    return fingerprint(path) if path.is_file() else None  # a record from before fingerprints


def _close_in_length(a: TrackRecord, b: TrackRecord) -> bool:
    x = a.summary.duration or a.file.duration
    y = b.summary.duration or b.file.duration
    if not x or not y:
        return True
    return abs(x - y) <= max(1.0, 0.02 * max(x, y))


def find_duplicates(tracks: list[tuple[Path, TrackRecord]]) -> list[DuplicateGroup]:
    """Groups of ``tracks`` (path, record) that hold the same recording, each with the copy to
    keep first; tracks without a fingerprint are never grouped."""
    prints = [_fingerprint_of(p, r) for p, r in tracks]
    parent = list(range(len(tracks)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    scores: dict[tuple[int, int], float] = {}
    for i in range(len(tracks)):
        for j in range(i + 1, len(tracks)):
            a, b = prints[i], prints[j]
            if a is None or b is None or not _close_in_length(tracks[i][1], tracks[j][1]):
                continue
            score = same_recording(a, b)
            if score is not None:
                scores[(i, j)] = scores[(j, i)] = score
                parent[root(j)] = root(i)
    members: dict[int, list[int]] = {}
    for i in range(len(tracks)):
        members.setdefault(root(i), []).append(i)
    groups = []
    for indices in members.values():
        if len(indices) < 2:
            continue
        ordered = sorted(indices, key=lambda k: _rank(tracks[k]))
        best = ordered[0]
        reason = _why(tracks[best][1], [tracks[k][1] for k in ordered[1:]])
        group = DuplicateGroup(kept=tracks[best][0], reason=reason)
        for k in ordered[1:]:
            group.others.append(tracks[k][0])
            group.similarity[tracks[k][0]] = scores.get((best, k)) or max(
                scores.get((k, m), 0.0) for m in indices)
        groups.append(group)
    return sorted(groups, key=lambda g: str(g.kept))
