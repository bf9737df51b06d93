"""The second decoder: files FFmpeg refuses are read by libsndfile, recorded as such, analysed
like any other file and transcoded for trainers whose loaders decode with FFmpeg; files both
decoders refuse fail with both reasons."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile
from synth import click_track, progression, tone
from vorbis_craft import VARIANTS, rewrite_identification_header, write_refused_vorbis

from linernotes.audio.decode import open_audio
from linernotes.audio.encode import write_audio
from linernotes.cli.display import render_record
from linernotes.errors import AudioError
from linernotes.library import analyze_paths, export_dataset
from linernotes.models import FileInfo, TrackRecord

SR = 44100


def _song(seconds: float) -> np.ndarray:
    """Stereo 4/4 clicks at 120 BPM over an A minor progression, peaking near 0.7 (no
    clipping in a re-encoded copy)."""
    clicks, _ = click_track(120.0, seconds, SR)
    harmony = progression(9, "minor", 2.0, SR, repeats=3)[: clicks.shape[0]]
    mono = clicks + np.pad(harmony, (0, clicks.shape[0] - harmony.shape[0]))
    return 0.6 * np.stack([mono, 0.9 * mono])


@pytest.fixture(scope="module")
def analysed(tmp_path_factory) -> Path:
    """An analysed folder: ``game.ogg``, 16 s of music in an Ogg/Vorbis file whose header
    FFmpeg refuses, and ``copy.flac``, the same decoded samples re-encoded to FLAC."""
    folder = tmp_path_factory.mktemp("fallback") / "dataset"
    folder.mkdir()
    game = write_refused_vorbis(folder / "game.ogg", _song(16.0), SR)
    samples, sr = soundfile.read(game, dtype="float32", always_2d=True)
    write_audio(folder / "copy.flac", samples.T, sr)
    assert analyze_paths([folder]).exit_code == 0
    return folder


@pytest.mark.parametrize("variant", VARIANTS)
def test_ffmpeg_refuses_the_header_and_libsndfile_reads_it(tmp_path: Path, variant: str) -> None:
    y = np.tile(tone(440.0, 2.0, SR), (2, 1))
    original = tmp_path / "original.ogg"
    soundfile.write(original, y.T, SR, format="OGG", subtype="VORBIS")
    with av.open(str(original)) as container:  # the header edit alone makes FFmpeg refuse
        assert container.streams.audio[0].codec_context.name == "vorbis"
    crafted = tmp_path / f"{variant}.ogg"
    crafted.write_bytes(rewrite_identification_header(original.read_bytes(), variant))
    with pytest.raises(av.error.InvalidDataError):
        av.open(str(crafted))
    source = open_audio(crafted)
    assert source.report.decoder == "libsndfile"
    assert "Header processing failed" in source.report.ffmpeg_error
    decoded = np.concatenate(list(source.chunks()), axis=1)
    expected, _ = soundfile.read(original, dtype="float32", always_2d=True)
    np.testing.assert_array_equal(decoded, expected.T)


def test_fallback_streams_bounded_chunks_with_the_file_facts(analysed: Path) -> None:
    source = open_audio(analysed / "game.ogg")
    info = source.info
    assert (info.format, info.codec, info.sample_rate, info.channels) == ("ogg", "vorbis", SR, 2)
    assert info.duration == pytest.approx(16.0, abs=0.01)
    assert 50_000 < info.bit_rate < 400_000
    chunks = list(source.chunks(chunk_seconds=2.0))
    assert len(chunks) >= 8 and max(c.shape[1] for c in chunks) <= 2 * SR
    assert all(c.dtype == np.float32 and c.shape[0] == 2 for c in chunks)
    assert source.report.decoded_duration == pytest.approx(16.0, abs=0.01)
    assert not source.report.truncated and source.report.warnings == []


def test_the_file_analyses_like_its_reencoded_copy(analysed: Path) -> None:
    game = TrackRecord.load(analysed / "game.linernotes.json")
    copy = TrackRecord.load(analysed / "copy.linernotes.json")
    assert game.file.decode.decoder == "libsndfile"
    assert "Header processing failed" in game.file.decode.ffmpeg_error
    assert (copy.file.decode.decoder, copy.file.decode.ffmpeg_error) == ("ffmpeg", None)
    assert game.summary.bpm == pytest.approx(120.0, abs=1.0)
    assert game.summary.key == "A minor"
    assert game.summary.bpm == pytest.approx(copy.summary.bpm, abs=0.05)
    assert game.summary.key == copy.summary.key
    assert game.summary.time_signature == copy.summary.time_signature
    assert game.summary.duration == pytest.approx(copy.summary.duration, abs=0.01)
    stored = json.loads((analysed / "game.linernotes.json").read_text())["file"]["decode"]
    assert stored["decoder"] == "libsndfile"
    assert "decoded with libsndfile (FFmpeg: Invalid data" in render_record(game)


def test_listen_input_is_the_same_from_either_decoder(analysed: Path) -> None:
    from linernotes.listen.audio import decode_file

    game, copy = decode_file(analysed / "game.ogg"), decode_file(analysed / "copy.flac")
    assert game.duration == pytest.approx(16.0, abs=0.01)
    np.testing.assert_allclose(game.samples, copy.samples, atol=2e-4)


def test_records_written_before_the_fallback_still_load() -> None:
    old = {"path": "a.wav", "content_hash": "0" * 64, "size_bytes": 10,
           "decode": {"decoded_duration": 1.0, "truncated": False, "warnings": []}}  # fmt: skip
    decode = FileInfo.model_validate(old).decode
    assert (decode.decoder, decode.ffmpeg_error) == ("ffmpeg", None)


def _corrupt_flac(path: Path) -> None:
    good = write_audio(path, _song(4.0), SR).read_bytes()
    path.write_bytes(good[:200] + bytes(len(good) - 200))


def _headers_only_ogg(path: Path) -> None:
    write_refused_vorbis(path, _song(4.0), SR)
    data = path.read_bytes()
    second_page = data.index(b"OggS", 4)
    third_page = data.index(b"OggS", second_page + 4)
    path.write_bytes(data[:third_page])  # identification, comment and setup headers, no audio


@pytest.mark.parametrize(
    ("name", "make", "headline"),
    [
        ("notes.ogg", lambda p: p.write_text("not audio at all\n" * 100),
         "not a recognised audio file"),
        ("noise.flac", lambda p: p.write_bytes(
            np.random.default_rng(1).integers(0, 256, 50_000, dtype=np.uint8).tobytes()),
         "audio stream has no sample rate or channel count"),
        ("corrupt.flac", _corrupt_flac, "corrupt audio data"),
        ("headers.ogg", _headers_only_ogg, "no decodable audio in the file"),
    ],
)  # fmt: skip
def test_both_decoders_refusing_gives_one_reason_naming_both(
    tmp_path: Path, name: str, make, headline: str
) -> None:
    path = tmp_path / name
    make(path)
    with pytest.raises(AudioError) as info:
        list(open_audio(path).chunks())
    reason = info.value.reason
    assert reason.startswith(f"{headline} (FFmpeg: ") and "; libsndfile: " in reason
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def _export(folder: Path, formats: list[str], out: Path | None = None) -> dict[str, object]:
    report = export_dataset(folder, formats, out=out)
    assert report.ok, [f.problems for f in report.formats]
    return {f.name: f for f in report.formats}


def test_export_transcodes_for_ffmpeg_loaders_and_links_for_libsndfile_ones(
    analysed: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    formats = _export(analysed, ["ace-step", "stable-audio", "audiocraft", "hf"], out)
    expected, _ = soundfile.read(analysed / "game.ogg", dtype="float32", always_2d=True)
    for name in ("ace-step", "stable-audio"):  # torchaudio / TorchCodec: FFmpeg
        assert not (out / name / "game.ogg").exists() and formats[name].skipped == []
        flac = out / name / "game.flac"
        with av.open(str(flac)) as container:
            assert container.streams.audio[0].codec_context.name == "flac"
            packed = [f.to_ndarray().reshape(-1, 2) for f in container.decode(audio=0)]
        np.testing.assert_allclose(np.concatenate(packed) / 32768.0, expected,
                                   atol=1.0 / 32768 + 1e-6)  # fmt: skip
    # audiocraft decodes .ogg with soundfile, datasets 3.x's Audio feature too: linked as is
    for name in ("audiocraft", "hf"):
        linked = out / name / "game.ogg"
        assert linked.resolve() == (analysed / "game.ogg").resolve()
        assert not (out / name / "game.flac").exists()
        assert soundfile.info(str(linked)).frames == expected.shape[0]
    assert json.loads((out / "audiocraft" / "game.json").read_text())["bpm"]


def test_export_beside_the_audio_skips_it_for_ffmpeg_loaders(
    analysed: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "dataset"
    shutil.copytree(analysed, folder)
    formats = _export(folder, ["ace-step", "audiocraft"])
    (skipped,) = formats["ace-step"].skipped
    assert skipped[0].name == "game.ogg"
    assert "FFmpeg refuses this file" in skipped[1] and "--out" in skipped[1]
    assert not (folder / "game.caption.txt").exists() and (folder / "copy.caption.txt").exists()
    assert "game" not in (folder / "ace_step_dataset.json").read_text()
    assert (folder / "game.json").exists()  # audiocraft's info JSON
    assert formats["audiocraft"].skipped == []


@pytest.mark.parametrize(("name", "fmt", "subtype"), [("sample.xi", "XI", "DPCM_16"),
                                                      ("sample.mat", "MAT5", "PCM_16")])
def test_formats_only_libsndfile_reads_decode_whole(
    tmp_path: Path, name: str, fmt: str, subtype: str
) -> None:
    # XI is not seekable in libsndfile: reading it in blocks needs its length, which once
    # raised a bare ValueError out of the decoder
    y = 0.5 * tone(440.0, 2.0, SR)
    path = tmp_path / name
    soundfile.write(path, y, SR, format=fmt, subtype=subtype)
    source = open_audio(path)
    frames = sum(block.shape[-1] for block in source.chunks())
    assert source.report.decoder == "libsndfile"
    assert frames == y.shape[0]
