"""The review service's request and response bodies: what the OpenAPI schema at ``/docs``
publishes, and what the web UI reads.

A track is named by its ``id``: its path relative to the library root, with ``/``
separators (stable across re-analysis and edits; the same track the CLI is given). Every
field carries a ``version`` that grows with each edit or undo of that field; a change must
quote the version it was made against, and a stale one gets ``409`` with the current value.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from linernotes.models.final import Source

#: Where a final value came from: the record's own list, so a new source (the CPU tagger's
#: ``tagger``) can never make a track unreadable here.
Provenance = Source
#: Why a field is flagged: no value, low confidence, sources disagree, uncertain tempo octave.
FlagKind = Literal["no_value", "low_confidence", "conflict", "tempo_octave"]
SortKey = Literal["confidence", "quality", "path"]
JobKind = Literal["analyze", "listen", "export", "crops"]
JobState = Literal["queued", "running", "done", "failed", "cancelled"]
BulkOp = Literal["bpm_double", "bpm_half", "set", "accept_all", "lock"]


class Message(BaseModel):
    """An error: what went wrong, in one line."""

    detail: str


class AlternativeOut(BaseModel):
    """Another value a reviewer may pick (half/double tempo, runner-up key, a model's word)."""

    value: Any = None
    source: str
    origin: str | None = None
    score: float | None = None


class FieldOut(BaseModel):
    """One final field as the editor shows it."""

    name: str
    value: Any = None
    confidence: float = 0.0
    provenance: Provenance = "default"
    origin: str | None = None
    locked: bool = False
    review: bool = False
    flags: list[FlagKind] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    alternatives: list[AlternativeOut] = Field(default_factory=list)
    note: str | None = None
    version: int = Field(0, description="Edits and undos of this field so far.")


class ConflictOut(BaseModel):
    """Two sources disagreed about a field: both values, which won and why."""

    field: str
    chosen: Any = None
    chosen_source: str
    other: Any = None
    other_source: str
    other_origin: str | None = None
    reason: str


class TrackRow(BaseModel):
    """One line of the track table."""

    id: str
    title: str | None = None
    artist: str | None = None
    bpm: float | None = None
    key: str | None = None
    time_signature: str | None = None
    duration: float | None = None
    confidence: float | None = Field(
        None, description="Lowest confidence of bpm, key and time signature (human = 1)."
    )
    quality: float | None = Field(None, description="Combined quality score in [0, 1].")
    flagged: list[str] = Field(default_factory=list, description="Fields flagged for review.")
    flags: list[FlagKind] = Field(default_factory=list)
    locked: list[str] = Field(default_factory=list)
    human: list[str] = Field(default_factory=list, description="Fields set by a person.")
    analysed: bool = True
    error: str | None = None


class TrackPage(BaseModel):
    """A page of the filtered, sorted track table."""

    total: int = Field(description="Tracks matching the filter.")
    library_total: int
    offset: int
    limit: int
    items: list[TrackRow]
    indexing: bool = Field(False, description="The index is still being built.")


class QualityOut(BaseModel):
    """The track's quality verdict and the detectors that warned or failed."""

    score: float | None = None
    objective: float | None = None
    problems: list[str] = Field(default_factory=list)


class TrackDetail(BaseModel):
    """Everything the track view shows."""

    id: str
    content_hash: str
    version: int = Field(description="Sum of the field versions: the track's ETag.")
    format: str | None = None
    codec: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    duration: float | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    beats: list[float] = Field(default_factory=list)
    downbeats: list[float] = Field(default_factory=list)
    measured_bpm: float | None = None
    fields: dict[str, FieldOut]
    field_order: list[str]
    conflicts: list[ConflictOut] = Field(default_factory=list)
    review: list[str] = Field(default_factory=list)
    tempo_decision: dict[str, Any] | None = None
    quality: QualityOut = Field(default_factory=QualityOut)
    listen: dict[str, str] = Field(
        default_factory=dict, description="Raw text each prompt of the listening model gave."
    )
    audio_url: str
    peaks_url: str


class Neighbours(BaseModel):
    """The tracks before and after one track in the filtered, sorted table."""

    prev_id: str | None = None
    next_id: str | None = None
    position: int | None = Field(None, description="0-based place in the table.")
    total: int = 0


class EditIn(BaseModel):
    """Set one field by hand."""

    value: Any = None
    author: str = Field("web", min_length=1, max_length=80)
    expected_version: int = Field(ge=0, description="The field version the change was made on.")
    lock: bool | None = Field(None, description="Lock (verified) or unlock; None keeps it.")


class LockIn(BaseModel):
    """Lock (mark verified) or unlock the field's current value."""

    locked: bool = True
    author: str = Field("web", min_length=1, max_length=80)
    expected_version: int = Field(ge=0)


class UndoIn(BaseModel):
    """Undo the latest edit of one field."""

    expected_version: int = Field(ge=0)


class ReviewIn(BaseModel):
    """Accept a flagged value (or one of its alternatives), or reject it (clear it)."""

    author: str = Field("web", min_length=1, max_length=80)
    expected_version: int = Field(ge=0)
    value: Any = Field(None, description="Accept this alternative instead of the current value.")


class FieldConflict(BaseModel):
    """The ``409`` body: the change was made on an old version of the field."""

    detail: str
    field: str
    current: FieldOut


class BulkIn(BaseModel):
    """One change applied to every selected track (each track checked on its own)."""

    ids: list[str] = Field(min_length=1, max_length=10000)
    op: BulkOp
    field: str | None = Field(None, description="For set and lock: the field.")
    value: Any = Field(None, description="For set: the value (e.g. a genre or language).")
    author: str = Field("web", min_length=1, max_length=80)


class BulkResult(BaseModel):
    """What a bulk change did to each track."""

    changed: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    errors: dict[str, str] = Field(default_factory=dict)


class HistoryEntry(BaseModel):
    """One human edit of the track, as ``linernotes history`` lists it."""

    id: int
    field: str
    value: Any = None
    locked: bool
    author: str
    at: str
    undone: bool


class ImportResult(BaseModel):
    """An uploaded edits file: edits stored (all or none) and problems found."""

    imported: int
    tracks: int
    problems: list[str] = Field(default_factory=list)


class JobIn(BaseModel):
    """Start a job over the library (one at a time)."""

    kind: JobKind
    formats: list[str] = Field(default_factory=list, description="export: format names.")
    ids: list[str] = Field(default_factory=list, description="analyze/listen: only these.")
    force: bool = False
    seconds: float = Field(30.0, gt=0, le=600, description="crops: crop length.")
    prompts: list[str] = Field(default_factory=list, description="listen: prompt ids.")


class JobOut(BaseModel):
    """A job's state and its latest progress."""

    id: str
    kind: JobKind
    state: JobState
    done: int = 0
    total: int = 0
    message: str = ""
    started_at: float
    finished_at: float | None = None
    download_url: str | None = None


class Health(BaseModel):
    """``/health``: the service is up and which library it serves."""

    status: Literal["ok"] = "ok"
    version: str
    root: str
    tracks: int
    indexing: bool
    token_required: bool
    chat: str = Field(
        "", description="Who answers the chat panel: llm, audio or measurements; empty: no chat."
    )


class Vocabulary(BaseModel):
    """Canonical values for the editor's dropdowns."""

    keys: list[str]
    time_signatures: list[str]
    languages: dict[str, str]
    fields: list[str]
    formats: list[str]
    prompts: list[str]


class ChatIn(BaseModel):
    """A question about one track; the answer streams as Server-Sent Events."""

    track: str = Field(min_length=1, max_length=1000, description="The track's id.")
    question: str = Field(min_length=1, max_length=4000)
    conversation: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Chosen by the client: questions with the same id share one history.",
    )
