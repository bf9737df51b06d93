"""Human-readable views: a record for ``linernotes show`` and the batch summary table.

``show`` opens with the final fields (what an export writes), each with where it came from
(``measured``, ``model``, ``human``, ``tags``...), who or what produced it, its confidence,
a lock and a review flag; then the measured summary with the analyzers' alternatives; then
the file facts and the analyses.
"""

from __future__ import annotations

import json
from typing import Any

from linernotes.cli.progress import format_duration
from linernotes.fileio import printable
from linernotes.models import FINAL_FIELDS, FinalFields, FinalValue, TrackRecord
from linernotes.pipeline.duplicates import DuplicateGroup
from linernotes.pipeline.runner import BatchReport, TrackOutcome


def printable_lines(lines: list[str]) -> str:
    """``lines`` joined into text, each line passed through :func:`printable`: whatever a
    file name, tag, reason or model answer holds (a newline, an escape sequence, bytes that
    are not UTF-8), each view line stays one line on the terminal and none can be forged."""
    return "\n".join(map(printable, lines))


def _conf(record: TrackRecord, name: str) -> str:
    parts = []
    source = record.summary.provenance.get(name)
    if source is not None:
        parts.append(source.value)
    conf = record.summary.confidence.get(name)
    if conf is not None:
        parts.append(f"confidence {conf:.2f}")
    return f"  ({', '.join(parts)})" if parts else ""


def _result(record: TrackRecord, analyzer: str) -> dict[str, Any]:
    section = record.analyses.get(analyzer)
    return section.result if section else {}


def _fmt(value: Any, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}{unit}"
    return f"{value}{unit}"


def _final_value(name: str, item: FinalValue) -> str:
    value = item.value
    if value is None:
        return "—"
    if name == "duration" and isinstance(value, (int, float)):
        return f"{format_duration(value)} ({value:g} s)"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value).replace("\n", " / ")
    return text if len(text) <= 48 else text[:45] + "..."


def _final_source(item: FinalValue) -> str:
    if item.value is None:
        return "review: " + "; ".join(item.review_reasons) if item.review else ""
    source = item.provenance + (f" ({item.origin})" if item.origin else "")
    if item.provenance != "human":
        source += f", confidence {item.confidence:.2f}"
    if item.locked:
        source += ", locked"
    if item.review:
        source += ", review: " + "; ".join(item.review_reasons)
    return source


def render_final(final: FinalFields) -> list[str]:
    """One line per final field: value, provenance, origin, confidence, lock, review."""
    lines = ["Final fields"]
    for name in FINAL_FIELDS:
        item = final.fields.get(name)
        if item is not None:
            label = name.replace("_", " ")
            line = f"  {label:<16}{_final_value(name, item):<30}  {_final_source(item)}"
            lines.append(line.rstrip())
    for conflict in final.conflicts:
        other = json.dumps(conflict.other, ensure_ascii=False)
        lines.append(f"  conflict: {conflict.field}: {conflict.other_source} said {other};"
                     f" {conflict.reason}")  # fmt: skip
    return lines


def render_record(record: TrackRecord, final: FinalFields | None = None) -> str:
    """The record as a short report: final fields (``final``, else the record's own), the
    measured summary, then file facts and analyses."""
    s = record.summary
    rhythm = _result(record, "rhythm")
    tonal = _result(record, "tonal")
    loud = _result(record, "loudness")
    final = final or record.final
    lines = [record.file.path, ""]
    if final is not None:
        lines += [*render_final(final), ""]
    lines.append("Measured")
    alternatives = [
        f"{c.get('bpm', 0):.1f} ({c.get('relation', '?')})"
        for c in rhythm.get("bpm_candidates", [])
        if c.get("relation") != "primary"
    ][:3]
    bpm_line = f"  BPM             {_fmt(s.bpm, digits=2)}{_conf(record, 'bpm')}"
    if alternatives:
        bpm_line += f"  alternatives: {', '.join(alternatives)}"
    lines.append(bpm_line)
    key_line = f"  Key             {_fmt(s.key)}{_conf(record, 'key')}"
    runner_up = tonal.get("runner_up") or {}
    if runner_up.get("key"):
        key_line += f"  runner-up: {runner_up['key']}"
    lines.append(key_line)
    lines.append(f"  Time signature  {_fmt(s.time_signature)}{_conf(record, 'time_signature')}")
    duration = format_duration(s.duration) if s.duration is not None else "—"
    lines.append(f"  Duration        {duration} ({_fmt(s.duration, ' s', 2)})")
    loud_extra = ""
    if loud:
        loud_extra = (
            f"  LRA {_fmt(loud.get('loudness_range_lu'), ' LU')},"
            f" true peak {_fmt(loud.get('true_peak_dbtp'), ' dBTP')}"
        )
    lines.append(f"  Loudness        {_fmt(s.loudness_lufs, ' LUFS')}{loud_extra}")
    first = f", first at {s.beats[0]:.2f} s" if s.beats else ""
    lines.append(f"  Beats           {len(s.beats)}{first}; downbeats {len(s.downbeats)}")
    f = record.file
    size_mb = f.size_bytes / 1e6
    lines += [
        "",
        "File",
        f"  {f.format or '?'} / {f.codec or '?'}, {f.sample_rate or '?'} Hz,"
        f" {f.channels or '?'} ch, {(f.bit_rate or 0) // 1000} kb/s, {size_mb:.1f} MB",
        f"  sha256 {f.content_hash[:16]}…",
    ]
    if f.tags:
        lines.append("  tags: " + ", ".join(f"{k}={v}" for k, v in sorted(f.tags.items())))
    if f.decode.decoder != "ffmpeg":
        lines.append(f"  decoded with {f.decode.decoder} (FFmpeg: {f.decode.ffmpeg_error})")
    if f.decode.truncated or f.decode.warnings:
        flag = "TRUNCATED: " if f.decode.truncated else ""
        lines.append(f"  {flag}" + "; ".join(f.decode.warnings))
    lines += ["", "Analyses"]
    for name, section in sorted(record.analyses.items()):
        lines.append(f"  {name} v{section.version} ({section.provenance.value})")
    if record.stems:
        lines += ["", "Stems"]
    for stem in record.stems:
        source = f"separated by {stem.model} {stem.model_version}" if stem.model else "provided"
        presence = "" if stem.presence is None else f", presence {stem.presence:.2f}"
        state = f"  {stem.error}" if stem.error else ""
        lines.append(f"  {stem.stem_type:8s} {stem.relpath} ({source}{presence}){state}")
    return printable_lines(lines)


def render_report(report: BatchReport, *, max_failures: int = 50) -> str:
    """The end-of-batch table: tracks done, skipped, failed with reasons, time, x real time."""
    done, skipped = report.count("done"), report.count("skipped")
    failed, busy = report.count("failed"), report.count("busy")
    wall = report.wall_s
    speed = f"{report.audio_s / wall:.1f}x real time" if wall > 0 and report.audio_s else "—"
    rows = [
        ("tracks", str(len(report.outcomes))),
        ("analysed", str(done)),
        ("skipped (already done)", str(skipped)),
        ("failed", str(failed)),
    ]
    if busy:
        rows.append(("left to another process", str(busy)))
    rows += [
        ("audio analysed", format_duration(report.audio_s)),
        ("wall time", f"{wall:.1f} s"),
        ("speed", speed),
    ]
    width = max(len(k) for k, _ in rows)
    lines = ["", "Summary"] + [f"  {k.ljust(width)}  {v}" for k, v in rows]
    if report.interrupted:
        lines.append("  interrupted: run the same command again to resume")
    if report.stopped:
        lines.append(f"  stopped: {report.stopped}; free space, then run the same"
                     " command again to resume")  # fmt: skip
    failures = [o for o in report.outcomes if o.status == "failed"]
    if failures:
        lines.append("Failed")
        for o in failures[:max_failures]:
            lines.append(f"  {failure_line(o)}")
        if len(failures) > max_failures:
            lines.append(f"  … and {len(failures) - max_failures} more")
    warned = [o for o in report.outcomes if o.warnings]
    if warned:
        lines.append("Warnings")
        for o in warned[:max_failures]:
            lines.append(f"  {o.path}: {'; '.join(o.warnings)}")
    lines += render_duplicates(report.duplicates)
    return printable_lines(lines)


def render_duplicates(groups: list[DuplicateGroup]) -> list[str]:
    """One block per recording held in several files: the copy exports keep, and the others
    (raw lines: the callers print them through :func:`printable_lines`)."""
    if not groups:
        return []
    lines = [f"Duplicates ({len(groups)} recordings in more than one file; export keeps one)"]
    for group in groups:
        lines.append(f"  keep {group.kept}  ({group.reason})")
        lines += [f"    same as: {p}  ({group.similarity[p]:.0%} of fingerprint bits "
                  "agree)" for p in group.others]  # fmt: skip
    return lines


def failure_line(outcome: TrackOutcome) -> str:
    """``path: reason`` on one line, whatever characters the file name holds (a newline in
    a name is printed as ``\\n``, so it cannot forge a line of its own)."""
    return f"{printable(outcome.path)}: {printable(outcome.reason or 'failed')}"
