"""The export formats by name, and :func:`export_tracks`, which writes tracks in them.

Each format module provides ``export(tracks, target, writer)`` and ``validate(folder)``
(which reads the files back the way the format's trainer does); adding a format means
adding a module and one line to :data:`FORMATS`. A module that declares which audio its
trainer reads (``AUDIO_EXTENSIONS``, ``FILES_BY_STEM``, ``TRAINER``) gets its tracks through
:func:`linernotes.export.placement.plan` first: renamed where stems clash, transcoded to
FLAC where the trainer cannot read the container, or skipped with a reason.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from linernotes.export import ace_step, audiocraft, bark, hf, info, stable_audio, table
from linernotes.export.base import ExportTarget, ExportTrack, FileWriter
from linernotes.export.placement import TrainerAudio, Transcoder, plan
from linernotes.export.staging import moved, staged
from linernotes.fileio import is_utf8_name


@dataclass(frozen=True)
class Format:
    """One export dialect."""

    name: str
    module: ModuleType
    help: str

    @property
    def export(self) -> Callable[[list[ExportTrack], ExportTarget, FileWriter], None]:
        return self.module.export

    @property
    def validate(self) -> Callable[[Path], list[str]]:
        return self.module.validate

    @property
    def audio(self) -> TrainerAudio | None:
        """What the format's trainer reads, when the module declares it."""
        return TrainerAudio.of(self.module)


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("ace-step", ace_step, "ACE-Step 1.5 sidecars, dataset JSON and CSV"),
        Format("stable-audio", stable_audio, "stable-audio-tools JSON, metadata module, shards"),
        Format("audiocraft", audiocraft, "audiocraft/MusicGen JSONL manifest and .json info"),
        Format("hf", hf, "Hugging Face audiofolder metadata.jsonl"),
        Format("info", info, ".INFO feature JSON (merged), .BEATS_GRID, .DOWNBEATS"),
        Format("bark", bark, "Bark-style dataset JSON, training notes, manifest"),
        Format("table", table, "CSV and Parquet of every final field and scalar feature"),
    )
}


def parse_formats(text: str) -> list[str]:
    """``"ace-step,hf"`` -> ``["ace-step", "hf"]``; ``all`` for every format.

    Raises
    ------
    ValueError
        An unknown format name.
    """
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    if names == ["all"]:
        return list(FORMATS)
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise ValueError(
            f"unknown format {', '.join(unknown) or text!r}; choose from {', '.join(FORMATS)}"
        )
    return list(dict.fromkeys(names))


@dataclass
class FormatReport:
    """What one format's export did; ``skipped`` lists the tracks this format left out
    (its trainer cannot read them there, or they would share another track's files), each
    with the reason."""

    name: str
    folder: Path
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def export_tracks(
    tracks: list[ExportTrack],
    root: Path,
    formats: list[str],
    *,
    out: Path | None = None,
    copy_audio: bool = False,
    validate: bool = True,
    stems_as_samples: bool = False,
) -> list[FormatReport]:
    """Write ``formats`` for ``tracks``; validate each as its consumer would.
    ``stems_as_samples``: formats that can (stable-audio) make each stem a sample too."""
    root = root.absolute()
    protected = {t.audio for t in tracks} | {t.audio.resolve() for t in tracks}
    transcoder = Transcoder()
    reports = []
    named = [t for t in tracks if is_utf8_name(t.rel)]
    unnamed = [(t.audio, "its file name is not UTF-8, which the dataset files cannot name")
               for t in tracks if not is_utf8_name(t.rel)]  # fmt: skip
    for name in formats:
        fmt = FORMATS[name]
        folder = out.absolute() / name if out is not None else None
        with staged(folder) if folder is not None else nullcontext(None) as stage:
            target = ExportTarget(root=root, out=stage, copy_audio=copy_audio, name=root.name,
                                  stems_as_samples=stems_as_samples,
                                  published=folder)  # fmt: skip
            writer = FileWriter(protected=protected, within=target.folder,
                                lock_file=None if stage is not None else sidecar_lock(root))
            chosen, skipped = named, list(unnamed)
            audio = fmt.audio
            if audio is not None:
                chosen, more = plan(named, target, audio, writer, transcoder)
                skipped += more
            fmt.export(chosen, target, writer)
        if stage is not None and folder is not None:
            writer.written = [moved(p, stage, folder) for p in writer.written]
            writer.unchanged = [moved(p, stage, folder) for p in writer.unchanged]
            transcoder.made = {k: moved(p, stage, folder) for k, p in transcoder.made.items()}
        report = FormatReport(name, folder or target.folder, writer.written, writer.unchanged,
                              skipped=skipped)  # fmt: skip
        if validate:
            report.problems = fmt.validate(report.folder)
        reports.append(report)
    return reports


def sidecar_lock(root: Path) -> Path:
    """The lock file of exports that write sidecars beside the audio: in the library's
    folder when there is one (nothing left among the audio), else at the dataset's root."""
    library = root / ".linernotes"
    return library / "export.lock" if library.is_dir() else root / ".linernotes-export.lock"
