"""Every export loaded the way its consumer loads it, every sample decoded.

A folder a new user might have: AAC ``.m4a``, Opus, Vorbis, FLAC, MP3, WAV, two ``take.wav``
in different folders, one song as both FLAC and MP3, and a stems folder. Each consumer's
scanner rule is reimplemented here from its source (named at each helper) and every file it
would pick up is decoded with the decoder it uses; ``datasets.load_dataset("audiofolder")``
is called itself and every row decoded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile
from synth import chord, click_track

from linernotes.audio.encode import write_audio
from linernotes.export import stable_audio
from linernotes.library import analyze_paths, export_dataset

SR = 44100
SECONDS = 4.0


def _music(bpm: float, root: int) -> np.ndarray:
    """Clicks at ``bpm`` over four chords a second each, a different walk from each root."""
    clicks, _ = click_track(bpm, SECONDS, SR)
    steps = [0, (root * 5) % 12, (root * 7) % 12 - 12, (root * 3) % 12 - 5]
    part = SECONDS / len(steps)
    harmony = np.concatenate([chord([root + s, root + s + 4, root + s + 7], part, SR)
                              for s in steps])  # fmt: skip
    y = clicks[: harmony.size] + harmony
    return np.stack([y, 0.9 * y]).astype(np.float32)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    """The mixed folder, analysed."""
    folder = tmp_path_factory.mktemp("consumers") / "music"
    for sub in ("a", "b", "Band Track"):
        (folder / sub).mkdir(parents=True)
    song = _music(120, 60)
    write_audio(folder / "song.flac", song, SR, tags={"genre": "Synth Pop", "title": "Song"})
    write_audio(folder / "song.mp3", song, SR, tags={"genre": "Synth Pop", "title": "Song"})
    write_audio(folder / "live.m4a", _music(100, 62), SR, tags={"genre": "Jazz"})
    write_audio(folder / "night.opus", _music(90, 64), SR)
    write_audio(folder / "rain.ogg", _music(110, 65), SR)
    write_audio(folder / "a" / "take.wav", _music(128, 67), SR)
    write_audio(folder / "b" / "take.wav", _music(132, 69), SR)
    drums, _ = click_track(96, SECONDS, SR)
    bass = chord([40], SECONDS, SR)
    write_audio(folder / "Band Track" / "mix.flac", np.stack([drums + bass] * 2), SR)
    write_audio(folder / "Band Track" / "drums.mp3", np.stack([drums] * 2), SR)
    write_audio(folder / "Band Track" / "bass.m4a", np.stack([bass] * 2), SR)
    assert analyze_paths([folder]).exit_code == 0
    return folder


@pytest.fixture(scope="module")
def exported(mixed: Path, tmp_path_factory) -> tuple[Path, int]:
    """Every consumer's export of the folder (with ``--out``), and how many tracks it has."""
    out = tmp_path_factory.mktemp("consumers-out") / "export"
    report = export_dataset(mixed, ["hf", "stable-audio", "audiocraft", "ace-step"], out=out,
                            keep_duplicates=True)
    for fmt in report.formats:
        assert fmt.problems == [], (fmt.name, fmt.problems)
        assert fmt.skipped == [], (fmt.name, fmt.skipped)
    assert len(report.tracks) == 8
    return out, len(report.tracks)


def _ffmpeg_decode(path: Path) -> np.ndarray:
    """Decode all of ``path`` with FFmpeg (PyAV), as torchaudio/TorchCodec and PyAV do."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        frames = [f.to_ndarray() for f in container.decode(stream)]
    assert frames, path
    return np.concatenate([f.reshape(f.shape[0], -1) for f in frames], axis=-1)


def _walk(root: Path, extensions: set[str], *, skip_hidden: bool = False) -> list[Path]:
    """``os.walk`` (symlinks to files included) keeping lower-cased ``extensions``."""
    found = []
    for folder, _, files in os.walk(root, followlinks=True):
        for name in files:
            if skip_hidden and name.startswith("."):
                continue
            if os.path.splitext(name)[1].lower() in extensions:
                found.append(Path(folder) / name)
    return sorted(found)


def test_hf_audiofolder_decodes_every_row(exported, tmp_path: Path):
    datasets = pytest.importorskip("datasets")
    pytest.importorskip("librosa")  # the Audio feature imports it to decode
    out, n_tracks = exported
    folder = out / "hf"
    loaded = datasets.load_dataset("audiofolder", data_dir=str(folder), split="train",
                                   drop_labels=True, cache_dir=str(tmp_path / "cache"))  # fmt: skip
    assert loaded.num_rows == n_tracks
    audio_columns = [n for n, f in loaded.features.items() if isinstance(f, datasets.Audio)]
    assert "audio" in audio_columns
    names = set()
    for row in loaded:  # the Audio feature decodes each row with soundfile here
        for column in audio_columns:
            decoded = row[column]
            assert decoded["array"].size > SR, (column, decoded["path"])
            assert decoded["sampling_rate"] > 0
        names.add(Path(row["audio"]["path"]).name)
    assert not any(n.endswith(".m4a") for n in names)
    assert "night.opus" in names  # libsndfile decodes this Opus file: kept as it is
    # stems only some rows have are path columns: decoded as datasets would, with soundfile
    stem_paths = [row[c] for row in loaded for c in loaded.column_names
                  if c.endswith("_path") and row[c]]  # fmt: skip
    assert sorted(Path(p).name for p in stem_paths) == ["bass.flac", "drums.mp3"]  # m4a: FLAC
    for rel in stem_paths:
        assert soundfile.read(str(folder / rel))[0].size > SR


def test_stable_audio_scanner_and_custom_metadata(exported):
    out, n_tracks = exported
    folder = out / "stable-audio"
    config = json.loads((folder / stable_audio.CONFIG_NAME).read_text())
    (dataset,) = config["datasets"]
    module = stable_audio.load_module(Path(dataset["custom_metadata_module"]))
    root = dataset["path"]
    # get_audio_filenames (stable_audio_tools/data/dataset.py): recursive, lower-cased
    # extension in its list, hidden names skipped
    files = _walk(Path(root), {".wav", ".mp3", ".flac", ".ogg", ".aif", ".opus", ".aiff"},
                  skip_hidden=True)  # fmt: skip
    assert len(files) == n_tracks
    for path in files:
        audio = _ffmpeg_decode(path)  # torchaudio.load(path, format=ext)
        info = {"path": str(path), "relpath": os.path.relpath(path, root),
                "seconds_start": 0, "seconds_total": audio.shape[-1] / SR,
                "sample_rate": 44100, "padding_mask": None}  # fmt: skip
        meta = module.get_custom_metadata(info, audio)
        assert meta.get("prompt"), path


def test_audiocraft_info_loader(exported):
    out, n_tracks = exported
    folder = out / "audiocraft"
    manifest = [json.loads(line) for line in (folder / "data.jsonl").read_text().splitlines()]
    assert len(manifest) == n_tracks
    # find_audio_files (audiocraft/data/audio_dataset.py) collects the same files
    collected = _walk(folder, {".wav", ".mp3", ".flac", ".ogg", ".m4a"})
    assert sorted(Path(m["path"]).absolute() for m in manifest) == collected
    for entry in manifest:
        path = Path(entry["path"])
        # audio_info / audio_read (audiocraft/data/audio.py): soundfile for .flac/.ogg
        if path.suffix in (".flac", ".ogg"):
            info = soundfile.info(str(path))
            duration = info.duration
            audio = soundfile.read(str(path), dtype="float32")[0]
        else:
            with av.open(str(path)) as container:
                stream = container.streams.audio[0]
                duration = float(stream.duration * stream.time_base)
            audio = _ffmpeg_decode(path)
        assert duration > 1.0 and audio.size > SR
        info_json = json.loads(path.with_suffix(".json").read_text())
        for key in ("title", "artist", "key", "bpm", "genre", "moods", "description", "name",
                    "instrument"):  # fmt: skip
            assert key in info_json, (path, key)


def test_ace_step_scanner(exported):
    out, n_tracks = exported
    folder = out / "ace-step"
    # scan_directory (acestep/training/dataset_builder_modules/scan.py): os.walk, lower-cased
    # extension in SUPPORTED_AUDIO_FORMATS; decoded with torchaudio.load, else ffmpeg
    files = _walk(folder, {".wav", ".mp3", ".flac", ".ogg", ".opus"})
    assert len(files) == n_tracks
    for path in files:
        assert _ffmpeg_decode(path).size > SR
        assert path.with_suffix(".json").is_file()
    dataset = json.loads((folder / "ace_step_dataset.json").read_text())
    listed = sorted((folder / s["audio_path"]).absolute() for s in dataset["samples"])
    assert listed == [p.absolute() for p in files]


def _leftovers(folder: Path) -> list[str]:
    """Lock and temporary files anywhere under ``folder``."""
    return sorted(
        p.relative_to(folder).as_posix() for p in folder.rglob("*")
        if p.name.endswith((".lock", ".tmp", ".link", ".tmp.flac"))
        or (p.name.startswith(".") and p.is_file())
    )  # fmt: skip


def test_no_lock_or_temporary_file_is_left(mixed: Path, exported, tmp_path: Path):
    out, _ = exported
    assert _leftovers(out) == []
    # a failed export (a sidecar's place is taken by a folder) leaves none either
    broken = tmp_path / "broken"
    (broken / "ace-step" / "song__flac.json").mkdir(parents=True)
    with pytest.raises(OSError):
        export_dataset(mixed, ["ace-step"], out=broken, keep_duplicates=True)
    assert _leftovers(broken) == []


def test_unknown_vocals_and_lyrics_stay_unknown(mixed: Path, exported, tmp_path: Path):
    """No model listened: nothing says whether there are vocals, so ACE-Step gets neither
    ``is_instrumental`` nor lyrics (its own defaults apply), and a value an earlier export
    wrote is dropped; ``hf`` writes null."""
    out, _ = exported
    ace = out / "ace-step"
    for sidecar in ace.rglob("*.json"):
        if sidecar.name == "ace_step_dataset.json":
            continue
        fields = json.loads(sidecar.read_text())
        assert "is_instrumental" not in fields and "lyrics" not in fields, sidecar
    assert not list(ace.rglob("*.lyrics.txt"))
    samples = json.loads((ace / "ace_step_dataset.json").read_text())["samples"]
    assert all("is_instrumental" not in s and "lyrics" not in s for s in samples)
    rows = [json.loads(x) for x in (out / "hf" / "metadata.jsonl").read_text().splitlines()]
    assert all(r["is_instrumental"] is None and r["lyrics"] is None for r in rows)
    stale = tmp_path / "again"
    (stale / "ace-step").mkdir(parents=True)
    (stale / "ace-step" / "rain.json").write_text('{"is_instrumental": false, "mine": 1}')
    export_dataset(mixed, ["ace-step"], out=stale)
    again = json.loads((stale / "ace-step" / "rain.json").read_text())
    assert "is_instrumental" not in again and again["mine"] == 1


def test_embedded_tags_reach_the_exports(exported):
    """The genre and title tags (provenance ``tags``) reach audiocraft's ``genre``,
    ``description`` and ``title`` and ACE-Step's ``genre``; untagged tracks stay empty."""
    out, _ = exported
    song = json.loads((out / "audiocraft" / "song__flac.json").read_text())
    assert song["genre"] == "synth pop" and song["description"] == "synth pop"
    assert song["title"] == "Song"
    live = json.loads((out / "audiocraft" / "live.json").read_text())
    assert live["genre"] == "jazz"
    rain = json.loads((out / "audiocraft" / "rain.json").read_text())
    assert rain["genre"] == "" and rain["description"] == ""
    ace = json.loads((out / "ace-step" / "live.json").read_text())
    assert ace["genre"] == "jazz"
    assert ace["pipeline"]["provenance"]["genres"] == "tags"


def test_one_recording_in_two_formats_is_exported_once(mixed: Path, tmp_path: Path, capsys):
    """song.flac and song.mp3 hold one recording: analyze and review report it, export keeps
    the lossless copy and says why, --keep-duplicates keeps both; no other pair is grouped."""
    from linernotes.cli.review import collect_review, render

    analysed = analyze_paths([mixed])  # every track is current: nothing is measured again
    (group,) = analysed.duplicates
    assert group.kept.name == "song.flac" and [p.name for p in group.others] == ["song.mp3"]
    assert "lossless" in group.reason and group.similarity[group.others[0]] > 0.9
    from linernotes.cli.display import render_report

    assert "keep " + str(group.kept) in render_report(analysed)  # analyze's summary lists it
    review_text = render(collect_review(mixed))
    assert "keep " in review_text and "song.mp3" in review_text.split("Duplicates")[1]

    report = export_dataset(mixed, ["audiocraft"], out=tmp_path / "out")
    ((left_out, reason),) = report.duplicates
    assert left_out.name == "song.mp3"
    assert "song.flac" in reason and "lossless" in reason and "--keep-duplicates" in reason
    manifest = (tmp_path / "out" / "audiocraft" / "data.jsonl").read_text()
    assert "song.flac" in manifest and "song.mp3" not in manifest and "song__" not in manifest
    assert len(report.tracks) == 7
