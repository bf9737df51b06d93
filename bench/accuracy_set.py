"""The ground-truth set of the accuracy benchmark: rendered MIDI songs with exact answers.

:mod:`bench.accuracy` needs music whose tempo, beats, downbeats, meter and key nobody disputes,
in enough variety that a per-subset table means something. This module defines such a set and
renders it, deterministically, with :mod:`scripts/midi_songs.py` and the fluidsynth command line:

* **Clean clips** (:data:`N_CLEAN`, 30-60 s each, 44.1 kHz stereo 16-bit WAV): every one of
  the 24 keys at least six times; meters 4/4, 3/4, 6/8, 2/4 and a few 5/4, 7/8, 12/8
  (:data:`METER_PLAN`); tempi from 50 to 210 beats per minute in the generator's beat
  convention (dotted quarters in 6/8 and 12/8, eighths in 7/8; see :data:`TEMPO_RANGES`); the
  four generator styles (solo piano, strings, band, electronic) in equal numbers, with and
  without drums (:data:`DRUM_SHARE`); a quarter with mild tempo drift (2-6 %), some with a
  silent lead-in and some with humanised (jittered) pitched notes.
* **Degraded copies** of :data:`N_DEGRADED_PER_KIND` clean clips per kind, each a different
  source clip spread over meters and styles, forming their own subset: MP3 at 128 kb/s
  (PyAV's libmp3lame, decoded back with PyAV, which trims the encoder delay so times are
  unchanged), a low-pass filter at 4-5 kHz (zero-phase 8th-order Butterworth), added pink
  noise at 10-20 dB SNR, and hard clipping after 8-14 dB of gain. Their truth is the source's.

Everything derives from :data:`SET_SEED`; the same code, fluidsynth and soundfont write
byte-identical audio. The audio lives in gitignored ``bench/data/accuracy_v1/`` (regenerated,
never committed) with ``manifest.json`` holding every clip's definition, ground truth (beat and
downbeat times included), file size and SHA-256. Changing the set means bumping
:data:`SET_VERSION`.

Build or check it by hand with ``python bench/accuracy_set.py [--jobs 2]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from linernotes.fileio import content_hash  # the set's identity check and the caches' key

ROOT = Path(__file__).resolve().parent.parent
SET_VERSION = "accuracy_v1"
DATA = ROOT / "bench" / "data" / SET_VERSION
CLIPS_DIR = DATA / "clips"
MANIFEST = DATA / "manifest.json"
SAMPLE_RATE = 44100

#: Master seed of the set definition (keys, meters, tempi, styles, seeds of the songs).
SET_SEED = 20_251_121
N_CLEAN = 160
#: Clean clips per meter; 5/4, 7/8 and 12/8 are the "few" of the issue.
METER_PLAN: dict[str, int] = {
    "4/4": 56, "3/4": 28, "6/8": 28, "2/4": 20, "12/8": 12, "5/4": 8, "7/8": 8,
}
#: Tempo range per meter in the generator's beat convention (bpm of the counted beat: dotted
#: quarters in 6/8 and 12/8, eighths in 7/8), drawn log-uniformly. Ranges stay where the
#: meter is played in practice, and together span 50-210.
TEMPO_RANGES: dict[str, tuple[float, float]] = {
    "4/4": (50.0, 210.0), "3/4": (60.0, 200.0), "2/4": (70.0, 180.0), "5/4": (70.0, 170.0),
    "6/8": (50.0, 120.0), "12/8": (50.0, 110.0), "7/8": (120.0, 210.0),
}  # fmt: skip
STYLES = ("band", "piano", "strings", "electronic")
#: Share of each style's clips that have a drum kit.
DRUM_SHARE: dict[str, float] = {"band": 0.75, "electronic": 0.85, "piano": 0.25, "strings": 0.3}
#: Share of clean clips with tempo drift, and its range (largest fractional deviation).
DRIFT_SHARE = 0.25
DRIFT_RANGE = (0.02, 0.06)
DURATION_RANGE = (30.0, 60.0)

DEGRADATIONS = ("mp3", "lowpass", "noise", "clipping")
N_DEGRADED_PER_KIND = 12
MP3_BIT_RATE = 128_000
LOWPASS_HZ = (4000.0, 5000.0)
NOISE_SNR_DB = (10.0, 20.0)
CLIP_DRIVE_DB = (8.0, 14.0)
PEAK_DBFS = -1.0
KEYS = tuple((tonic, mode) for mode in ("major", "minor") for tonic in range(12))


@dataclass(frozen=True)
class ClipDef:
    """One clip of the set: the song parameters, or a degradation of another clip.

    ``degradation`` is ``None`` for clean clips; degraded clips name their ``source`` clip and
    carry the degradation's parameter (``param``: cutoff Hz, SNR dB or drive dB; bit rate for
    MP3). ``index`` orders the set (degraded clips follow their source's index).
    """

    name: str
    index: int
    tonic: int
    mode: str
    meter: str
    bpm: float
    style: str
    drums: bool
    drift: float
    seed: int
    duration_s: float
    lead_in_s: float
    humanize_ms: float
    degradation: str | None = None
    param: float | None = None
    source: str | None = None

    @property
    def clean(self) -> bool:
        return self.degradation is None

    def spec(self) -> Any:
        """The :class:`midi_songs.SongSpec` of the (source) song."""
        midi_songs = song_module()
        num, den = (int(x) for x in self.meter.split("/"))
        return midi_songs.SongSpec(
            tempo_bpm=self.bpm, tonic=self.tonic, mode=self.mode, numerator=num,
            denominator=den, style=self.style, drums=self.drums, duration_s=self.duration_s,
            tempo_drift=self.drift, seed=self.seed, lead_in_s=self.lead_in_s,
            humanize_ms=self.humanize_ms,
        )

    def definition_hash(self) -> str:
        """Identity of everything that determines the audio (stale-cache detection)."""
        blob = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def song_module() -> Any:
    """Import the song generator from scripts/ (not an installed package)."""
    path = str(ROOT / "scripts")
    if path not in sys.path:
        sys.path.insert(0, path)
    import midi_songs

    return midi_songs


def _balanced(rng: np.random.Generator, counts: dict[Any, int]) -> list[Any]:
    """A shuffled list holding each value ``counts[value]`` times."""
    items = [v for v, n in counts.items() for _ in range(n)]
    return [items[i] for i in rng.permutation(len(items))]


def define_clips() -> list[ClipDef]:
    """The full set definition: :data:`N_CLEAN` clean clips, then their degraded copies.

    Every attribute is drawn as a balanced, shuffled assignment (not independently at random)
    so each subset gets the size it was planned to have: keys cycle through all 24, meters
    follow :data:`METER_PLAN`, styles are equal, drums follow :data:`DRUM_SHARE` per style.
    """
    assert sum(METER_PLAN.values()) == N_CLEAN
    rng = np.random.default_rng(SET_SEED)
    reps = math.ceil(N_CLEAN / len(KEYS))
    keys = [KEYS[i % len(KEYS)] for i in rng.permutation(reps * len(KEYS))[:N_CLEAN]]
    missing = set(KEYS) - set(keys)
    for k in sorted(missing):  # ensure all 24 even after truncation
        counts: dict[tuple[int, str], int] = {}
        for x in keys:
            counts[x] = counts.get(x, 0) + 1
        most = max(counts, key=lambda x: counts[x])
        keys[keys.index(most)] = k
    meters = _balanced(rng, METER_PLAN)
    styles = _balanced(rng, {s: N_CLEAN // len(STYLES) for s in STYLES})
    drift_flags = _balanced(
        rng, {True: round(DRIFT_SHARE * N_CLEAN), False: N_CLEAN - round(DRIFT_SHARE * N_CLEAN)}
    )
    # drums: balanced within each style
    drums: list[bool] = [False] * N_CLEAN
    for style in STYLES:
        idx = [i for i, s in enumerate(styles) if s == style]
        n_on = round(DRUM_SHARE[style] * len(idx))
        for j, i in enumerate(rng.permutation(idx)):
            drums[int(i)] = j < n_on

    bpms = []
    for meter in meters:
        lo, hi = TEMPO_RANGES[meter]
        bpms.append(round(float(math.exp(rng.uniform(math.log(lo), math.log(hi)))), 1))
    # pin the extremes of the widest range so the set spans it exactly
    wide = [i for i, m in enumerate(meters) if TEMPO_RANGES[m] == TEMPO_RANGES["4/4"]]
    bpms[min(wide, key=lambda i: bpms[i])] = TEMPO_RANGES["4/4"][0]
    bpms[max(wide, key=lambda i: bpms[i])] = TEMPO_RANGES["4/4"][1]

    clean: list[ClipDef] = []
    for i in range(N_CLEAN):
        tonic, mode = keys[i]
        meter = meters[i]
        bpm = bpms[i]
        drift = round(float(rng.uniform(*DRIFT_RANGE)), 3) if drift_flags[i] else 0.0
        u = float(rng.uniform())
        duration = round(DURATION_RANGE[0] + (DURATION_RANGE[1] - DURATION_RANGE[0]) * u * u, 1)
        lead_in = round(float(rng.uniform(0.2, 2.0)), 2) if rng.uniform() < 0.5 else 0.0
        humanize = float(rng.choice([0.0, 0.0, 4.0, 8.0]))
        seed = 1000 + i
        probe = ClipDef("", i, tonic, mode, meter, bpm, styles[i], drums[i], drift, seed,
                        duration, lead_in, humanize)
        slug = probe.spec().slug()
        name = f"c{i:03d}_{slug}"
        clean.append(ClipDef(name, i, tonic, mode, meter, bpm, styles[i], drums[i], drift,
                             seed, duration, lead_in, humanize))

    # Degraded copies: distinct sources spread over meter x style x drums, kinds round-robin.
    order = sorted(range(N_CLEAN), key=lambda i: (clean[i].meter, clean[i].style,
                                                  clean[i].drums, i))
    n_deg = N_DEGRADED_PER_KIND * len(DEGRADATIONS)
    picks = [order[round(j * (N_CLEAN - 1) / (n_deg - 1))] for j in range(n_deg)]
    picks_perm = rng.permutation(n_deg)
    degraded: list[ClipDef] = []
    for j, src_i in enumerate(picks):
        src = clean[src_i]
        kind = DEGRADATIONS[int(picks_perm[j]) % len(DEGRADATIONS)]
        param = draw_degradation_param(kind, rng)
        fields = asdict(src)
        fields.update(name=f"{src.name}__{kind}", degradation=kind, param=param,
                      source=src.name)
        degraded.append(ClipDef(**fields))
    degraded.sort(key=lambda c: c.index)
    return clean + degraded


# --------------------------------------------------------------------------------------------
# Degradations
# --------------------------------------------------------------------------------------------


def _peak_normalize(audio: np.ndarray, peak_dbfs: float = PEAK_DBFS) -> np.ndarray:
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 0:
        audio = audio * np.float32(10 ** (peak_dbfs / 20) / peak)
    return audio.astype(np.float32)


def _pink_noise(rng: np.random.Generator, n: int, channels: int) -> np.ndarray:
    """Pink (1/f power) noise, unit RMS per channel, by shaping white noise in frequency."""
    spec = np.fft.rfft(rng.standard_normal((channels, n)), axis=1)
    f = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    shape = np.ones_like(f)
    shape[1:] = 1.0 / np.sqrt(np.maximum(f[1:], 20.0))
    shape[0] = 0.0
    noise = np.fft.irfft(spec * shape, n=n, axis=1).T
    return (noise / np.sqrt(np.mean(noise**2, axis=0, keepdims=True))).astype(np.float32)


def draw_degradation_param(kind: str, rng: np.random.Generator) -> float:
    """The parameter of one ``kind`` of degradation, drawn from its range (the MP3 bit rate
    is fixed): low-pass cutoff in Hz, noise SNR in dB, clipping drive in dB."""
    if kind == "mp3":
        return float(MP3_BIT_RATE)
    if kind == "lowpass":
        return round(float(rng.uniform(*LOWPASS_HZ)), -1)
    if kind == "noise":
        return round(float(rng.uniform(*NOISE_SNR_DB)), 1)
    return round(float(rng.uniform(*CLIP_DRIVE_DB)), 1)


def degrade(audio: np.ndarray, clip: ClipDef, tmp: Path) -> np.ndarray:
    """Apply ``clip.degradation`` to clean float32 ``audio`` (samples x channels)."""
    kind = str(clip.degradation)
    return apply_degradation(audio, kind, clip.param, tmp=tmp,
                             seed=(SET_SEED, clip.index, DEGRADATIONS.index(kind)))


def apply_degradation(
    audio: np.ndarray, kind: str, param: float | None, *, tmp: Path, seed: Sequence[int]
) -> np.ndarray:
    """One of :data:`DEGRADATIONS` applied to clean float32 ``audio`` (samples x channels);
    ``seed`` draws the noise. Also degrades songs outside the set (``bench/tempo_octave``)."""
    import scipy.signal

    rng = np.random.default_rng(list(seed))
    if kind == "mp3":
        path = tmp / "roundtrip.mp3"
        out = _mp3_round_trip(audio, path, int(param or MP3_BIT_RATE))
        if out.shape != audio.shape:  # PyAV trims encoder delay and padding; guard anyway
            out = out[: len(audio)]
            if len(out) < len(audio):
                out = np.concatenate([out, np.zeros((len(audio) - len(out), out.shape[1]),
                                                    np.float32)])
        return out
    if kind == "lowpass":
        sos = scipy.signal.butter(8, float(param or 4500.0), fs=SAMPLE_RATE, output="sos")
        return _peak_normalize(scipy.signal.sosfiltfilt(sos, audio, axis=0))
    if kind == "noise":
        power = float(np.mean(audio.astype(np.float64) ** 2))
        noise = _pink_noise(rng, len(audio), audio.shape[1])
        gain = math.sqrt(power / 10 ** (float(param or 15.0) / 10))
        return _peak_normalize(audio + gain * noise)
    if kind == "clipping":
        limit = 10 ** (PEAK_DBFS / 20)
        driven = audio * np.float32(10 ** (float(param or 10.0) / 20))
        return np.clip(driven, -limit, limit).astype(np.float32)
    raise ValueError(f"unknown degradation {kind!r}")


def _mp3_round_trip(audio: np.ndarray, path: Path, bit_rate: int) -> np.ndarray:
    """Encode to MP3 at ``path`` and decode it back to float32 (samples x channels), with
    PyAV (the same code that writes the example clips)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import render_examples

    render_examples.encode_audio(audio, SAMPLE_RATE, path, "libmp3lame", bit_rate)
    audio, rate = render_examples.decode_audio(path)
    if rate != SAMPLE_RATE:
        raise RuntimeError(f"{path.name}: decoded at {rate} Hz, expected {SAMPLE_RATE}")
    return audio


def _write_wav(audio: np.ndarray, path: Path) -> None:
    """16-bit PCM WAV, written to a temporary name and renamed (no half-written clips)."""
    import scipy.io.wavfile

    pcm = np.round(np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)
    part = path.with_suffix(".part.wav")
    scipy.io.wavfile.write(part, SAMPLE_RATE, pcm)
    part.replace(path)


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def clip_path(clip: ClipDef) -> Path:
    return CLIPS_DIR / f"{clip.name}.wav"


def render_group(clean: ClipDef, copies: list[ClipDef], want_clean: bool) -> list[dict[str, Any]]:
    """Render a clean clip (and/or its degraded copies); return their manifest entries.

    Runs in a worker process. The clean audio is synthesised once and every copy is derived
    from it; the truth of a copy is the truth of its source.
    """
    midi_songs = song_module()
    spec = clean.spec()
    pm, truth = midi_songs.make_song(spec)
    truth_d = truth.to_dict(times=True, decimals=5)
    CLIPS_DIR.mkdir(parents=True, exist_ok=True)
    entries = []
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        audio = midi_songs.render_midi(pm, tmp / "clean.wav", sr=SAMPLE_RATE,
                                       duration_s=spec.duration_s, peak_dbfs=PEAK_DBFS)
        todo = ([clean] if want_clean else []) + copies
        for clip in todo:
            path = clip_path(clip)
            if clip.clean:
                shutil.copyfile(tmp / "clean.wav", path.with_suffix(".part.wav"))
                path.with_suffix(".part.wav").replace(path)
            else:
                _write_wav(degrade(audio, clip, tmp), path)
            entries.append({
                "definition": asdict(clip),
                "definition_hash": clip.definition_hash(),
                "file": str(path.relative_to(DATA)),
                "size": path.stat().st_size,
                "sha256": content_hash(path),
                "duration_s": spec.duration_s,
                "truth": truth_d,
            })
    return entries


def renderer_info() -> dict[str, str]:
    """What the audio depends on besides the code: fluidsynth and the soundfont."""
    midi_songs = song_module()
    exe = shutil.which("fluidsynth")
    version = "not installed"
    if exe:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
        version = (out.strip().splitlines() or ["?"])[0]
    try:
        sf2 = midi_songs.default_soundfont()
    except FileNotFoundError:
        sf2 = "none"
    return {"fluidsynth": version, "soundfont": sf2}


def load_manifest() -> dict[str, Any]:
    if MANIFEST.exists():
        try:
            return json.loads(MANIFEST.read_text())
        except json.JSONDecodeError:
            pass
    return {"version": SET_VERSION, "clips": {}}


def _current(entry: dict[str, Any] | None, clip: ClipDef) -> bool:
    if entry is None or entry.get("definition_hash") != clip.definition_hash():
        return False
    path = DATA / entry["file"]
    return path.exists() and path.stat().st_size == entry.get("size")


def ensure_set(
    clips: Iterable[ClipDef] | None = None,
    jobs: int = 2,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Render whatever of ``clips`` (default: the whole set) is missing or stale.

    Returns the manifest (``{"version", "renderer", "clips": {name: entry}}``). Rendering runs
    in ``jobs`` worker processes; the manifest is rewritten after every finished group so an
    interrupted build resumes where it stopped.
    """
    all_clips = define_clips()
    by_name = {c.name: c for c in all_clips}
    wanted = list(clips) if clips is not None else all_clips
    manifest = load_manifest()
    if manifest.get("version") != SET_VERSION:
        manifest = {"version": SET_VERSION, "clips": {}}
    manifest["renderer"] = renderer_info()
    entries: dict[str, Any] = manifest.setdefault("clips", {})
    stale = [c for c in wanted if not _current(entries.get(c.name), c)]
    if not stale:
        return manifest
    groups: dict[str, tuple[bool, list[ClipDef]]] = {}
    for c in stale:
        src = c.name if c.clean else str(c.source)
        want_clean, copies = groups.get(src, (False, []))
        if c.clean:
            want_clean = True
        else:
            copies.append(c)
        groups[src] = (want_clean, copies)
    total = sum(c.duration_s for c in stale)
    log(f"# rendering {len(stale)} clips ({total / 60:.0f} min of audio, {len(groups)} songs) "
        f"into {DATA.relative_to(ROOT)} with {jobs} workers ...")
    DATA.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    done = 0
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(render_group, by_name[src], copies, want_clean)
                   for src, (want_clean, copies) in groups.items()]
        for fut in as_completed(futures):
            for entry in fut.result():
                entries[entry["definition"]["name"]] = entry
                done += 1
            _save_manifest(manifest)
            if done % 20 < len(fut.result()) or done == len(stale):
                log(f"#   {done}/{len(stale)} clips ({time.perf_counter() - t0:.0f} s)")
    _save_manifest(manifest)
    return manifest


def _save_manifest(manifest: dict[str, Any]) -> None:
    part = MANIFEST.with_suffix(".part.json")
    part.write_text(json.dumps(manifest, indent=0, sort_keys=True))
    part.replace(MANIFEST)


def describe(clips: list[ClipDef]) -> str:
    """One paragraph on the composition of ``clips`` (for benchmark headers)."""
    clean = [c for c in clips if c.clean]
    deg = [c for c in clips if not c.clean]
    dur = sum(c.duration_s for c in clips)
    meters = {m: sum(c.meter == m for c in clean) for m in METER_PLAN}
    keys = {(c.tonic, c.mode) for c in clean}
    bpms = [c.bpm for c in clean]
    parts = [
        f"{len(clean)} clean clips + {len(deg)} degraded copies, {dur / 60:.1f} min of audio",
        "meters " + " ".join(f"{m}:{n}" for m, n in meters.items() if n),
        f"{len(keys)}/24 keys",
        f"tempi {min(bpms, default=0):g}-{max(bpms, default=0):g} bpm" if bpms else "",
        f"drums {sum(c.drums for c in clean)}/{len(clean)}",
        f"drift {sum(c.drift > 0 for c in clean)}/{len(clean)}",
    ]
    if deg:
        parts.append("degraded " + " ".join(
            f"{k}:{sum(c.degradation == k for c in deg)}" for k in DEGRADATIONS))
    return "; ".join(p for p in parts if p)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Render (or check) the accuracy benchmark set.")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--list", action="store_true", help="print the clip definitions and exit")
    args = ap.parse_args(argv)
    clips = define_clips()
    if args.list:
        for c in clips:
            print(f"{c.name:60s} {c.duration_s:5.1f}s lead {c.lead_in_s:4.2f} hum {c.humanize_ms:g}"
                  + (f"  {c.degradation} {c.param:g}" if c.degradation else ""))
        print(describe(clips))
        return 0
    ensure_set(clips, jobs=args.jobs)
    print(describe(clips))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
