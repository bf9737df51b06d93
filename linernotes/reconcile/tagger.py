"""The CPU listener's fields in reconcile: provenance ``tagger``, below the model's word.

Precedence for the described fields is human > model > tagger > file tags > default: a
field the listening model filled keeps the model's value (Music Flamingo's caption wins
whenever it exists) and the tagger only fills what is still empty. ``is_instrumental`` is
the exception worth recording: when the model and the tagger disagree, the model's value
stands and the disagreement is kept as a conflict. Measured values stay the truth for bpm,
key, meter and duration; the tagger never touches them.
"""

from __future__ import annotations

from typing import Any

from linernotes.models import Conflict, FinalFields, FinalValue, TrackRecord
from linernotes.models.tagger import TaggerSection
from linernotes.reconcile.normalize import clean_caption, clean_tags, language_code


def _empty(item: FinalValue | None) -> bool:
    return item is None or item.value in (None, [], "")


def _mean(items: list[Any]) -> float:
    return sum(t.probability for t in items) / len(items) if items else 0.0


def apply_tagger(record: TrackRecord, final: FinalFields) -> None:
    """Fill the empty described fields of ``final`` from ``record.listen.tagger``."""
    section: TaggerSection | None = record.listen.tagger if record.listen else None
    if section is None:
        return
    fields = final.fields
    origin = "tagger/" + "+".join(f"musicnn-{name}" for name in section.models or {"mtt": 0})

    def fill(name: str, value: Any, confidence: float, where: str = origin) -> None:
        if value in (None, [], "") or not _empty(fields.get(name)):
            return
        fields[name] = FinalValue(value=value, confidence=round(min(1.0, confidence), 4),
                                  provenance="tagger", origin=where)  # fmt: skip

    fill("caption", clean_caption(section.caption.text), section.caption.confidence)
    for name, category in (("genres", "genre"), ("moods", "mood"), ("instruments", "instrument")):
        items = section.tags.get(category, [])
        fill(name, clean_tags([t.tag for t in items]), _mean(items))

    vocals = section.vocals
    current = fields.get("is_instrumental")
    if _empty(current):
        fill("is_instrumental", vocals.is_instrumental, vocals.confidence)
    elif current.value != vocals.is_instrumental and current.provenance != "human":
        final.conflicts.append(
            Conflict(field="is_instrumental", chosen=current.value,
                     chosen_source=current.provenance, other=vocals.is_instrumental,
                     other_source="tagger", other_origin=origin,
                     reason="the listening model's word outranks the tagger's")
        )  # fmt: skip
    instrumental = fields["is_instrumental"].value
    lyrics = section.lyrics
    if instrumental is True:
        fill("lyrics", "[Instrumental]", vocals.confidence)
    elif instrumental is False and lyrics is not None and lyrics.text:
        where = f"tagger/faster-whisper:{lyrics.model}"
        fill("lyrics", lyrics.text, 0.5, where)
        code = language_code(lyrics.language) if lyrics.language else None
        fill("vocal_language", code, lyrics.language_probability or 0.5, where)
