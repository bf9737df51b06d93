"""The chat's one door into the library: records, search, the human-edit layer, the audio
model.

Everything else in :mod:`linernotes.chat` talks to the library through :class:`LibraryAccess`
and never imports the lookup, store, edits or listen modules itself, so when those move only
this file changes. The interface is small:

- :meth:`LibraryAccess.track_id` / :meth:`LibraryAccess.resolve`: a track named by a path, a
  path relative to the library root, a file name or a stem;
- :meth:`LibraryAccess.record`: its record and reconciled final fields (human edits applied);
- :meth:`LibraryAccess.tracks`: every analysed track under the root, for searching;
- :meth:`LibraryAccess.propose_edit` (checks a value, writes nothing) and
  :meth:`LibraryAccess.apply_edit` (writes it to the human layer, with its author);
- :meth:`LibraryAccess.ask_audio`: one question about one span of a track (at most
  :attr:`LibraryAccess.audio_cap_s` long) to the configured listen backend.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from linernotes.edits.model import canonical_field, parse_value
from linernotes.edits.store import EditStore, find_library
from linernotes.listen.backends.http import (
    RETRY_STATUSES,
    HttpClient,
    redact_url,
    server_message,
)
from linernotes.listen.cli import add_listen_options, settings_from_args
from linernotes.reconcile.model import FINAL_FIELDS
from linernotes.reconcile.normalize import canonical_key

if TYPE_CHECKING:
    from linernotes.listen.audio import Clip
    from linernotes.listen.backends.base import ListenBackend
    from linernotes.listen.settings import ListenSettings
    from linernotes.reconcile.model import FinalFields
    from linernotes.record import TrackRecord

__all__ = [
    "FINAL_FIELDS",
    "RETRY_STATUSES",
    "AudioAnswer",
    "EditProposal",
    "HttpClient",
    "LibraryAccess",
    "LibraryTrack",
    "add_listen_options",
    "canonical_key",
    "listen_settings",
    "redact_url",
    "server_message",
]

#: Listen settings whose presence means the user chose an audio model.
_AUDIO_CHOICES = frozenset({"backend", "model", "base_url", "endpoint_url"})


@dataclass
class LibraryTrack:
    """One analysed track: its id (path relative to the root), file, record and final fields."""

    id: str
    path: Path
    record: TrackRecord
    final: FinalFields


@dataclass(frozen=True)
class EditProposal:
    """A checked edit of one field, not written yet."""

    track: str
    field: str
    value: Any
    current: Any
    content_hash: str


@dataclass(frozen=True)
class AudioAnswer:
    """The audio model's answer about one span of a track."""

    text: str
    start_s: float
    end_s: float
    model: str
    backend: str
    cached: bool = False


def listen_settings(args: Any) -> ListenSettings:
    """The listen settings of parsed ``--backend/--model/--base-url...`` options (added to a
    parser by :func:`add_listen_options`), over environment and config file."""
    return settings_from_args(args)


def listen_settings_chosen(settings: ListenSettings | None) -> bool:
    """Whether the settings name an audio model (command line, environment or config file)
    rather than only carrying the defaults."""
    return settings is not None and bool(_AUDIO_CHOICES & settings.model_fields_set)


class LibraryAccess:
    """Records, search, edits and the audio model of one library.

    Parameters
    ----------
    root
        The library folder (searched by ``search_library``; track ids are relative to it).
    db
        The library database (default: found from ``root``, as ``edit`` finds it).
    records
        The ``--out`` folder the tracks were analysed into, when not beside the audio.
    listen
        Settings of the audio model; ``None`` (or settings naming no model) means none.
    backend
        An audio backend already made (tests, a service that keeps one loaded).
    """

    def __init__(
        self,
        root: str | Path,
        *,
        db: str | Path | None = None,
        records: str | Path | None = None,
        listen: ListenSettings | None = None,
        backend: ListenBackend | None = None,
    ) -> None:
        self.root = Path(root).expanduser().absolute()
        self.db = Path(db).absolute() if db else find_library(self.root)
        self.records = Path(records).absolute() if records else None
        self._settings = listen
        self._backend = backend
        self._records: dict[Path, TrackRecord] = {}
        self._clips: OrderedDict[Path, Clip] = OrderedDict()
        self._all: list[LibraryTrack] | None = None
        self._files: list[Path] | None = None

    # -- naming tracks --------------------------------------------------------------------
    def resolve(self, track: str | Path) -> Path:
        """The audio file a name stands for: a path (absolute, or relative to the root, else
        to the working folder), else a unique file name or stem among the library's tracks.

        Raises
        ------
        LookupError
            No such track, or several match the name.
        """
        from linernotes.runner import find_audio

        text = str(track).strip()
        candidate = Path(text).expanduser()
        for path in (self.root / candidate, candidate):
            if path.is_file():
                return path.absolute()
        if self._files is None:
            self._files = find_audio([self.root])
        matches = [f for f in self._files if text in (f.name, f.stem)]
        if len(matches) == 1:
            return matches[0].absolute()
        if matches:
            names = ", ".join(self.track_id(m) for m in matches)
            raise LookupError(f"{text!r} names several tracks ({names}); give the path")
        raise LookupError(f"{text!r}: no such track under {self.root}")

    def track_id(self, path: Path) -> str:
        """The name tools and transcripts use: the path relative to the root."""
        path = path.absolute()
        return (
            path.relative_to(self.root).as_posix() if path.is_relative_to(self.root) else str(path)
        )

    # -- records --------------------------------------------------------------------------
    def record(self, track: str | Path) -> LibraryTrack:
        """The track's record and final fields, human edits applied.

        Raises
        ------
        LookupError
            No such track, or it has not been analysed.
        """
        from linernotes.edits.apply import reconcile_with_edits
        from linernotes.lookup import find_record

        path = self.resolve(track)
        if path not in self._records:
            self._records[path] = find_record(path, out_dir=self.records, db_path=self.db)
        record = self._records[path]
        return LibraryTrack(
            self.track_id(path), path, record, reconcile_with_edits(record, self.db)
        )

    def tracks(self) -> list[LibraryTrack]:
        """Every analysed track under the root (read once; refreshed after an edit)."""
        from linernotes.export.registry import collect_tracks

        if self._all is None:
            found, _ = collect_tracks(self.root, records=self.records, db=self.db)
            self._all = [
                LibraryTrack(self.track_id(t.audio), t.audio, t.record, t.final) for t in found
            ]
        return self._all

    # -- the human layer ------------------------------------------------------------------
    def propose_edit(self, track: str | Path, field: str, value: Any) -> EditProposal:
        """Check an edit and spell its value canonically; nothing is written.

        Raises
        ------
        ValueError
            Unknown field or a value that is not valid for it.
        LookupError
            No such track.
        """
        name = canonical_field(field)
        canonical = parse_value(name, value)
        found = self.record(track)
        return EditProposal(
            found.id, name, canonical, found.final.value(name), found.record.file.content_hash
        )

    def apply_edit(self, proposal: EditProposal, *, author: str) -> dict[str, Any]:
        """Write a proposal to the human layer (what ``linernotes edit`` writes) and return
        the stored edit."""
        path = self.resolve(proposal.track)
        with EditStore(self.db) as store:
            edit = store.add(
                proposal.content_hash,
                proposal.field,
                proposal.value,
                author=author,
                path=str(path),
                parse=False,
            )
        self._all = None
        return edit.model_dump(mode="json")

    def history(self, track: str | Path) -> list[dict[str, Any]]:
        """The track's human edits, oldest first."""
        found = self.record(track)
        if not self.db.is_file():
            return []
        with EditStore(self.db) as store:
            edits = store.history(found.record.file.content_hash)
        return [e.model_dump(mode="json") for e in edits]

    # -- the audio model ------------------------------------------------------------------
    @property
    def has_audio_model(self) -> bool:
        return self._backend is not None or listen_settings_chosen(self._settings)

    def backend(self) -> ListenBackend:
        """The audio backend (made on first use).

        Raises
        ------
        LookupError
            No audio model is configured.
        """
        if self._backend is None:
            if not listen_settings_chosen(self._settings):
                raise LookupError("no audio model configured (give --model or --base-url)")
            from linernotes.listen.backends import make_backend

            self._backend = make_backend(self._settings)
        return self._backend

    @property
    def audio_cap_s(self) -> float:
        """Longest span one request may carry (the model's cap, at most 20 minutes)."""
        from linernotes.listen.backends.base import MF_MAX_SECONDS, max_seconds_for

        if self._backend is not None:
            return min(MF_MAX_SECONDS, self._backend.max_seconds)
        model = self._settings.model if self._settings is not None else ""
        return min(MF_MAX_SECONDS, max_seconds_for(model))

    def _clip(self, path: Path) -> Clip:
        from linernotes.listen.audio import load_clip

        if path not in self._clips:
            self._clips[path] = load_clip(path)
            while len(self._clips) > 2:
                self._clips.popitem(last=False)
        self._clips.move_to_end(path)
        return self._clips[path]

    def ask_audio(
        self,
        track: str | Path,
        question: str,
        start_s: float,
        end_s: float,
        *,
        max_new_tokens: int = 512,
    ) -> AudioAnswer:
        """Ask the audio model ``question`` about ``start_s``..``end_s`` of the track (a span
        no longer than :attr:`audio_cap_s`). Answers are cached in the library database.

        Raises
        ------
        LookupError
            No such track, or no audio model.
        linernotes.errors.LinernotesError
            The file cannot be decoded, or the backend failed.
        """
        from linernotes.listen.cache import SQLiteListenCache
        from linernotes.listen.prompts import adhoc_prompt
        from linernotes.listen.track import listen_to_track

        backend = self.backend()
        path = self.resolve(track)
        segment = self._clip(path).segment(start_s, end_s)
        prompt = adhoc_prompt(question, max_new_tokens=max_new_tokens)
        cache = SQLiteListenCache(self.db)
        try:
            section = listen_to_track(segment, backend, [prompt], cache=cache)
        finally:
            cache.close()
        entry = section.entries[prompt.id]
        return AudioAnswer(
            text=(section.text(prompt.id) or "").strip(),
            start_s=start_s,
            end_s=min(end_s, start_s + segment.duration),
            model=entry.model_id,
            backend=entry.backend,
            cached=entry.cached,
        )

    def duration_s(self, track: str | Path) -> float:
        """The track's duration in seconds (from its record)."""
        found = self.record(track)
        return float(found.record.summary.duration or found.record.file.duration or 0.0)

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
