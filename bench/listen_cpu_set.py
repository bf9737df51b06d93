"""The clips ``bench/listen_cpu`` scores: pieces nobody here wrote, played by known instruments,
half of them with a known voice over the music.

Each clip is a Bach chorale (four parts) or a fiddle tune from *Ryan's Mammoth Collection*,
both from music21's corpus (public domain), played for 24 s by General MIDI programs whose
instrument tag is known (``PROGRAMS``: piano, harpsichord, guitar, violin, cello, harp, string
ensemble, flute, sitar, synth), alone or as melody and accompaniment, a third of them with a
drum kit, rendered with fluidsynth and FluidR3. Half the clips get a voice: espeak-ng speaks
(or, slowed and raised, chants) a line of a traditional public-domain song over the music at
a known time and level, so the voiced span and the words are known. The reference
description of each clip is written from this known content (what plays, how fast, whether a
voice speaks) by :func:`reference_text`.

Clips come in groups of four (chorale, tune, each with and without a voice); alternate groups
are the dev half (thresholds were chosen there) and the test half (the figures). Audio and
``manifest.json`` go to ``bench/data/listen_cpu_v1/``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data" / "listen_cpu_v1"
SEED = 20_261_206
CLIP_S = 24.0
SR = 44100
#: General MIDI program -> the tag a listener should give it.
PROGRAMS = {0: "piano", 6: "harpsichord", 24: "guitar", 25: "guitar", 40: "violin",
            42: "cello", 46: "harp", 48: "strings", 73: "flute", 104: "sitar", 81: "synth",
            89: "synth"}  # fmt: skip
LEADS = (40, 73, 25, 104, 81, 0)
#: Traditional songs (public domain): the words the voice says.
LINES = (
    "twinkle twinkle little star how I wonder what you are",
    "row row row your boat gently down the stream merrily merrily life is but a dream",
    "mary had a little lamb its fleece was white as snow",
    "london bridge is falling down falling down my fair lady",
    "oh my darling oh my darling oh my darling clementine",
    "home home on the range where the deer and the antelope play",
    "she'll be coming round the mountain when she comes",
    "amazing grace how sweet the sound that saved a wretch like me",
    "my bonnie lies over the ocean my bonnie lies over the sea",
    "oh susanna oh don't you cry for me for I come from alabama with my banjo on my knee",
    "yankee doodle went to town a riding on a pony",
    "swing low sweet chariot coming for to carry me home",
)
VOICES = (("en+m3", "male"), ("en+f3", "female"), ("en-us+m1", "male"), ("en-us+f2", "female"))


def _pieces(n: int) -> list[dict[str, Any]]:
    """``n`` pieces alternating chorales and tunes: notes as (start ql, length ql, pitch, part)."""
    from music21 import corpus

    chorales = list(corpus.chorales.Iterator(numberingSystem="riemenschneider",
                                             returnType="filename"))  # fmt: skip
    tunes = sorted(str(p) for p in corpus.getPaths() if "ryansMammoth" in str(p))
    rng = np.random.default_rng(SEED)
    picks = {"chorale": [chorales[i] for i in rng.permutation(len(chorales))],
             "tune": [tunes[i] for i in rng.permutation(len(tunes))]}  # fmt: skip
    out: list[dict[str, Any]] = []
    cursor = {"chorale": 0, "tune": 0}
    while len(out) < n:
        kind = "chorale" if len(out) % 2 == 0 else "tune"
        path = picks[kind][cursor[kind]]
        cursor[kind] += 1
        try:
            score = corpus.parse(path)
            if hasattr(score, "scores"):  # an opus of tunes: its first
                score = score.scores[0]
            score = score.stripTies()
        except Exception:  # a corpus file music21 cannot read is left out
            continue
        notes = []
        for part_index, part in enumerate(score.parts):
            for n_ in part.recurse().notes:
                if n_.quarterLength <= 0 or not hasattr(n_, "pitches"):
                    continue
                offset = float(n_.getOffsetInHierarchy(score))
                notes += [(offset, float(n_.quarterLength), int(p.midi), part_index)
                          for p in n_.pitches]  # fmt: skip
        if len(notes) >= 16:
            out.append({"kind": kind, "path": str(path).split("corpus/")[-1], "notes": notes})
    return out


def _arrangement(index: int, kind: str, rng: np.random.Generator) -> dict[str, Any]:
    programs = list(PROGRAMS)
    if kind == "tune" or rng.random() < 0.4:
        lead = int(rng.choice(programs))
        accompaniment = None
    else:
        lead = int(rng.choice(LEADS))
        accompaniment = int(rng.choice([p for p in programs if PROGRAMS[p] != PROGRAMS[lead]]))
    tempo = float(rng.uniform(60, 90) if kind == "chorale" else rng.uniform(90, 130))
    voice = index % 4 in (1, 2)  # half the clips, balanced between dev and test
    plan = {"lead": lead, "accompaniment": accompaniment, "drums": index % 3 == 0,
            "tempo_qpm": round(tempo, 1), "voice": None}  # fmt: skip
    if voice:
        variant, gender = VOICES[int(rng.integers(len(VOICES)))]
        plan["voice"] = {"text": LINES[int(rng.integers(len(LINES)))], "variant": variant,
                         "gender": gender, "start_s": round(float(rng.uniform(2, 8)), 2),
                         "speed_wpm": int(rng.integers(100, 150)),
                         "pitch": int(rng.integers(30, 80)),
                         "level_db": round(float(rng.uniform(-4, 2)), 1)}  # fmt: skip
    return plan


def _midi(piece: dict[str, Any], plan: dict[str, Any]) -> Any:
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=plan["tempo_qpm"])
    spq = 60.0 / plan["tempo_qpm"]
    lead = pretty_midi.Instrument(program=plan["lead"])
    acc = pretty_midi.Instrument(program=plan["accompaniment"] or 0)
    length_ql = max(o + d for o, d, _, _ in piece["notes"])
    loops = int(np.ceil(CLIP_S / (length_ql * spq))) + 1
    for loop in range(loops):
        for offset, dur, pitch, part in piece["notes"]:
            start = (offset + loop * length_ql) * spq
            if start >= CLIP_S:
                continue
            target = lead if plan["accompaniment"] is None or part == 0 else acc
            target.notes.append(pretty_midi.Note(velocity=90 if target is lead else 70,
                                                 pitch=pitch, start=start,
                                                 end=start + dur * spq * 0.95))  # fmt: skip
    pm.instruments.append(lead)
    if plan["accompaniment"] is not None:
        pm.instruments.append(acc)
    if plan["drums"]:
        kit = pretty_midi.Instrument(program=0, is_drum=True)
        beat = 0
        while beat * spq < CLIP_S:
            t = beat * spq
            kit.notes.append(pretty_midi.Note(velocity=100, pitch=36 if beat % 2 == 0 else 38,
                                              start=t, end=t + 0.1))  # fmt: skip
            for half in (0.0, 0.5):
                kit.notes.append(pretty_midi.Note(velocity=60, pitch=42, start=t + half * spq,
                                                  end=t + half * spq + 0.05))  # fmt: skip
            beat += 1
        pm.instruments.append(kit)
    return pm


def _voice(plan: dict[str, Any], tmp: Path) -> np.ndarray:
    """The voice at 44.1 kHz mono."""
    import scipy.io.wavfile
    from scipy.signal import resample_poly

    wav = tmp / "voice.wav"
    subprocess.run(["espeak-ng", "-v", plan["variant"], "-s", str(plan["speed_wpm"]), "-p",
                    str(plan["pitch"]), "-w", str(wav), plan["text"]], check=True)  # fmt: skip
    rate, data = scipy.io.wavfile.read(wav)
    data = data.astype(np.float32) / 32768.0
    return resample_poly(data, SR, rate).astype(np.float32)


def render(piece: dict[str, Any], plan: dict[str, Any], path: Path) -> dict[str, Any]:
    """Render one clip to ``path`` (16-bit WAV); return the voice's span when it has one."""
    import scipy.io.wavfile

    sys.path.insert(0, str(ROOT / "scripts"))
    import midi_songs

    with tempfile.TemporaryDirectory() as tmp:
        music = midi_songs.render_midi(_midi(piece, plan), Path(tmp) / "m.wav", sr=SR,
                                       duration_s=CLIP_S, peak_dbfs=-6.0)  # fmt: skip
        mono = music.mean(axis=1)
        span = None
        if plan["voice"]:
            v = plan["voice"]
            voice = _voice(v, Path(tmp))
            a = round(v["start_s"] * SR)
            voice = voice[: len(mono) - a]
            gain = np.sqrt(np.mean(mono**2) / max(np.mean(voice**2), 1e-12))
            mono[a : a + len(voice)] += voice * gain * 10 ** (v["level_db"] / 20)
            span = [v["start_s"], round(v["start_s"] + len(voice) / SR, 3)]
    mono *= 0.5 / max(float(np.max(np.abs(mono))), 1e-9)
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.wavfile.write(path, SR, np.round(mono * 32767).astype(np.int16))
    return {"voice_span": span}


def tempo_word(qpm: float) -> str:
    return "slow" if qpm < 70 else "moderate" if qpm < 100 else "lively"


def reference_text(clip: dict[str, Any]) -> str:
    """The description a listener should give, written from the clip's known content."""
    plan = clip["plan"]
    lead = PROGRAMS[plan["lead"]]
    style = "a Bach chorale" if clip["kind"] == "chorale" else "a fiddle tune"
    players = f"solo {lead}" if plan["accompaniment"] is None else \
        f"{lead} with {PROGRAMS[plan['accompaniment']]} accompaniment"  # fmt: skip
    genre = "classical" if clip["kind"] == "chorale" else "folk"
    parts = [f"A {genre} piece, {style}, played on {players}"]
    if plan["drums"]:
        parts.append("over a steady rock drum beat")
    text = " ".join(parts) + f", {tempo_word(plan['tempo_qpm'])} tempo."
    if plan["voice"]:
        text += f" A {plan['voice']['gender']} voice speaks over the music."
    else:
        text += " Instrumental, no vocals."
    return text


def reference_tags(clip: dict[str, Any]) -> dict[str, list[str]]:
    plan = clip["plan"]
    instruments = {PROGRAMS[plan["lead"]]}
    if plan["accompaniment"] is not None:
        instruments.add(PROGRAMS[plan["accompaniment"]])
    if plan["drums"]:
        instruments.add("drums")
    genre = ["classical"] if clip["kind"] == "chorale" else ["folk", "country"]
    return {"instrument": sorted(instruments), "genre": genre,
            "vocals": [f"{plan['voice']['gender']} vocals"] if plan["voice"] else []}  # fmt: skip


def split_of(index: int) -> str:
    """``dev`` or ``test``: alternate groups of four clips, so each half has every kind."""
    return "dev" if (index // 4) % 2 == 0 else "test"


def ensure_set(n: int = 48) -> list[dict[str, Any]]:
    """Render the clips that are missing; return the manifest's clips."""
    if shutil.which("espeak-ng") is None or shutil.which("fluidsynth") is None:
        raise SystemExit("bench/listen_cpu needs espeak-ng and fluidsynth (apt-get install)")
    manifest_path = DATA / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if len(manifest["clips"]) >= n and all((DATA / c["file"]).exists()
                                               for c in manifest["clips"][:n]):  # fmt: skip
            clips = manifest["clips"][:n]
            for i, clip in enumerate(clips):
                clip["split"] = split_of(i)
            return clips
    rng = np.random.default_rng(SEED)
    clips = []
    for i, piece in enumerate(_pieces(n)):
        plan = _arrangement(i, piece["kind"], rng)
        clip = {"id": f"clip{i:03d}", "file": f"clip{i:03d}.wav", "kind": piece["kind"],
                "piece": piece["path"], "split": split_of(i),
                "plan": plan}  # fmt: skip
        clip.update(render(piece, plan, DATA / clip["file"]))
        clip["reference"] = reference_text(clip)
        clip["tags"] = reference_tags(clip)
        clips.append(clip)
        print(f"\rrendered {i + 1}/{n}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    DATA.mkdir(parents=True, exist_ok=True)
    tmp = manifest_path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"seed": SEED, "clips": clips}, indent=1))
    tmp.replace(manifest_path)
    return clips
