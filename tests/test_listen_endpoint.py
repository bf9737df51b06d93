"""The hf-endpoint backend against a local server that runs the generated ``handler.py``
the way Hugging Face Inference Endpoints do, with the tiny model."""

from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import numpy as np
import pytest
from local_http import LocalServer, send_json

pytest.importorskip("torch")
pytest.importorskip("transformers")

from linernotes.http import HttpClient
from linernotes.listen import ListenError, ListenSettings, listen_to_track, make_backend
from linernotes.listen.audio import MODEL_SR, Clip, wav_bytes
from linernotes.listen.backends.hf_endpoint import HFEndpointBackend
from linernotes.listen.endpoint import write_endpoint_template
from linernotes.listen.prompts import PromptLibrary

pytest_plugins = ["listen_fixtures"]
TOKEN = "hf_test_token_never_printed"


class EndpointServer(LocalServer):
    """Serves ``EndpointHandler`` like the Inference Endpoints toolkit: JSON bodies as they
    are, raw ``audio/*`` bodies as ``{"inputs": bytes, "parameters": query}``, an exception as
    400 ``{"error": ...}``; a bearer token is required; ``unavailable`` answers 503 first (an
    endpoint scaled to zero)."""

    def __init__(self, handler_file: Path, model_dir: Path) -> None:
        spec = importlib.util.spec_from_file_location("endpoint_handler_under_test", handler_file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self.handler = module.EndpointHandler(str(model_dir))
        self.unavailable = 0
        self.calls = 0
        self.bodies: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                server.calls += 1
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._send(401, {"error": "Authorization header is invalid"})
                if server.unavailable:
                    server.unavailable -= 1
                    return self._send(503, {"error": "endpoint is initializing"})
                if self.headers.get("Content-Type", "").startswith("audio/"):
                    query = dict(parse_qsl(urlsplit(self.path).query))
                    data = {"inputs": body, "parameters": query}
                else:
                    data = json.loads(body)
                    server.bodies.append(data)
                try:
                    result = server.handler(data)
                except Exception as exc:  # the toolkit's behaviour
                    return self._send(400, {"error": str(exc)})
                return self._send(200, result)

            def _send(self, status: int, payload: object) -> None:
                send_json(self, status, payload)

        super().__init__(Handler)
        self.url += "/"


@pytest.fixture(scope="module")
def template_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("endpoint")
    written = write_endpoint_template(out)
    assert [p.name for p in written] == ["handler.py", "requirements.txt", "linernotes"]
    return out


@pytest.fixture(scope="module")
def endpoint(template_dir, tiny_model_dirs):
    server = EndpointServer(template_dir / "handler.py", tiny_model_dirs["mf"])
    yield server
    server.close()


@pytest.fixture(scope="module")
def af3_endpoint(template_dir, tiny_model_dirs):
    server = EndpointServer(template_dir / "handler.py", tiny_model_dirs["af3"])
    yield server
    server.close()


def _client(delays: list[float]) -> HttpClient:
    return HttpClient(max_retries=3, base_delay_s=2.0, secrets=(TOKEN,), sleep=delays.append)


def test_template_files(template_dir):
    from packaging.requirements import Requirement

    from linernotes.listen.backends.transformers_compat import TRANSFORMERS_SPEC

    requirements = (template_dir / "requirements.txt").read_text()
    assert TRANSFORMERS_SPEC in requirements.splitlines() and "av>=" in requirements
    # pip keeps an installed transformers only if the requirement admits it: the floor
    # excludes the releases the handler cannot run on
    spec = next(
        Requirement(line).specifier
        for line in requirements.splitlines()
        if line.startswith("transformers")
    )
    assert "5.9.0" not in spec and "5.5.0" not in spec and "6.0.0" not in spec
    assert "5.10.1" in spec and "5.25.0" in spec
    assert "peft" in requirements and "accelerate" in requirements
    handler = (template_dir / "handler.py").read_text()
    assert "class EndpointHandler" in handler and "def __call__(self, data)" in handler
    assert "non-commercial" in handler
    # the copy of linernotes beside handler.py is what the endpoint imports
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import linernotes.listen.endpoint as e; print(e.__file__)"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe, str(template_dir)],
        capture_output=True,
        text=True,
        check=True,
        cwd=template_dir.parent,
    ).stdout.strip()
    assert Path(found).resolve().is_relative_to(template_dir.resolve())


def test_client_against_the_handler_matches_local_backend(endpoint, tiny_backends, noise_16k):
    prompts = PromptLibrary().select("caption,quality")
    prompts = [
        p.model_copy(update={"generation": p.generation.merged(max_new_tokens=5, min_new_tokens=5)})
        for p in prompts
    ]
    delays: list[float] = []
    endpoint.unavailable = 1  # scaled to zero: the first call is a 503
    backend = HFEndpointBackend(endpoint.url, token=TOKEN, client=_client(delays))
    endpoint.calls = 0
    section = listen_to_track(noise_16k, backend, prompts, measured={"bpm": 100.0})
    # the identity question (503, then answered) before the cache key, then the track
    assert len(delays) == 1 and endpoint.calls == 3
    local = tiny_backends["mf"]
    assert section.backend == "hf-endpoint"
    assert section.model_id == local.model_id and section.revision == local.revision
    expected = listen_to_track(noise_16k, local, prompts, measured={"bpm": 100.0})
    for name in ("caption", "quality"):
        assert section.entries[name].raw_text == expected.entries[name].raw_text
    assert section.entries["quality"].context_given
    assert TOKEN not in section.model_dump_json()


def test_raw_audio_body_with_query_prompt(endpoint, tmp_path):
    from linernotes.audio.encode import write_audio

    tone = 0.2 * np.sin(2 * np.pi * 220 * np.arange(44100 * 2) / 44100)
    path = tmp_path / "tone.flac"
    write_audio(path, np.stack([tone, tone]), 44100)
    response = httpx.post(
        endpoint.url,
        params={"prompt": "Which instruments?", "max_new_tokens": "3"},
        content=path.read_bytes(),
        headers={"Content-Type": "audio/flac", "Authorization": f"Bearer {TOKEN}"},
        timeout=60,
    )
    assert response.status_code == 200
    out = response.json()["outputs"][0]
    assert out["prompt_id"].startswith("custom-")
    assert out["audio"]["duration_s"] == pytest.approx(2.0, abs=0.05)  # decoded at 16 kHz


def test_handler_errors_become_clear_client_errors(endpoint):
    delays: list[float] = []
    backend = HFEndpointBackend(endpoint.url, token=TOKEN, client=_client(delays))
    body = backend.request_body("not base64!!", [PromptLibrary().get("brief").render()])
    with pytest.raises(ListenError, match=r"HTTP 400 .*not base64-encoded audio"):
        backend.http.post_json(endpoint.url, body, headers=backend._headers(), what="endpoint")
    wrong = HFEndpointBackend(endpoint.url, token="hf_wrong", client=_client(delays))
    clip = Clip(np.zeros(MODEL_SR, dtype=np.float32))
    with pytest.raises(ListenError, match=r"HTTP 401 .*Authorization header is invalid"):
        wrong.generate(clip, [PromptLibrary().get("brief").render()])
    assert delays == []
    assert io.BytesIO(wav_bytes(clip)).read(4) == b"RIFF"


def test_settings_read_hf_token(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    settings = ListenSettings.load(backend="hf-endpoint", endpoint_url="https://x.endpoints/")
    backend = make_backend(settings)
    assert isinstance(backend, HFEndpointBackend) and backend._token == TOKEN
    assert TOKEN not in repr(settings) and TOKEN not in json.dumps(settings.public())
    with pytest.raises(ListenError, match="--endpoint-url"):
        make_backend(ListenSettings.load(backend="hf-endpoint"))


def test_endpoint_template_command(tmp_path, capsys):
    from linernotes.cli.main import main

    assert main(["endpoint-template", str(tmp_path / "ep"), "--no-vendor"]) == 0
    assert sorted(p.name for p in (tmp_path / "ep").iterdir()) == ["handler.py", "requirements.txt"]
    assert "non-commercial" in capsys.readouterr().err


def test_identity_is_known_before_the_first_track(
    endpoint, af3_endpoint, tiny_model_dirs, noise_16k
):
    """Two endpoints serving different models share one cache: the second one's first track
    is not served the first one's answers, and its first track already gets its own cap
    (20 min for Music Flamingo, not the 10 min assumed for an unknown model)."""
    from linernotes.listen import MemoryListenCache

    prompts = [
        p.model_copy(update={"generation": p.generation.merged(max_new_tokens=3, min_new_tokens=3)})
        for p in PromptLibrary().select("very_brief")
    ]
    cache = MemoryListenCache()
    af3 = HFEndpointBackend(af3_endpoint.url, token=TOKEN, client=_client([]))
    first = listen_to_track(noise_16k, af3, prompts, cache=cache)
    assert first.model_id == str(tiny_model_dirs["af3"]) and af3.max_seconds == 600.0
    mf = HFEndpointBackend(endpoint.url, token=TOKEN, client=_client([]))
    endpoint.bodies.clear()
    assert mf.max_seconds == 1200.0  # asked before any audio is sent
    assert endpoint.bodies == [{"inputs": "", "parameters": {"describe": True}}]
    section = listen_to_track(noise_16k, mf, prompts, cache=cache)
    entry = section.entries["very_brief"]
    assert section.model_id == str(tiny_model_dirs["mf"]) and not entry.cached
    assert entry.audio.max_seconds == 1200.0
    assert [b["parameters"].get("describe") for b in endpoint.bodies] == [True, None]
    again = listen_to_track(noise_16k, mf, prompts, cache=cache)
    assert again.entries["very_brief"].cached and len(endpoint.bodies) == 2


def test_model_id_given_must_match_and_stands_in_for_an_older_handler(endpoint, tiny_model_dirs):
    wrong = HFEndpointBackend(
        endpoint.url, token=TOKEN, model_id="nvidia/audio-flamingo-3-hf", client=_client([])
    )
    with pytest.raises(ListenError, match=r"serves .* not the model given"):
        wrong.describe()
    served = str(tiny_model_dirs["mf"])
    right = HFEndpointBackend(endpoint.url, token=TOKEN, model_id=served, client=_client([]))
    assert right.describe()["model_id"] == served and right.revision.startswith("local-")

    # a handler from an older template rejects the question (HTTP 400)
    handler = endpoint.handler

    def older(data):
        if (data.get("parameters") or {}).get("describe"):
            raise ValueError("parameters must hold 'prompts' (a list) or 'prompt' (a text)")
        return handler(data)

    endpoint.handler = older
    try:
        unknown = HFEndpointBackend(endpoint.url, token=TOKEN, client=_client([]))
        with pytest.raises(ListenError, match=r"HTTP 400 .*cannot say which model.*--model"):
            unknown.describe()
        given = HFEndpointBackend(
            endpoint.url,
            token=TOKEN,
            model_id="nvidia/music-flamingo-2601-hf",
            client=_client([]),
        )
        assert given.max_seconds == 1200.0 and given.describe()["revision"] is None
    finally:
        endpoint.handler = handler


def test_settings_pass_only_a_model_id_the_user_gave(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    url = "https://x.endpoints/"
    assert (
        make_backend(ListenSettings.load(backend="hf-endpoint", endpoint_url=url)).expected_model
        is None
    )
    given = ListenSettings.load(backend="hf-endpoint", endpoint_url=url, model="nvidia/x")
    assert make_backend(given).expected_model == "nvidia/x"
    monkeypatch.setenv("LINERNOTES_MODEL", "nvidia/y")
    from_env = ListenSettings.load(backend="hf-endpoint", endpoint_url=url)
    assert make_backend(from_env).expected_model == "nvidia/y"
