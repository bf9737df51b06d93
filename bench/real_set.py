"""Real recordings with no labels: the released game soundtracks that Debian packages.

Every other set here is rendered from scores, so it cannot show what a produced recording
(mixed, mastered, with long intros, breakdowns and fades) does to the analysis. Issue 24 asks
that a full track, its crops, its transcodes and a slightly stretched copy agree; this set is
where ``bench/consistency --set real`` checks that. Nothing here has a tempo, key or metre
label, and none of it was looked at to choose any setting.

The tracks are the music of four Debian packages, fetched as ``.deb`` files with
``apt-get download`` (no installation, no root) and unpacked into gitignored
``bench/data/real_v1/``:

* ``wesnoth-1.16-music`` (GPL-2+): orchestral and folk soundtrack of The Battle for Wesnoth;
* ``hyperrogue-music`` (GPL-2+): the game's electronic and ambient tracks (its ``sounds``
  folder of effects is left out);
* ``drascula-music`` (BSD-like Drascula licence): the adventure game's soundtrack;
* ``asc-music`` (GPL-2+): Advanced Strategic Command's rock tracks.

The manifest records each track's package, version, licence line, path, SHA-256 and length.
Tracks shorter than :data:`MIN_TRACK_S` (jingles) are left out.

Usage::

    bench/real_set            # fetch and unpack what is missing, print the make-up
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from linernotes.fileio import content_hash, write_atomic  # noqa: E402

SET_VERSION = "real_v1"
DATA = ROOT / "bench" / "data" / SET_VERSION
#: Package -> the folder inside it that holds its music (not its sound effects), and its
#: licence as its copyright file states it.
PACKAGES = {
    "wesnoth-1.16-music": ("usr/share/games/wesnoth/1.16/data/core/music", "GPL-2+"),
    "hyperrogue-music": ("usr/share/hyperrogue/music", "GPL-2+"),
    "drascula-music": ("usr/share/scummvm/drascula/audio", "Drascula licence (BSD-like)"),
    "asc-music": ("usr/share/games/asc/music", "GPL-2+"),
}
AUDIO_SUFFIXES = (".ogg", ".mp3", ".flac", ".wav")
#: Shorter files are jingles and stingers, not tracks.
MIN_TRACK_S = 40.0
#: The crops a real track is compared with: where each starts, as a share of the track's
#: length, their names and their length.
CROP_STARTS = (0.2, 0.5, 0.8)
CROP_NAMES = tuple(f"crop{round(100 * f)}" for f in CROP_STARTS)
CROP_S = 30.0


def crop_begins(duration_s: float) -> dict[str, float]:
    """Each crop's name and start in seconds: from 20, 50 and 80 % of the track, moved
    earlier where the track would end before the crop does.

    >>> crop_begins(100.0)
    {'crop20': 20.0, 'crop50': 50.0, 'crop80': 70.0}
    """
    return {name: min(start * duration_s, max(duration_s - CROP_S, 0.0))
            for name, start in zip(CROP_NAMES, CROP_STARTS, strict=True)}


def fetch_package(package: str, data: Path, folder: str) -> tuple[Path, str]:
    """The package unpacked under ``data/packages/`` and its version, downloading its .deb
    into ``data/debs/`` when missing (``apt-get download``: no installation, no root).
    ``folder`` is a folder the package must hold once unpacked; it is unpacked again if not."""
    debs = data / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{package}_*.deb"))
    if not found:
        done = subprocess.run(["apt-get", "download", package], cwd=debs,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"bench: apt-get download {package} failed: "
                             f"{done.stderr.strip()}")
        found = sorted(debs.glob(f"{package}_*.deb"))
    if not found:
        raise SystemExit(f"bench: apt-get download {package} gave no .deb")
    deb = found[-1]
    version = deb.name.split("_")[1].replace("%3a", ":")
    target = data / "packages" / package
    if not (target / folder).is_dir():
        part = target.with_name(target.name + ".part")
        subprocess.run(["rm", "-rf", str(part)], check=True)
        part.mkdir(parents=True)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(part)], check=True)
        subprocess.run(["rm", "-rf", str(target)], check=True)
        part.rename(target)
    return target, version


def _duration_s(path: Path) -> float:
    import soundfile

    return float(soundfile.info(str(path)).duration)


def ensure_set() -> list[dict[str, Any]]:
    """Fetch and unpack what is missing, write the manifest and return its tracks."""
    tracks: list[dict[str, Any]] = []
    for package, (folder, licence) in PACKAGES.items():
        unpacked, version = fetch_package(package, DATA, folder)
        for path in sorted((unpacked / folder).rglob("*")):
            if path.suffix.lower() not in AUDIO_SUFFIXES or not path.is_file():
                continue
            duration = _duration_s(path)
            if duration < MIN_TRACK_S:
                continue
            tracks.append({
                "name": f"{package.split('-')[0]}_{path.stem}",
                "package": package, "version": version, "licence": licence,
                "file": str(path.relative_to(DATA)), "sha256": content_hash(path),
                "duration_s": round(duration, 2),
            })
    write_atomic(DATA / "manifest.json", json.dumps({"tracks": tracks}, indent=1))
    return tracks


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.parse_args(argv)
    tracks = ensure_set()
    minutes = sum(t["duration_s"] for t in tracks) / 60.0
    print(f"{len(tracks)} real tracks ({minutes:.0f} min) in {DATA}")
    for package, (_, licence) in PACKAGES.items():
        mine = [t for t in tracks if t["package"] == package]
        minutes = sum(t["duration_s"] for t in mine) / 60.0
        print(f"  {package:22s} {len(mine):3d} tracks, {minutes:5.1f} min ({licence})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
