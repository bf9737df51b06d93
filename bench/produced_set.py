"""Produced music with known tempo, for development: LMMS's demo songs, rendered by LMMS.

The labelled sets here were rendered from scores and MIDI files (``bench/corpus_set``,
``bench/game_dev_set``), and the only labelled produced recordings (``bench/charted_set``,
guitar rock and metal) are a test set. That left no produced music to choose a setting on,
and the charted set showed the one failure it could not explain away: fast produced music with
drums read at half its written tempo. LMMS (Debian's ``lmms``) ships demo songs made in it by
its users, at 87-200 BPM, with synthesisers, sampled drums and effects; LMMS renders them as
their authors heard them, and a project's tempo and time signature are stored in the project.

* The songs of ``/usr/share/lmms/projects/demos`` and ``shorties`` (``lmms-common``; GPL-2+,
  Artistic-2, BSD-2-clause or CC BY-SA 3.0 by song, as its copyright file states), rendered
  with ``lmms render`` at 44.1 kHz into gitignored ``bench/data/produced_v1/``.
* The truth is the project's grid: a beat every ``60 / bpm`` seconds from time 0 (LMMS plays
  from the first tick; no demo automates its tempo, and one that did would be an error), bars
  of the time signature's numerator. An 8/4 or 1/1 project states no usable bar, so its bar
  lines are unknown (``downbeats_known`` false), as in ``bench/game_dev_set``. Checked once
  before any analysis: librosa's onset envelope, averaged over each song's grid, peaks 10-35 ms
  after the grid's beats on 24 of the 25 songs (it peaks 10 ms after synthetic clicks), inside
  the 70 ms beat window; the 25th, a reggae song, accents the off-beats.
* Each song gives the whole render and three 30 s crops, cut and labelled as
  ``bench/charted_set`` cuts them (:func:`charted_set.cut_clips`), truth kept where the mix
  is audible.
* ``drums`` is whether a track plays a sample from LMMS's drum or beat folders or the
  ``kicker`` drum synthesiser. There is no key label.
* It is a dev set: settings may be chosen on it, so no figure on it is a result.

Usage::

    apt-get install lmms               # the renderer; it brings lmms-common's projects
    bench/produced_set                 # render and cut what is missing, print the make-up
    bench/measure --split produced     # linernotes against librosa, essentia and madmom
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import charted_set  # noqa: E402

from linernotes.fileio import write_atomic  # noqa: E402

SET_VERSION = "produced_v1"
DATA = ROOT / "bench" / "data" / SET_VERSION
PROJECTS = Path("/usr/share/lmms/projects")
#: The folders of finished songs (``tutorials`` holds feature demonstrations, not songs).
SONG_FOLDERS = ("demos", "shorties")
LICENCE = "GPL-2+, Artistic-2, BSD-2-clause or CC BY-SA 3.0 (lmms-common's copyright file)"
#: Sample folders whose use makes a song count as having drums.
DRUM_SAMPLES = ("drums/", "beats/")
#: Numerators with a bar we can score: others (8/4, 1/1) leave the bar lines unknown.
SCORED_NUMERATORS = (2, 3, 4, 6, 9, 12)
RENDER_TIMEOUT_S = 1800


def read_project(path: Path) -> ElementTree.Element:
    """An LMMS project's XML: ``.mmpz`` is Qt's ``qCompress`` (a 4-byte length, then zlib)."""
    raw = path.read_bytes()
    return ElementTree.fromstring(zlib.decompress(raw[4:]) if path.suffix == ".mmpz" else raw)


def project_metre(root: ElementTree.Element, path: Path) -> tuple[float, int, int]:
    """``(bpm, numerator, denominator)`` of a project; an automated tempo is an error."""
    head = root.find("head")
    if head is None:
        raise ValueError(f"{path}: no <head> element")
    bpm_node = head.find("bpm")
    bpm = head.get("bpm") or (bpm_node.get("value") if bpm_node is not None else None)
    if bpm is None:
        raise ValueError(f"{path}: no tempo in <head>")
    bpm_id = bpm_node.get("id") if bpm_node is not None else None
    if bpm_id is not None and any(obj.get("id") == bpm_id for obj in root.iter("object")):
        raise ValueError(f"{path}: the tempo is automated; its grid is not one tempo")
    return (float(bpm), int(head.get("timesig_numerator", 4)),
            int(head.get("timesig_denominator", 4)))


def has_drums(root: ElementTree.Element) -> bool:
    """Whether any track plays a drum sample or the ``kicker`` drum synthesiser."""
    for inst in root.iter("instrument"):
        if inst.get("name") == "kicker":
            return True
        for proc in inst.iter("audiofileprocessor"):
            if any(folder in proc.get("src", "") for folder in DRUM_SAMPLES):
                return True
    return False


def project_grid(bpm: float, numerator: int, end_s: float) -> charted_set.ChartGrid:
    """The project's beats from time 0 to ``end_s`` and, for a scorable numerator, its bars."""
    beats = np.arange(0.0, end_s + 1e-9, 60.0 / bpm)
    scored = numerator in SCORED_NUMERATORS
    return charted_set.ChartGrid(beats, beats[::numerator] if scored else beats[:0],
                                 numerator if scored else 4, scored)


def render(project: Path, out: Path) -> None:
    """Render ``project`` to ``out`` (WAV, 44.1 kHz) with LMMS, unless ``out`` is there."""
    if out.exists():
        return
    lmms = shutil.which("lmms")
    if lmms is None:
        raise SystemExit("bench/produced_set needs LMMS to render: apt-get install lmms")
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_suffix(".part.wav")
    root_flag = ["--allowroot"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([lmms, *root_flag, "render", str(project), "-o", str(part),
                           "-f", "wav", "-s", "44100"], env=env, capture_output=True,
                          text=True, timeout=RENDER_TIMEOUT_S)
    if done.returncode != 0 or not part.exists():
        raise RuntimeError(f"{project}: lmms render failed ({done.returncode}): "
                           f"{done.stderr.strip()[-300:]}")
    part.rename(out)


def song_clips(project: Path, version: str) -> list[dict[str, Any]]:
    """One song's whole render and crops, rendered and cut unless there."""
    import soundfile

    stem = project.name.split(".")[0]
    base = "lmms_" + "".join(ch if ch.isalnum() else "_" for ch in stem).lower()
    root = read_project(project)
    bpm, numerator, denominator = project_metre(root, project)
    wav = DATA / "renders" / f"{base}.wav"
    render(project, wav)
    audio, sr = soundfile.read(str(wav), always_2d=True, dtype="float32")
    grid = project_grid(bpm, numerator, len(audio) / sr)
    fields = {"song": stem, "package": "lmms-common", "version": version, "licence": LICENCE,
              "collection": stem.split("-")[0], "texture": "produced",
              "drums": has_drums(root), "time_signature": f"{numerator}/{denominator}"}
    try:
        return charted_set.cut_clips(audio, sr, grid, base, fields, DATA)
    except ValueError as exc:
        raise ValueError(f"{project}: {exc}") from exc


def _lmms_version() -> str:
    done = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "lmms-common"],
                          capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"


def ensure_set() -> list[dict[str, Any]]:
    """Render and cut what is missing, write the manifest and return its clips."""
    projects = sorted(p for folder in SONG_FOLDERS for p in (PROJECTS / folder).rglob("*.mmp*"))
    if not projects:
        raise SystemExit(f"no LMMS project under {PROJECTS}: apt-get install lmms")
    version = _lmms_version()
    clips: list[dict[str, Any]] = []
    for i, project in enumerate(projects, 1):
        print(f"[{i}/{len(projects)}] {project.name}", file=sys.stderr, flush=True)
        clips += song_clips(project, version)
    write_atomic(DATA / "manifest.json", json.dumps({"clips": clips}, indent=1))
    return clips


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.parse_args(argv)
    clips = ensure_set()
    whole = [c for c in clips if c["extent"] == "whole"]
    minutes = sum(c["truth"]["duration_s"] for c in whole) / 60.0
    print(f"{len(whole)} LMMS songs ({minutes:.0f} min, {sum(c['drums'] for c in whole)} with "
          f"drums) and {len(clips) - len(whole)} crops in {DATA}")
    for c in whole:
        t = c["truth"]
        print(f"  {c['name']:45s} {t['bpm']:6.1f} BPM  {t['duration_s']:6.1f} s  "
              f"{c['time_signature']:5s} {'drums' if c['drums'] else 'no drums'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
