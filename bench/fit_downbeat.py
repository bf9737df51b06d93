"""Fit the downbeat weights on the development split: which beat of a bar starts it.

The rhythm stage places the bar (:mod:`linernotes.analyzers.rhythm.bar_phase`) at the phase
whose beats score highest on a weighted sum of z-scored beat evidence
(:data:`linernotes.analyzers.rhythm.beat_features.DOWNBEAT_EVIDENCE`: onset accents in
three bands, loudness, chroma, bass and timbre change). Those weights were set by hand; here
they are fitted as a choice among the phases of a bar (a conditional logit: the probability
of phase ``p`` is the softmax over the bar's phases of ``w`` times the mean evidence of the
beats at ``p``), on the **dev** split of ``bench/corpus_set`` only. A clip takes part where
its tracked pulses are the notated beats (at least 80 % of them within 70 ms of one) and its
metre is simple; its true phase is the one most of its pulses agree on.

Printed: the share of clips whose phase is right with the shipped weights, with the fitted
ones (on the clips they were fitted on) and leaving each collection out in turn (fitted on
the others, scored on it). ``--write`` stores the fitted weights as model ``downbeat`` in
``linernotes/analyzers/fitted_weights.json``.

Usage::

    bench/fit_downbeat            # print the fit
    bench/fit_downbeat --write    # ... and write the weights
"""

from __future__ import annotations

import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import conditional_logit  # noqa: E402
import corpus_set  # noqa: E402

from linernotes.analyzers.fitted import fitted_model, write_weights  # noqa: E402
from linernotes.analyzers.rhythm.beat_features import DOWNBEAT_EVIDENCE  # noqa: E402

#: A pulse within this of a notated beat is on it (the beat-F window).
MATCH_S = 0.07
#: Share of a clip's pulses that must sit on notated beats for it to take part.
MIN_MATCHED = 0.8
#: L2 penalty of the fit (eight weights over some fifty clips), chosen by the leave-one-
#: collection-out share of right phases on dev: 54 / 56 / 62.5 / 62.5 / 56 % at 0.1 / 1 / 3 /
#: 10 / 30 (the hand-set weights it replaces: 62.5 %).
RIDGE = 3.0


def clip_phases(clip: dict[str, Any]) -> dict[str, Any] | None:
    """Mean downbeat evidence of each phase of the bar, and the true phase, for one dev clip
    (``None`` when its pulses are not the notated beats or its metre is compound)."""
    import scipy.io.wavfile

    from linernotes.analyzers.rhythm.meter import describe_pulses
    from linernotes.analyzers.rhythm.params import RhythmParams
    from linernotes.analyzers.rhythm.pulse import PulseTrack, check_octave, track_pulses
    from linernotes.features import extract_features_from_array

    truth = clip["truth"]
    bar = int(truth["beats_per_bar"])
    if truth["compound"] or bar < 2:
        return None
    sr, pcm = scipy.io.wavfile.read(corpus_set.DATA / clip["file"])
    mono = (pcm.astype(np.float32) / 32768.0).reshape(len(pcm), -1).mean(axis=1)
    features = extract_features_from_array(mono, sr)
    params = RhythmParams()
    track = track_pulses(features, params)
    if not isinstance(track, PulseTrack):
        return None
    pulse_frames, _, _ = check_octave(track, params)
    evidence = describe_pulses(features, track, pulse_frames).downbeat_evidence
    times = pulse_frames / track.frame_rate + params.latency_s
    beats = np.asarray(truth["beats"])
    downs = np.asarray(truth["downbeats"])
    nearest = np.abs(times[:, None] - beats[None, :]).argmin(axis=1)
    on_beat = np.abs(beats[nearest] - times) <= MATCH_S
    if evidence is None or on_beat.mean() < MIN_MATCHED:
        return None
    # Position of each matched beat in its bar, and the phase it implies for the pulses.
    bar_start = np.searchsorted(downs, beats[nearest] + 1e-6) - 1
    start_beat = np.abs(beats[None, :] - downs[np.maximum(bar_start, 0)][:, None]).argmin(axis=1)
    position = nearest - start_beat
    keep = on_beat & (bar_start >= 0)
    votes = Counter(((np.flatnonzero(keep) - position[keep]) % bar).tolist())
    if not votes:
        return None
    index = np.arange(len(pulse_frames)) % bar
    means = np.stack([evidence[index == p].mean(axis=0) for p in range(bar)])
    return {"name": clip["name"], "collection": clip["collection"], "bar": bar,
            "phase": votes.most_common(1)[0][0], "means": means.tolist()}


def fit(clips: list[dict[str, Any]]) -> np.ndarray:
    """Weights of the downbeat evidence that best pick the true phase of ``clips``."""
    return conditional_logit.fit([np.asarray(c["means"]) for c in clips],
                                 [c["phase"] for c in clips], ridge=RIDGE,
                                 start=np.asarray(fitted_model("downbeat").weights[1:]))


def accuracy(w: np.ndarray, clips: list[dict[str, Any]]) -> float:
    """Share of ``clips`` whose best-scoring phase is the true one."""
    right = [int(np.argmax(np.asarray(c["means"]) @ w)) == c["phase"] for c in clips]
    return float(np.mean(right)) if right else float("nan")


def main(argv: list[str] | None = None) -> int:
    args = corpus_set.dev_fit_arguments(__doc__ or "", argv)
    dev = corpus_set.ensure_set(args.jobs, "dev")
    with ProcessPoolExecutor(args.jobs) as ex:
        clips = [c for c in ex.map(clip_phases, dev, chunksize=1) if c is not None]
    shipped = np.asarray(fitted_model("downbeat").weights[1:])
    w = fit(clips)
    print(f"# {len(clips)} of {len(dev)} dev clips have simple-metre pulses on the notated "
          f"beats (bars of {dict(sorted(Counter(c['bar'] for c in clips).items()))} beats)")
    print("weights:  " + ", ".join(f"{f} {v:+.3f}" for f, v in
                                   zip(DOWNBEAT_EVIDENCE, w, strict=True)))
    print(f"phase right: shipped {100 * accuracy(shipped, clips):.1f} %, fitted (same clips) "
          f"{100 * accuracy(w, clips):.1f} %")
    for name in sorted({c["collection"] for c in clips}):
        held = [c for c in clips if c["collection"] == name]
        w_out = fit([c for c in clips if c["collection"] != name])
        print(f"  {name:10s} {len(held):3d} clips: shipped {100 * accuracy(shipped, held):5.1f}"
              f" %, fitted without it {100 * accuracy(w_out, held):5.1f} %")
    if args.write:
        write_weights({"downbeat": (0.0, *(round(float(v), 3) for v in w))})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
