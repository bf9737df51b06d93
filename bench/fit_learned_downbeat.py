"""Fit the weights that turn the learned path's bars: which beat of a decoded bar starts it.

The learned path decodes bars from the network's downbeat strength at each beat
(:mod:`linernotes.analyzers.rhythm.bar_decoding`). Where the network hears two beats of the
bar alike (beats 1 and 3 of a 4/4 chorale, a kit's kick on 1 and 3), the decoded bars often
start on the wrong one. :func:`linernotes.analyzers.rhythm.learned_meter.downbeat_score`
weighs the network's log-odds together with the hand-made beat evidence (accents in all,
low, mid and high bands, loudness, chroma, bass and timbre change) and
:func:`~linernotes.analyzers.rhythm.bar_decoding.rotate_bars` turns the decoded bars to the
rotation whose downbeats score best. Those weights are fitted here as a choice among the
rotations (a conditional logit: the probability of rotation ``r`` is the softmax over the
bar's rotations of ``w`` times the mean evidence of the beats it makes downbeats).

The clips are the **dev** sets only: the dev split of ``bench/corpus_set`` and the clips of
``bench/game_dev_set`` whose bar lines are known. A clip takes part where the learned path's
beats are the notated ones (beat F at least 80) and its bar length is the notated one, and
where one rotation finds the bar lines (downbeat F at least 80); that rotation is its truth.

Printed: the mean downbeat F of the taking-part clips with the decoded bars (no turn), with
the network's strength alone, and with the fitted weights, each collection left out in turn
(fitted on the others, scored on it) for every ridge tried; the weights fitted on all of
them at the chosen ridge. ``--write`` stores those as model ``learned_downbeat`` in
``linernotes/analyzers/fitted_weights.json``.

Usage::

    bench/fit_learned_downbeat            # print the fit
    bench/fit_learned_downbeat --write    # ... and write the weights
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

import accuracy_scores  # noqa: E402
import conditional_logit  # noqa: E402
import corpus_set  # noqa: E402
import game_dev_set  # noqa: E402
from corpus_features import clip_features  # noqa: E402

from linernotes.analyzers.fitted import write_weights  # noqa: E402
from linernotes.analyzers.rhythm.learned_meter import LEARNED_DOWNBEAT_EVIDENCE  # noqa: E402

#: A clip takes part when the learned beats and one rotation of its bars score this well.
MIN_F = 80.0
#: L2 penalties tried; the weights are written at :data:`RIDGE`.
RIDGES = (0.3, 3.0, 30.0, 100.0, 300.0)
#: Chosen by the mean downbeat F with each collection left out (``bench/fit_learned_downbeat``
#: prints it; see ``bench/results/rhythm_tuning_history.md``, rhythm 21).
RIDGE = 30.0


def clip_rotations(job: tuple[dict[str, Any], str]) -> dict[str, Any] | None:
    """For one dev clip: the mean :func:`~linernotes.analyzers.rhythm.learned_meter.
    downbeat_evidence` of the beats each rotation of the decoded bars makes downbeats, and
    each rotation's downbeat F (``None`` when the clip does not take part)."""
    from linernotes.analyzers.rhythm.bar_decoding import peak_near_beats
    from linernotes.analyzers.rhythm.learned_meter import downbeat_evidence
    from linernotes.analyzers.rhythm.meter import describe_pulses, learned_bar_meter
    from linernotes.analyzers.rhythm.params import RhythmParams
    from linernotes.analyzers.rhythm.pulse import PulseTrack, track_pulses

    clip, data = job
    truth = clip["truth"]
    if not clip.get("downbeats_known", True):
        return None
    features = clip_features(clip, Path(data))
    p = RhythmParams(learned_bar_evidence=False)  # the decoded bars, not yet turned
    track = track_pulses(features, p)
    if not isinstance(track, PulseTrack) or track.activation is None:
        return None
    frames = track.pulse_frames
    meter = learned_bar_meter(features, track, frames, p)
    bar = meter.pulses_per_bar
    if bar is None or meter.bar_phase is None or bar != truth["beats_per_bar"]:
        return None
    times = frames / track.frame_rate + p.learned_latency_s
    caps = accuracy_scores.clip_caps(frozenset({"beats", "downbeats"}), clip)
    if accuracy_scores.score_clip(truth, {"beats": times.tolist()}, caps)["beat_f"] < MIN_F:
        return None
    position = (np.arange(frames.size) - meter.bar_phase) % bar
    x = downbeat_evidence(peak_near_beats(track.activation[1], frames),
                          describe_pulses(features, track, frames).downbeat_evidence)
    means, f = [], []
    for turn in range(bar):
        down = (position - turn) % bar == 0
        means.append(x[down].mean(axis=0))
        f.append(accuracy_scores.score_clip(truth, {"downbeats": times[down].tolist()},
                                            caps)["downbeat_f"])
    if max(f) < MIN_F:
        return None
    return {"name": clip["name"], "collection": clip["collection"], "bar": bar,
            "means": np.stack(means).tolist(), "f": f, "truth": int(np.argmax(f))}


def fit(clips: list[dict[str, Any]], ridge: float, only: list[int] | None = None) -> np.ndarray:
    """Weights of :data:`LEARNED_DOWNBEAT_EVIDENCE` that best pick the true rotation of
    ``clips`` (``only``: the indices allowed a weight, the others stay zero)."""
    n = len(LEARNED_DOWNBEAT_EVIDENCE)
    keep = np.asarray(only if only is not None else range(n))
    w = np.zeros(n)
    w[keep] = conditional_logit.fit([np.asarray(c["means"])[:, keep] for c in clips],
                                    [c["truth"] for c in clips], ridge=ridge)
    return w


def downbeat_f(w: np.ndarray | None, clips: list[dict[str, Any]]) -> float:
    """Mean downbeat F of ``clips`` at the rotation ``w`` picks (the decoded bars: ``None``)."""
    picks = [0 if w is None else int(np.argmax(np.asarray(c["means"]) @ w)) for c in clips]
    return float(np.mean([c["f"][k] for c, k in zip(clips, picks, strict=True)]))


def held_out_f(clips: list[dict[str, Any]], ridge: float, only: list[int] | None = None
               ) -> float:
    """Mean downbeat F with each collection's clips scored by weights fitted on the others."""
    scores = []
    for name in sorted({c["collection"] for c in clips}):
        held = [c for c in clips if c["collection"] == name]
        w = fit([c for c in clips if c["collection"] != name], ridge, only)
        scores += [downbeat_f(w, [c]) for c in held]
    return float(np.mean(scores))


def main(argv: list[str] | None = None) -> int:
    args = corpus_set.dev_fit_arguments(__doc__ or "", argv)
    jobs = [(c, str(corpus_set.DATA)) for c in corpus_set.ensure_set(args.jobs, "dev")]
    jobs += [(c, str(game_dev_set.DATA)) for c in game_dev_set.ensure_set(args.jobs)]
    with ProcessPoolExecutor(args.jobs) as ex:
        clips = [c for c in ex.map(clip_rotations, jobs, chunksize=1) if c is not None]
    network = [len(LEARNED_DOWNBEAT_EVIDENCE) - 1]
    print(f"# {len(clips)} of {len(jobs)} dev clips take part (bars of "
          f"{dict(sorted(Counter(c['bar'] for c in clips).items()))} beats; collections "
          f"{dict(sorted(Counter(c['collection'] for c in clips).items()))})")
    print(f"downbeat F: decoded bars {downbeat_f(None, clips):.1f}; best rotation "
          f"{np.mean([max(c['f']) for c in clips]):.1f}")
    for ridge in RIDGES:
        print(f"  ridge {ridge:5.1f}, each collection left out: network alone "
              f"{held_out_f(clips, ridge, network):.1f}, all evidence "
              f"{held_out_f(clips, ridge):.1f}")
    w = fit(clips, RIDGE)
    print(f"weights (ridge {RIDGE}): " + ", ".join(
        f"{name} {v:+.3f}" for name, v in zip(LEARNED_DOWNBEAT_EVIDENCE, w, strict=True)))
    print(f"downbeat F with them (same clips): {downbeat_f(w, clips):.1f}")
    if args.write:
        write_weights({"learned_downbeat": (0.0, *(round(float(v), 3) for v in w))})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
