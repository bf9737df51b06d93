"""Metadata lookup: tags first, then a MusicBrainz recording search against a local server
answering in the real ``/ws/2/recording?fmt=json`` shape (and, when told to, as MusicBrainz
does when it is down or rate-limiting: 503 with its JSON error), candidates scored by duration
(0.5), year (0.3) and artist (0.2)."""

from __future__ import annotations

import itertools
import json
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import pytest
from local_http import LocalServer, send_json
from test_reconcile_fixtures import measured_record

from linernotes.reconcile import ReconcileOptions, reconcile
from linernotes.reconcile.musicbrainz import (
    MusicBrainzError,
    MusicBrainzLookup,
    query_terms,
    score_candidate,
)


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


#: What MusicBrainz answers a client over its rate limit (HTTP 503).
RATE_LIMITED = {"error": "Your requests are exceeding the allowable rate limit. Please see"
                " https://wiki.musicbrainz.org/MusicBrainz_API/Rate_Limiting for more"
                " information."}  # fmt: skip


class MBServer(LocalServer):
    """``/ws/2/recording`` on 127.0.0.1: ``script`` answers first (status, headers, body),
    then the recordings; ``down`` answers 503 to everything. Each request's arrival time and
    query are kept in ``seen``."""

    def __init__(self) -> None:
        self.seen: list[dict] = []
        self.script: list[tuple[int, dict[str, str], dict]] = []
        self.down = False
        mb = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                mb.seen.append({"path": parts.path, "query": parse_qs(parts.query),
                                "agent": self.headers.get("User-Agent"),
                                "at": time.monotonic()})  # fmt: skip
                if mb.script:
                    status, headers, body = mb.script.pop(0)
                    send_json(self, status, body, headers)
                elif mb.down:
                    send_json(self, 503, RATE_LIMITED)
                else:
                    send_json(self, 200, {"created": "2026-01-01T00:00:00.000Z",
                                          "count": len(RECORDINGS), "offset": 0,
                                          "recordings": RECORDINGS})  # fmt: skip

            def log_message(self, *args) -> None:
                pass

        super().__init__(Handler)


@pytest.fixture
def mb():
    server = MBServer()
    yield server
    server.close()


@pytest.fixture
def mb_server(mb):
    return mb.url, mb.seen


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


def test_no_match_is_not_a_failure(mb_server):
    url, _ = mb_server
    record = measured_record(duration=200.0, path="/music/untitled.mp3")
    lookup = MusicBrainzLookup(base_url=url, min_interval_s=0.0)
    assert lookup(record) is None and lookup.failures == []


def test_unreachable_service_is_a_failure():
    record = measured_record(duration=200.0, path="/music/Ada Lane - Night Drive.mp3")
    delays: list[float] = []
    lookup = MusicBrainzLookup(base_url="http://127.0.0.1:9", min_interval_s=0.0, timeout_s=2,
                               max_retries=1, sleep=delays.append)  # fmt: skip
    with pytest.raises(MusicBrainzError, match="failed after 2 attempts: connection failed"):
        lookup.find(record)
    assert lookup(record) is None  # in a batch: recorded, and the batch carries on
    assert lookup.failures[0][0] == "/music/Ada Lane - Night Drive.mp3"
    assert "connection failed" in lookup.failures[0][1]


def test_rate_limiting_is_retried_after_the_time_the_service_asks(mb):
    record = measured_record(duration=201.5, path="/music/Ada Lane - Night Drive.mp3")
    mb.script = [(503, {"Retry-After": "3"}, RATE_LIMITED), (503, {}, RATE_LIMITED)]
    delays: list[float] = []
    lookup = MusicBrainzLookup(base_url=mb.url, min_interval_s=0.0, sleep=delays.append)
    assert lookup(record).recording_id == "single" and lookup.failures == []
    assert len(mb.seen) == 3
    assert delays[0] == 3.0 and 1.5 <= delays[1] <= 2.5  # Retry-After, then backoff


def test_a_service_that_stays_down_is_reported_and_no_longer_asked(mb):
    mb.down = True
    lookup = MusicBrainzLookup(base_url=mb.url, min_interval_s=0.0, max_retries=2,
                               sleep=lambda s: None)  # fmt: skip
    records = [measured_record(duration=200.0, path=f"/music/Ada Lane - Song {i}.mp3")
               for i in range(5)]  # fmt: skip
    assert [lookup(r) for r in records] == [None] * 5
    assert len(mb.seen) == 9  # 3 tracks x 3 attempts, then no more asking
    reasons = [reason for _, reason in lookup.failures]
    assert len(reasons) == 5
    assert all("failed after 3 attempts: HTTP 503: Your requests are exceeding" in r
               for r in reasons[:3])  # fmt: skip
    assert reasons[3].startswith("not asked after 3 failures in a row: ")


def test_requests_are_spaced_by_the_rate_limit_retries_included(mb):
    records = [measured_record(duration=201.5, path="/music/Ada Lane - Night Drive.mp3")] * 2
    mb.script = [(503, {}, RATE_LIMITED)]
    lookup = MusicBrainzLookup(base_url=mb.url, min_interval_s=0.25, base_delay_s=0.001)
    assert [lookup(r).recording_id for r in records] == ["single", "single"]
    starts = [request["at"] for request in mb.seen]
    assert len(starts) == 3
    assert min(b - a for a, b in itertools.pairwise(starts)) >= 0.24
    assert MusicBrainzLookup().http.min_interval_s == 1.0  # MusicBrainz's one per second


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


def test_export_cli_reports_a_failed_lookup(mb, tmp_path, monkeypatch, song_120_a_minor, capsys):
    from test_edits import run_cli

    from linernotes.audio.encode import write_audio
    from linernotes.library import analyze_paths

    monkeypatch.delenv("LINERNOTES_DB", raising=False)
    mb.down = True
    y, sr = song_120_a_minor
    folder = tmp_path / "lib"
    folder.mkdir()
    write_audio(folder / "Ada Lane - Night Drive.flac", y[:, : sr * 8], sr)
    assert analyze_paths([folder]).exit_code == 0
    monkeypatch.setattr("time.sleep", lambda s: None)  # the backoff, not waited for here
    out = tmp_path / "out"
    argv = ["export", str(folder), "--to", "audiocraft", "--out", str(out), "--lookup",
            "--musicbrainz-url", mb.url]  # fmt: skip
    assert run_cli(argv) == 1
    assert "lookup failed: " in capsys.readouterr().err
    assert (out / "audiocraft" / "Ada Lane - Night Drive.json").exists()  # exported anyway
