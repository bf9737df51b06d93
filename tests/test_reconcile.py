"""Reconcile: measured wins for bpm/key/meter/duration, every disagreement recorded,
half/double decided with the model's felt tempo, text normalised, edits on top."""

from __future__ import annotations

import pytest
from test_reconcile_fixtures import listen_section, measured_record

from linernotes.models import Edit
from linernotes.reconcile import ReconcileOptions, reconcile
from linernotes.reconcile.fields import parse_value
from linernotes.reconcile.normalize import (
    canonical_key,
    canonical_time_signature,
    clean_caption,
    clean_tags,
    language_code,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Am", "A minor"),
        ("f#min", "F# minor"),
        ("F# minor", "F# minor"),
        ("Bb", "Bb major"),
        ("E-flat major", "Eb major"),
        ("C sharp minor", "C# minor"),
        ("G#m", "G# minor"),
        ("DM", "D major"),
        ("hello", None),
        ("", None),
    ],
)
def test_canonical_key(text, expected):
    assert canonical_key(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("4/4", "4/4"), ("4", "4/4"), (3, "3/4"), ("6", "6/8"), ("3/4 time", "3/4"),
     ("7/8", "7/8"), ("waltz", None), ("4/5", None)],
)  # fmt: skip
def test_canonical_time_signature(text, expected):
    assert canonical_time_signature(text) == expected


def test_language_codes_and_tags():
    assert language_code("English") == "en"
    assert language_code("pt-BR") == "pt"
    assert language_code("Cantonese") == "yue"
    assert language_code("eng") == "en"
    assert language_code("Klingon") is None
    assert language_code("unknown") is None
    tags = clean_tags(["Hip Hop, Lofi", "Genre: Jazz / Synth", "jazz", "  R and B. "])
    assert tags == ["hip-hop", "lo-fi", "jazz", "synthesizer", "r&b"]


def test_caption_loses_tempo_and_key_sentences():
    text = "A mellow lofi beat at 90 BPM. It is in the key of A minor. Warm keys and vinyl."
    assert clean_caption(text) == "A mellow lofi beat. Warm keys and vinyl."
    assert clean_caption("a guitar song with hand claps, 128 BPM") == (
        "a guitar song with hand claps"
    )
    assert clean_caption("Moody synth pop at 120 BPM in A minor, 4/4.") == "Moody synth pop."
    long = " ".join(["Dreamy pads drift slowly."] * 60)
    assert len(clean_caption(long).split()) <= 150
    assert clean_caption("   ") is None


def test_model_tempo_disagreement_recorded_and_measured_wins():
    record = measured_record(bpm=128.0, key="C major")
    record.listen = listen_section({"caption": "An upbeat house track at around 120 BPM."})
    final = reconcile(record)
    assert final.value("bpm") == 128.0
    assert final.fields["bpm"].provenance == "measured"
    (conflict,) = [c for c in final.conflicts if c.field == "bpm"]
    assert (conflict.chosen, conflict.other) == (128.0, 120.0)
    assert conflict.chosen_source == "measured" and conflict.other_source == "model"
    assert conflict.other_origin == "caption"
    assert "measured" in conflict.reason
    assert "bpm" in final.review
    assert final.tempo_decision.relation == "primary"
    assert final.tempo_decision.model_bpm == 120.0


def test_model_key_disagreement_recorded_as_relative():
    record = measured_record(bpm=128.0, key="C major")
    record.listen = listen_section({"technical": "The song is in A minor, 4/4 time."})
    final = reconcile(record)
    assert final.value("key") == "C major"
    (conflict,) = [c for c in final.conflicts if c.field == "key"]
    assert conflict.other == "A minor" and conflict.chosen == "C major"
    assert "relative" in conflict.reason
    assert "key" in final.review
    assert not [c for c in final.conflicts if c.field == "time_signature"]


def test_meter_disagreement_recorded():
    record = measured_record(time_signature="6/8")
    record.listen = listen_section({"technical": "A gentle waltz in 3/4 time."})
    final = reconcile(record)
    assert final.value("time_signature") == "6/8"
    (conflict,) = [c for c in final.conflicts if c.field == "time_signature"]
    assert conflict.other == "3/4"
    assert "bar length" in conflict.reason
    assert "time_signature" in final.review


def test_felt_tempo_picks_the_measured_double():
    record = measured_record(bpm=70.0, key="D major")
    record.listen = listen_section({"caption": "Fast drum and bass at 140 BPM."})
    final = reconcile(record)
    assert final.value("bpm") == 140.0
    decision = final.tempo_decision
    assert decision.relation == "double"
    assert (decision.measured_bpm, decision.chosen_bpm, decision.model_bpm) == (70, 140, 140)
    assert "double" in final.fields["bpm"].note
    bpm_conflicts = [c for c in final.conflicts if c.field == "bpm"]
    assert [(c.chosen, c.other, c.other_source) for c in bpm_conflicts] == [
        (140.0, 70.0, "measured")
    ]


def test_felt_tempo_uses_the_analyzer_half_reading():
    candidates = [
        {"bpm": 160.0, "score": 1.0, "relation": "primary"},
        {"bpm": 80.4, "score": 0.9, "relation": "half"},
    ]
    record = measured_record(bpm=160.0, candidates=candidates)
    record.listen = listen_section({"brief": "A laid-back groove, about 80 bpm."})
    final = reconcile(record)
    assert final.value("bpm") == 80.4
    assert final.tempo_decision.relation == "half"


def test_agreement_gives_no_conflict_and_no_review():
    record = measured_record(bpm=120.0, key="A minor", confidence=0.97)
    record.listen = listen_section(
        {
            "caption": "Moody synth pop at 120 BPM in A minor.",
            "genre_mood_inst": "Genre: Synth Pop, Electronic\nMood: Moody, dark\n"
            "Instruments: synth, drum machine, female vocal",
            "lyrics": "[Verse 1]\nNeon lights\n[Chorus]\nWe run",
        }
    )
    final = reconcile(record)
    assert final.conflicts == []
    assert final.tempo_decision.relation == "primary"
    for name in ("bpm", "key", "time_signature", "duration"):
        assert not final.fields[name].review
    assert final.value("genres") == ["synth pop", "electronic"]
    assert final.value("moods") == ["moody", "dark"]
    assert final.value("instruments") == ["synthesizer", "drum machine", "female vocals"]
    assert final.value("is_instrumental") is False
    assert final.value("lyrics").startswith("[Verse 1]")
    assert final.fields["genres"].provenance == "model"
    assert final.structured_by == "rules"


def test_low_confidence_measurement_is_flagged():
    final = reconcile(measured_record(confidence=0.2))
    assert {"bpm", "key", "time_signature"} <= set(final.review)


def test_text_fields_from_tags_language_and_instrumental():
    record = measured_record()
    record.listen = listen_section(
        {
            "caption": "Bright flamenco guitar with handclaps; the vocals are sung in Spanish.",
            "tags": "flamenco, rumba, guitar, handclaps, happy, male vocals, 2000s",
        }
    )
    final = reconcile(record)
    assert final.value("vocal_language") == "es"
    assert final.value("genres") == ["flamenco", "rumba", "handclaps"]
    assert final.value("moods") == ["happy"]
    assert "guitar" in final.value("instruments")
    assert final.value("is_instrumental") is False

    record.listen = listen_section(
        {"caption": "A calm piano piece sung in English.", "lyrics": "[Instrumental]"}
    )
    final = reconcile(record)
    assert final.value("is_instrumental") is True
    assert final.value("lyrics") == "[Instrumental]"
    assert final.value("vocal_language") is None


def test_without_listening_nothing_is_invented():
    final = reconcile(measured_record(tags={"artist": "Ada", "title": "Night"}))
    assert final.value("caption") is None
    assert final.fields["caption"].provenance == "default"
    assert "caption" in final.review and "genres" in final.review
    assert final.value("title") == "Night" and final.fields["title"].provenance == "tags"
    assert final.value("duration") == 20.0


def test_silence_keeps_null_and_records_unused_claims():
    record = measured_record(bpm=None, key=None, time_signature=None)
    record.listen = listen_section({"caption": "Ambient drone at 90 BPM in D minor."})
    final = reconcile(record)
    assert final.value("bpm") is None and final.value("key") is None
    reasons = {c.field: c.reason for c in final.conflicts}
    assert "not used" in reasons["bpm"] and "not used" in reasons["key"]


def test_human_edit_wins_and_is_recorded():
    record = measured_record(bpm=128.0)
    edits = {
        "bpm": Edit(content_hash="a" * 64, field="bpm", value=parse_value("bpm", "64"),
                    locked=True, author="ana"),
        "key": Edit(content_hash="a" * 64, field="key", value=parse_value("key", "Am"),
                    author="ana"),
    }  # fmt: skip
    final = reconcile(record, edits)
    assert final.value("bpm") == 64.0 and final.fields["bpm"].locked
    assert final.fields["bpm"].provenance == "human" and final.fields["bpm"].confidence == 1.0
    assert final.value("key") == "A minor" and not final.fields["key"].locked
    human = {c.field: c for c in final.conflicts if c.chosen_source == "human"}
    assert human["bpm"].other == 128.0 and "locked" in human["bpm"].reason
    assert "bpm" not in final.review and "key" not in final.review


def test_parse_value_refuses_bad_values():
    assert parse_value("time_signature", "4") == "4/4"
    assert parse_value("genres", "Rock, Hip Hop") == ["rock", "hip-hop"]
    assert parse_value("is_instrumental", "yes") is True
    assert parse_value("caption", "") is None
    for name, value in [
        ("bpm", "fast"),
        ("bpm", "900"),
        ("key", "H minor"),
        ("vocal_language", "Klingon"),
        ("nope", "1"),
        ("time_signature", "x"),
    ]:
        with pytest.raises(ValueError):
            parse_value(name, value)  # fmt: skip


def test_reconcile_is_pure_and_hints_pass_through():
    record = measured_record()
    before = record.model_dump()
    final = reconcile(record, options=ReconcileOptions(hints={"artist": "Hint Artist"}))
    assert record.model_dump() == before
    assert final.hints["artist"] == "Hint Artist"
    assert final.value("artist") == "Hint Artist"


def test_reconcile_on_an_analysed_synthetic_song(tmp_path, song_120_a_minor):
    from linernotes.audio.encode import write_audio
    from linernotes.pipeline import analyze_file

    y, sr = song_120_a_minor
    path = tmp_path / "song.flac"
    write_audio(path, y, sr)
    record = analyze_file(path)
    record.listen = listen_section(
        {"caption": "Clicks and organ chords at 120 BPM in C major, 4/4."}
    )
    final = reconcile(record)
    assert final.value("bpm") == pytest.approx(120.0, abs=1.0)
    assert final.value("key") == "A minor"
    assert final.value("time_signature") == "4/4"
    assert final.value("duration") == pytest.approx(20.0, abs=0.1)
    (key_conflict,) = [c for c in final.conflicts if c.field == "key"]
    assert key_conflict.other == "C major" and "relative" in key_conflict.reason
    assert not [c for c in final.conflicts if c.field in ("bpm", "time_signature")]
