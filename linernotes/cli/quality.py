"""``quality`` and ``filter``: score analysed tracks, and keep those that clear a threshold.

``linernotes quality DIR [--out scores.json]`` scores every analysed track of a folder
(objective detectors, the model's quality answer when the records have one, external scores
when given) and writes the scores file plus a per-track cache; ``linernotes filter DIR
--min-score 0.4 [--require-no-clipping ...]`` applies a threshold and prints or writes the
kept and rejected tracks with the reason for each.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from linernotes.cli import options
from linernotes.cli.display import printable_lines
from linernotes.fileio import printable

DEFAULT_SCORES_NAME = "quality_scores.json"
DEFAULT_CACHE_NAME = "quality_cache"


def _weights(text: str | None) -> dict[str, float] | None:
    """``"a=0.3,b=0.7"`` -> ``{"a": 0.3, "b": 0.7}``."""
    if not text:
        return None
    out: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"expected name=weight, got {part!r}")
        out[name.strip()] = float(value)
    return out


def register(sub: Any) -> None:
    build_quality_parser(sub)
    build_filter_parser(sub)


def build_quality_parser(sub: Any) -> argparse.ArgumentParser:
    """``linernotes quality DIR [--out scores.json] ...``"""
    p = options.add_command(sub, cmd_quality)
    p.add_argument("dir", help="a folder of audio (analysed, or analysed first)")
    p.add_argument("--out", type=Path, help=f"scores file (default DIR/{DEFAULT_SCORES_NAME})")
    p.add_argument("--cache-dir", type=Path, help="per-track cache (default: beside --out)")
    options.add_library(p)
    options.add_workers(p)
    p.add_argument(
        "--no-analyze",
        dest="analyze",
        action="store_false",
        help="only read existing records; do not analyse tracks without one",
    )
    p.add_argument("--external", type=Path, help="external scores, JSON/JSON lines/CSV")
    p.add_argument("--external-columns", help="comma-separated columns to use (default: all)")
    p.add_argument(
        "--external-scale", type=float, help="divide external values by this (default: auto)"
    )
    p.add_argument(
        "--model-weights",
        help="weights of the five model scores, e.g. production_quality=0.5,content_enjoyment=0.5",
    )
    p.add_argument(
        "--weights", help="component weights, default objective=0.3,model=0.5,external=0.2"
    )
    p.add_argument(
        "--id",
        choices=("stem", "path", "hash"),
        default="stem",
        help="song id: file stem (default), path relative to DIR, or content hash",
    )
    p.add_argument(
        "--no-write-records",
        dest="write_records",
        action="store_false",
        help="do not add the quality section to the records",
    )
    options.add_json(p, "the scores file's entries")
    options.add_quiet(p)
    return p


def build_filter_parser(sub: Any) -> argparse.ArgumentParser:
    """``linernotes filter DIR --min-score 0.4 [--require-no-clipping ...]``"""
    p = options.add_command(sub, cmd_filter)
    p.add_argument("source", help="a folder scored by `linernotes quality`, or a scores file")
    p.add_argument(
        "--scores", type=Path, help="the scores file (default: DIR/" + DEFAULT_SCORES_NAME + ")"
    )
    p.add_argument("--min-score", type=float, default=0.4, help="threshold (default 0.4)")
    p.add_argument("--score-key", default="overall_quality_score", help="score to threshold")
    p.add_argument("--require-no-clipping", action="store_true", help="reject clipping failures")
    p.add_argument(
        "--require-full-band",
        action="store_true",
        help="reject lossy/upsampled band-limiting (bandwidth failures)",
    )
    p.add_argument("--require-stereo-ok", action="store_true", help="reject phase problems")
    p.add_argument("--require-no-silence", action="store_true", help="reject silence failures")
    p.add_argument("--require-low-noise", action="store_true", help="reject noise failures")
    p.add_argument(
        "--require-pass",
        action="append",
        default=[],
        metavar="DETECTOR",
        help="reject tracks whose DETECTOR failed (repeatable)",
    )
    p.add_argument("--reject-warn", action="store_true", help="a warning also rejects")
    p.add_argument(
        "--unknown",
        choices=("keep", "drop", "raise"),
        default="keep",
        help="tracks without a score (default keep)",
    )
    p.add_argument("--kept", type=Path, help="write kept ids here (.json: a list; else lines)")
    p.add_argument("--rejected", type=Path, help="write rejected ids with reasons here (JSON)")
    options.add_json(p, "kept/rejected")
    options.add_library(p)
    return p


def song_ids(tracks: list[Any], how: str) -> list[str]:
    """Ids for the tracks: record stems (their folders too where two stems collide), paths
    relative to the folder scored, or content hashes."""
    if how == "hash":
        return [t.record.file.content_hash for t in tracks]
    paths = [t.rel_stem.as_posix() for t in tracks]
    if how == "path":
        return paths
    stems = [Path(p).name for p in paths]
    dup = {s for s in stems if stems.count(s) > 1}
    return [p if s in dup else s for s, p in zip(stems, paths, strict=True)]


def cmd_quality(args: argparse.Namespace) -> int:
    """Score analysed tracks (objective + model + external) into a scores file.

    Score every track of a folder: objective signal checks, the audio model's quality
    answer (analyze --listen --prompts quality) and imported external scores, combined into
    overall_quality_score. Tracks without a record are analysed first.
    """
    from linernotes.cli.display import failure_line
    from linernotes.library import Library, analyze_paths
    from linernotes.library.scan import find_audio
    from linernotes.library.tracks import tracks_of
    from linernotes.quality.build import quality_section, score_entry
    from linernotes.quality.external import load_external
    from linernotes.quality.scores_file import write_cache_entry, write_scores

    root = options.need_folder(args.dir)
    try:
        external = (
            load_external(
                args.external,
                columns=args.external_columns.split(",") if args.external_columns else None,
                scale=args.external_scale,
            )
            if args.external
            else None
        )
        model_weights = _weights(args.model_weights)
        combine_weights = _weights(args.weights)
    except (OSError, ValueError, argparse.ArgumentTypeError) as exc:
        raise options.CliError(str(exc)) from exc
    if args.analyze and find_audio([root]):
        report = analyze_paths([root], db_path=args.db, workers=args.workers or 1)
        for outcome in report.outcomes:  # printed with --quiet too: a failure is never hidden
            if outcome.status == "failed":
                print(f"failed: {failure_line(outcome)}", file=sys.stderr)
        if report.stopped:
            options.fail(f"stopped: {report.stopped}")
    try:
        library = Library.find(root, db=args.db, records=args.records)
    except LookupError:
        library = None
    tracks = tracks_of(library, root).tracks if library else []
    if library is None or not tracks:
        return options.nothing_analysed(root, " (add --listen --prompts quality for model scores)")
    out = args.out or root / DEFAULT_SCORES_NAME
    cache_dir = args.cache_dir or out.parent / DEFAULT_CACHE_NAME
    entries = {}
    with library:
        try:
            for sid, track in zip(song_ids(tracks, args.id), tracks, strict=True):
                record = track.record
                record.quality = quality_section(record, song_id=sid, external=external,
                                                 model_weights=model_weights,
                                                 combine_weights=combine_weights)  # fmt: skip
                title = record.file.tags.get("title") or Path(sid).name
                entries[sid] = score_entry(sid, title, record.quality, record.file.path)
                write_cache_entry(cache_dir, entries[sid])
                if args.write_records:
                    written = library.layout.paths(track.audio)["record"].is_file()
                    library.save(track.audio, record, write_files=written, final=track.final)
        except ValueError as exc:
            raise options.CliError(str(exc)) from exc
    write_scores(out, entries)
    if args.json:
        options.print_json({sid: e.model_dump(mode="json") for sid, e in entries.items()})
    if not args.quiet:
        print(render_scores(entries), file=sys.stderr)
        print(printable(f"scores: {out}  cache: {cache_dir}/"), file=sys.stderr)
    return 0


def render_scores(entries: Mapping[str, Any]) -> str:
    """One line per track: overall score, components and flagged detectors."""
    lines = [f"{'song_id':<32} {'overall':>7} {'object.':>7} {'model':>6}  flags"]
    for sid in sorted(entries):
        e = entries[sid]
        s = e.scores

        def fmt(key: str, s: dict = s) -> str:
            return f"{s[key]:.3f}" if key in s else "-"

        flags = ", ".join(f"{k}:{v}" for k, v in e.flags.items())
        lines.append(
            f"{sid[:32]:<32} {fmt('overall_quality_score'):>7} {fmt('objective_score'):>7}"
            f" {fmt('model_score'):>6}  {flags}"
        )
    return printable_lines(lines)


# -- filter ----------------------------------------------------------------------------------
def cmd_filter(args: argparse.Namespace) -> int:
    """Keep tracks whose quality score clears a threshold; list the rest with reasons.

    Apply a quality threshold to a scores file (from `linernotes quality`, or your own in
    the same format) and print or write the kept and rejected tracks.
    """
    from linernotes.quality.filter import QualityFilter

    source = Path(args.source)
    scores = args.scores or (source / DEFAULT_SCORES_NAME if source.is_dir() else source)
    if not scores.is_file():
        return options.fail(f"no scores file {scores}; run `linernotes quality {source}` first")
    require = list(args.require_pass)
    for flag, det in (
        ("require_no_clipping", "clipping"),
        ("require_full_band", "bandwidth"),
        ("require_stereo_ok", "stereo"),
        ("require_no_silence", "silence"),
        ("require_low_noise", "noise_floor"),
    ):
        if getattr(args, flag):
            require.append(det)
    try:
        qf = QualityFilter(
            threshold=args.min_score,
            scores_file=scores,
            unknown=args.unknown,
            score_key=args.score_key,
            require_pass=require,
            reject_warn=args.reject_warn,
        )
        ids = list(qf.entries)
        if source.is_dir():
            from linernotes.library import collect

            known = set(ids)
            tracks = collect(source, records=args.records, db=args.db).tracks
            ids += [i for i in song_ids(tracks, "stem") if i not in known]
        kept, rejected = qf.split(ids)
    except KeyError as exc:
        return options.fail(f"{exc.args[0]} (--unknown raise)")
    except (OSError, ValueError) as exc:
        raise options.CliError(str(exc)) from exc
    if args.kept:
        kept_ids = [d.song_id for d in kept]
        args.kept.write_text(
            json.dumps(kept_ids, indent=1) + "\n"
            if args.kept.suffix == ".json"
            else "".join(f"{i}\n" for i in kept_ids)
        )
    if args.rejected:
        args.rejected.write_text(
            json.dumps(
                {d.song_id: {"score": d.score, "reason": d.reason} for d in rejected}, indent=1
            )
            + "\n"
        )
    if args.json:
        print(
            json.dumps(
                {
                    "threshold": args.min_score,
                    "kept": [
                        {"song_id": d.song_id, "score": d.score, "reason": d.reason} for d in kept
                    ],
                    "rejected": [
                        {"song_id": d.song_id, "score": d.score, "reason": d.reason}
                        for d in rejected
                    ],
                },
                indent=1,
            )
        )
    else:
        print(f"kept {len(kept)}, rejected {len(rejected)} (threshold {args.min_score:g})")
        for d in rejected:
            print(printable(f"  rejected {d.song_id}: {d.reason}"))
    return 0
