"""Any OpenAI-compatible ``/v1/chat/completions`` server: vLLM (Audio Flamingo 3, the Music
Flamingo preview; Music Flamingo 2601 only up to vLLM 0.24) or llama.cpp's ``llama-server``
with an ``--mmproj`` (AF3 / MF preview, experimental audio).

The track is sent once per prompt as an ``input_audio`` content part (base64 WAV, or MP3 for
slow links; the encoding is made once per track), prompts run concurrently up to a limit, and
failures follow :mod:`linernotes.http`. The served weights are licensed for
non-commercial use only.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import SecretStr

from linernotes.http import HttpClient, join_url
from linernotes.listen.audio import Clip, mp3_bytes, wav_bytes
from linernotes.listen.backends.base import (
    THINK_SUFFIX,
    Generation,
    ListenBackend,
    ListenError,
    LongAudioPolicy,
)
from linernotes.listen.prompts import GenerationParams, RenderedPrompt


def _secret(value: SecretStr | str | None) -> str | None:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return value


def completion_params(params: GenerationParams) -> dict[str, Any]:
    """Every generation parameter in the chat-completions vocabulary, each sent explicitly
    (:meth:`~linernotes.listen.prompts.GenerationParams.explicit`): a value left out is filled
    by the server from the checkpoint's ``generation_config`` (vLLM: AF3's repetition penalty
    of 1.05) or its own defaults (llama.cpp: ``min_p`` 0.05), and the prompt would decode
    differently than on the transformers backend. Greedy is temperature 0. ``top_k``,
    ``min_p``, ``repetition_penalty`` and ``min_tokens`` are vLLM's extra parameters (``top_k``
    -1: no limit), ``repeat_penalty`` llama.cpp's name for the penalty; vLLM and llama.cpp
    accept ``top_k`` and both ignore the other's names.

    >>> completion_params(GenerationParams(max_new_tokens=64))["repetition_penalty"]
    1.0
    """
    values = params.explicit()
    out: dict[str, Any] = {
        "max_tokens": values["max_new_tokens"],
        "min_tokens": values["min_new_tokens"],
        "temperature": values["temperature"] if values["do_sample"] else 0.0,
        "top_p": values["top_p"],
        "top_k": values["top_k"] or -1,
        "min_p": 0.0,
        "presence_penalty": 0.0,
        "frequency_penalty": 0.0,
        "repetition_penalty": values["repetition_penalty"],
        "repeat_penalty": values["repetition_penalty"],
    }
    if values.get("seed") is not None:
        out["seed"] = values["seed"]
    return out


class OpenAIBackend(ListenBackend):
    """Chat completions with audio over HTTP (non-commercial weights on the server)."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model_id: str,
        *,
        api_key: SecretStr | str | None = None,
        audio_format: str = "wav",
        timeout_s: float = 300.0,
        max_retries: int = 5,
        concurrency: int = 4,
        long_audio: LongAudioPolicy = "truncate",
        max_seconds: float | None = None,
        think: bool = False,
        client: HttpClient | None = None,
    ) -> None:
        if not base_url:
            raise ListenError("the openai backend needs --base-url (e.g. http://gpu-box:8000/v1)")
        if audio_format not in ("wav", "mp3"):
            raise ListenError(f"audio format must be wav or mp3, not {audio_format!r}")
        super().__init__(
            model_id,
            variant="think" if think else None,
            long_audio=long_audio,
            max_seconds=max_seconds,
        )
        self.base_url = base_url.rstrip("/")
        self.url = join_url(self.base_url, "chat/completions")
        self.audio_format = audio_format
        self.think = think
        self._key = _secret(api_key)
        self.concurrency = max(1, concurrency)
        self.http = client or HttpClient(
            timeout_s=timeout_s,
            max_retries=max_retries,
            concurrency=self.concurrency,
            secrets=(self._key,) if self._key else (),
        )

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._key}"} if self._key else {}

    def payload(self, audio_b64: str, prompt: RenderedPrompt) -> dict[str, Any]:
        """The chat-completions request for one prompt (audio part first, as the models'
        chat templates place it)."""
        text = f"{prompt.text} {THINK_SUFFIX}".strip() if self.think else prompt.text
        messages: list[dict[str, Any]] = []
        if prompt.system:
            messages.append({"role": "system", "content": prompt.system})
        messages.append(
            {
                "role": "user",
                "content": [
                    {
                        "type": "input_audio",
                        "input_audio": {"data": audio_b64, "format": self.audio_format},
                    },
                    {"type": "text", "text": text},
                ],
            }
        )
        return {
            "model": self.model_id,
            "messages": messages,
            "stream": False,
            **completion_params(prompt.generation),
        }

    def _ask(self, audio_b64: str, prompt: RenderedPrompt) -> Generation:
        t0 = time.perf_counter()
        body = self.http.post_json(
            self.url,
            self.payload(audio_b64, prompt),
            headers=self._headers(),
            what=f"prompt {prompt.prompt_id!r}",
        )
        try:
            choice = body["choices"][0]
            content = choice["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise ListenError(
                f"prompt {prompt.prompt_id!r}: the server's answer has no choices[0].message"
            ) from exc
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        info: dict[str, Any] = {"finish_reason": choice.get("finish_reason")}
        if isinstance(body.get("usage"), dict):
            info["usage"] = body["usage"]
        if body.get("model"):
            info["served_model"] = body["model"]
        if body.get("system_fingerprint"):
            info["system_fingerprint"] = body["system_fingerprint"]
        return Generation(
            text=(content or "").strip(), elapsed_s=time.perf_counter() - t0, info=info
        )

    def _generate_clip(self, clip: Clip, prompts: Sequence[RenderedPrompt]) -> list[Generation]:
        data = wav_bytes(clip) if self.audio_format == "wav" else mp3_bytes(clip)
        audio_b64 = base64.b64encode(data).decode("ascii")
        if len(prompts) == 1:
            return [self._ask(audio_b64, prompts[0])]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(prompts))) as pool:
            return list(pool.map(lambda p: self._ask(audio_b64, p), prompts))

    def close(self) -> None:
        self.http.close()
