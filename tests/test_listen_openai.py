"""The openai backend against a local server speaking the chat-completions protocol."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
import wave
from http.server import BaseHTTPRequestHandler

import numpy as np
import pytest
from local_http import LocalServer, send_json

from linernotes.http import HttpClient, redact_url
from linernotes.listen import ListenError, ListenSettings, listen_to_track, make_backend
from linernotes.listen.backends.openai import OpenAIBackend
from linernotes.listen.prompts import PromptLibrary
from linernotes.quality.model_score import model_quality

SECRET = "sk-test-do-not-print-0123456789"
QUALITY_REPLY = """Here is my assessment:
```json
{'genre': 'synth-pop', 'tempo': 'fast, around 128 BPM', 'key': 'F minor', 'instruments':
 'synths, drums', 'production_style': 'polished', 'mood': 'N/A', 'content_usefulness': 0.8,
 'production_quality': 0.9, 'content_enjoyment': 0.7, 'production_complexity': 0.6,
 'overall_recommendation_score': 0.75,}
```
Hope this helps!"""


#: Sampling parameters a vLLM server fills in from the checkpoint's generation_config when a
#: request leaves them out (``--generation-config auto``, its default): AF3's.
AF3_GENERATION_CONFIG = {"temperature": 0.7, "top_p": 0.8, "top_k": 20, "repetition_penalty": 1.05}
#: vLLM's own defaults for the rest (SamplingParams).
VLLM_DEFAULTS = {"min_p": 0.0, "min_tokens": 0, "presence_penalty": 0.0, "frequency_penalty": 0.0}
#: The types vLLM's request model accepts for the sampling fields.
SAMPLING_TYPES = {
    "temperature": float, "top_p": float, "top_k": int, "min_p": float, "repetition_penalty": float,
    "presence_penalty": float, "frequency_penalty": float, "max_tokens": int, "min_tokens": int,
    "seed": int,
}  # fmt: skip


class FakeOpenAI(LocalServer):
    """A chat-completions server on 127.0.0.1 that follows a script of answers. Like vLLM it
    rejects a sampling field of the wrong type (400) and decodes with the checkpoint's
    defaults where a request leaves a field out: ``effective`` records what it would use."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, str], object, float]] = []
        self.requests: list[dict] = []
        self.effective: list[dict] = []
        self.headers: list[dict[str, str]] = []
        self.reply = "A calm piano piece."
        self.delay = 0.0
        self.in_flight = 0
        self.max_in_flight = 0
        #: Answers wait (up to 5 s) until this many requests have been in flight at once, so
        #: a concurrency test does not depend on how fast a loaded machine sends them.
        self.await_in_flight = 0
        self.lock = threading.Condition()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with fake.lock:
                    fake.requests.append(body)
                    fake.effective.append(
                        {**VLLM_DEFAULTS, **AF3_GENERATION_CONFIG}
                        | {k: body[k] for k in SAMPLING_TYPES if k in body}
                    )
                    fake.headers.append(dict(self.headers))
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                    fake.lock.notify_all()
                    step = fake.script.pop(0) if fake.script else None
                    fake.lock.wait_for(
                        lambda: fake.max_in_flight >= fake.await_in_flight, timeout=5.0
                    )
                wrong = [
                    k
                    for k, kind in SAMPLING_TYPES.items()
                    if k in body and not isinstance(body[k], (kind, int) if kind is float else kind)
                ]
                try:
                    if self.path != "/v1/chat/completions":
                        self._send(404, {}, {"error": {"message": f"no route {self.path}"}})
                    elif wrong:
                        self._send(400, {}, {"error": {"message": f"invalid {wrong}"}})
                    elif step is not None:
                        status, headers, payload, delay = step
                        time.sleep(delay)
                        self._send(status, headers, payload)
                    else:
                        time.sleep(fake.delay)
                        self._send(200, {}, fake.completion(body))
                finally:
                    with fake.lock:
                        fake.in_flight -= 1

            def _send(self, status: int, headers: dict[str, str], payload: object) -> None:
                send_json(self, status, payload, headers)  # the timeout test's client gives up

        super().__init__(Handler)
        self.base_url = self.url + "/v1"

    def completion(self, body: dict) -> dict:
        text = next(p["text"] for p in body["messages"][-1]["content"] if p["type"] == "text")
        reply = QUALITY_REPLY if "JSON" in text else self.reply
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 900, "completion_tokens": 12, "total_tokens": 912},
        }


@pytest.fixture
def server():
    fake = FakeOpenAI()
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def tone() -> np.ndarray:
    t = np.arange(44100 * 2) / 44100
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def backend_for(server: FakeOpenAI, delays: list[float], **kwargs) -> OpenAIBackend:
    client_kwargs = {
        k: kwargs.pop(k) for k in ("timeout_s", "max_retries", "base_delay_s") if k in kwargs
    }
    client = HttpClient(
        concurrency=kwargs.get("concurrency", 4),
        secrets=(SECRET,),
        sleep=delays.append,
        **{"max_retries": 3, "base_delay_s": 1.0, **client_kwargs},
    )
    return OpenAIBackend(
        server.base_url, "nvidia/audio-flamingo-3-hf", api_key=SECRET, client=client, **kwargs
    )


def test_success_sends_wav_audio_and_parses_answers(server, tone):
    delays: list[float] = []
    backend = backend_for(server, delays)
    section = listen_to_track(
        tone, backend, "brief,quality", sample_rate=44100, measured={"bpm": 128.0}
    )
    assert section.entries["brief"].raw_text == "A calm piano piece."
    quality = section.entries["quality"]
    assert quality.context_given and quality.parse_error is None
    assert quality.parsed["production_quality"] == 0.9 and "mood" not in quality.parsed
    assert model_quality(quality.parsed).score == pytest.approx(0.775)
    assert quality.claims["bpm"] == 128.0 and quality.claims["key"] == "F minor"
    assert quality.info["usage"]["completion_tokens"] == 12
    assert len(server.requests) == 2 and delays == []
    request = server.requests[0]
    assert request["model"] == "nvidia/audio-flamingo-3-hf" and request["temperature"] == 0.0
    audio_part = request["messages"][-1]["content"][0]
    assert audio_part["type"] == "input_audio" and audio_part["input_audio"]["format"] == "wav"
    with wave.open(io.BytesIO(base64.b64decode(audio_part["input_audio"]["data"]))) as w:
        assert (w.getframerate(), w.getnchannels(), w.getnframes()) == (16000, 1, 32000)
    assert server.headers[0]["Authorization"] == f"Bearer {SECRET}"
    assert SECRET not in section.model_dump_json()


def test_mp3_audio_and_concurrency_limit(server, tone):
    server.delay = 0.05
    server.await_in_flight = 2
    backend = backend_for(server, [], audio_format="mp3", concurrency=2)
    prompts = [
        p.render() for p in PromptLibrary().select("brief,very_brief,tags,caption,technical")
    ]
    outputs = backend.generate(tone, prompts, sample_rate=44100)
    assert len(outputs) == 5 and server.max_in_flight == 2
    data = base64.b64decode(server.requests[0]["messages"][-1]["content"][0]["input_audio"]["data"])
    assert server.requests[0]["messages"][-1]["content"][0]["input_audio"]["format"] == "mp3"
    assert data[:3] == b"ID3" or data[0] == 0xFF


def test_429_then_success_honours_retry_after(server, tone):
    server.script = [(429, {"Retry-After": "7"}, {"error": {"message": "slow down"}}, 0.0)]
    delays: list[float] = []
    out = backend_for(server, delays).generate(
        tone, [PromptLibrary().get("brief").render()], sample_rate=44100
    )
    assert out[0].text == "A calm piano piece." and delays == [7.0] and len(server.requests) == 2


def test_500s_are_retried_with_exponential_backoff(server, tone):
    server.script = [(500, {}, {"error": "boom"}, 0.0), (503, {}, b"busy", 0.0)]
    delays: list[float] = []
    out = backend_for(server, delays).generate(
        tone, [PromptLibrary().get("brief").render()], sample_rate=44100
    )
    assert out[0].text and len(server.requests) == 3
    assert 0.75 <= delays[0] <= 1.25 and 1.5 <= delays[1] <= 2.5


def test_persistent_500_gives_up_with_the_last_error(server, tone):
    server.script = [(500, {}, {"error": {"message": "CUDA out of memory"}}, 0.0)] * 4
    delays: list[float] = []
    with pytest.raises(ListenError, match=r"failed after 4 attempts: HTTP 500: CUDA out of memory"):
        backend_for(server, delays).generate(
            tone, [PromptLibrary().get("brief").render()], sample_rate=44100
        )
    assert len(delays) == 3


def test_400_is_a_clear_error_without_secrets(server, tone):
    echo = {"error": {"message": f"audio too long for model (key {SECRET})", "code": 400}}
    server.script = [(400, {}, echo, 0.0)]
    with pytest.raises(ListenError) as info:
        backend_for(server, []).generate(
            tone, [PromptLibrary().get("brief").render()], sample_rate=44100
        )
    message = str(info.value)
    assert "HTTP 400" in message and "audio too long for model" in message
    assert SECRET not in message and "***" in message and "'brief'" in message
    assert len(server.requests) == 1  # a 4xx is not retried


def test_timeout_is_retried_then_reported(server, tone):
    server.script = [(200, {}, {}, 1.0), (200, {}, {}, 1.0)]
    delays: list[float] = []
    backend = backend_for(server, delays, timeout_s=0.2, max_retries=1, base_delay_s=0.01)
    with pytest.raises(ListenError, match=r"failed after 2 attempts: timed out after 0.2 s"):
        backend.generate(tone, [PromptLibrary().get("brief").render()], sample_rate=44100)
    assert len(delays) == 1


def test_settings_build_the_backend_and_hide_the_key(server, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    settings = ListenSettings.load(backend="openai", base_url=server.base_url, model="af3")
    backend = make_backend(settings)
    assert isinstance(backend, OpenAIBackend) and backend.url.endswith("/v1/chat/completions")
    assert SECRET not in repr(settings) and SECRET not in json.dumps(settings.public())
    assert settings.public()["api_key_set"] is True
    assert redact_url("https://user:pw@host:8000/v1?key=x") == "https://host:8000/v1"


def test_missing_base_url_is_explained():
    with pytest.raises(ListenError, match="--base-url"):
        OpenAIBackend("", "af3")


def test_listen_command_against_the_server(server, tmp_path, monkeypatch, capsys):
    from linernotes.audio.encode import write_audio
    from linernotes.cli.main import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    path = tmp_path / "song.wav"
    write_audio(path, np.zeros((2, 44100), dtype=np.float32), 44100)
    assert (
        main(
            [
                "listen",
                str(path),
                "--backend",
                "openai",
                "--base-url",
                server.base_url,
                "--model",
                "af3",
                "--prompt",
                "Which instruments enter after the first chorus?",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "A calm piano piece." in out and SECRET not in out
    assert server.requests[0]["messages"][-1]["content"][1]["text"].startswith("Which instr")
    assert main(["listen", str(path), "--list-prompts"]) == 0
    assert "quality" in capsys.readouterr().out
    assert main(["listen", str(path), "--backend", "openai", "--prompts", "nope"]) == 1


def test_every_generation_parameter_is_sent_so_the_server_adds_none(server, tone):
    """The quality prompt asks for no repetition penalty: the server must not fall back to the
    checkpoint's 1.05; a greedy prompt decodes greedily, a sampling one with its own values
    and seed, whatever the checkpoint's defaults (what the transformers backend does too)."""
    from linernotes.listen.prompts import GenerationParams

    library = PromptLibrary()
    quality = library.get("quality").render()
    assert quality.generation.repetition_penalty == 1.0
    sampled = library.get("brief").render()
    sampled = sampled.model_copy(
        update={"generation": GenerationParams(do_sample=True, temperature=0.9, seed=7)}
    )
    backend_for(server, []).generate(tone, [quality, sampled], sample_rate=44100)
    by_prompt = {
        "JSON" in r["messages"][-1]["content"][1]["text"]: (r, e)
        for r, e in zip(server.requests, server.effective, strict=True)
    }
    request, used = by_prompt[True]
    assert used == {
        "temperature": 0.0, "top_p": 1.0, "top_k": -1, "min_p": 0.0, "repetition_penalty": 1.0,
        "min_tokens": 0, "presence_penalty": 0.0, "frequency_penalty": 0.0, "max_tokens": 300,
    }  # fmt: skip
    assert request["repeat_penalty"] == 1.0  # llama.cpp's name
    assert "seed" not in request
    request, used = by_prompt[False]
    assert used["temperature"] == 0.9 and used["seed"] == 7
    assert (used["top_p"], used["top_k"], used["repetition_penalty"]) == (1.0, -1, 1.0)
    assert used["max_tokens"] == 512
    # the same values the transformers backend decodes with
    explicit = sampled.generation.explicit()
    assert (explicit["top_p"], explicit["top_k"], explicit["repetition_penalty"]) == (1.0, 0, 1.0)
