"""Round trip of every format on the bundled example clips (mp3, opus, m4a, flac, ogg),
analysed for real, two of them with a hand-built listen section."""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
from pathlib import Path

import pytest
from records import attach

from linernotes.export import ace_step, audiocraft, stable_audio
from linernotes.export.registry import FORMATS
from linernotes.library import analyze_paths, export_dataset
from linernotes.models import TrackRecord

EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.fixture(scope="module")
def examples(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("examples") / "examples"
    shutil.copytree(EXAMPLES, folder, ignore=shutil.ignore_patterns(".linernotes"))
    assert analyze_paths([folder]).exit_code == 0
    attach(
        folder / "folk_66bpm_6-8_D-major.m4a",
        {"caption": "A gentle folk waltz in 3/4 with acoustic guitar and fiddle, sung in Irish "
         "English.", "lyrics": "[Verse 1]\nOver the hills\n[Chorus]\nHome again"},
    )  # fmt: skip
    attach(
        folder / "electronic_128bpm_4-4_F-minor.opus",
        {"tags": "techno, synthesizer, drum machine, dark, instrumental",
         "brief": "Driving techno at 128 BPM in F minor."},
    )  # fmt: skip
    return folder


def test_every_format_round_trips_on_the_examples(examples: Path, tmp_path: Path, monkeypatch):
    monkeypatch.delenv("LINERNOTES_DB", raising=False)
    audio = sorted(p for p in examples.iterdir() if p.suffix in (".mp3", ".opus", ".m4a",
                                                                  ".flac", ".ogg"))  # fmt: skip
    digests = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in audio}
    out = tmp_path / "out"
    report = export_dataset(examples, list(FORMATS), out=out)
    assert len(report.tracks) == 5 and not report.skipped
    for fmt in report.formats:
        assert fmt.problems == [], (fmt.name, fmt.problems)
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in audio} == digests

    for path in audio:
        record = TrackRecord.load(examples / (path.stem + ".linernotes.json"))
        ace = json.loads((out / "ace-step" / (path.stem + ".json")).read_text())
        assert ace_step.validate_fields(ace) == []
        assert ace["keyscale"] == (record.summary.key or "")
        numerator = (record.summary.time_signature or "").split("/")[0]
        assert ace["timesignature"] == (numerator if numerator in "2346" else "")
        assert ace["bpm"] == round(record.summary.bpm)
        assert ace["duration"] == round(record.summary.duration)
        info = audiocraft.load_info(out / "audiocraft" / path.name)
        assert info["key"] == (record.summary.key or "").lower()

    folk = json.loads((out / "ace-step" / "folk_66bpm_6-8_D-major.json").read_text())
    assert folk["language"] == "en" and folk["lyrics"].startswith("[Verse 1]")
    techno = json.loads((out / "ace-step" / "electronic_128bpm_4-4_F-minor.json").read_text())
    assert techno["is_instrumental"] is True and techno["lyrics"] == "[Instrumental]"
    assert techno["genre"] == "techno"

    with tarfile.open(out / "stable-audio" / "wds" / "shard-000000.tar") as tar:
        names = tar.getnames()
    assert len(names) == 10 and all(n.count(".") == 1 for n in names)
    # the .m4a example is transcoded: stable-audio-tools' folder scanner does not pick it up
    assert {n.split(".")[1] for n in names} == {"mp3", "opus", "flac", "ogg", "json"}
    module = stable_audio.load_module(out / "stable-audio" / stable_audio.MODULE_NAME)
    meta = module.get_custom_metadata(
        {"path": str(out / "stable-audio" / "electronic_128bpm_4-4_F-minor.opus")}, None
    )
    assert meta["prompt"].startswith("techno, synthesizer, drum machine, dark, ")
    assert "BPM" in meta["prompt"]


def test_model_meter_claim_conflict_on_the_folk_example(examples: Path, monkeypatch):
    from linernotes.library import collect_tracks

    monkeypatch.delenv("LINERNOTES_DB", raising=False)
    tracks, _ = collect_tracks(examples)
    folk = next(t for t in tracks if t.audio.name.startswith("folk"))
    # the clip is in 6/8 (examples/truth.json); the model's caption says 3/4
    assert folk.record.summary.time_signature == "6/8"
    conflicts = [c for c in folk.final.conflicts if c.field == "time_signature"]
    assert [(c.chosen, c.other) for c in conflicts] == [("6/8", "3/4")]
    assert folk.final.value("time_signature") == "6/8"
    assert "time_signature" in folk.final.review
