"""``reconcile``: measured + model + human -> one final value per training field.

Rules, in order of authority:

1. **Human** edits win over everything and are never overwritten by an automatic run; a
   locked edit is also marked verified (never flagged for review).
2. **Measured** values win for bpm, key, time signature and duration. The tempo, key and
   meter the listening model claimed are compared with them and every disagreement is kept
   as a :class:`Conflict`. The one place the model's word counts is half/double tempo: when
   the model's felt tempo matches the measured half or double reading (and not the primary),
   that measured reading is chosen and the choice recorded as a :class:`TempoDecision`.
3. **Model** text (caption, genres, moods, instruments, lyrics, language, vocals) is
   structured by the rule normaliser or an optional LLM, and spelled canonically.

Fields with low confidence, a conflict, an uncertain tempo octave, or no value where one is
expected go to ``review``, each with its reasons and alternatives; the thresholds and rules
live in :mod:`linernotes.reconcile.review`.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from linernotes.claims import key_pitch_class
from linernotes.models.final import (
    RECONCILE_VERSION,
    Conflict,
    FinalFields,
    FinalValue,
    Source,
    TempoDecision,
)
from linernotes.models.listen import ListenSection
from linernotes.reconcile.file_tags import apply_file_tags
from linernotes.reconcile.musicbrainz import LookupMatch, similarity
from linernotes.reconcile.normalize import canonical_key, canonical_time_signature
from linernotes.reconcile.review import OCTAVE_AMBIGUITY, REVIEW_BELOW, flag, tempo_readings
from linernotes.reconcile.structure import (
    RuleStructurer,
    StructuredText,
    Structurer,
    StructureRequest,
    normalise,
)
from linernotes.reconcile.tagger import apply_tagger

if TYPE_CHECKING:
    from linernotes.models import Edit, TrackRecord

#: Confidence given to model-derived text fields (the model reports none of its own).
MODEL_CONFIDENCE = 0.6


@dataclass
class ReconcileOptions:
    """Knobs of :func:`reconcile`.

    ``structurer`` defaults to the rule normaliser; ``hints`` (artist, title, context) go to
    it; ``review_below`` flags fields less confident than that and ``octave_ambiguity`` an
    uncertain tempo octave (defaults and rules: :mod:`linernotes.reconcile.review`);
    ``tempo_tolerance`` is the relative distance within which two tempi agree; ``lookup`` is
    a metadata match found for this track (it fills title/artist only where the embedded
    tags have none).
    """

    structurer: Structurer | None = None
    hints: dict[str, str] = field(default_factory=dict)
    review_below: float = REVIEW_BELOW
    octave_ambiguity: float = OCTAVE_AMBIGUITY
    tempo_tolerance: float = 0.04
    lookup: LookupMatch | None = None


def reconcile(
    record: TrackRecord,
    edits: Mapping[str, Edit] | None = None,
    options: ReconcileOptions | None = None,
) -> FinalFields:
    """The final fields of ``record`` with ``edits`` (field -> active human edit) on top."""
    opts = options or ReconcileOptions()
    final = FinalFields()
    fields = final.fields
    claims = _claims(record.listen)

    _reconcile_bpm(record, claims.get("bpm", []), opts, final)
    _reconcile_measured(record, "key", "tonal", lambda v: canonical_key(str(v)),
                        _key_disagreement, claims.get("key", []), final)  # fmt: skip
    _reconcile_measured(record, "time_signature", "rhythm", canonical_time_signature,
                        _meter_disagreement, claims.get("time_signature", []), final)  # fmt: skip
    duration = record.summary.duration or record.file.duration
    truncated = record.file.decode.truncated
    fields["duration"] = FinalValue(
        value=round(duration, 3) if duration else None,
        confidence=(0.5 if truncated else 1.0) if duration else 0.0,
        provenance="measured",
        origin="decode",
        note="file is truncated: duration of what decoded" if truncated else None,
    )

    hints = {**_tag_hints(record), **opts.hints}
    final.hints = hints
    request = _request(record.listen, hints)
    structured, final.structured_by = _structure(request, opts.structurer)
    _model_text_fields(record.listen, request, structured, final)
    apply_tagger(record, final)  # the CPU listener fills what the model left empty
    apply_file_tags(record, final)  # then the file's own tags (genre, album, year, comment)
    _identity_fields(record, opts, final)

    return apply_edits(final, record, edits, opts)


def final_is_current(final: FinalFields | None, edits: Mapping[str, Edit]) -> bool:
    """Whether stored final fields can be reused: made by this reconcile version, with
    exactly ``edits`` (field -> active human edit) on top."""
    if final is None or final.version != RECONCILE_VERSION:
        return False
    human = {name: item for name, item in final.fields.items() if item.provenance == "human"}
    return set(human) == set(edits) and all(
        (item.value, item.locked, item.origin) == (edits[n].value, edits[n].locked, edits[n].author)
        for n, item in human.items()
    )


def apply_edits(
    final: FinalFields,
    record: TrackRecord | None,
    edits: Mapping[str, Edit] | None,
    options: ReconcileOptions | None = None,
) -> FinalFields:
    """Put ``edits`` (field -> active human edit) on top of ``final`` and flag what needs
    review; the last step of :func:`reconcile`, public for final fields assembled otherwise
    (a crop's own measurements plus its source's caption, then the crop's own edits).
    ``final`` is changed in place and returned."""
    opts = options or ReconcileOptions()
    for name, edit in (edits or {}).items():
        _apply_edit(name, edit, final)
    flag(final, record, review_below=opts.review_below, octave_ambiguity=opts.octave_ambiguity,
         tempo_tolerance=opts.tempo_tolerance)  # fmt: skip
    return final


def _identity_fields(record: TrackRecord, opts: ReconcileOptions, final: FinalFields) -> None:
    """Title and artist: embedded tags first, then the lookup match, then the hints."""
    match = opts.lookup
    if match is not None:
        final.lookup = match.model_dump()
    for name in ("title", "artist"):
        tagged = record.file.tags.get(name)
        found = getattr(match, name) if match is not None else None
        if tagged:
            item = FinalValue(value=tagged, confidence=0.9, provenance="tags", origin="file tags")
            if found and similarity(found, tagged) < 0.8:
                final.conflicts.append(
                    Conflict(field=name, chosen=tagged, chosen_source="tags", other=found,
                             other_source="lookup", other_origin=match.source,
                             reason="embedded tags win over the metadata lookup")
                )  # fmt: skip
        elif found:
            origin = f"{match.source}:{match.recording_id}"
            item = FinalValue(value=found, confidence=round(match.score, 4),
                              provenance="lookup", origin=origin)  # fmt: skip
        elif opts.hints.get(name):
            item = FinalValue(value=opts.hints[name], confidence=0.5, provenance="default",
                              origin="hint")  # fmt: skip
        else:
            item = FinalValue()
        final.fields[name] = item


def _claims(listen: ListenSection | None) -> dict[str, list[tuple[Any, str]]]:
    """``{"bpm": [(value, prompt_id), ...], "key": ..., "time_signature": ...}``."""
    out: dict[str, list[tuple[Any, str]]] = {}
    if listen is None:
        return out
    for prompt_id, entry in listen.entries.items():
        for name in ("bpm", "key", "time_signature"):
            if entry.claims.get(name) is not None:
                out.setdefault(name, []).append((entry.claims[name], prompt_id))
    return out


def _close(a: float, b: float, tolerance: float) -> bool:
    return abs(math.log(a / b)) <= math.log1p(tolerance)


def _reconcile_bpm(
    record: TrackRecord, claims: list[tuple[Any, str]], opts: ReconcileOptions, final: FinalFields
) -> None:
    measured = record.summary.bpm
    confidence = record.summary.confidence.get("bpm", 0.0)
    if measured is None:
        final.fields["bpm"] = FinalValue(value=None, provenance="measured", origin="rhythm")
        for value, prompt_id in claims:
            final.conflicts.append(
                Conflict(field="bpm", chosen=None, chosen_source="measured", other=value,
                         other_source="model", other_origin=prompt_id,
                         reason="no measurable tempo; a model's claim is not used in its place")
            )  # fmt: skip
        return
    options = tempo_readings(record, measured)
    decision = TempoDecision(
        measured_bpm=measured,
        chosen_bpm=measured,
        relation="primary",
        reason="no tempo claimed by the model: the measured tempo stands",
    )
    if claims:
        felt = statistics.median(float(v) for v, _ in claims)
        relation, bpm, _ = min(options, key=lambda o: abs(math.log(o[1] / felt)))
        decision.model_bpm = felt
        if relation != "primary" and _close(bpm, felt, opts.tempo_tolerance):
            decision.relation, decision.chosen_bpm = relation, bpm
            decision.reason = (
                f"model's felt tempo {felt:g} matches the measured {relation} reading "
                f"{bpm:g}, not the primary {measured:g}: {relation} chosen"
            )
        elif _close(measured, felt, opts.tempo_tolerance):
            decision.reason = f"model's felt tempo {felt:g} agrees with the measured {measured:g}"
        else:
            decision.reason = (
                f"model's felt tempo {felt:g} matches no measured reading: measured "
                f"{measured:g} stands"
            )
    final.tempo_decision = decision
    chosen = round(decision.chosen_bpm or measured, 3)
    note = None
    if decision.relation != "primary":
        note = decision.reason
        final.conflicts.append(
            Conflict(field="bpm", chosen=chosen, chosen_source="measured", other=measured,
                     other_source="measured", other_origin="rhythm primary",
                     reason=decision.reason)
        )  # fmt: skip
    for value, prompt_id in claims:
        if not _close(chosen, float(value), opts.tempo_tolerance):
            final.conflicts.append(
                Conflict(field="bpm", chosen=chosen, chosen_source="measured", other=value,
                         other_source="model", other_origin=prompt_id,
                         reason=f"measured tempo wins over the model's claim ({value:g} vs "
                         f"{chosen:g} BPM)")
            )  # fmt: skip
    final.fields["bpm"] = FinalValue(
        value=chosen, confidence=confidence, provenance="measured", origin="rhythm", note=note
    )


def _reconcile_measured(
    record: TrackRecord,
    name: str,
    origin: str,
    canonical: Callable[[Any], str | None],
    disagreement: Callable[[str | None, str], str | None],
    claims: list[tuple[Any, str]],
    final: FinalFields,
) -> None:
    """A measured field (key, time signature) spelled canonically, and a conflict for every
    model claim that ``disagreement(measured, claimed)`` gives a reason for (the measurement
    always wins)."""
    raw = getattr(record.summary, name)
    measured = canonical(raw) if raw else None
    final.fields[name] = FinalValue(
        value=measured,
        confidence=record.summary.confidence.get(name, 0.0) if measured else 0.0,
        provenance="measured",
        origin=origin,
    )
    for value, prompt_id in claims:
        claimed = canonical(value)
        reason = disagreement(measured, claimed) if claimed is not None else None
        if reason is not None:
            final.conflicts.append(
                Conflict(field=name, chosen=measured, chosen_source="measured", other=claimed,
                         other_source="model", other_origin=prompt_id, reason=reason)
            )  # fmt: skip


def _key_disagreement(measured: str | None, claimed: str) -> str | None:
    if measured is None:
        return "no measurable key; a model's claim is not used in its place"
    a, b = key_pitch_class(measured), key_pitch_class(claimed)
    if a == b:
        return None
    reason = "measured key wins over the model's claim"
    if a and b and a[1] != b[1]:
        major, minor = (a, b) if a[1] == "major" else (b, a)
        if (major[0] - minor[0]) % 12 == 3:
            reason += " (relative major/minor: same notes, different centre)"
        elif major[0] == minor[0]:
            reason += " (parallel major/minor)"
    return reason


def _meter_disagreement(measured: str | None, claimed: str) -> str | None:
    if claimed == measured:
        return None
    reason = "measured meter wins over the model's claim"
    if {claimed, measured} == {"3/4", "6/8"}:
        reason += " (3/4 and 6/8 share a bar length; the beat grouping differs)"
    return reason


def _tag_hints(record: TrackRecord) -> dict[str, str]:
    return {k: v for k, v in record.file.tags.items() if k in ("artist", "title") and v}


def _request(listen: ListenSection | None, hints: dict[str, str]) -> StructureRequest:
    request = StructureRequest(hints=hints)
    if listen is None:
        return request
    for prompt_id, entry in listen.entries.items():
        parsed = entry.parsed or {}
        if entry.kind == "text" and entry.raw_text.strip():
            request.captions[prompt_id] = listen.text(prompt_id) or ""
        if entry.kind == "fields":
            request.genres += _strings(parsed.get("genre")) + _strings(parsed.get("genres"))
            request.moods += _strings(parsed.get("mood")) + _strings(parsed.get("moods"))
            request.instruments += _strings(parsed.get("instruments"))
        elif entry.kind == "json":
            request.genres += _strings(parsed.get("genre"))
            request.moods += _strings(parsed.get("mood"))
            request.instruments += _strings(parsed.get("instruments"))
        elif entry.kind == "tags":
            request.tags += _strings(parsed.get("tags"))
        elif entry.kind == "lyrics" and parsed.get("lyrics"):
            request.lyrics = parsed["lyrics"]
    return request


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value if v is not None]
    return []


def _structure(
    request: StructureRequest, structurer: Structurer | None
) -> tuple[StructuredText, str]:
    rules = RuleStructurer()
    if structurer is None or structurer.name == rules.name:
        return rules.structure(request), rules.name
    said = request.model_dump(exclude={"hints"})
    if not any(said.values()):  # nothing was said: an LLM could only invent
        return rules.structure(request), rules.name
    try:
        answer = normalise(structurer.structure(request))
    except Exception as exc:  # any failure of an optional remote step falls back to rules
        return rules.structure(request), f"rules (fallback: {structurer.name} failed: {exc})"
    fallback = rules.structure(request)
    merged = answer.model_copy(
        update={k: getattr(fallback, k) for k, v in answer if v in (None, []) and k != "caption"}
    )
    if not merged.caption:
        merged.caption = fallback.caption
    return merged, structurer.name


def _model_text_fields(
    listen: ListenSection | None,
    request: StructureRequest,
    text: StructuredText,
    final: FinalFields,
) -> None:
    fields = final.fields
    origin = f"listen/{listen.model_id}" if listen else None
    source: Source = "model" if listen else "default"

    def put(name: str, value: Any, confidence: float = MODEL_CONFIDENCE) -> None:
        empty = value in (None, [], "")
        fields[name] = FinalValue(
            value=None if empty else value,
            confidence=0.0 if empty else confidence,
            provenance="default" if empty else source,
            origin=None if empty else origin,
        )

    put("caption", text.caption)
    put("genres", text.genres)
    put("moods", text.moods)
    put("instruments", text.instruments)
    lyrics_instrumental = request.lyrics == "[Instrumental]"
    instrumental = True if lyrics_instrumental else text.is_instrumental
    if request.lyrics and not lyrics_instrumental:
        instrumental = False
    if instrumental is not None and text.is_instrumental not in (None, instrumental):
        final.conflicts.append(
            Conflict(field="is_instrumental", chosen=instrumental, chosen_source="model",
                     other=text.is_instrumental, other_source="model", other_origin="tags",
                     reason="the lyrics transcription outranks the tags")
        )  # fmt: skip
    put("is_instrumental", instrumental, 0.7 if request.lyrics else 0.5)
    lyrics = "[Instrumental]" if instrumental else request.lyrics
    put("lyrics", lyrics, 0.9 if instrumental else MODEL_CONFIDENCE)
    language = None if instrumental else text.vocal_language
    put("vocal_language", language, 0.5)


def _apply_edit(name: str, edit: Edit, final: FinalFields) -> None:
    previous = final.fields.get(name)
    if previous is not None and previous.value is not None and previous.value != edit.value:
        final.conflicts.append(
            Conflict(field=name, chosen=edit.value, chosen_source="human",
                     other=previous.value, other_source=previous.provenance,
                     other_origin=previous.origin,
                     reason=f"human edit by {edit.author} at {edit.at}"
                     + (" (locked)" if edit.locked else ""))
        )  # fmt: skip
    final.fields[name] = FinalValue(
        value=edit.value,
        confidence=1.0,
        provenance="human",
        origin=edit.author,
        locked=edit.locked,
        note=f"edited {edit.at}",
    )
    if name == "is_instrumental" and edit.value is True and "lyrics" not in final.fields:
        final.fields["lyrics"] = FinalValue(value="[Instrumental]", confidence=1.0)
