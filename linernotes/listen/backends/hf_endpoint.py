"""A Hugging Face Inference Endpoint running linernotes' own handler.

The endpoint is deployed from the files :func:`linernotes.listen.endpoint.write_endpoint_template`
writes (``handler.py``, ``requirements.txt`` and a copy of linernotes), beside the model's
weights. One request carries the track (base64 WAV) and every prompt, so the endpoint encodes
the audio once; it answers with one output per prompt and the model's identity. The token comes
from ``HF_TOKEN`` (or ``--hf-token`` / settings) and is never logged. A scaled-to-zero endpoint
answers 503 while it wakes up: that is retried with backoff like any 5xx.

The backend asks the endpoint what it serves (model id, revision, variant, audio cap) before it
is first needed: a cache key is built from that identity before the first track is sent, and
the cap decides how a long first track is cut. An endpoint whose handler cannot say (one
deployed from an older template answers 400) needs the model id given (``--model``); a model id
given that differs from the one served is an error.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Sequence
from typing import Any

from pydantic import SecretStr

from linernotes.http import HttpClient
from linernotes.listen.audio import Clip, wav_bytes
from linernotes.listen.backends.base import (
    Generation,
    ListenBackend,
    ListenError,
    LongAudioPolicy,
    max_seconds_for,
)
from linernotes.listen.prompts import RenderedPrompt


class HFEndpointBackend(ListenBackend):
    """Client of an Inference Endpoint deployed with linernotes' handler template."""

    name = "hf-endpoint"

    def __init__(
        self,
        endpoint_url: str,
        *,
        token: SecretStr | str | None = None,
        model_id: str | None = None,
        timeout_s: float = 600.0,
        max_retries: int = 6,
        long_audio: LongAudioPolicy = "truncate",
        max_seconds: float | None = None,
        client: HttpClient | None = None,
    ) -> None:
        if not endpoint_url:
            raise ListenError("the hf-endpoint backend needs --endpoint-url")
        super().__init__(model_id or "hf-endpoint", long_audio=long_audio, max_seconds=max_seconds)
        self.url = endpoint_url
        self.expected_model = model_id
        self._token = token.get_secret_value() if isinstance(token, SecretStr) else token
        self.http = client or HttpClient(
            timeout_s=timeout_s,
            max_retries=max_retries,
            concurrency=1,
            base_delay_s=2.0,
            secrets=(self._token,) if self._token else (),
        )
        self._cap_given = max_seconds
        self._identified = False
        self._identity_lock = threading.Lock()

    @property
    def max_seconds(self) -> float:
        """The served model's audio cap (asked of the endpoint), or the lower one given."""
        self.identify()
        return super().max_seconds

    def describe(self) -> dict[str, Any]:
        """The served model's identity (asked of the endpoint before the first use)."""
        self.identify()
        return super().describe()

    def identify(self) -> None:
        """Ask the endpoint what it serves, once (see the module docstring)."""
        with self._identity_lock:
            if self._identified:
                return
            try:
                body = self.http.post_json(
                    self.url,
                    {"inputs": "", "parameters": {"describe": True}},
                    headers=self._headers(),
                    what="inference endpoint (which model?)",
                )
            except ListenError as exc:
                if getattr(exc, "status", None) != 400:
                    raise
                if self.expected_model is None:
                    raise ListenError(
                        f"{exc}; the endpoint cannot say which model it serves: redeploy it"
                        " from `linernotes endpoint-template`, or give the model id (--model)"
                    ) from exc
                self._identified = True  # an older handler: trust the model id given
                self._max_seconds = self._cap_given or max_seconds_for(self.expected_model)
                return
            if not isinstance(body, dict) or not body.get("model_id"):
                raise ListenError("inference endpoint: its identity has no model_id")
            self._adopt(body)
            self._identified = True

    def _adopt(self, body: dict[str, Any]) -> None:
        """Take the identity an endpoint answered with (a lower cap given here is kept)."""
        served = str(body["model_id"])
        if self.expected_model and served != self.expected_model:
            raise ListenError(
                f"inference endpoint serves {served!r}, not the model given"
                f" ({self.expected_model!r})"
            )
        self.model_id = served
        self.revision = body.get("revision") or self.revision
        self.variant = body.get("variant") or self.variant
        if body.get("max_seconds"):
            cap = float(body["max_seconds"])
            self._max_seconds = min(cap, self._cap_given) if self._cap_given else cap

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
        if body.get("model_id") and body["model_id"] != self.model_id:
            raise ListenError(
                f"inference endpoint now serves {body['model_id']!r}, not {self.model_id!r}:"
                " it was redeployed during the run"
            )
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
