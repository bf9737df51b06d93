"""Lyrics through faster-whisper (a tiny random Whisper built offline, loaded the way a real
one is) and the up-front checks of ``--listen``'s backend."""

from __future__ import annotations

import http.server
import importlib.util
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from whisper_fixture import build_tiny_whisper

from linernotes.cli import main
from linernotes.errors import ListenError
from linernotes.listen.audio import decode_file
from linernotes.listen.choose import resolve_backend
from linernotes.listen.cpu.describe import CpuListenerModels, describe_clip
from linernotes.listen.cpu.lyrics import LyricsError, LyricsTranscriber
from linernotes.listen.cpu.tagger import MusicnnTagger
from linernotes.listen.reach import check_hub_model, check_reachable
from linernotes.listen.settings import ListenSettings

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TEXT = "twinkle twinkle little star how I wonder what you are"


@pytest.fixture(scope="module")
def tiny_whisper(tmp_path_factory) -> Path:
    pytest.importorskip("faster_whisper")
    pytest.importorskip("transformers")
    return build_tiny_whisper(tmp_path_factory.mktemp("whisper"))


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> np.ndarray:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.skip("espeak-ng is not installed")
    wav = tmp_path_factory.mktemp("voice") / "voice.wav"
    subprocess.run([espeak, "-w", str(wav), "-s", "130", TEXT], check=True)
    return decode_file(wav).samples


def test_voice_activity_filter_keeps_a_random_whisper_off_music(tiny_whisper):
    transcriber = LyricsTranscriber(str(tiny_whisper))
    music = decode_file(EXAMPLES / "band_120bpm_4-4_A-minor.mp3").samples
    ungated, _ = transcriber.model.transcribe(music, vad_filter=False, beam_size=1,
                                              condition_on_previous_text=False)  # fmt: skip
    assert [s.text for s in ungated]  # the model invents text when nothing gates it
    result = transcriber.transcribe(music, spans=[(0.0, 20.0)])
    assert result.lines == [] and result.text == "" and result.skipped


def test_voice_is_transcribed_with_language_and_timestamps(tiny_whisper, speech):
    transcriber = LyricsTranscriber(str(tiny_whisper))
    duration = speech.shape[0] / 16000
    result = transcriber.transcribe(speech, spans=[(0.0, duration)])
    assert result.lines and result.language == "en" and result.model == str(tiny_whisper)
    for line in result.lines:
        assert 0.0 <= line.start_s < line.end_s <= duration + 1.0 and line.text
    assert transcriber.transcribe(speech, spans=[(duration + 10, duration + 20)]).lines == []


def test_lyrics_only_where_the_tagger_or_the_stem_hears_a_voice(tiny_whisper, speech):
    models = CpuListenerModels(MusicnnTagger(), LyricsTranscriber(str(tiny_whisper)))
    music = decode_file(EXAMPLES / "electronic_128bpm_4-4_F-minor.opus").samples
    instrumental = describe_clip(music, models)
    assert instrumental.vocals.is_instrumental and instrumental.lyrics is None
    stem = np.zeros_like(music)
    stem[16000 : 16000 + speech.shape[0]] = speech[: music.shape[0] - 16000]
    sung = describe_clip(music + 0.5 * stem, models, vocal_stem=stem)
    assert not sung.vocals.is_instrumental and "vocal stem" in sung.vocals.sources
    assert sung.lyrics is not None and sung.lyrics.lines
    assert "With" in sung.caption.text and "Instrumental" not in sung.caption.text


def test_unloadable_lyrics_model_fails_once_with_its_name(tmp_path):
    # without the lyrics extra (the floor venv) the reason is the missing package
    installed = importlib.util.find_spec("faster_whisper") is not None
    reason = "cannot load lyrics model" if installed else "lyrics need faster-whisper"
    transcriber = LyricsTranscriber(str(tmp_path))  # a folder without a model
    with pytest.raises(LyricsError, match=reason):
        _ = transcriber.model
    start = time.perf_counter()
    with pytest.raises(LyricsError):
        _ = transcriber.model
    assert time.perf_counter() - start < 0.1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_backend_choice(monkeypatch):
    monkeypatch.setattr("linernotes.listen.choose.gpu_available", lambda: False)
    assert resolve_backend(ListenSettings()) == "cpu"
    assert resolve_backend(ListenSettings(base_url="http://box:8000/v1")) == "openai"
    assert resolve_backend(ListenSettings(endpoint_url="https://e.example")) == "hf-endpoint"
    assert resolve_backend(ListenSettings(model="/models/mf")) == "transformers"
    assert resolve_backend(ListenSettings(backend="cpu", base_url="http://b/v1")) == "cpu"
    monkeypatch.setattr("linernotes.listen.choose.gpu_available", lambda: True)
    assert resolve_backend(ListenSettings()) == "transformers"


def test_unreachable_server_stops_the_batch_at_once(tmp_path, capsys):
    track = tmp_path / "a.flac"
    track.write_bytes((EXAMPLES / "piano_84bpm_4-4_E-minor.flac").read_bytes())
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    start = time.perf_counter()
    assert main(["analyze", str(track), "--listen", "--base-url", url, "-q"]) == 1
    assert time.perf_counter() - start < 10
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "model server unreachable" in err[0] and url in err[0]
    assert not (tmp_path / "a.linernotes.json").exists()


def test_reachable_server_passes(monkeypatch):
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"data": [{"id": "nvidia/audio-flamingo-3-hf"}]}')

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        check_reachable(ListenSettings(base_url=url), "openai")
    finally:
        server.shutdown()
    assert seen == ["/v1/models"]


def test_uncached_hub_model_without_a_hub_fails_fast(monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(ListenError, match="not in the local cache and the hub cannot be"):
        check_hub_model("nvidia/not-a-cached-model")
