"""Scoring bench/accuracy's estimates against the truth: tempo (Acc1, Acc2), beat and downbeat
F-measure, meter and key (exact, MIREX), the metrics and families of the tables, what each
tool can be scored on, and the subsets of the set."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import accuracy_set
import numpy as np
from accuracy_set import ClipDef

#: What each tool estimates; a metric outside these shows "—".
CAPS: dict[str, frozenset[str]] = {
    "linernotes": frozenset({"tempo", "beats", "downbeats", "meter", "bpb", "key"}),
    "librosa": frozenset({"tempo", "beats", "key"}),
    "essentia": frozenset({"tempo", "beats", "key"}),
    "madmom": frozenset({"tempo", "beats", "downbeats", "bpb", "key"}),
    "aubio": frozenset({"tempo", "beats"}),
}
MIR_EVAL_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
TEMPO_TOLERANCE = 0.04
ACC2_FACTORS = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)
BEAT_WINDOW_S = 0.07
BEAT_SKIP_S = 5.0


def parse_key(text: str | None) -> tuple[int, str] | None:
    """``"F# minor"``, ``"Bb major"``, ``"A#m"`` -> (pitch class, mode); None if no key."""
    if not text or not isinstance(text, str):
        return None
    t = text.strip().replace("♯", "#").replace("♭", "b")
    parts = t.split()
    mode = "major"
    if len(parts) >= 2:
        t, m = parts[0], parts[1].lower()
        mode = "minor" if m.startswith("min") else "major"
    elif t.endswith("m") and len(t) >= 2:
        t, mode = t[:-1], "minor"
    letters = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
    if not t or t[0].upper() not in letters:
        return None
    pc = letters[t[0].upper()] + t[1:].count("#") - t[1:].count("b")
    return pc % 12, mode


def key_relation(ref: tuple[int, str], est: tuple[int, str] | None) -> str:
    """How an estimated key relates to the truth: exact, fifth, relative, parallel, other."""
    if est is None:
        return "none"
    (rp, rm), (ep, em) = ref, est
    if (rp, rm) == (ep, em):
        return "exact"
    if rm == em and (ep - rp) % 12 == 7:
        return "fifth above"
    if rm == em and (ep - rp) % 12 == 5:
        return "fifth below"
    if rm != em and (ep - rp) % 12 == (9 if rm == "major" else 3):
        return "relative"
    if rp == ep:
        return "parallel"
    return "other"


TEMPO_RELATIONS = (("correct", 1.0), ("double", 2.0), ("half", 0.5), ("triple", 3.0),
                   ("third", 1 / 3), ("3/2", 1.5), ("2/3", 2 / 3))


def tempo_relation(truth: float, est: float | None) -> str:
    if est is None or not est > 0:
        return "none"
    for name, f in TEMPO_RELATIONS:
        if abs(est - f * truth) <= TEMPO_TOLERANCE * f * truth:
            return name
    return "other"


def _f_measure(ref: Sequence[float], est: Sequence[float]) -> float:
    import mir_eval

    r = mir_eval.beat.trim_beats(np.asarray(ref, dtype=float), min_beat_time=BEAT_SKIP_S)
    e = mir_eval.beat.trim_beats(np.asarray(est, dtype=float), min_beat_time=BEAT_SKIP_S)
    if len(r) == 0 or len(e) == 0:
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(mir_eval.beat.f_measure(r, e, f_measure_threshold=BEAT_WINDOW_S))


#: What a rhythm result alone is scored on (:func:`score_rhythm`).
RHYTHM_CAPS = frozenset({"tempo", "beats", "downbeats", "meter", "bpb"})


def clip_caps(caps: frozenset[str], clip: dict[str, Any]) -> frozenset[str]:
    """``caps`` less what ``clip``'s truth cannot score: no key where it has none, no bar
    metric where the bar lines are unknown (``downbeats_known`` false: a game song that
    states no time signature)."""
    if clip["truth"].get("tonic") is None:
        caps = caps - {"key"}
    if not clip.get("downbeats_known", True):
        caps = caps - {"downbeats", "bpb", "meter"}
    return caps


def score_rhythm(truth: dict[str, Any], result: Any, caps: frozenset[str] = RHYTHM_CAPS
                 ) -> dict[str, Any]:
    """:func:`score_clip` of a rhythm stage result (a ``RhythmResult``) on its rhythm
    metrics (``caps``): what the dev sweeps compare variants by."""
    estimate = {"bpm": result.bpm, "beats": result.beats, "downbeats": result.downbeats,
                "numerator": result.numerator, "beats_per_bar": result.beats_per_bar,
                "compound": result.compound}
    return score_clip(truth, estimate, caps)


def score_clip(truth: dict[str, Any], est: dict[str, Any] | None, caps: frozenset[str]
               ) -> dict[str, Any]:
    """Per-clip metrics in percent (None where the tool does not estimate the quantity).

    ``est is None`` means the tool failed on the clip: every metric it offers scores zero.
    """
    import mir_eval

    e = est or {}
    out: dict[str, Any] = {}
    if "tempo" in caps:
        bpm = e.get("bpm")
        rel = tempo_relation(truth["bpm"], bpm)
        out["tempo_relation"] = rel
        out["acc1"] = 100.0 * (rel == "correct")
        out["acc2"] = 100.0 * (rel in ("correct", "double", "half", "triple", "third"))
    if "beats" in caps:
        out["beat_f"] = 100.0 * _f_measure(truth["beats"], e.get("beats") or [])
    if "downbeats" in caps:
        out["downbeat_f"] = 100.0 * _f_measure(truth["downbeats"], e.get("downbeats") or [])
    if "meter" in caps:
        out["numerator"] = 100.0 * (e.get("numerator") == truth["numerator"])
        comp = e.get("compound")
        out["compound"] = 100.0 * (comp is not None and bool(comp) == bool(truth["compound"]))
        out["est_numerator"] = e.get("numerator")
    if "bpb" in caps:
        out["bpb"] = 100.0 * (e.get("beats_per_bar") == truth["beats_per_bar"])
    if "key" in caps:
        ref = (int(truth["tonic"]), str(truth["mode"]))
        est_key = parse_key(e.get("key"))
        rel = key_relation(ref, est_key)
        out["key_relation"] = rel
        out["key_exact"] = 100.0 * (rel == "exact")
        ref_s = f"{MIR_EVAL_NAMES[ref[0]]} {ref[1]}"
        est_s = f"{MIR_EVAL_NAMES[est_key[0]]} {est_key[1]}" if est_key else "X"
        out["key_mirex"] = 100.0 * float(mir_eval.key.weighted_score(ref_s, est_s))
    return out


@dataclass(frozen=True)
class Metric:
    """A column of the result tables."""

    key: str
    label: str
    family: str
    cap: str


METRICS = (
    Metric("acc1", "Acc1 (±4 %)", "Tempo", "tempo"),
    Metric("acc2", "Acc2 (±4 %, ×2 ×½ ×3 ×⅓)", "Tempo", "tempo"),
    Metric("beat_f", "beat F (70 ms)", "Beats", "beats"),
    Metric("downbeat_f", "downbeat F (70 ms)", "Beats", "downbeats"),
    Metric("numerator", "numerator exact", "Meter", "meter"),
    Metric("compound", "simple/compound", "Meter", "meter"),
    Metric("bpb", "beats per bar", "Meter", "bpb"),
    Metric("key_exact", "exact", "Key", "key"),
    Metric("key_mirex", "MIREX weighted ×100", "Key", "key"),
)
FAMILIES = ("Tempo", "Beats", "Meter", "Key")


@dataclass(frozen=True)
class Subset:
    """A row of the result tables: a named predicate over (clip, truth)."""

    slug: str
    label: str
    test: Callable[[ClipDef, dict[str, Any]], bool]


def _subsets() -> list[Subset]:
    rows = [Subset("overall", "overall (clean)", lambda c, t: c.clean)]
    rows += [
        Subset("drums", "drums", lambda c, t: c.clean and c.drums),
        Subset("no-drums", "no drums", lambda c, t: c.clean and not c.drums),
    ]
    for m in ("2/4", "3/4", "4/4", "5/4", "6/8", "7/8", "12/8"):
        rows.append(Subset(m, f"meter {m}", lambda c, t, m=m: c.clean and c.meter == m))
    rows += [
        Subset("simple", "simple meters", lambda c, t: c.clean and not t["compound"]),
        Subset("compound", "compound meters", lambda c, t: c.clean and t["compound"]),
    ]
    for s in accuracy_set.STYLES:
        rows.append(Subset(s, f"style {s}", lambda c, t, s=s: c.clean and c.style == s))
    rows += [
        Subset("steady", "steady tempo", lambda c, t: c.clean and c.drift == 0),
        Subset("drift", "tempo drift", lambda c, t: c.clean and c.drift > 0),
        Subset("slow", "slow (< 80 bpm)", lambda c, t: c.clean and t["bpm"] < 80),
        Subset("mid", "mid (80-140 bpm)", lambda c, t: c.clean and 80 <= t["bpm"] <= 140),
        Subset("fast", "fast (> 140 bpm)", lambda c, t: c.clean and t["bpm"] > 140),
        Subset("degraded", "degraded (all)", lambda c, t: not c.clean),
        Subset("degraded-sources", "  their clean sources", lambda c, t: c.clean and c.name in
               _degraded_sources()),
    ]
    labels = {"mp3": "  MP3 128 kb/s", "lowpass": "  low-pass 4-5 kHz",
              "noise": "  noise 10-20 dB SNR", "clipping": "  hard clipping"}
    for k in accuracy_set.DEGRADATIONS:
        rows.append(Subset(k, labels[k], lambda c, t, k=k: c.degradation == k))
    return rows


_SOURCES: set[str] = set()


def _degraded_sources() -> set[str]:
    if not _SOURCES:
        _SOURCES.update(str(c.source) for c in accuracy_set.define_clips() if not c.clean)
    return _SOURCES


SUBSETS = _subsets()
