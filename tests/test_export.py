"""Export round trips: every format written from analysed synthetic tracks and read back the
way its trainer reads it; re-export rewrites only what changed; audio is never modified."""

from __future__ import annotations

import csv
import hashlib
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
from records import attach, fresh_copy, update_record
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
    return fresh_copy(analysed, tmp_path, monkeypatch)


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
    assert run_cli(["export", str(dataset), "--to", "nope"]) == 2  # a usage error
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
