"""Reply parsing on hand-written model replies: JSON repair, filler, claims, lyrics, fields."""

from __future__ import annotations

import pytest

from linernotes.claims import key_pitch_class, parse_claims
from linernotes.listen.backends.base import AudioUse, ListenOutput, SegmentText, plan_segments
from linernotes.listen.parse import clean_text, extract_json, parse_reply
from linernotes.listen.track import parse_output
from linernotes.quality.model_score import model_quality


@pytest.mark.parametrize(
    ("reply", "expected", "note"),
    [
        ('{"genre": "rock"}', {"genre": "rock"}, None),
        (
            'Sure!\n```json\n{"genre": "rock", "mood": "dark",}\n```\nHope it helps.',
            {"genre": "rock", "mood": "dark"},
            "trailing commas",
        ),
        (
            "Here: {'genre': 'jazz', 'mood': 'don't know', 'x': 0.5} -- done",
            {"genre": "jazz", "mood": "don't know", "x": 0.5},
            "single quotes",
        ),
        (
            '{genre: "pop", live: True, score: None}',
            {"genre": "pop", "live": True, "score": None},
            "unquoted keys",
        ),
        (
            '{"genre": "pop", "tempo": "fast", "content_usefulness": 0.9, "production_qua',
            {"genre": "pop", "tempo": "fast", "content_usefulness": 0.9},
            "truncated JSON was closed",
        ),
        (
            '{"genre": "pop", "instruments": ["guitar", "dru',
            {"genre": "pop", "instruments": ["guitar"]},
            "truncated JSON was closed",
        ),
        (
            '{"genre": "pop", "notes": "a \\"quoted\\" word"}',
            {"genre": "pop", "notes": 'a "quoted" word'},
            None,
        ),
    ],
)
def test_extract_json(reply, expected, note):
    value, notes = extract_json(reply)
    assert value == expected
    if note:
        assert note in notes


def test_extract_json_failure_keeps_the_reason():
    with pytest.raises(ValueError, match="no JSON object"):
        extract_json("The track is an upbeat pop song.")
    parsed = parse_reply("I cannot rate this track.", "json", "quality")
    assert parsed.data is None and "no JSON object" in parsed.error


def test_quality_scores_are_normalised_and_weighted():
    reply = (
        '```json\n{"Genre": "house", "tempo": "around 124 BPM", "key": "unknown", '
        '"instruments": ["kick", "bass"], "mood": "not provided", "content_usefulness": "80%",'
        ' "production_quality": 9, "content_enjoyment": 0.7, "production_complexity": 1.7e5,'
        ' "overall_recommendation_score": 0.6}\n```'
    )
    parsed = parse_reply(reply, "json", "quality")
    data = parsed.data
    assert data["genre"] == "house" and data["instruments"] == "kick, bass"
    assert "key" not in data and "mood" not in data  # filler dropped
    assert data["content_usefulness"] == 0.8 and data["production_quality"] == 0.9
    assert "production_complexity" not in data
    assert any("out of range" in n for n in parsed.notes)
    assert any("missing scores: production_complexity" in n for n in parsed.notes)
    weights = {"cu": 0.15 * 0.8, "pq": 0.30 * 0.9, "ce": 0.25 * 0.7, "or": 0.20 * 0.6}
    assert "overall_quality_score" not in data  # weighing the scores is quality's job:
    assert model_quality(data).score == pytest.approx(sum(weights.values()) / 0.9, abs=1e-4)
    assert parsed.claims["bpm"] == 124.0


def test_filler_and_repetition_are_cleaned():
    reply = (
        "An energetic rock song with distorted guitars. An energetic rock song with distorted "
        "guitars. Vocals: not provided. The key is not specified. N/A\n"
        "The drums drive the track. the drums drive the track. the drums drive the track."
    )
    assert clean_text(reply) == (
        "An energetic rock song with distorted guitars.\nThe drums drive the track."
    )
    assert clean_text("la la la la la la la la la la la la la la") == "la la"
    parsed = parse_reply(reply, "text")
    assert parsed.data == {"text": clean_text(reply)}
    assert parse_reply("unknown", "text").error == "empty reply"


@pytest.mark.parametrize(
    ("text", "claims"),
    [
        (
            "An upbeat track at around 120 BPM in the key of A minor, in 4/4.",
            {"bpm": 120.0, "key": "A minor", "time_signature": "4/4"},
        ),
        (
            "Key: F#m. Tempo 95, with a waltz feel.",
            {"bpm": 95.0, "key": "F# minor", "time_signature": "3/4"},
        ),
        (
            "It moves between 118-122 bpm in Bb major with a 6/8 lilt.",
            {"bpm": 120.0, "key": "Bb major", "time_signature": "6/8"},
        ),
        (
            "Played in E♭ major in common time at 72 beats per minute.",
            {"bpm": 72.0, "key": "Eb major", "time_signature": "4/4"},
        ),
        ("A major label release with a relaxed groove.", {}),
        ("No tempo is stated here.", {}),
    ],
)
def test_claims(text, claims):
    found = parse_claims(text)
    assert {k: found[k] for k in ("bpm", "key", "time_signature") if k in found} == claims
    for name in claims:
        assert found[f"{name}_text"]


def test_key_spellings_compare():
    assert key_pitch_class("A# minor") == key_pitch_class("Bb minor") == (10, "minor")


def test_lyrics_sections_and_instrumental():
    reply = "[Verse 1]\nWalking down the road\nSun is in my eyes\n\n[Chorus]\nOh oh\n"
    data = parse_reply(reply, "lyrics").data
    assert [s["tag"] for s in data["sections"]] == ["Verse 1", "Chorus"]
    assert data["sections"][0]["lines"] == ["Walking down the road", "Sun is in my eyes"]
    assert data["instrumental"] is False
    assert parse_reply("[Instrumental]", "lyrics").data["instrumental"] is True
    assert parse_reply(" instrumental. ", "lyrics").data["lyrics"] == "[Instrumental]"
    missing = parse_reply("The song has no clear words.", "lyrics")
    assert missing.data is None and "section tags" in missing.error


def test_fields_and_tags():
    reply = "Genre: synth-pop, electronic\nMood: dreamy; nostalgic\nInstruments: synths and drums"
    assert parse_reply(reply, "fields").data == {
        "genre": ["synth-pop", "electronic"],
        "mood": ["dreamy", "nostalgic"],
        "instruments": ["synths", "drums"],
    }
    assert parse_reply("Rock, Guitar, rock, 90s, N/A", "tags").data == {
        "tags": ["rock", "guitar", "90s"]
    }


def test_windowed_replies_are_parsed_per_segment_and_merged():
    use = AudioUse(duration_s=30, used_s=30, max_seconds=20, windows=2, policy="window")
    parts = [
        SegmentText(start_s=0, end_s=20, text='{"genre": "rock", "production_quality": 0.9}'),
        SegmentText(start_s=20, end_s=30, text='{"genre": "punk", "production_quality": 0.6}'),
    ]
    output = ListenOutput(prompt_id="quality", text="...", parts=parts, elapsed_s=1, audio=use)
    parsed = parse_output(output, "json", "quality")
    assert parsed.data["genre"] == "rock; punk"
    assert parsed.data["production_quality"] == pytest.approx(0.8)
    lyrics = [
        SegmentText(start_s=0, end_s=20, text="[Verse 1]\nhello"),
        SegmentText(start_s=20, end_s=30, text="[Chorus]\nworld"),
    ]
    output = ListenOutput(prompt_id="lyrics", text="...", parts=lyrics, elapsed_s=1, audio=use)
    data = parse_output(output, "lyrics", "lyrics").data
    assert [s["tag"] for s in data["sections"]] == ["Verse 1", "Chorus"]


def test_plan_segments():
    assert plan_segments(100, 600, "truncate") == [(0.0, 100)]
    assert plan_segments(700, 600, "truncate") == [(0.0, 600)]
    assert plan_segments(1300, 600, "window") == [
        (0.0, 433.333),
        (433.333, 866.667),
        (866.667, 1300),
    ]
