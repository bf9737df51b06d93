"""The chat's door into the library: a thin layer over :mod:`linernotes.library` and the
listen backend.

The library finds itself from the chat's folder (:class:`~linernotes.library.shared.
SharedLibrary`), names tracks by their key (the path relative to the library root), and keeps
records, final fields and the human-edit layer. What the chat adds:

- :meth:`LibraryAccess.resolve`: a track named by a path, a path relative to the folder or
  the library root, a file name or a stem;
- :meth:`LibraryAccess.record`, :meth:`LibraryAccess.tracks`: records and final fields, human
  edits applied, cached for the session (refreshed after an edit);
- :meth:`LibraryAccess.propose_edit` (checks a value, writes nothing) and
  :meth:`LibraryAccess.apply_edit` (through the library's human layer, with its author; the
  track's record files are rewritten at once);
- :meth:`LibraryAccess.ask_audio`: one question about one span of a track (at most
  :attr:`LibraryAccess.audio_cap_s` long) to the configured listen backend, the answer cached
  in the library database.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from linernotes.library.shared import LibraryTrack, SharedLibrary
from linernotes.reconcile.fields import canonical_field, parse_value

if TYPE_CHECKING:
    from linernotes.listen.audio import Clip
    from linernotes.listen.backends.base import ListenBackend
    from linernotes.listen.settings import ListenSettings

__all__ = ["AudioAnswer", "EditProposal", "LibraryAccess", "LibraryTrack"]

#: Listen settings whose presence means the user chose an audio model.
_AUDIO_CHOICES = frozenset({"backend", "model", "base_url", "endpoint_url"})


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


def listen_settings_chosen(settings: ListenSettings | None) -> bool:
    """Whether the settings name an audio model (command line, environment or config file)
    rather than only carrying the defaults."""
    return settings is not None and bool(_AUDIO_CHOICES & settings.model_fields_set)


class LibraryAccess:
    """Records, search, edits and the audio model of one library.

    Parameters
    ----------
    root
        The folder the chat is about (searched by ``search_library``): a library's root or
        any folder in it; track ids are keys relative to the library root.
    db
        The library database (default: found from ``root`` by the one location rule).
    records
        Where the records were written, for this session (default: the library's).
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
        self.library = SharedLibrary(root, db=db, records=records)
        self.root = self.library.folder
        self._settings = listen
        self._backend = backend
        self._found: dict[Path, LibraryTrack] = {}
        self._clips: OrderedDict[Path, Clip] = OrderedDict()
        self._all: list[LibraryTrack] | None = None
        self._files: list[Path] | None = None

    @property
    def db(self) -> Path | None:
        """The library database (``None`` while there is none)."""
        library = self.library.open()
        return library.db.path if library else None

    # -- naming tracks --------------------------------------------------------------------
    def resolve(self, track: str | Path) -> Path:
        """The audio file a name stands for: a path (absolute, or relative to the folder, the
        library root or the working folder), else a unique file name or stem among the
        folder's tracks.

        Raises
        ------
        LookupError
            No such track, or several match the name.
        """
        text = str(track).strip()
        candidate = Path(text).expanduser()
        for path in (self.root / candidate, self.library.root / candidate, candidate):
            if path.is_file():
                return path.absolute()
        if self._files is None:
            self._files = self.library.audio()
        matches = [f for f in self._files if text in (f.name, f.stem)]
        if len(matches) == 1:
            return matches[0].absolute()
        if matches:
            names = ", ".join(self.track_id(m) for m in matches)
            raise LookupError(f"{text!r} names several tracks ({names}); give the path")
        raise LookupError(f"{text!r}: no such track under {self.root}")

    def track_id(self, path: Path) -> str:
        """The name tools and transcripts use: the library's key of the track."""
        return self.library.key(path)

    # -- records --------------------------------------------------------------------------
    def record(self, track: str | Path) -> LibraryTrack:
        """The track's record and final fields, human edits applied.

        Raises
        ------
        LookupError
            No such track, or it has not been analysed.
        """
        path = self.resolve(track)
        if path not in self._found:
            self._found[path] = self.library.track(path)
        return self._found[path]

    def tracks(self) -> list[LibraryTrack]:
        """Every analysed track under the folder (read once; refreshed after an edit)."""
        if self._all is None:
            found = self.library.tracks().tracks
            self._all = [LibraryTrack(self.track_id(t.audio), t.audio, t.record, t.final)
                         for t in found]  # fmt: skip
        return self._all

    def refresh(self) -> None:
        """Forget the records and the track list read so far: the next call reads the library
        again (another program, the review service for one, may have edited it meanwhile)."""
        self._found.clear()
        self._all = None
        self._files = None

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
        library = self.library.require()
        (edit,) = library.add_edits(library.record_of(path), [(proposal.field, proposal.value)],
                                    locked=False, author=author, path=path)  # fmt: skip
        self.refresh()
        return edit.model_dump(mode="json")

    def history(self, track: str | Path) -> list[dict[str, Any]]:
        """The track's human edits, oldest first."""
        found = self.record(track)
        edits = self.library.require().db.edit_history(found.record.file.content_hash)
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
        from linernotes.listen.cache import MemoryListenCache
        from linernotes.listen.prompts import adhoc_prompt
        from linernotes.listen.track import listen_to_track

        backend = self.backend()
        path = self.resolve(track)
        segment = self._clip(path).segment(start_s, end_s)
        prompt = adhoc_prompt(question, max_new_tokens=max_new_tokens)
        cache = self.library.open()
        section = listen_to_track(segment, backend, [prompt],
                                  cache=cache.db if cache else MemoryListenCache())  # fmt: skip
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
        self.library.close()
