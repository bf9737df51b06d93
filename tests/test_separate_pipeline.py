"""``linernotes stems`` and ``analyze --separate`` end to end with a tiny random HTDemucs
loaded by name from a local model folder (the real loader and separation path, offline):
stem rates, lengths and channels, resume, interruption, provenance in the records, user
stems winning, the exports, and no torchaudio anywhere."""

from __future__ import annotations

import json
import shutil
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import soundfile
from separate_fixtures import SOURCES, one_torch_thread, tiny_repo  # noqa: F401
from synth import chord, click_track, tone

from linernotes.audio.encode import write_audio
from linernotes.cli import main
from linernotes.library import analyze_paths, export_dataset
from linernotes.library.separate import separate_paths
from linernotes.library.stems import marker_path, read_marker, stems_root
from linernotes.models import Provenance, TrackRecord
from linernotes.separate.model import SeparationError, Separator, load_separator
from linernotes.separate.vocals import stem_vocals

SECONDS = 2.5


def _mix(sr: int) -> tuple[np.ndarray, ...]:
    drums, _ = click_track(120.0, SECONDS, sr)
    bass = tone(55.0, SECONDS, sr, amp=0.2)
    pad = chord([57, 60, 64], SECONDS, sr)
    voice = tone(440.0, SECONDS, sr, amp=0.1) * (np.arange(drums.size) > drums.size // 2)
    return drums, bass, pad, voice.astype(np.float32)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    return tiny_repo(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def separated(tmp_path_factory, repo: Path) -> Path:
    """``a.flac`` (48 kHz stereo), ``sub/b.wav`` (22.05 kHz mono), ``Song/`` with all four
    stems of its own and ``c.flac`` with its own vocals, separated by ``linernotes stems``
    and then analysed."""
    folder = tmp_path_factory.mktemp("sep") / "dataset"
    (folder / "sub").mkdir(parents=True)
    (folder / "Song").mkdir()
    d, b, p, v = _mix(48000)
    write_audio(folder / "a.flac", np.stack([d + b + p + v, d + b + p]), 48000)
    d, b, p, v = _mix(22050)
    write_audio(folder / "sub" / "b.wav", d + b + p, 22050)
    write_audio(folder / "c.flac", d + b + p + v, 22050)
    write_audio(folder / "c.vocals.wav", v, 22050)
    d, b, p, v = (0.8 * part for part in (d, b, p, v))
    write_audio(folder / "Song" / "full_mix.flac", d + b + p + v, 22050)
    for name, part in zip(SOURCES, (d, b, p, v), strict=True):
        write_audio(folder / "Song" / f"{name}.flac", part, 22050)
    assert main(["stems", str(folder), "--model-dir", str(repo), "--device", "cpu", "-q"]) == 0
    assert analyze_paths([folder]).exit_code == 0
    return folder


def _marker(folder: Path, track: Path):
    record = TrackRecord.load(track.with_name(track.stem + ".linernotes.json"))
    path = marker_path(folder / ".linernotes" / "library.db", record.file.content_hash,
                       "htdemucs")  # fmt: skip
    return path, read_marker(path)


def test_stems_keep_the_original_rate_length_and_channels(separated: Path):
    for name, rate, channels in (("a.flac", 48000, 2), ("sub/b.wav", 22050, 1)):
        track = separated / name
        frames = soundfile.info(str(track)).frames
        path, marker = _marker(separated, track)
        assert marker is not None and set(marker.stems) == set(SOURCES)
        assert (marker.sample_rate, marker.channels) == (rate, channels)
        for stem in marker.stem_paths(path).values():
            info = soundfile.info(str(stem))
            assert (info.samplerate, info.channels, info.frames) == (rate, channels, frames)
            assert info.format == "FLAC"
            assert stem.is_relative_to(stems_root(separated / ".linernotes" / "library.db"))
    assert not list(separated.rglob("*.tmp"))


def test_records_carry_separated_stems_and_user_stems_win(separated: Path, repo: Path):
    version = load_separator("htdemucs", model_dir=repo, device="cpu").version
    a = TrackRecord.load(separated / "a.linernotes.json")
    assert [s.stem_type for s in a.stems] == ["drums", "bass", "vocals", "other"]
    for stem in a.stems:
        assert stem.provenance == Provenance.SEPARATED
        assert (stem.model, stem.model_version) == ("htdemucs", version)
        assert (separated / stem.relpath).resolve() == Path(stem.path).resolve()
        assert stem.features is not None and len(stem.features.activity) == 3
        assert stem.presence is not None and 0.0 <= stem.presence <= 1.0
    vocals = stem_vocals(a)
    assert vocals is not None and vocals.separated and len(vocals.active) == 3
    c_record = TrackRecord.load(separated / "c.linernotes.json")
    user_vocals = stem_vocals(c_record)
    assert user_vocals is not None and not user_vocals.separated
    assert user_vocals.probability is not None and user_vocals.probability > 0.9
    assert user_vocals.sections() == [(1.0, 3.0)]  # the voice plays in the second half
    c = {s.stem_type: s for s in c_record.stems}
    assert c["vocals"].provenance == Provenance.MEASURED
    assert Path(c["vocals"].path).name == "c.vocals.wav" and c["vocals"].model is None
    assert {c[t].provenance for t in ("drums", "bass", "other")} == {Provenance.SEPARATED}
    song = TrackRecord.load(separated / "Song" / "full_mix.linernotes.json")
    assert {s.provenance for s in song.stems} == {Provenance.MEASURED}
    assert not (stems_root(separated / ".linernotes" / "library.db") / song.file.content_hash
                ).exists()  # fmt: skip


class _Counting(Separator):
    calls = 0

    def __call__(self, segments: np.ndarray) -> np.ndarray:
        type(self).calls += 1
        return super().__call__(segments)


def _counting(repo: Path) -> _Counting:
    loaded = load_separator("htdemucs", model_dir=repo, device="cpu")
    return _Counting(loaded.name, loaded.model, loaded.device, loaded.version)


def test_second_run_separates_nothing(separated: Path, repo: Path):
    markers = sorted(stems_root(separated / ".linernotes" / "library.db").rglob("*"))
    before = {p: p.stat().st_mtime_ns for p in markers}
    separator = _counting(repo)
    _Counting.calls = 0
    report = separate_paths([separated], separator)
    assert _Counting.calls == 0
    reasons = sorted(o.reason for o in report.outcomes)
    assert reasons == ["already separated"] * 3 + ["has its own stems"]
    assert {p: p.stat().st_mtime_ns for p in markers} == before


def test_interrupted_track_leaves_nothing_and_resumes(separated: Path, repo: Path, tmp_path):
    folder = tmp_path / "one"
    folder.mkdir()
    shutil.copy(separated / "a.flac", folder / "a.flac")
    separator = _counting(repo)

    def stop(track, done_s, total_s):
        raise KeyboardInterrupt

    report = separate_paths([folder], separator, on_progress=stop)
    assert report.interrupted and report.exit_code == 130
    assert not [p for p in (folder / ".linernotes").rglob("*") if p.is_file()
                and p.suffix in (".flac", ".tmp", ".json")]  # fmt: skip
    report = separate_paths([folder], separator)
    assert [o.status for o in report.outcomes] == ["done"]
    again = separate_paths([folder], separator)
    assert [o.reason for o in again.outcomes] == ["already separated"]


def test_new_weights_separate_again(separated: Path, repo: Path, tmp_path: Path):
    folder = tmp_path / "one"
    folder.mkdir()
    shutil.copy(separated / "sub" / "b.wav", folder / "b.wav")
    first = load_separator("htdemucs", model_dir=repo, device="cpu")
    second = load_separator("htdemucs", model_dir=tiny_repo(tmp_path / "m2", seed=2), device="cpu")
    assert first.version != second.version
    assert separate_paths([folder], first).count("done") == 1
    assert separate_paths([folder], second).count("done") == 1


def test_analyze_separate_and_out_folder(separated: Path, repo: Path, tmp_path: Path, capsys):
    folder = tmp_path / "music"
    folder.mkdir()
    shutil.copy(separated / "sub" / "b.wav", folder / "b.wav")
    assert main(["analyze", str(folder), "--separate", "--separate-model-dir", str(repo),
                 "--separate-device", "cpu", "-q"]) == 0  # fmt: skip
    record = TrackRecord.load(folder / "b.linernotes.json")
    assert {s.provenance for s in record.stems} == {Provenance.SEPARATED}
    assert len(record.stems) == 4
    out = tmp_path / "stems-out"
    capsys.readouterr()
    assert main(["stems", str(folder), "--model-dir", str(repo), "--out", str(out), "--force",
                 "-q", "--json"]) == 0  # fmt: skip
    assert sorted(p.name for p in (out / "b").iterdir()) == sorted(f"{s}.flac" for s in SOURCES)
    (line,) = capsys.readouterr().out.splitlines()
    printed = json.loads(line)
    assert printed["status"] == "done" and printed["path"] == str(folder / "b.wav")
    assert {t: Path(p) for t, p in printed["stems"].items()} == {s: out / "b" / f"{s}.flac"
                                                                 for s in SOURCES}  # fmt: skip
    assert main(["analyze", str(folder), "-q"]) == 0
    record = TrackRecord.load(folder / "b.linernotes.json")
    assert {Path(s.path).parent for s in record.stems} == {out / "b"}


def test_model_errors_are_clear(repo: Path, tmp_path: Path, capsys):
    with pytest.raises(SeparationError, match="htdemucs_6s"):
        load_separator("htdemucs_6s", model_dir=repo, device="cpu")
    with pytest.raises(SeparationError, match="not a folder"):
        load_separator("htdemucs", model_dir=tmp_path / "missing", device="cpu")
    song = tmp_path / "x.wav"
    write_audio(song, tone(220.0, 1.0, 22050), 22050)
    assert main(["stems", str(song), "--model-dir", str(tmp_path / "missing"), "-q"]) == 1
    assert "not a folder" in capsys.readouterr().err


def test_exports_take_separated_stems(separated: Path, tmp_path: Path):
    out = tmp_path / "train"
    # a.flac, c.flac and Song/full_mix.flac hold one mix: kept apart, as this test is on stems
    report = export_dataset(separated, ["hf", "bark", "info", "stable-audio"], out=out,
                            stems_as_samples=True, keep_duplicates=True)  # fmt: skip
    assert report.ok, [f.problems for f in report.formats]
    rows = {json.loads(line)["file_name"]: json.loads(line)
            for line in (out / "hf" / "metadata.jsonl").read_text().splitlines()}  # fmt: skip
    assert rows["a.flac"]["vocals_file_name"] == "a.vocals.flac"
    assert (out / "hf" / "a.vocals.flac").resolve().is_relative_to(separated.resolve())
    assert rows["c.flac"]["vocals_file_name"] == "c.vocals.wav"  # the user's own
    info = json.loads((out / "info" / "a.INFO").read_text())
    assert info["stems.drums.provenance"] == "separated"
    assert info["stems.drums.model"] == "htdemucs" and "stems.drums.activity" not in info
    assert "stems.vocals.presence" in info
    manifest = json.loads((out / "bark" / "manifest.json").read_text())
    first = json.loads((out / "bark" / manifest["tracks"][0]["dataset"]).read_text())
    assert {s["provenance"] for s in first["stems"]} <= {"separated", "measured"}
    sample = json.loads((out / "stable-audio" / "a.drums.flac.json").read_text())
    assert sample["prompt"].startswith("drums stem") and sample["stem_type"] == "drums"
    with tarfile.open(out / "stable-audio" / "wds" / "shard-000000.tar") as tar:
        names = tar.getnames()
    assert "000000_drums.flac" in names and "000000_drums.json" in names


def test_torchaudio_is_never_imported(separated: Path):
    for module in ("torchaudio", "demucs.audio", "demucs.api", "sphn", "lameenc"):
        assert module not in sys.modules, module
    assert "demucs.apply" in sys.modules


def test_an_unreadable_folder_is_reported_not_skipped(repo: Path, tmp_path: Path, monkeypatch):
    # as analyze does: a folder the scan cannot list is a failure with its reason (the
    # listing is refused at os.walk, so the test holds when run as root too)
    import os

    folder = tmp_path / "dataset"
    (folder / "locked").mkdir(parents=True)
    write_audio(folder / "a.wav", tone(220.0, 1.0, 22050), 22050)
    walk = os.walk

    def refusing_walk(top, onerror=None, **kwargs):
        for dirpath, dirnames, filenames in walk(top, onerror=onerror, **kwargs):
            if "locked" in dirnames:
                dirnames.remove("locked")
                onerror(PermissionError(13, "Permission denied", str(Path(dirpath) / "locked")))
            yield dirpath, dirnames, filenames

    monkeypatch.setattr(os, "walk", refusing_walk)
    separator = load_separator("htdemucs", model_dir=repo, device="cpu")
    report = separate_paths([folder], separator)
    failed = {o.path.name: o.reason for o in report.outcomes if o.status == "failed"}
    assert failed == {"locked": "cannot read folder: Permission denied"}
    assert [o.path.name for o in report.outcomes if o.status == "done"] == ["a.wav"]
