"""The review service's API over HTTP (a real uvicorn server on loopback): the track table,
one track, audio with Range, peaks, edits through the human layer the CLI uses (and the
other way round), version conflicts, bulk changes, uploads, jobs with SSE, export download."""

from __future__ import annotations

import io
import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from service_fixtures import analysed_library, free_port, live_server, upload_edits  # noqa: E402

from linernotes.service.security import ServeSettings  # noqa: E402


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    return analysed_library(tmp_path_factory.mktemp("service_api"))


@pytest.fixture(scope="module")
def client(library: Path):
    settings = ServeSettings(root=library, port=free_port(), rescan_s=0.5)
    with live_server(settings) as url, httpx.Client(base_url=url, timeout=30) as c:
        yield c


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "linernotes.cli", *argv], capture_output=True, text=True, check=True
    )


def test_table_filters_sorts_and_pages(client):
    page = client.get("/api/tracks").json()
    assert page["total"] == page["library_total"] == 4 and not page["indexing"]
    ids = [r["id"] for r in page["items"]]
    assert set(ids) == {"one.flac", "sub/two.mp3", "three.wav", "four.aiff"}
    confidences = [r["confidence"] for r in page["items"]]
    assert confidences == sorted(confidences)  # least confident first
    by_path = client.get("/api/tracks", params={"sort": "path", "desc": True}).json()["items"]
    assert [r["id"] for r in by_path] == sorted(ids, reverse=True)
    assert client.get("/api/tracks", params={"q": "TWO"}).json()["total"] == 1
    flagged = client.get("/api/tracks", params={"review": True, "field": "caption"}).json()
    assert flagged["total"] == 4 and all("caption" in r["flagged"] for r in flagged["items"])
    assert all("no_value" in r["flags"] for r in flagged["items"])
    second = client.get("/api/tracks", params={"sort": "path", "offset": 1, "limit": 2}).json()
    assert [r["id"] for r in second["items"]] == sorted(ids)[1:3]
    assert client.get("/api/tracks", params={"sort": "nonsense"}).status_code == 422


def test_track_view_has_fields_provenance_grid_and_etag(client):
    response = client.get("/api/tracks/sub/two.mp3")
    assert response.status_code == 200
    track = response.json()
    assert response.headers["etag"] == f'W/"{track["version"]}"'
    bpm = track["fields"]["bpm"]
    assert bpm["provenance"] == "measured" and 0 < bpm["confidence"] <= 1
    assert abs(bpm["value"] - 100) < 3
    assert track["beats"] and track["downbeats"] and track["field_order"][0] == "bpm"
    assert track["fields"]["title"]["provenance"] in ("tags", "default")
    near = client.get("/api/tracks/sub/two.mp3/neighbours", params={"sort": "path"}).json()
    assert near == {"prev_id": "one.flac", "next_id": "three.wav", "position": 2, "total": 4}
    assert client.get("/api/tracks/nothing.flac").status_code == 404


def test_audio_is_served_with_ranges_and_transcoded_when_browsers_cannot_play_it(client, library):
    full = client.get("/api/tracks/one.flac/audio")
    assert full.status_code == 200 and full.headers["accept-ranges"] == "bytes"
    assert full.content == (library / "one.flac").read_bytes()
    part = client.get("/api/tracks/one.flac/audio", headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206 and len(part.content) == 1000
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(full.content)}"
    assert part.content == full.content[1000:2000]
    beyond = client.get("/api/tracks/one.flac/audio", headers={"Range": "bytes=99999999-"})
    assert beyond.status_code == 416
    aiff = client.get("/api/tracks/four.aiff/audio", headers={"Range": "bytes=0-3"})
    assert aiff.status_code == 206 and aiff.content == b"fLaC"
    assert aiff.headers["content-type"] == "audio/flac"
    peaks = client.get("/api/tracks/one.flac/peaks").json()
    assert abs(peaks["duration"] - 8.0) < 0.1 and peaks["buckets"] == len(peaks["peaks"]) > 1000
    assert 0.05 < max(peaks["peaks"]) <= 1.0


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread niceness is Linux's")
def test_peaks_decode_once_in_a_low_priority_thread(library, tmp_path, monkeypatch):
    import os

    from linernotes.service import media

    decoded = []
    real = media.compute_peaks

    def spy(path, buckets):
        decoded.append((os.getpriority(os.PRIO_PROCESS, 0), threading.current_thread().name))
        return real(path, buckets)

    monkeypatch.setattr(media, "compute_peaks", spy)
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    first = media.peaks(library / "three.wav", "f" * 64, tmp_path, buckets=100)
    again = media.peaks(library / "three.wav", "f" * 64, tmp_path, buckets=100)
    assert first == again and first["buckets"] == 100 and max(first["peaks"]) > 0.05
    # decoded once, in its own thread, 10 steps nicer than the caller, who stays as it was
    assert decoded == [(min(19, mine + 10), "linernotes-peaks")]
    assert os.getpriority(os.PRIO_PROCESS, 0) == mine


def test_edits_share_the_cli_layer_both_ways(client, library):
    track = client.get("/api/tracks/one.flac").json()
    body = {"value": "Am", "author": "ana", "expected_version": track["fields"]["key"]["version"]}
    changed = client.put("/api/tracks/one.flac/fields/key", json=body).json()
    assert changed["fields"]["key"]["value"] == "A minor"
    assert changed["fields"]["key"]["provenance"] == "human"
    assert changed["fields"]["key"]["version"] == track["fields"]["key"]["version"] + 1
    history = cli("history", str(library / "one.flac"), "--json").stdout.splitlines()
    assert json.loads(history[-1])["author"] == "ana"
    shown = json.loads(cli("show", str(library / "one.flac"), "--json").stdout)
    assert shown["final"]["fields"]["key"]["value"] == "A minor"
    # ... and an edit with the CLI shows in the service at once
    cli("edit", str(library / "three.wav"), "genres=Lo Fi, jazz", "--author", "bo")
    view = client.get("/api/tracks/three.wav").json()
    assert view["fields"]["genres"]["value"] == ["lo-fi", "jazz"]
    row = next(r for r in client.get("/api/tracks").json()["items"] if r["id"] == "three.wav")
    assert "genres" in row["human"] and "genres" not in row["flagged"]
    bad = dict(body, value="H minor", expected_version=changed["fields"]["key"]["version"])
    refused = client.put("/api/tracks/one.flac/fields/key", json=bad)
    assert refused.status_code == 422 and "not a key" in refused.json()["detail"][0]["msg"]


def test_concurrent_edits_of_one_field_conflict_instead_of_overwriting(client):
    version = client.get("/api/tracks/sub/two.mp3").json()["fields"]["bpm"]["version"]
    results: dict[str, httpx.Response] = {}

    def edit(who: str, bpm: float) -> None:
        with httpx.Client(base_url=str(client.base_url), timeout=30) as own:
            body = {"value": bpm, "author": who, "expected_version": version}
            results[who] = own.put("/api/tracks/sub/two.mp3/fields/bpm", json=body)

    threads = [threading.Thread(target=edit, args=a) for a in (("ana", 200.0), ("bo", 50.0))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results.values())
    assert codes == [200, 409]
    winner = next(w for w, r in results.items() if r.status_code == 200)
    loser = results["bo" if winner == "ana" else "ana"].json()
    assert loser["field"] == "bpm" and loser["current"]["origin"] == winner
    assert loser["current"]["value"] == (200.0 if winner == "ana" else 50.0)
    assert loser["current"]["version"] == version + 1
    final = client.get("/api/tracks/sub/two.mp3").json()["fields"]["bpm"]
    assert final["origin"] == winner  # the loser's value was never written


def test_lock_accept_reject_and_undo(client):
    def field(name):
        return client.get("/api/tracks/three.wav").json()["fields"][name]

    def post(name, action, **body):
        body.setdefault("expected_version", field(name)["version"])
        return client.post(f"/api/tracks/three.wav/fields/{name}/{action}", json=body)

    measured = field("bpm")["value"]
    locked = post("bpm", "lock", locked=True, author="cy").json()["fields"]["bpm"]
    assert locked["locked"] and locked["value"] == measured and locked["provenance"] == "human"
    half = round(measured / 2, 3)
    picked = post("bpm", "accept", value=half, author="cy").json()["fields"]["bpm"]
    assert picked["value"] == half and not picked["locked"]
    assert post("key", "reject", author="cy").json()["fields"]["key"]["value"] is None
    assert post("key", "undo").json()["fields"]["key"]["provenance"] == "measured"
    assert post("key", "undo").status_code == 409  # nothing left to undo
    stale = post("bpm", "undo", expected_version=0)
    assert stale.status_code == 409 and stale.json()["current"]["value"] == half


def test_bulk_changes_on_a_selection(client):
    before = {r["id"]: r for r in client.get("/api/tracks").json()["items"]}
    ids = ["one.flac", "four.aiff"]
    result = client.post("/api/bulk", json={"ids": ids, "op": "bpm_double", "author": "dj"})
    assert sorted(result.json()["changed"]) == sorted(ids)
    after = {r["id"]: r for r in client.get("/api/tracks").json()["items"]}
    for i in ids:
        assert after[i]["bpm"] == pytest.approx(before[i]["bpm"] * 2, abs=0.01)
    body = {"ids": ids, "op": "set", "field": "language", "value": "French", "author": "dj"}
    assert client.post("/api/bulk", json=body).json()["changed"] == ids
    assert client.get("/api/tracks/one.flac").json()["fields"]["vocal_language"]["value"] == "fr"
    everything = list(before)
    accepted = client.post("/api/bulk", json={"ids": everything, "op": "accept_all"}).json()
    assert sorted(accepted["changed"] + accepted["unchanged"]) == sorted(everything)
    for track_id in everything:  # what stays flagged has no value to accept
        track = client.get(f"/api/tracks/{track_id}").json()
        assert all(track["fields"][f]["value"] is None for f in track["review"])
    too_fast = client.post("/api/bulk", json={"ids": ["one.flac"], "op": "bpm_double"}).json()
    while not too_fast["errors"]:  # doubled again and again until outside 20..400
        too_fast = client.post("/api/bulk", json={"ids": ["one.flac"], "op": "bpm_double"}).json()
    assert "outside" in too_fast["errors"]["one.flac"]


def test_edits_file_upload(client, library):
    csv = b"File,BPM,Key\nsub/two.mp3,101,Dm\n"
    ok = upload_edits(client, csv, name="edits.csv")
    assert ok.json() == {"imported": 2, "tracks": 1, "problems": []}
    assert client.get("/api/tracks/sub/two.mp3").json()["fields"]["key"]["value"] == "D minor"
    outside = b"File,BPM\n../../etc/passwd,100\nsub/two.mp3,nope\n"
    refused = upload_edits(client, outside).json()
    assert refused["imported"] == 0 and len(refused["problems"]) == 2
    wrong = upload_edits(client, b"MZ", content_type="application/octet-stream")
    assert wrong.status_code == 415
    named = upload_edits(client, b"a,b\n", name="e.exe")
    assert named.status_code == 422
    assert not list(library.glob(".linernotes-import-*"))


def test_export_job_streams_progress_and_downloads(client):
    job = client.post("/api/jobs", json={"kind": "export", "formats": ["ace-step", "table"]})
    assert job.status_code == 202
    job_id = job.json()["id"]
    events = []
    with client.stream("GET", f"/api/jobs/{job_id}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("event: "):
                events.append(line[7:])
    assert events[0] == "progress" and events[-2:] == ["state", "end"]
    state = client.get(f"/api/jobs/{job_id}").json()
    assert state["state"] == "done", state["message"]
    archive = zipfile.ZipFile(io.BytesIO(client.get(state["download_url"]).content))
    names = archive.namelist()
    assert any(n.startswith("ace-step/") and n.endswith(".json") for n in names)
    assert any(n.startswith("table/") for n in names)
    assert not any(n.endswith((".flac", ".mp3", ".wav")) for n in names)


@pytest.mark.parametrize("sigint_ignored", [False, True])
def test_a_job_can_be_cancelled(tmp_path, sigint_ignored):
    """A running job is cancelled, however loaded the machine: the test holds the library
    database's write lock, so once the job has announced its tracks it waits at its first
    write and cannot finish before the cancel arrives; the lock is let go once the cancel is
    sent, and the job stops at the next step. (A track that is a named pipe no longer holds
    a job: only regular files are opened, a FIFO gets a reason at once.)

    Also when the server ignores SIGINT (started in the background of a shell script), which
    its job workers inherit: the worker listens for the cancel all the same."""
    library = analysed_library(tmp_path)
    settings = ServeSettings(root=library, port=free_port(), rescan_s=0.5)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if sigint_ignored else None
    try:
        state = _cancel_a_running_job(library, settings)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    assert state["state"] == "cancelled"


def _cancel_a_running_job(library: Path, settings: ServeSettings) -> dict:
    """Start an analysis job, cancel it while it waits at its first write, and return its
    final state."""
    with live_server(settings) as url, httpx.Client(base_url=url, timeout=30) as c:
        holder = sqlite3.connect(library / ".linernotes" / "library.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # the job's first write waits for this
        try:
            job = c.post("/api/jobs", json={"kind": "analyze", "force": True}).json()
            deadline = time.monotonic() + 60
            while "tracks" not in (state := c.get(f"/api/jobs/{job['id']}").json())["message"]:
                assert state["state"] == "running" and time.monotonic() < deadline
                time.sleep(0.05)
            assert state["state"] == "running"
            assert c.post("/api/jobs", json={"kind": "crops"}).status_code == 409  # one at a time
            c.post(f"/api/jobs/{job['id']}/cancel")
        finally:
            holder.execute("COMMIT")
            holder.close()
        deadline = time.monotonic() + 60
        while (state := c.get(f"/api/jobs/{job['id']}").json())["state"] == "running":
            assert time.monotonic() < deadline
            time.sleep(0.2)
    return state


def test_health_and_vocabulary(client, library):
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["root"] == str(library)
    assert not health["token_required"]
    vocab = client.get("/api/vocabulary").json()
    assert len(vocab["keys"]) == 24 and "F# minor" in vocab["keys"]
    assert "6/8" in vocab["time_signatures"] and vocab["languages"]["fr"] == "French"
    assert "/api/tracks" in client.get("/openapi.json").json()["paths"]
    assert client.get("/docs").status_code == 200


def test_a_subfolder_is_served_from_its_library(library):
    """Serving a folder inside the library: the library is found above it, tracks keep their
    names relative to the library root, edits reach the one library, and the served folder
    gets no ``.linernotes`` of its own (which would make it a stray library)."""
    sub = library / "sub"
    settings = ServeSettings(root=sub, port=free_port(), rescan_s=0.5)
    with live_server(settings) as url, httpx.Client(base_url=url, timeout=30) as c:
        assert [r["id"] for r in c.get("/api/tracks").json()["items"]] == ["sub/two.mp3"]
        assert c.get("/api/tracks/sub/two.mp3/peaks").status_code == 200
        version = c.get("/api/tracks/sub/two.mp3").json()["fields"]["key"]["version"]
        body = {"value": "D minor", "author": "sub", "expected_version": version}
        assert c.put("/api/tracks/sub/two.mp3/fields/key", json=body).status_code == 200
    assert not (sub / ".linernotes").exists()
    shown = json.loads(cli("show", str(sub / "two.mp3"), "--json").stdout)
    assert shown["final"]["fields"]["key"]["value"] == "D minor"
    written = json.loads((sub / "two.linernotes.json").read_text())  # the record file too
    assert written["final"]["fields"]["key"]["value"] == "D minor"


def test_every_source_a_record_can_name_is_a_provenance_the_service_can_show():
    # the CPU listener's fields carry provenance "tagger": the service once rejected it and
    # could not show a track the demo had listened to
    from typing import get_args

    from linernotes.models.final import Source
    from linernotes.service.schemas import FieldOut

    for source in get_args(Source):
        assert FieldOut(name="genres", provenance=source).provenance == source
