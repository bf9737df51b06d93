"""Review service speed: listing a 10,000-track library, and seeking in a 60-minute track.

Builds (once, under bench/.cache/serve/) a library of 10,000 tracks: tiny audio files, each
with a record cloned from one real analysis and given its own hash, tempo, key and
confidences; plus a 60-minute MP3 (44.1 kHz stereo, 128 kb/s) with its record. Then runs
``linernotes serve`` on it (the real command, loopback) and measures:

- the first index build (every record read and reconciled once);
- one page of the table (100 rows) over HTTP for several filters and sorts, also right after
  an edit made with ``linernotes edit`` (which the next page must show); baseline: one pass
  of ``linernotes review`` over the same library (what a tool without the index pays per
  look), timed in the same run;
- seeking in the 60-minute track in headless Chromium: from setting ``currentTime`` (and
  ``play()``) to the ``playing`` event, at several places; baseline: downloading the whole
  file, what seeking costs without HTTP Range.

Usage: bench/serve [--tracks N] [--seeks N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache" / "serve"


def build_library(root: Path, n_tracks: int) -> Path:
    """The 10,000-track library (made once; reused while ``n_tracks`` matches)."""
    from linernotes.audio.encode import write_audio
    from linernotes.pipeline import analyze_file

    marker = root / f".built-{n_tracks}"
    if marker.is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    sr = 22050
    t = np.arange(sr * 20) / sr
    clicks = (np.sin(2 * np.pi * 880 * t) * (np.mod(t, 0.5) < 0.03)).astype(np.float32)
    seed_audio = root / ".seed.wav"
    write_audio(seed_audio, 0.5 * clicks + 0.1 * np.sin(2 * np.pi * 220 * t), sr)
    template = json.loads(analyze_file(seed_audio).to_json())
    seed_audio.unlink()
    rng = np.random.default_rng(7)
    tiny = np.zeros(800, dtype=np.float32)
    keys = ["C major", "A minor", "F# minor", "Bb major", "E minor", "D major"]
    for i in range(n_tracks):
        folder = root / f"artist{i // 100:03d}"
        folder.mkdir(exist_ok=True)
        audio = folder / f"track{i:05d}.wav"
        if i < 2:
            write_audio(audio, tiny, 8000)
            wav_bytes = audio.read_bytes()
        else:
            audio.write_bytes(wav_bytes)
        record = json.loads(json.dumps(template))
        record["file"]["path"] = str(audio)
        record["file"]["content_hash"] = f"{i:064x}"
        summary = record["summary"]
        summary["bpm"] = round(float(rng.uniform(70, 170)), 2)
        summary["key"] = keys[i % len(keys)]
        for name in ("bpm", "key", "time_signature"):
            summary["confidence"][name] = round(float(rng.uniform(0.2, 1.0)), 4)
        record["analyses"]["rhythm"]["result"]["bpm"] = summary["bpm"]
        record["analyses"]["rhythm"]["result"]["bpm_confidence"] = summary["confidence"]["bpm"]
        record["final"] = None
        (folder / f"track{i:05d}.linernotes.json").write_text(json.dumps(record))
    marker.write_text("ok")
    return root


def store_records(root: Path) -> None:
    """A fresh library at ``root`` holding the record files' records (the service reads
    records from the library, as every command does)."""
    from linernotes.library.db import LibraryDB

    with LibraryDB(root / ".linernotes" / "library.db") as db:
        for sidecar in sorted(root.rglob("*.linernotes.json")):
            text = sidecar.read_text()
            file = json.loads(text)["file"]
            audio = Path(file["path"])
            db.put_record(audio.relative_to(root).as_posix(), file["content_hash"], text, audio)


def build_long_track(root: Path) -> Path:
    """A 60-minute 44.1 kHz stereo MP3 (tones and clicks) with its record."""
    from linernotes.fileio import content_hash

    audio = root / "long" / "sixty_minutes.mp3"
    record_path = audio.with_name("sixty_minutes.linernotes.json")
    if record_path.is_file():
        return audio
    audio.parent.mkdir(parents=True, exist_ok=True)
    lavfi = "sine=frequency=220:duration=3600,volume=0.3"
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            lavfi,
            "-ac",
            "2",
            "-ar",
            "44100",
            "-b:a",
            "128k",
            str(audio),
        ],
        check=True,
    )
    some = next(root.glob("artist000/*.linernotes.json"))
    record = json.loads(some.read_text())
    record["file"].update(
        path=str(audio),
        content_hash=content_hash(audio),
        codec="mp3float",
        format="mp3",
        duration=3600.0,
        size_bytes=audio.stat().st_size,
    )
    record["summary"]["duration"] = 3600.0
    beats = [round(0.5 * k, 3) for k in range(7200)]
    record["summary"]["beats"], record["summary"]["downbeats"] = beats, beats[::4]
    record_path.write_text(json.dumps(record))
    return audio


def serve(root: Path, port: int) -> subprocess.Popen[bytes]:
    linernotes = Path(sys.executable).with_name("linernotes")
    log = open(CACHE / "serve.log", "w")  # noqa: SIM115 - the server's whole life
    return subprocess.Popen([str(linernotes), "serve", str(root), "--port", str(port)], stderr=log)


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def bench_listing(client: httpx.Client, root: Path, n_tracks: int) -> None:
    start = time.perf_counter()
    while True:
        health = client.get("/health").json()
        if not health["indexing"]:
            break
        time.sleep(0.2)
    print(f"first index build: {time.perf_counter() - start:.1f} s for {health['tracks']} tracks")
    cases = {
        "least confident first": {},
        "needs review, bpm flagged": {"review": True, "field": "bpm"},
        "sorted by path, last page": {"sort": "path", "offset": n_tracks - 100},
        "text search": {"q": "artist042"},
        "quality below 0.9": {"quality_max": 0.9, "sort": "quality"},
    }
    worst = 0.0
    for name, params in cases.items():
        times = timed(lambda p=params: client.get("/api/tracks", params=p).raise_for_status(), 20)
        worst = max(worst, max(times))
        print(
            f"  page of 100, {name:28s} median {1000 * statistics.median(times):6.1f} ms"
            f"  max {1000 * max(times):6.1f} ms"
        )
    pick = min(700, n_tracks - 1)  # any track; 700 when the library has it
    track = root / f"artist{pick // 100:03d}" / f"track{pick:05d}.wav"
    subprocess.run(
        [
            Path(sys.executable).with_name("linernotes"),
            "edit",
            str(track),
            "bpm=99",
            "--author",
            "bench",
        ],
        check=True,
        capture_output=True,
    )
    start = time.perf_counter()
    page = client.get("/api/tracks", params={"q": track.name}).json()
    after_edit = time.perf_counter() - start
    assert page["items"][0]["bpm"] == 99.0, page["items"][0]
    print(f"  page right after a `linernotes edit` (shown at once)   {1000 * after_edit:6.1f} ms")
    start = time.perf_counter()
    subprocess.run(
        [Path(sys.executable).with_name("linernotes"), "review", str(root), "--json"],
        check=True,
        capture_output=True,
    )
    baseline = time.perf_counter() - start
    print(
        f"baseline: one `linernotes review` pass over the library: {baseline:.1f} s"
        f" -> the slowest page is {baseline / max(worst, after_edit):.0f}x faster;"
        f" target < 1 s per page: {'met' if max(worst, after_edit) < 1 else 'NOT met'}"
    )


def _seeks(driver, seeks: int) -> list[float]:
    """Seconds from a seek (``currentTime`` and ``play()``) to the ``playing`` event, at
    ``seeks`` places spread over the hour, last first (the player must exist)."""
    driver.execute_async_script("""
        const done = arguments[0], a = document.getElementById('player');
        if (a.readyState >= 1) done();
        else a.addEventListener('loadedmetadata', () => done());""")
    waits = []
    for target in [3599 * (k + 0.5) / seeks for k in range(seeks)][::-1]:
        waits.append(
            driver.execute_async_script(
                """
            const [t, done] = arguments, a = document.getElementById('player');
            a.pause();
            const start = performance.now();
            a.addEventListener('playing', () => { done((performance.now() - start) / 1000); },
                               {once: true});
            a.currentTime = t; a.play();""",
                target,
            )
        )
    return waits


def bench_seeking(url: str, audio: Path, seeks: int) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    sys.path.insert(0, str(HERE.parent / "tests"))
    from service_fixtures import HEADLESS_CHROMIUM

    options = webdriver.ChromeOptions()
    for flag in (
        *HEADLESS_CHROMIUM,
        f"--user-data-dir={tempfile.mkdtemp()}",
        "--autoplay-policy=no-user-gesture-required",
    ):
        options.add_argument(flag)
    options.binary_location = shutil.which("chromium") or "chromium"
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    driver.set_script_timeout(60)
    try:
        driver.get(f"{url}/#/track/long/sixty_minutes.mp3")
        time.sleep(1.0)
        waits = _seeks(driver, seeks)
        print(
            f"seek + start playback in a 60-minute MP3 (Chromium, track view, {seeks} places):"
            f" median {1000 * statistics.median(waits):.0f} ms, max {1000 * max(waits):.0f} ms;"
            f" target < 300 ms: {'met' if max(waits) < 0.3 else 'NOT met'}"
        )
        driver.get(f"{url}/health")
        driver.execute_script(
            "document.body.innerHTML = '<audio id=player preload=auto"
            " src=/api/tracks/long/sixty_minutes.mp3/audio></audio>'"
        )
        bare = _seeks(driver, seeks)
        print(
            f"  the same seeks on a bare <audio> element (server + Chromium's media pipeline,"
            f" no UI): median {1000 * statistics.median(bare):.0f} ms,"
            f" max {1000 * max(bare):.0f} ms"
        )
    finally:
        driver.quit()
    with httpx.Client(base_url=url, timeout=120) as client:
        start = time.perf_counter()
        client.get("/api/tracks/long/sixty_minutes.mp3/audio").raise_for_status()
        whole = time.perf_counter() - start
    size = audio.stat().st_size / 1e6
    print(
        f"baseline: downloading the whole file before seeking (no Range): {whole:.2f} s"
        f" for {size:.0f} MB (loopback; ~{size * 8 / 50:.0f} s at 50 Mb/s)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog=os.environ.get("LINERNOTES_BENCH_ARGV0", "bench/serve"))
    parser.add_argument("--tracks", type=int, default=10_000)
    parser.add_argument("--seeks", type=int, default=8)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    root = CACHE / "library"
    t0 = time.perf_counter()
    build_library(root, args.tracks)
    audio = build_long_track(root)
    print(
        f"library: {args.tracks} tracks + one 60-minute MP3 under {root}"
        f" (ready in {time.perf_counter() - t0:.0f} s)"
    )
    for old in [root / ".linernotes", *root.glob("*/.linernotes")]:  # no earlier edits
        shutil.rmtree(old, ignore_errors=True)
    store_records(root)
    server = serve(root, args.port)
    url = f"http://127.0.0.1:{args.port}"
    try:
        with httpx.Client(base_url=url, timeout=120) as client:
            for _ in range(1200):
                try:
                    client.get("/health")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            bench_listing(client, root, args.tracks)
        bench_seeking(url, audio, args.seeks)
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
