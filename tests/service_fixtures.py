"""Helpers for the review-service tests: a small analysed library (made once per session,
copied for each test module so edits never leak between modules) and a real uvicorn server
on a free loopback port."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from synth import click_track, progression

from linernotes.audio.encode import write_audio

_MASTER: dict[str, Path] = {}


#: Chromium flags for a headless run in a container, without background traffic (the browser
#: test and ``bench/serve``'s seek timing).
HEADLESS_CHROMIUM = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def _song(bpm: float, seconds: float, tonic: int, sr: int = 22050) -> np.ndarray:
    clicks, _ = click_track(bpm, seconds, sr, beats_per_bar=4)
    harmony = progression(tonic, "minor", 60.0 / bpm * 4, sr, repeats=8)[: clicks.shape[0]]
    harmony = np.pad(harmony, (0, clicks.shape[0] - harmony.shape[0]))
    mono = clicks + harmony
    return np.stack([mono, 0.9 * mono])


def analysed_library(base: Path) -> Path:
    """A copy of a library of four short analysed tracks: ``one.flac`` (120 BPM),
    ``sub/two.mp3`` (100 BPM), ``three.wav`` and ``four.aiff`` (PCM big-endian, a
    container Chromium cannot play). Analysed once per session; each call copies it."""
    from linernotes.library import analyze_paths

    if "master" not in _MASTER:
        master = base / "master" / "music"
        (master / "sub").mkdir(parents=True)
        sr = 22050
        tags = {"artist": "linernotes tests"}
        write_audio(master / "one.flac", _song(120.0, 8.0, 9), sr, tags={**tags, "title": "One"})
        write_audio(
            master / "sub" / "two.mp3", _song(100.0, 8.0, 2), sr, tags={**tags, "title": "Two"}
        )
        write_audio(master / "three.wav", _song(90.0, 6.0, 4), sr)
        write_audio(master / "four.aiff", _song(128.0, 6.0, 7), sr, codec="pcm_s16be")
        report = analyze_paths([master], db_path=master / ".linernotes" / "library.db")
        assert report.exit_code == 0, [o.reason for o in report.outcomes]
        _MASTER["master"] = master
    copy = base / f"library{len(_MASTER)}" / "music"
    _MASTER[str(copy)] = copy
    shutil.copytree(_MASTER["master"], copy, symlinks=True)
    for record in copy.rglob("*.linernotes.json"):  # records name their audio by path
        record.write_text(record.read_text().replace(str(_MASTER["master"]), str(copy)))
    return copy


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(settings, chat=None) -> Iterator[str]:
    """Serve ``create_app(settings, chat=chat)`` with uvicorn in a thread; yields the base
    URL (always reached over 127.0.0.1, whatever address is bound)."""
    import uvicorn

    from linernotes.service.app import create_app

    app = create_app(settings, chat=chat)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    service = app.state.service
    while service.index.indexing and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{settings.port}"
    finally:
        server.should_exit = True
        thread.join(10)


def upload_edits(client, content: bytes, *, name: str = "e.csv", content_type: str = "text/csv"):
    """POST ``content`` to ``/api/edits/import`` as the browser's file upload does (``client``:
    a FastAPI ``TestClient`` or an ``httpx.Client`` on a live server)."""
    return client.post(
        "/api/edits/import",
        params={"name": name},
        content=content,
        headers={"Content-Type": content_type},
    )
