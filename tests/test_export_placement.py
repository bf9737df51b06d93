"""One name per track, and only audio the trainer reads (:mod:`linernotes.export.placement`):
clashing stems renamed with --out or skipped with a reason beside the audio, unreadable
containers transcoded once, validators that catch shared and unreadable names."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from records import fresh_copy
from synth import click_track
from test_edits import run_cli

from linernotes.audio.encode import write_audio
from linernotes.export import ace_step, audiocraft, stable_audio
from linernotes.library import analyze_paths, export_dataset
from linernotes.models import TrackRecord


@pytest.fixture(scope="module")
def clashing(tmp_path_factory) -> Path:
    """``song.flac`` and ``song.mp3`` (one stem, one recording: exported with
    ``keep_duplicates`` to test the names), ``live.m4a`` (AAC: not ACE-Step's) and
    ``sub/take.aiff`` (24-bit: no trainer's), analysed."""
    sr = 44100
    clicks, _ = click_track(120.0, 4.0, sr)
    stereo = np.stack([clicks, 0.9 * clicks])
    folder = tmp_path_factory.mktemp("clash") / "dataset"
    (folder / "sub").mkdir(parents=True)
    write_audio(folder / "song.flac", stereo, sr)
    write_audio(folder / "song.mp3", stereo, sr)
    write_audio(folder / "live.m4a", stereo, sr)
    write_audio(folder / "sub" / "take.aiff", stereo, sr, codec="pcm_s24be")
    assert analyze_paths([folder]).exit_code == 0
    return folder


@pytest.fixture
def clash_set(clashing: Path, tmp_path: Path, monkeypatch) -> Path:
    return fresh_copy(clashing, tmp_path, monkeypatch)


STEM_FORMATS = ["ace-step", "audiocraft", "stable-audio"]


def all_audio_digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.suffix in (".flac", ".mp3", ".m4a", ".aiff") and not p.is_symlink()
    }


def test_clashing_stems_get_their_own_names_with_out(clash_set: Path, tmp_path: Path):
    out = tmp_path / "out"
    before = all_audio_digests(clash_set)
    report = export_dataset(clash_set, STEM_FORMATS, out=out, keep_duplicates=True)
    for fmt in report.formats:
        assert fmt.problems == [] and fmt.skipped == [], (fmt.name, fmt.problems, fmt.skipped)
    assert all_audio_digests(clash_set) == before

    # audiocraft: every manifest path has its own info at path.with_suffix('.json')
    folder = out / "audiocraft"
    paths = [Path(json.loads(x)["path"]) for x in (folder / audiocraft.MANIFEST).read_text()
             .splitlines()]  # fmt: skip
    assert sorted(p.relative_to(folder).as_posix() for p in paths) == [
        "live.m4a", "song__flac.flac", "song__mp3.mp3", "sub/take.flac"]  # fmt: skip
    assert len({p.with_suffix(".json") for p in paths}) == len(paths)
    for path in paths:
        assert audiocraft.load_info(path)["name"] == path.stem
    assert (folder / "song__mp3.mp3").resolve() == (clash_set / "song.mp3").resolve()
    assert not (folder / "song.json").exists() and not (folder / "song.mp3.json").exists()

    # ACE-Step: each clashing track has its own <stem>.json / .caption.txt, and the
    # sample ids and CSV names follow
    ace = out / "ace-step"
    for stem in ("song__flac", "song__mp3", "live", "sub/take"):
        assert (ace / f"{stem}.json").is_file() and (ace / f"{stem}.caption.txt").is_file()
    samples = json.loads((ace / ace_step.DATASET_JSON).read_text())["samples"]
    assert sorted(s["audio_path"] for s in samples) == [
        "live.flac", "song__flac.flac", "song__mp3.mp3", "sub/take.flac"]  # fmt: skip
    assert ace_step.validate(ace) == []

    # stable-audio: the generated module finds a prompt for every audio file
    sa = out / "stable-audio"
    module = stable_audio.load_module(sa / stable_audio.MODULE_NAME)
    assert not (sa / "live.m4a").exists()  # its folder scanner misses .m4a: transcoded
    for name in ("song__flac.flac", "song__mp3.mp3", "live.flac", "sub/take.aiff"):
        meta = module.get_custom_metadata({"path": str(sa / name)}, None)
        assert meta.get("prompt") or meta.get("__reject__"), name


def test_clash_beside_audio_exports_one_and_says_why(clash_set: Path):
    before = all_audio_digests(clash_set)
    report = export_dataset(clash_set, STEM_FORMATS, keep_duplicates=True)
    assert all_audio_digests(clash_set) == before
    skipped = {f.name: {p.name: why for p, why in f.skipped} for f in report.formats}
    for name in ("ace-step", "audiocraft"):
        fmt = next(f for f in report.formats if f.name == name)
        assert fmt.problems == [], fmt.problems
        # the lossless one is kept under the stem the trainer looks up; the mp3 is reported
        assert "shares the name 'song' with song.flac" in skipped[name]["song.mp3"]
        assert "--out" in skipped[name]["song.mp3"]
        assert "take.aiff" in skipped[name] and "--out" in skipped[name]["take.aiff"]
    assert "reads only" in skipped["ace-step"]["live.m4a"]
    assert "live.m4a" not in skipped["audiocraft"]  # audiocraft reads m4a
    # song.mp3.json is stable-audio's alone: no ACE-Step or audiocraft fields went there
    assert not {"keyscale", "description"} & set(json.loads((clash_set / "song.mp3.json")
                                                            .read_text()))  # fmt: skip
    sidecar = json.loads((clash_set / "song.json").read_text())
    assert {"keyscale", "description"} <= set(sidecar)  # ACE-Step and audiocraft share it
    manifest = (clash_set / audiocraft.MANIFEST).read_text()
    assert "song.flac" in manifest and "song.mp3" not in manifest
    samples = json.loads((clash_set / ace_step.DATASET_JSON).read_text())["samples"]
    assert sorted(s["audio_path"] for s in samples) == ["song.flac"]
    # stable-audio's own module reads <audio>.json first, so both clashing tracks keep theirs;
    # its folder scanner picks up .aiff but not .m4a
    assert set(skipped["stable-audio"]) == {"live.m4a"}
    module = stable_audio.load_module(clash_set / stable_audio.MODULE_NAME)
    for name in ("song.flac", "song.mp3"):
        assert (clash_set / f"{name}.json").is_file()
        assert module.get_custom_metadata({"path": str(clash_set / name)}, None)


def test_unreadable_containers_are_transcoded_once(clash_set: Path, tmp_path: Path):
    import av
    import soundfile

    from linernotes.export.placement import SOURCE_TAG

    out = tmp_path / "out"
    first = export_dataset(clash_set, ["ace-step", "audiocraft"], out=out, keep_duplicates=True)
    take = out / "ace-step" / "sub" / "take.flac"
    live = out / "ace-step" / "live.flac"
    for path in (take, live):
        assert path.is_file() and not path.is_symlink()
        with av.open(str(path)) as container:
            assert container.streams.audio[0].codec_context.name == "flac"
            assert len(container.metadata[SOURCE_TAG]) == 64
    assert soundfile.info(str(take)).subtype == "PCM_24"  # 24-bit source stays 24-bit
    assert soundfile.info(str(live)).subtype == "PCM_16"  # lossy source: 16-bit
    original = TrackRecord.load(clash_set / "sub" / "take.linernotes.json")
    assert soundfile.info(str(take)).duration == pytest.approx(original.file.duration, abs=0.01)
    decoded, _ = soundfile.read(str(take))
    assert np.abs(decoded).max() > 0.1
    # audiocraft reads m4a: linked, not transcoded; aiff transcoded (a copy of the first)
    assert (out / "audiocraft" / "live.m4a").is_symlink()
    assert (out / "audiocraft" / "sub" / "take.flac").read_bytes() == take.read_bytes()
    ace = next(f for f in first.formats if f.name == "ace-step")
    assert {take, live} <= set(ace.written)

    mtime = take.stat().st_mtime_ns
    again = export_dataset(clash_set, ["ace-step", "audiocraft"], out=out, keep_duplicates=True)
    assert all(f.written == [] for f in again.formats), [f.written for f in again.formats]
    assert take.stat().st_mtime_ns == mtime

    live.write_bytes((clash_set / "song.flac").read_bytes())  # not a transcode of live.m4a
    third = export_dataset(clash_set, ["ace-step"], out=out, keep_duplicates=True)
    assert third.formats[0].written == [live]
    with av.open(str(live)) as container:
        assert container.metadata[SOURCE_TAG] == TrackRecord.load(
            clash_set / "live.linernotes.json").file.content_hash  # fmt: skip


def test_export_cli_reports_skipped_tracks(clash_set: Path, capsys):
    assert run_cli(["export", str(clash_set), "--to", "ace-step", "--keep-duplicates"]) == 0
    captured = capsys.readouterr()
    assert "3 tracks skipped" in captured.out
    assert "skipped for ace-step:" in captured.err and "song.mp3" in captured.err


def test_validators_catch_shared_and_unreadable_names(tmp_path: Path):
    folder = tmp_path / "ac"
    folder.mkdir()
    entry = {"duration": 1.0, "sample_rate": 44100, "amplitude": None, "weight": None,
             "info_path": None}  # fmt: skip
    for name in ("song.mp3", "song.flac"):
        (folder / name).write_bytes(b"")
    (folder / "song.json").write_text(json.dumps({k: "" for k in audiocraft.REQUIRED}))
    (folder / audiocraft.MANIFEST).write_text("".join(
        json.dumps({"path": str(folder / n), **entry}) + "\n" for n in ("song.mp3", "song.flac")
    ))  # fmt: skip
    assert any("shares song.json" in p for p in audiocraft.validate(folder))

    ace = tmp_path / "ace"
    ace.mkdir()
    (ace / "live.m4a").write_bytes(b"")
    fields = {"caption": "x", "genre": "", "lyrics": "[Instrumental]", "bpm": 120,
              "keyscale": "C major", "timesignature": "4", "language": "unknown",
              "vocal_language": "unknown", "duration": 3, "is_instrumental": True}  # fmt: skip
    (ace / "live.json").write_text(json.dumps(fields))
    (ace / "live.caption.txt").write_text("x\n")
    sample = {"audio_path": "live.m4a", "labeled": True, **fields}
    (ace / ace_step.DATASET_JSON).write_text(json.dumps(
        {"metadata": {"num_samples": 1}, "samples": [sample]}))  # fmt: skip
    (ace / ace_step.CSV_NAME).write_text("File,BPM,Key,Caption\nlive.m4a,120,C major,x\n")
    assert any("does not read .m4a" in p for p in ace_step.validate(ace))


def test_export_cli_leaves_out_a_duplicate_and_says_why(clash_set: Path, capsys):
    """The files of the clash set hold one signal: one copy (lossless, the 24-bit one with
    the highest bit rate) is exported, and each other copy is named with the reason."""
    assert run_cli(["export", str(clash_set), "--to", "audiocraft", "--json"]) == 0
    captured = capsys.readouterr()
    left_out = {Path(d["path"]).name: d["reason"] for d in json.loads(captured.out)["duplicates"]}
    # (the 4 s of clicks leave song.mp3 at the threshold: it may go either way)
    assert {"song.flac", "live.m4a"} <= set(left_out) <= {"song.flac", "song.mp3", "live.m4a"}
    assert all("kept take.aiff" in why and "--keep-duplicates" in why for why in left_out.values())
    assert "duplicate left out:" in captured.err
