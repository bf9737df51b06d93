"""Metadata lookup: tags first, then a MusicBrainz recording search against a local server
answering in the real ``/ws/2/recording?fmt=json`` shape, candidates scored by duration
(0.5), year (0.3) and artist (0.2)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from json_server import JsonServer, Request
from test_reconcile_fixtures import measured_record

from linernotes.reconcile import ReconcileOptions, reconcile
from linernotes.reconcile.musicbrainz import MusicBrainzLookup, query_terms, score_candidate


def recording(rid, title, artist, length_ms, date):
    return {
        "id": rid,
        "score": 100,
        "title": title,
        "length": length_ms,
        "artist-credit": [{"name": artist, "artist": {"id": "a-" + rid, "name": artist}}],
        "first-release-date": date,
        "releases": [{"id": "r-" + rid, "title": f"{title} (single)", "date": date}],
    }


RECORDINGS = [
    recording("live", "Night Drive", "Ada Lane", 312000, "2019-03-01"),  # live: 5 min
    recording("single", "Night Drive", "Ada Lane", 201000, "2018-06-01"),  # 3:21
    recording("cover", "Night Drive", "Someone Else", 200000, "2021-01-01"),
]


@pytest.fixture
def mb_server():
    seen: list[dict] = []

    def respond(request: Request) -> tuple[int, dict]:
        parts = urlsplit(request.path)
        seen.append({"path": parts.path, "query": parse_qs(parts.query),
                     "agent": request.headers.get("User-Agent")})  # fmt: skip
        return 200, {"created": "2026-01-01T00:00:00.000Z", "count": len(RECORDINGS),
                     "offset": 0, "recordings": RECORDINGS}  # fmt: skip

    with JsonServer(respond) as server:
        yield server.url, seen


def test_scoring_weights():
    score, parts = score_candidate(RECORDINGS[1], artist="Ada Lane", year=2018, duration=200.0)
    assert parts == {"duration": 1.0, "year": 1.0, "artist": 1.0} and score == 1.0
    score, parts = score_candidate(RECORDINGS[0], artist="Ada Lane", year=2018, duration=200.0)
    assert parts["duration"] == 0.0 and parts["year"] == 0.5  # 112 s too long, a year off
    assert score == pytest.approx(0.3 * 0.5 + 0.2)
    score, _ = score_candidate(RECORDINGS[2], artist="Ada Lane", year=None, duration=200.0)
    assert score < 0.6


def test_lookup_fills_missing_title_from_musicbrainz(mb_server):
    url, seen = mb_server
    record = measured_record(duration=201.5, path="/music/Ada Lane - Night Drive.mp3")
    assert query_terms(record) == ("Ada Lane", "Night Drive", None)
    match = MusicBrainzLookup(base_url=url, min_interval_s=0.0)(record)
    assert match.recording_id == "single"
    assert match.year == 2018 and match.album == "Night Drive (single)"
    (request,) = seen
    assert request["path"] == "/ws/2/recording"
    assert request["query"]["fmt"] == ["json"]
    assert request["query"]["query"] == ['recording:"Night Drive" AND artist:"Ada Lane"']
    assert request["agent"].startswith("linernotes/")
    final = reconcile(record, options=ReconcileOptions(lookup=match))
    assert final.value("title") == "Night Drive"
    assert final.fields["title"].provenance == "lookup"
    assert final.fields["title"].origin == "musicbrainz:single"
    assert final.lookup["recording_id"] == "single"


def test_embedded_tags_win_over_the_lookup(mb_server):
    url, _ = mb_server
    record = measured_record(duration=200.0, tags={"artist": "Ada Lane", "title": "Night Drive"})
    match = MusicBrainzLookup(base_url=url, min_interval_s=0.0)(record)
    match = match.model_copy(update={"title": "Night Drive (Radio Edit)", "artist": "Ada L."})
    final = reconcile(record, options=ReconcileOptions(lookup=match))
    assert final.value("title") == "Night Drive" and final.fields["title"].provenance == "tags"
    conflicts = {c.field: c for c in final.conflicts}
    assert conflicts["title"].other == "Night Drive (Radio Edit)"
    assert conflicts["title"].chosen_source == "tags"


def test_no_match_and_unreachable_service():
    record = measured_record(duration=200.0, path="/music/untitled.mp3")
    lookup = MusicBrainzLookup(base_url="http://127.0.0.1:9", min_interval_s=0.0, timeout_s=2)
    assert lookup(record) is None


def test_export_cli_lookup(mb_server, tmp_path, monkeypatch, song_120_a_minor):
    from test_edits import run_cli

    from linernotes.audio.encode import write_audio
    from linernotes.library import analyze_paths

    monkeypatch.delenv("LINERNOTES_DB", raising=False)
    url, seen = mb_server
    monkeypatch.setitem(RECORDINGS[1], "length", 8000)
    y, sr = song_120_a_minor
    folder = tmp_path / "lib"
    folder.mkdir()
    write_audio(folder / "Ada Lane - Night Drive.flac", y[:, : sr * 8], sr)
    assert analyze_paths([folder]).exit_code == 0
    out = tmp_path / "out"
    argv = ["export", str(folder), "--to", "audiocraft", "--out", str(out), "--lookup",
            "--musicbrainz-url", url]  # fmt: skip
    assert run_cli(argv) == 0
    info = json.loads((out / "audiocraft" / "Ada Lane - Night Drive.json").read_text())
    assert (info["title"], info["artist"]) == ("Night Drive", "Ada Lane")
    assert len(seen) == 1
