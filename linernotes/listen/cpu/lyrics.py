"""Lyrics with faster-whisper (MIT): language and timestamped lines, only where a voice is.

The model is named as a faster-whisper user names it: a size or hub id (``small``,
``Systran/faster-whisper-small``), fetched once into the Hugging Face cache, or a local folder
in CTranslate2 format. Small Whisper models invent lyrics on instrumental music, so three gates
stand before a line is kept: the tagger must hear a voice in the track (the caller does not
transcribe an instrumental one), faster-whisper's bundled Silero voice-activity filter drops
what is not voice-like, and a line must overlap a span where the tagger (or the vocal stem)
heard a voice and not look like Whisper's own no-speech guesses.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from linernotes.errors import LinernotesError
from linernotes.models.tagger import LyricLine, LyricsResult

#: The default lyrics model (a faster-whisper size name).
DEFAULT_LYRICS_MODEL = "small"
#: ``--lyrics-model none`` turns transcription off.
NO_LYRICS = ("none", "off", "")
#: A voiced span is widened by this much on each side before lines are matched to it.
SPAN_SLACK_S = 3.0
#: Whisper's own no-speech test: a line this likely silent and this unsure is dropped.
NO_SPEECH_ABOVE = 0.6
LOGPROB_BELOW = -1.0


class LyricsError(LinernotesError):
    """The lyrics model cannot be loaded."""


def is_local_model(name: str) -> bool:
    """Whether ``name`` is a folder on disk (else a size name or hub id)."""
    return Path(name).expanduser().is_dir()


class LyricsTranscriber:
    """faster-whisper on the CPU, loaded on first use."""

    def __init__(
        self,
        model: str = DEFAULT_LYRICS_MODEL,
        *,
        device: str = "cpu",
        compute_type: str = "int8",
        threads: int = 1,
        beam_size: int = 1,
    ) -> None:
        self.model_name = model
        self.device = device
        self.compute_type = compute_type
        self.threads = threads
        self.beam_size = beam_size
        self._model: Any = None
        self._error: LyricsError | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        """The loaded model; a load that failed once fails again at once (no retries per
        track)."""
        if self._error is not None:
            raise self._error
        if self._model is None:
            try:
                from faster_whisper import WhisperModel
            except ImportError as exc:
                self._error = LyricsError(
                    "lyrics need faster-whisper: pip install 'linernotes[lyrics]'"
                )
                raise self._error from exc
            local = is_local_model(self.model_name)
            path = str(Path(self.model_name).expanduser()) if local else self.model_name
            try:
                if not local:
                    _check_hub(self.model_name)
                self._model = WhisperModel(path, device=self.device,
                                           compute_type=self.compute_type,
                                           cpu_threads=self.threads)  # fmt: skip
            except Exception as exc:
                self._error = LyricsError(
                    f"cannot load lyrics model {self.model_name!r}: {type(exc).__name__}: {exc}"
                )
                raise self._error from exc
        return self._model

    def transcribe(
        self, samples: np.ndarray, spans: list[tuple[float, float]]
    ) -> LyricsResult:
        """Transcribe 16 kHz mono samples, keeping lines that fall in the voiced ``spans``."""
        start = time.perf_counter()
        with self._lock:
            segments, info = self.model.transcribe(
                np.asarray(samples, dtype=np.float32),
                beam_size=self.beam_size,
                vad_filter=True,
                condition_on_previous_text=False,
            )
            duration_s = len(samples) / 16000
            lines = [_line(s, duration_s) for s in segments]
        kept = [line for line in lines if _keep(line, spans)]
        text = "\n".join(line.text for line in kept)
        return LyricsResult(
            model=self.model_name,
            language=info.language if kept else None,
            language_probability=round(float(info.language_probability), 4) if kept else None,
            text=text,
            lines=kept,
            skipped=None if kept else "no voiced line survived the voice-activity filter",
            elapsed_s=round(time.perf_counter() - start, 3),
        )


def _check_hub(name: str) -> None:
    """A hub model that is not cached must be reachable (one short request), so that an
    offline run fails at once instead of retrying."""
    from faster_whisper.utils import download_model

    try:
        download_model(name, local_files_only=True)
        return
    except Exception:  # not in the local cache: the hub must answer
        from linernotes.listen.reach import hub_endpoint, probe

        probe(hub_endpoint())


def _line(segment: Any, duration_s: float) -> LyricLine:
    """One decoded segment as a line, its times kept within the audio."""
    end = min(float(segment.end), duration_s)
    return LyricLine(
        start_s=round(min(float(segment.start), end), 3),
        end_s=round(end, 3),
        text=segment.text.strip(),
        avg_logprob=round(float(segment.avg_logprob), 4),
        no_speech_prob=round(float(segment.no_speech_prob), 4),
    )


def _keep(line: LyricLine, spans: list[tuple[float, float]]) -> bool:
    if not line.text or line.end_s <= line.start_s:  # empty, or past the end of the audio
        return False
    if (line.no_speech_prob or 0.0) > NO_SPEECH_ABOVE and (line.avg_logprob or 0.0) < LOGPROB_BELOW:
        return False
    return any(line.start_s < b + SPAN_SLACK_S and line.end_s > a - SPAN_SLACK_S
               for a, b in spans)  # fmt: skip
