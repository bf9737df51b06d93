"""Stems: discovery of the folder and sibling layouts, stems kept out of the track list,
per-stem features, the hf/Bark/INFO exports of stems, and reruns that skip finished stems.

The dataset is rendered here: a mix that is the sum of its stems (clicks for drums, a low sine
for bass, a sustained chord for "other"), a silent vocals stem and a guitar "stem" that is not
audio at all, plus a sibling-layout loop.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from records import fresh_copy
from synth import chord, click_track, tone

from linernotes.audio.encode import write_audio
from linernotes.export import bark, hf, info
from linernotes.export.registry import export_tracks
from linernotes.library import analyze_paths, collect_tracks, export_dataset
from linernotes.library.scan import find_audio, find_tracks, scan_audio, split_stems
from linernotes.models import StemInfo, TrackRecord
from linernotes.pipeline.stems import rhythm_complexity

SR = 22050
SECONDS = 6.0


@pytest.fixture(scope="module")
def analysed(tmp_path_factory) -> Path:
    """``Song A/`` in the folder layout and ``loop.wav`` with sibling stems, analysed once."""
    drums, _ = click_track(120.0, SECONDS, SR)
    bass = tone(55.0, SECONDS, SR, amp=0.2)
    pad = chord([57, 60, 64], SECONDS, SR)
    folder = tmp_path_factory.mktemp("stems") / "dataset"
    song = folder / "Song A"
    song.mkdir(parents=True)
    write_audio(song / "full_mix.flac", drums + bass + pad, SR)
    write_audio(song / "Drums.wav", drums, SR)
    write_audio(song / "bass.flac", bass, SR)
    write_audio(song / "other.flac", pad, SR)
    write_audio(song / "vocals.wav", np.zeros_like(drums), SR)
    (song / "guitar.wav").write_bytes(b"this is not audio " * 20)
    write_audio(folder / "loop.wav", drums + pad, SR)
    write_audio(folder / "loop.drums.wav", drums, SR)
    write_audio(folder / "loop_other.flac", pad, SR)
    report = analyze_paths([folder])
    assert [o.status for o in report.outcomes] == ["done", "done"], report.outcomes
    return folder


@pytest.fixture
def dataset(analysed: Path, tmp_path: Path, monkeypatch) -> Path:
    return fresh_copy(analysed, tmp_path, monkeypatch)


def stems_of(folder: Path, record_name: str) -> dict[str, StemInfo]:
    record = TrackRecord.load(folder / record_name)
    return {s.stem_type: s for s in record.stems}


# -- discovery (pure) ----------------------------------------------------------------------


def test_split_stems_recognises_both_layouts():
    paths = [
        Path("d/Track Name/full_mix.flac"),
        Path("d/Track Name/DRUMS.mp3"),
        Path("d/Track Name/bass.mp3"),
        Path("d/Track Name/vocals.mp3"),
        Path("d/Track Name/other.mp3"),
        Path("d/Track Name/Piano.wav"),
        Path("d/musdb/song/mixture.wav"),
        Path("d/musdb/song/vocals.wav"),
        Path("d/Own Name/Own Name.wav"),
        Path("d/Own Name/guitar.wav"),
        Path("d/song.flac"),
        Path("d/song.mp3"),
        Path("d/song.vocals.wav"),
        Path("d/song_Drums.flac"),
        Path("d/intro.wav"),
        Path("d/outro_bass.wav"),  # no outro.* beside it: a track
        Path("d/separated/drums.wav"),  # a separator's output without its mix: a track
        Path("d/separated/bass.wav"),
    ]
    plan = split_stems(paths)
    assert [p.as_posix() for p in plan.tracks] == [
        "d/Track Name/full_mix.flac",
        "d/musdb/song/mixture.wav",
        "d/Own Name/Own Name.wav",
        "d/song.flac",
        "d/song.mp3",
        "d/intro.wav",
        "d/outro_bass.wav",
        "d/separated/drums.wav",
        "d/separated/bass.wav",
    ]
    track = plan.stems[Path("d/Track Name/full_mix.flac")]
    assert [(s.stem_type, s.path.name, s.layout) for s in track] == [
        ("drums", "DRUMS.mp3", "folder"),
        ("bass", "bass.mp3", "folder"),
        ("vocals", "vocals.mp3", "folder"),
        ("other", "other.mp3", "folder"),
        ("piano", "Piano.wav", "folder"),
    ]
    assert [s.stem_type for s in plan.stems[Path("d/musdb/song/mixture.wav")]] == ["vocals"]
    assert [s.stem_type for s in plan.stems[Path("d/Own Name/Own Name.wav")]] == ["guitar"]
    # siblings belong to the lossless one of song.flac / song.mp3
    sibling = plan.stems[Path("d/song.flac")]
    assert [(s.stem_type, s.path.name, s.relpath) for s in sibling] == [
        ("drums", "song_Drums.flac", "song_Drums.flac"),
        ("vocals", "song.vocals.wav", "song.vocals.wav"),
    ]
    assert Path("d/song.mp3") not in plan.stems
    assert set(plan.stem_of) == set(paths) - set(plan.tracks)


def test_find_tracks_on_disk(analysed: Path):
    song = analysed / "Song A"
    assert [p.name for p in find_audio([analysed])] == ["loop.wav", "full_mix.flac"]
    assert len(scan_audio([analysed])) == 9
    # a mix named on its own still gets the stems beside it; a stem named alone is a track
    plan = find_tracks([song / "full_mix.flac"])
    assert [s.path.name for s in plan.stems[song / "full_mix.flac"]] == [
        "Drums.wav", "bass.flac", "vocals.wav", "other.flac", "guitar.wav"
    ]  # fmt: skip
    assert find_tracks([song / "bass.flac"]).tracks == [song / "bass.flac"]
    assert find_tracks([song / "bass.flac"]).stems == {}


def test_rhythm_complexity():
    straight = np.arange(0.0, 8.0, 0.25)
    jittered = straight + np.random.default_rng(1).normal(0.0, 0.005, straight.size)
    assert rhythm_complexity(straight) == 0.0
    assert rhythm_complexity(jittered) == 0.0
    swing = np.cumsum([1 / 3, 1 / 6] * 8)
    syncopated = np.cumsum([0.25, 0.125, 0.375, 0.5, 0.125, 0.125, 0.75, 0.25, 1.0, 0.375] * 2)
    assert 0.1 < rhythm_complexity(swing) < 0.4 < 0.5 < rhythm_complexity(syncopated)
    # the same pattern played twice as long reads the same
    longer = rhythm_complexity(np.cumsum([1 / 3, 1 / 6] * 16))
    assert longer == pytest.approx(rhythm_complexity(swing), abs=0.01)
    assert rhythm_complexity([0.0, 0.5]) is None
    assert rhythm_complexity([0.0, 10.0, 20.0, 30.0, 40.0]) is None  # gaps are rests


# -- analysis ------------------------------------------------------------------------------


def test_stems_attach_to_the_mix_with_features(analysed: Path):
    assert not list(analysed.rglob("Drums.linernotes.json"))  # no stem became a track
    stems = stems_of(analysed / "Song A", "full_mix.linernotes.json")
    assert list(stems) == ["drums", "bass", "vocals", "other", "guitar"]
    drums, bass, pad = stems["drums"], stems["bass"], stems["other"]
    assert drums.relpath == "Drums.wav" and drums.path == str(analysed / "Song A" / "Drums.wav")
    assert len(drums.sha256 or "") == 64 and drums.version and drums.params
    for stem in (drums, bass, pad):
        assert stem.error is None and stem.features is not None
        assert stem.features.duration == pytest.approx(SECONDS, abs=0.05)
        assert stem.features.integrated_lufs is not None and stem.features.peak_dbfs is not None
    assert drums.features.onset_density == pytest.approx(2.0, abs=0.4)
    assert drums.features.rhythm_complexity == pytest.approx(0.0, abs=0.1)
    assert pad.features.onset_density < 0.5 < drums.features.onset_density
    assert pad.features.active_ratio > 0.9 and bass.features.active_ratio > 0.9
    assert drums.features.spectral_centroid_hz > pad.features.spectral_centroid_hz
    assert pad.features.spectral_centroid_hz > bass.features.spectral_centroid_hz
    assert bass.features.rms_dbfs == pytest.approx(-17.0, abs=0.5)  # 0.2-amplitude sine
    # silent and unreadable stems: a clear error each, and the track still succeeded
    assert stems["vocals"].error == "silent: nothing above -60 dBFS"
    assert stems["vocals"].features.active_ratio == 0.0
    assert stems["guitar"].features is None
    assert stems["guitar"].error.startswith("not a recognised audio file")
    loop = stems_of(analysed, "loop.linernotes.json")
    assert {t: s.relpath for t, s in loop.items()} == {
        "drums": "loop.drums.wav",
        "other": "loop_other.flac",
    }


def test_rerun_skips_finished_stems(dataset: Path):
    db = dataset / ".linernotes" / "library.db"

    def stem_results() -> int:
        with sqlite3.connect(db) as conn:
            query = "SELECT COUNT(*) FROM results WHERE analyzer = 'stem_features'"
            return int(conn.execute(query).fetchone()[0])

    cached = stem_results()
    # the copy moved every path: records are refreshed (in worker processes), stems come
    # from the store by content
    moved = analyze_paths([dataset], workers=2)
    assert [o.status for o in moved.outcomes] == ["done", "done"]
    assert stem_results() == cached
    assert stems_of(dataset / "Song A", "full_mix.linernotes.json")["drums"].path == str(
        dataset / "Song A" / "Drums.wav"
    )
    again = analyze_paths([dataset])
    assert [o.status for o in again.outcomes] == ["skipped", "skipped"]
    # a new stem: only its track is redone, and only the new stem is measured
    write_audio(dataset / "Song A" / "piano.flac", chord([69, 72, 76], SECONDS, SR), SR)
    third = analyze_paths([dataset])
    assert {o.path.name: o.status for o in third.outcomes} == {
        "loop.wav": "skipped",
        "full_mix.flac": "done",
    }
    assert stem_results() == cached + 1
    assert "piano" in stems_of(dataset / "Song A", "full_mix.linernotes.json")


# -- exports -------------------------------------------------------------------------------


def test_export_does_not_treat_stems_as_tracks(dataset: Path):
    tracks, skipped = collect_tracks(dataset)
    assert skipped == []
    assert sorted(t.rel.as_posix() for t in tracks) == ["Song A/full_mix.flac", "loop.wav"]
    song = next(t for t in tracks if t.rel.name == "full_mix.flac")
    assert [s.stem_type for s in song.stems] == ["drums", "bass", "other"]  # usable ones
    assert song.stems[0].rel == Path("Song A/Drums.wav")


def test_hf_stem_columns_load_as_audio(dataset: Path, tmp_path: Path):
    import datasets  # dev dependencies: installed by `make test`
    out = tmp_path / "out"
    report = export_dataset(dataset, ["hf"], out=out, copy_audio=True)
    assert report.ok, report.formats[0].problems
    folder = out / "hf"
    rows = [json.loads(x) for x in (folder / hf.METADATA).read_text().splitlines()]
    assert list(rows[0])[:3] == ["file_name", "drums_file_name", "other_file_name"]
    assert [r["drums_file_name"] for r in rows] == ["Song A/Drums.wav", "loop.drums.wav"]
    # bass is only in Song A: a plain path column, since audiofolder cannot hold a gap
    assert [r["bass_path"] for r in rows] == ["Song A/bass.flac", ""]
    assert [r["stems"] for r in rows] == [["drums", "bass", "other"], ["drums", "other"]]
    assert (folder / "Song A" / "Drums.wav").read_bytes() == (
        dataset / "Song A" / "Drums.wav"
    ).read_bytes()

    loaded = datasets.load_dataset(
        "audiofolder",
        data_dir=str(folder),
        split="train",
        drop_labels=True,
        cache_dir=str(tmp_path / "hf-cache"),
    )
    assert isinstance(loaded.features["drums"], datasets.Audio)
    assert isinstance(loaded.features["other"], datasets.Audio)
    # Read the files datasets resolved with soundfile: decoding inside datasets would need
    # librosa, which this check does not.
    import soundfile

    raw = loaded
    for name, feature in loaded.features.items():
        if isinstance(feature, datasets.Audio):
            raw = raw.cast_column(name, datasets.Audio(decode=False))
    first = raw[0]
    cell = first["drums"]
    drums, rate = soundfile.read(cell["path"])
    assert rate == SR
    drums = np.asarray(drums)
    assert drums.shape[0] == pytest.approx(SECONDS * SR, abs=SR * 0.05)
    assert np.abs(drums).max() > 0.1
    assert Path(first["audio"]["path"]).name == "full_mix.flac"
    assert first["bass_path"] == "Song A/bass.flac"


def test_bark_stem_entries_and_prompts(dataset: Path, tmp_path: Path):
    out = tmp_path / "out"
    report = export_dataset(dataset, ["bark"], out=out)
    assert report.ok, report.formats[0].problems
    folder = out / "bark"
    manifest = json.loads((folder / bark.MANIFEST).read_text())["tracks"]
    entry = next(e for e in manifest if e["audio_file"].endswith("full_mix.flac"))
    assert entry["stems"] == ["drums", "bass", "other"]
    data = json.loads((folder / entry["dataset"]).read_text())
    assert data["dataset_metadata"]["total_samples"] == 4
    assert [s["stem_type"] for s in data["stems"]] == ["drums", "bass", "other"]
    drums = data["stems"][0]
    assert drums["technical_features"]["onset_density"] == pytest.approx(2.0, abs=0.4)
    assert "rhythm_complexity" in drums["technical_features"]
    assert drums["audio_description"].startswith("Isolated drums stem")
    assert Path(drums["audio_file"]).resolve() == (dataset / "Song A" / "Drums.wav").resolve()
    prompts = [(p["type"], p.get("stem_type"), p["training_weight"])
               for p in data["training_prompts"]]  # fmt: skip
    assert prompts == [
        ("full_track", None, 1.0),
        ("stem", "drums", 0.7),
        ("stem", "bass", 0.7),
        ("stem", "other", 0.7),
    ]
    assert "120 BPM" in data["training_prompts"][1]["combined_prompt"]
    notes = (folder / f"training_instructions_{entry['audio_file_id']}.md").read_text()
    assert "vocals (`vocals.wav`): silent" in notes and "guitar (`guitar.wav`)" in notes
    # the validator catches a stem prompt with the mix's weight
    data["training_prompts"][1]["training_weight"] = 1.0
    (folder / entry["dataset"]).write_text(json.dumps(data))
    assert bark.validate(folder)


def test_info_named_after_the_track_folder_and_merged(dataset: Path):
    report = export_dataset(dataset, ["info"])
    assert report.ok, report.formats[0].problems
    song = dataset / "Song A"
    path = song / "Song A.INFO"
    assert not (song / "full_mix.INFO").exists()
    data = json.loads(path.read_text())
    assert data["bpm"] == pytest.approx(120, abs=1)
    assert data["stems.drums.file"] == "Drums.wav"
    assert data["stems.drums.onset_density"] == pytest.approx(2.0, abs=0.4)
    assert data["stems.vocals.error"].startswith("silent")
    assert (song / "Song A.BEATS_GRID").read_text() == (song / "full_mix.BEATS_GRID").read_text()
    assert (song / "Song A.DOWNBEATS").is_file()
    assert json.loads((dataset / "loop.INFO").read_text())["stems.drums.file"] == "loop.drums.wav"
    # a key another tool wrote survives a re-export
    data["other_tool.tempo_feel"] = "laid back"
    path.write_text(json.dumps(data))
    export_dataset(dataset, ["info"])
    assert json.loads(path.read_text())["other_tool.tempo_feel"] == "laid back"
    assert info.validate(dataset) == []


def test_stems_are_placed_into_out_folders(dataset: Path, tmp_path: Path):
    tracks, _ = collect_tracks(dataset)
    out = tmp_path / "out"
    reports = export_tracks(tracks, dataset, ["info"], out=out)
    assert reports[0].problems == []
    linked = out / "info" / "Song A" / "Drums.wav"
    assert linked.is_symlink() and linked.resolve() == (dataset / "Song A" / "Drums.wav").resolve()
    assert (out / "info" / "Song A" / "Song A.INFO").is_file()
    assert (out / "info" / "loop_other.flac").is_symlink()
