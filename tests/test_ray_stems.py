"""``stems --executor ray``: Demucs separation by actors on a local Ray (the session's
``ray_address``), with a tiny random HTDemucs loaded by name from a local model folder: the
stems equal a local run's sample for sample, the driver writes the completion markers, and a
second run separates nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
from separate_fixtures import one_torch_thread, tiny_repo  # noqa: F401
from synth import click_track, tone

from linernotes.audio.encode import write_audio
from linernotes.cli import main

pytest.importorskip("ray")


def _stems(out: Path) -> dict[str, np.ndarray]:
    files = sorted(out.rglob("*.flac"))
    return {p.relative_to(out).as_posix(): soundfile.read(p)[0] for p in files}


def test_ray_stems_equal_local_ones_and_resume(ray_address: str, tmp_path: Path, capsys) -> None:
    repo = tiny_repo(tmp_path / "models")
    folder = tmp_path / "music"
    folder.mkdir()
    sr = 22050
    clicks, _ = click_track(120.0, 2.0, sr)
    write_audio(folder / "a.flac", np.stack([clicks, tone(110.0, 2.0, sr, amp=0.2)]), sr)
    common = [str(folder), "--model-dir", str(repo), "--device", "cpu", "-q"]
    assert main(["stems", *common, "--db", str(tmp_path / "lib1" / "library.db"),
                 "--out", str(tmp_path / "local")]) == 0  # fmt: skip
    remote = ["stems", *common, "--db", str(tmp_path / "lib2" / "library.db"),
              "--out", str(tmp_path / "ray"), "--executor", "ray",
              "--ray-address", ray_address]  # fmt: skip
    assert main(remote) == 0
    local, ray = _stems(tmp_path / "local"), _stems(tmp_path / "ray")
    assert sorted(ray) == sorted(local) and len(ray) == 4
    for name, samples in local.items():
        np.testing.assert_array_equal(ray[name], samples, err_msg=name)
    markers = sorted((tmp_path / "lib2").rglob("htdemucs.json"))
    assert len(markers) == 1  # written by the driver, in the library
    capsys.readouterr()
    assert main([*remote, "--json"]) == 0  # a second run: every track already separated
    outcomes = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["status"] for o in outcomes] == ["skipped"]
