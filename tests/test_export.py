"""Export round trips: every format written from analysed synthetic tracks and read back the
way its trainer reads it; re-export rewrites only what changed; audio is never modified."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
from records import attach, update_record
from synth import click_track, progression
from test_edits import run_cli

from linernotes.audio.encode import write_audio
from linernotes.export import ace_step, audiocraft, stable_audio
from linernotes.export.registry import FORMATS, parse_formats
from linernotes.library import analyze_paths, export_dataset
from linernotes.models import TrackRecord


@pytest.fixture(scope="module")
def analysed(tmp_path_factory) -> Path:
    """Three analysed tracks (one in a subfolder); ``one`` has vocals and a caption, ``two``
    is instrumental with a low quality score, ``three`` was never listened to."""
    sr = 44100
    clicks, _ = click_track(120.0, 12.0, sr)
    harmony = progression(9, "minor", 2.0, sr, repeats=2)[: clicks.shape[0]]
    y = clicks + np.pad(harmony, (0, clicks.shape[0] - harmony.shape[0]))
    stereo = np.stack([y, 0.9 * y])
    folder = tmp_path_factory.mktemp("export") / "dataset"
    (folder / "sub").mkdir(parents=True)
    write_audio(folder / "one.flac", stereo, sr)
    write_audio(folder / "two.wav", stereo[:, : sr * 10], sr)
    write_audio(folder / "sub" / "three.flac", stereo[:, : sr * 8], sr)
    assert analyze_paths([folder]).exit_code == 0
    attach(
        folder / "one.flac",
        {
            "caption": "Moody synth pop with a pulsing bass at 120 BPM; sung in English.",
            "genre_mood_inst": "Genre: Synth Pop\nMood: moody, dark\nInstruments: synth, bass,"
            " female vocal",
            "lyrics": "[Verse 1]\nNeon lights\n[Chorus]\nWe run",
            "quality": '{"content_usefulness": 0.9, "production_quality": 0.8, '
            '"content_enjoyment": 0.7, "production_complexity": 0.6, '
            '"overall_recommendation_score": 0.8}',
        },
    )
    attach(
        folder / "two.wav",
        {
            "caption": "A sparse organ and click study.",
            "tags": "ambient, organ, calm, instrumental",
            "lyrics": "[Instrumental]",
            "quality": '{"content_usefulness": 0.1, "production_quality": 0.1, '
            '"content_enjoyment": 0.1, "production_complexity": 0.1, '
            '"overall_recommendation_score": 0.1}',
        },
    )
    return folder


@pytest.fixture
def dataset(analysed: Path, tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.delenv("LINERNOTES_DB", raising=False)
    copy = tmp_path / "dataset"
    shutil.copytree(analysed, copy)
    return copy


def audio_digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.suffix in (".flac", ".wav") and not p.is_symlink() and "wds" not in p.parts
    }


def test_parse_formats():
    assert parse_formats("ace-step, hf") == ["ace-step", "hf"]
    assert parse_formats("all") == list(FORMATS)
    with pytest.raises(ValueError, match="unknown format"):
        parse_formats("ace_step")


def test_ace_step_sidecars_round_trip(dataset: Path):
    before = audio_digests(dataset)
    report = export_dataset(dataset, ["ace-step"])
    assert report.ok, report.formats[0].problems
    assert audio_digests(dataset) == before
    one = json.loads((dataset / "one.json").read_text())
    assert one["keyscale"] == "A minor" and one["timesignature"] == "4"
    assert one["bpm"] == 120 and isinstance(one["bpm"], int)
    assert one["duration"] == 12 and one["is_instrumental"] is False
    assert one["language"] == one["vocal_language"] == "en"
    assert one["genre"] == "synth pop"
    assert one["caption"] == "Moody synth pop with a pulsing bass; sung in English."
    assert one["lyrics"].startswith("[Verse 1]")
    assert one["music_analysis"]["caption"]["raw"].endswith("English.")
    assert one["pipeline"]["model"] == "nvidia/music-flamingo-2601-hf"
    assert ace_step.validate_fields(one) == []
    assert (dataset / "one.caption.txt").read_text().startswith("Moody synth pop")
    assert (dataset / "two.lyrics.txt").read_text() == "[Instrumental]\n"
    two = json.loads((dataset / "two.json").read_text())
    assert two["is_instrumental"] is True and two["language"] == "unknown"
    three = json.loads((dataset / "sub" / "three.json").read_text())
    assert three["caption"] == "" and three["keyscale"] == "A minor"
    assert (dataset / "sub" / "three.caption.txt").read_text() == "\n"
    data = json.loads((dataset / ace_step.DATASET_JSON).read_text())
    assert data["metadata"]["num_samples"] == 3
    assert data["metadata"]["all_instrumental"] is False
    by_id = {s["id"]: s for s in data["samples"]}
    assert by_id["sub/three"]["audio_path"] == "sub/three.flac"
    assert by_id["sub/three"]["labeled"] is False and by_id["one"]["labeled"] is True
    with open(dataset / ace_step.CSV_NAME, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["File"]: r["Key"] for r in rows} == {
        "one.flac": "A minor",
        "two.wav": "A minor",
        "three.flac": "A minor",
    }


def test_ace_step_enums_refuse_noncanonical_spellings():
    good = {"caption": "x", "genre": "", "lyrics": "[Instrumental]", "bpm": 120,
            "keyscale": "F# minor", "timesignature": "6", "language": "unknown",
            "vocal_language": "unknown", "duration": 30, "is_instrumental": True}  # fmt: skip
    assert ace_step.validate_fields(good) == []
    for key, value in [("keyscale", "Am"), ("keyscale", "f# minor"), ("timesignature", "4/4"),
                       ("bpm", 400), ("bpm", 120.5), ("language", "english"),
                       ("lyrics", ""), ("duration", 30.2)]:  # fmt: skip
        assert ace_step.validate_fields({**good, key: value}), (key, value)


def test_every_format_to_out_folders(dataset: Path, tmp_path: Path):
    out = tmp_path / "out"
    before = audio_digests(dataset)
    report = export_dataset(dataset, list(FORMATS), out=out)
    for fmt in report.formats:
        assert fmt.problems == [], (fmt.name, fmt.problems)
        assert fmt.folder == out / fmt.name
    assert audio_digests(dataset) == before
    linked = out / "ace-step" / "sub" / "three.flac"
    assert linked.is_symlink() and linked.resolve() == (dataset / "sub" / "three.flac").resolve()
    assert not (dataset / "one.json").exists()  # nothing written beside the audio

    # audiocraft: the manifest and the info every track needs
    lines = [json.loads(x) for x in (out / "audiocraft" / audiocraft.MANIFEST).read_text().split(
        "\n") if x]  # fmt: skip
    assert {tuple(sorted(x)) for x in lines} == {
        ("amplitude", "duration", "info_path", "path", "sample_rate", "weight")
    }
    info = audiocraft.load_info(Path(lines[0]["path"]))
    assert info["key"] == "a minor" and info["bpm"] == 120.0
    assert info["moods"] == ["moody", "dark"] and "synth pop" in info["keywords"]
    broken = out / "audiocraft" / "two.json"
    data = json.loads(broken.read_text())
    del data["instrument"]
    broken.write_text(json.dumps(data))
    with pytest.raises(KeyError):
        audiocraft.load_info(out / "audiocraft" / "two.wav")
    assert audiocraft.validate(out / "audiocraft")

    # hf: metadata rows with file_name
    rows = [json.loads(x) for x in (out / "hf" / "metadata.jsonl").read_text().splitlines()]
    assert [r["file_name"] for r in rows] == ["one.flac", "sub/three.flac", "two.wav"]

    # info: grids beside the .INFO
    info_file = out / "info" / "one.INFO"
    assert json.loads(info_file.read_text())["bpm"] == pytest.approx(120, abs=1)
    assert (out / "info" / "one.BEATS_GRID").read_text() == (dataset / "one.BEATS_GRID").read_text()

    # bark: per-track dataset, notes and manifest
    manifest = json.loads((out / "bark" / "manifest.json").read_text())["tracks"]
    assert len(manifest) == 3
    first = json.loads((out / "bark" / manifest[0]["dataset"]).read_text())
    assert first["training_prompts"][0]["training_weight"] == 1.0
    assert first["dataset_metadata"]["total_samples"] == 1

    # table: CSV and Parquet agree
    pq = pytest.importorskip("pyarrow.parquet")
    table = pq.read_table(out / "table" / "linernotes_tracks.parquet").to_pylist()
    with open(out / "table" / "linernotes_tracks.csv", newline="") as handle:
        csv_rows = list(csv.DictReader(handle))
    assert [r["path"] for r in table] == [r["path"] for r in csv_rows]
    one = next(r for r in table if r["path"] == "one.flac")
    assert one["genres"] == ["synth pop"] and one["bpm_provenance"] == "measured"
    assert "loudness.integrated_lufs" in one and "rhythm.onset_rate" in one


def test_copy_audio_copies(dataset: Path, tmp_path: Path):
    out = tmp_path / "out"
    report = export_dataset(dataset, ["hf"], out=out, copy_audio=True)
    assert report.ok
    copied = out / "hf" / "one.flac"
    assert not copied.is_symlink()
    assert copied.read_bytes() == (dataset / "one.flac").read_bytes()


def test_stable_audio_module_and_shards(dataset: Path, tmp_path: Path):
    out = tmp_path / "out"
    report = export_dataset(dataset, ["stable-audio"], out=out)
    assert report.ok, report.formats[0].problems
    folder = out / "stable-audio"
    config = json.loads((folder / stable_audio.CONFIG_NAME).read_text())
    assert config["dataset_type"] == "audio_dir"
    module = stable_audio.load_module(Path(config["datasets"][0]["custom_metadata_module"]))
    meta = module.get_custom_metadata({"path": str(folder / "one.flac"), "seconds_start": 0}, None)
    assert meta == {"prompt": "synth pop, synthesizer, bass, female vocals, moody, dark, "
                    "120 BPM, A minor"}  # fmt: skip
    # two's quality score (0.1) is below the threshold
    assert module.get_custom_metadata({"path": str(folder / "two.wav")}, None) == {
        "__reject__": True
    }
    three = module.get_custom_metadata({"path": str(folder / "sub" / "three.flac")}, None)
    assert three["prompt"] == "120 BPM, A minor"

    with tarfile.open(folder / "wds" / "shard-000000.tar") as tar:
        names = tar.getnames()
        assert names == ["000000.flac", "000000.json", "000001.flac", "000001.json",
                         "000002.wav", "000002.json"]  # fmt: skip
        assert all(name.count(".") == 1 for name in names)
        sample = json.loads(tar.extractfile("000001.json").read())
        audio = tar.extractfile("000001.flac").read()
    assert sample["source"] == "sub/three.flac"
    assert audio == (dataset / "sub" / "three.flac").read_bytes()
    assert module.get_custom_metadata(sample, None) == {"prompt": sample["prompt"]}


def test_sidecar_formats_share_one_json(dataset: Path):
    report = export_dataset(dataset, ["ace-step", "audiocraft", "stable-audio", "info"])
    for fmt in report.formats:
        assert fmt.problems == [], (fmt.name, fmt.problems)
    one = json.loads((dataset / "one.json").read_text())
    assert {"keyscale", "description", "instrument", "prompt", "text"} <= set(one)
    # a key another tool wrote into the .INFO survives the merge
    info = dataset / "one.INFO"
    data = json.loads(info.read_text())
    data["other_tool_feature"] = 7
    info.write_text(json.dumps(data))
    export_dataset(dataset, ["info"])
    assert json.loads(info.read_text())["other_tool_feature"] == 7


def test_reexport_after_edit_rewrites_only_affected_files(dataset: Path, tmp_path: Path):
    out = tmp_path / "out"
    formats = ["ace-step", "audiocraft", "hf", "info", "table"]
    export_dataset(dataset, formats, out=out)
    again = export_dataset(dataset, formats, out=out)
    assert all(f.written == [] for f in again.formats), [f.written for f in again.formats]

    assert run_cli(["edit", str(dataset / "two.wav"), "key=C major", "--author", "t"]) == 0
    after = export_dataset(dataset, formats, out=out)
    written = {f.name: sorted(p.relative_to(f.folder).as_posix() for p in f.written)
               for f in after.formats}  # fmt: skip
    assert written["ace-step"] == [
        "ace_step.csv", "ace_step_dataset.json", "two.json"
    ]  # fmt: skip
    assert written["audiocraft"] == ["two.json"]
    assert written["hf"] == ["metadata.jsonl"]
    assert written["info"] == ["two.INFO"]
    assert json.loads((out / "ace-step" / "two.json").read_text())["keyscale"] == "C major"
    assert json.loads((out / "audiocraft" / "two.json").read_text())["key"] == "C major"


def test_export_cli(dataset: Path, tmp_path: Path, capsys):
    assert (
        run_cli(["export", str(dataset), "--to", "ace-step,hf", "--out", str(tmp_path / "o")]) == 0
    )
    out = capsys.readouterr().out
    assert "ace-step:" in out and "hf:" in out
    assert run_cli(["export", str(dataset), "--to", "nope"]) == 1
    assert "unknown format" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_cli(["export", str(empty), "--to", "hf"]) == 1


def test_hf_audiofolder_loads(dataset: Path, tmp_path: Path):
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "out"
    export_dataset(dataset, ["hf"], out=out, copy_audio=True)
    loaded = datasets.load_dataset(
        "audiofolder", data_dir=str(out / "hf"), split="train", drop_labels=True
    )
    loaded = loaded.cast_column("audio", datasets.Audio(decode=False))
    assert loaded.num_rows == 3
    assert {"caption", "genres", "bpm", "key", "lyrics"} <= set(loaded.column_names)
    rows = {Path(r["audio"]["path"]).name: r for r in loaded}
    assert rows["one.flac"]["genres"] == ["synth pop"]
    assert rows["two.wav"]["lyrics"] == "[Instrumental]"


def test_webdataset_reads_the_shards(dataset: Path, tmp_path: Path):
    wds = pytest.importorskip("webdataset")
    out = tmp_path / "out"
    export_dataset(dataset, ["stable-audio"], out=out)
    shard = out / "stable-audio" / "wds" / "shard-000000.tar"
    samples = list(wds.WebDataset(str(shard), shardshuffle=False))
    assert [s["__key__"] for s in samples] == ["000000", "000001", "000002"]
    assert [sorted(k for k in s if not k.startswith("__")) for s in samples] == [
        ["flac", "json"],
        ["flac", "json"],
        ["json", "wav"],
    ]
    meta = json.loads(samples[2]["json"])
    assert meta["source"] == "two.wav" and meta["text"] == meta["prompt"]


def test_quality_scores_reach_table_and_stable_audio(dataset: Path, tmp_path: Path):
    from linernotes.models import QualitySection

    out = tmp_path / "q"
    export_dataset(dataset, ["table"], out=out)
    with open(out / "table" / "linernotes_tracks.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    scores = [float(r["quality_score"]) for r in rows]
    assert scores and all(0.0 <= s <= 1.0 for s in scores)
    # a record's combined quality score (from `linernotes quality`) decides the rejection
    def rescore(record: TrackRecord) -> None:
        record.quality = QualitySection(combined_score=0.1)
        record.listen = None

    update_record(dataset / "one.flac", rescore)
    track = next(t for t in stable_audio_tracks(dataset) if t.audio.name == "one.flac")
    assert stable_audio.quality(track) == pytest.approx(0.1)
    assert stable_audio.sample_json(track)["quality"] < stable_audio.QUALITY_THRESHOLD


def stable_audio_tracks(folder: Path):
    from linernotes.library import collect_tracks

    return collect_tracks(folder)[0]


# --- one name per track, and only audio the trainer reads (linernotes.export.placement) ---


@pytest.fixture(scope="module")
def clashing(tmp_path_factory) -> Path:
    """``song.flac`` and ``song.mp3`` (one stem), ``live.m4a`` (AAC: not ACE-Step's) and
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
    monkeypatch.delenv("LINERNOTES_DB", raising=False)
    copy = tmp_path / "dataset"
    shutil.copytree(clashing, copy)
    return copy


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
    report = export_dataset(clash_set, STEM_FORMATS, out=out)
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
    for name in ("song__flac.flac", "song__mp3.mp3", "live.m4a", "sub/take.flac"):
        meta = module.get_custom_metadata({"path": str(sa / name)}, None)
        assert meta.get("prompt") or meta.get("__reject__"), name


def test_clash_beside_audio_exports_one_and_says_why(clash_set: Path):
    before = all_audio_digests(clash_set)
    report = export_dataset(clash_set, STEM_FORMATS)
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
    # stable-audio's own module reads <audio>.json first, so both clashing tracks keep theirs
    assert set(skipped["stable-audio"]) == {"take.aiff"}
    module = stable_audio.load_module(clash_set / stable_audio.MODULE_NAME)
    for name in ("song.flac", "song.mp3"):
        assert (clash_set / f"{name}.json").is_file()
        assert module.get_custom_metadata({"path": str(clash_set / name)}, None)


def test_unreadable_containers_are_transcoded_once(clash_set: Path, tmp_path: Path):
    import av
    import soundfile

    from linernotes.export.placement import SOURCE_TAG

    out = tmp_path / "out"
    first = export_dataset(clash_set, ["ace-step", "audiocraft"], out=out)
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
    again = export_dataset(clash_set, ["ace-step", "audiocraft"], out=out)
    assert all(f.written == [] for f in again.formats), [f.written for f in again.formats]
    assert take.stat().st_mtime_ns == mtime

    live.write_bytes((clash_set / "song.flac").read_bytes())  # not a transcode of live.m4a
    third = export_dataset(clash_set, ["ace-step"], out=out)
    assert third.formats[0].written == [live]
    with av.open(str(live)) as container:
        assert container.metadata[SOURCE_TAG] == TrackRecord.load(
            clash_set / "live.linernotes.json").file.content_hash  # fmt: skip


def test_export_cli_reports_skipped_tracks(clash_set: Path, capsys):
    assert run_cli(["export", str(clash_set), "--to", "ace-step"]) == 0
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
