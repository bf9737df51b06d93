"""A Hugging Face Inference Endpoint running linernotes' own handler.

The endpoint is deployed from the files :func:`linernotes.listen.endpoint.write_endpoint_template`
writes (``handler.py``, ``requirements.txt`` and a copy of linernotes), beside the model's
weights. One request carries the track (base64 WAV) and every prompt, so the endpoint encodes
the audio once; it answers with one output per prompt and the model's identity. The token comes
from ``HF_TOKEN`` (or ``--hf-token`` / settings) and is never logged. A scaled-to-zero endpoint
answers 503 while it wakes up: that is retried with backoff like any 5xx.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from pydantic import SecretStr

from linernotes.listen.audio import Clip, wav_bytes
from linernotes.listen.backends.base import (
    Generation,
    ListenBackend,
    ListenError,
    LongAudioPolicy,
)
from linernotes.listen.backends.http import HttpClient
from linernotes.listen.prompts import RenderedPrompt


class HFEndpointBackend(ListenBackend):
    """Client of an Inference Endpoint deployed with linernotes' handler template."""

    name = "hf-endpoint"

    def __init__(
        self,
        endpoint_url: str,
        *,
        token: SecretStr | str | None = None,
        model_id: str = "hf-endpoint",
        timeout_s: float = 600.0,
        max_retries: int = 6,
        long_audio: LongAudioPolicy = "truncate",
        max_seconds: float | None = None,
        client: HttpClient | None = None,
    ) -> None:
        if not endpoint_url:
            raise ListenError("the hf-endpoint backend needs --endpoint-url")
        super().__init__(model_id, long_audio=long_audio, max_seconds=max_seconds)
        self.url = endpoint_url
        self._token = token.get_secret_value() if isinstance(token, SecretStr) else token
        self.http = client or HttpClient(
            timeout_s=timeout_s,
            max_retries=max_retries,
            concurrency=1,
            base_delay_s=2.0,
            secrets=(self._token,) if self._token else (),
        )
        self._identified = False

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    @staticmethod
    def request_body(audio_b64: str, prompts: Sequence[RenderedPrompt]) -> dict[str, Any]:
        """The JSON body the template handler understands."""
        return {
            "inputs": audio_b64,
            "parameters": {
                "prompts": [
                    {
                        "id": p.prompt_id,
                        "version": p.prompt_version,
                        "kind": p.kind,
                        "system": p.system,
                        "text": p.text,
                        "generation": p.generation.as_dict(),
                    }
                    for p in prompts
                ]
            },
        }

    def _generate_clip(self, clip: Clip, prompts: Sequence[RenderedPrompt]) -> list[Generation]:
        audio_b64 = base64.b64encode(wav_bytes(clip)).decode("ascii")
        body = self.http.post_json(
            self.url,
            self.request_body(audio_b64, prompts),
            headers=self._headers(),
            what="inference endpoint",
        )
        if isinstance(body, dict) and "error" in body and "outputs" not in body:
            raise ListenError(f"inference endpoint: {body['error']}")
        try:
            outputs = body["outputs"]
            if len(outputs) != len(prompts):
                raise ValueError
        except (KeyError, TypeError, ValueError) as exc:
            raise ListenError(
                f"inference endpoint: expected {len(prompts)} outputs in the answer"
            ) from exc
        if not self._identified:
            self.model_id = str(body.get("model_id") or self.model_id)
            self.revision = body.get("revision") or self.revision
            self.variant = body.get("variant") or self.variant
            if body.get("max_seconds"):
                self._max_seconds = float(body["max_seconds"])
            self._identified = True
        results = []
        for out in outputs:
            info = dict(out.get("info") or {})
            info["endpoint_elapsed_s"] = out.get("elapsed_s")
            results.append(
                Generation(
                    text=str(out.get("text", "")).strip(),
                    elapsed_s=float(out.get("elapsed_s") or 0.0),
                    info=info,
                )
            )
        return results

    def close(self) -> None:
        self.http.close()
