"""The CPU listener: musicnn front end and ONNX tagger, vocal activity, caption, reconcile's
``tagger`` provenance, and ``--listen`` choosing it by default."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_reconcile_fixtures import listen_section, measured_record

from linernotes.cli import main
from linernotes.listen.audio import decode_file
from linernotes.listen.cpu.caption import build_caption
from linernotes.listen.cpu.describe import CpuListenerModels, Measurements, describe_clip
from linernotes.listen.cpu.frontend import MEL_FILTERS, PATCH_FRAMES, log_mel, patch_frames
from linernotes.listen.cpu.listener import attach_tagger
from linernotes.listen.cpu.tagger import MusicnnTagger
from linernotes.listen.cpu.vocabulary import LABELS
from linernotes.listen.cpu.vocals import vocal_activity
from linernotes.models import Edit
from linernotes.models.tagger import TaggerCaption, TaggerSection, TagScore, VocalActivity
from linernotes.reconcile import reconcile
from linernotes.reconcile.fields import parse_value
from linernotes.reconcile.normalize import clean_caption

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def tagger() -> MusicnnTagger:
    return MusicnnTagger()


def test_front_end_stays_finite_where_float16_overflowed():
    loud = np.random.default_rng(0).uniform(-1, 1, 16000 * 4).astype(np.float32)
    mel = log_mel(loud)
    assert mel.dtype == np.float32 and np.isfinite(mel).all()
    # musicnn's float16 cast: 10000 * mel leaves float16's range on full-scale audio
    power = (np.power(10.0, mel.astype(np.float64)) - 1) / 10000
    with np.errstate(over="ignore"):
        assert (np.float16(10000) * power.astype(np.float16) == np.inf).any()
    bank = MEL_FILTERS
    assert bank.shape == (96, 257) and (bank.sum(axis=1) > 0).all()


def test_patches_cover_the_tail_and_repeat_short_clips():
    mel = np.arange(450 * 96, dtype=np.float32).reshape(450, 96)
    patches, starts = patch_frames(mel)
    assert starts.tolist() == [0, 187, 450 - PATCH_FRAMES]
    assert patch_frames(mel[:400])[1].tolist() == [0, 187]  # a 26-frame remainder is left
    assert np.array_equal(patches[-1][-1], mel[-1])
    short, _ = patch_frames(mel[:50])
    assert short.shape == (1, PATCH_FRAMES, 96) and np.array_equal(short[0, 50], mel[0])


def test_every_model_label_has_a_category(tagger):
    for name, model in tagger.models.items():
        assert len(model.labels) == 50
        assert all((name, label) in LABELS for label in model.labels)
        assert "ISC" in model.metadata["licence"]


@pytest.mark.parametrize(
    ("clip", "genre", "instrument"),
    [("electronic_128bpm_4-4_F-minor.opus", "techno", "synth"),
     ("band_120bpm_4-4_A-minor.mp3", "country", "guitar")],
)  # fmt: skip
def test_tagger_hears_the_style_and_the_lead_instrument(tagger, clip, genre, instrument):
    samples = decode_file(EXAMPLES / clip).samples
    section = describe_clip(samples, CpuListenerModels(tagger))
    assert genre in section.words("genre")
    assert section.words("instrument")[0] == instrument
    assert len(section.segments) == 7 and section.segments[-1].end_s == pytest.approx(20.0, 0.01)
    assert all(0.0 <= s.vocal_probability <= 1.0 for s in section.segments)
    assert section.vocals.is_instrumental


def test_vocal_stem_decides_where_the_voice_is():
    probs = np.array([0.05, 0.05, 0.05, 0.05])
    starts, ends = np.arange(4) * 3.0, np.arange(1, 5) * 3.0
    assert vocal_activity(probs, starts, ends).is_instrumental
    act = vocal_activity(probs, starts, ends, stem=np.array([False, True, True, False]))
    assert not act.is_instrumental and act.spans == [(3.0, 9.0)]
    assert act.sources == ["tagger", "vocal stem"] and act.confidence == 0.8
    silent = vocal_activity(np.full(4, 0.9), starts, ends, stem=np.zeros(4, bool))
    assert silent.is_instrumental


def test_caption_follows_ace_step_rules():
    words = {"genre": [("folk", 0.3)], "instrument": [("guitar", 0.6), ("violin", 0.3)],
             "mood": [("mellow", 0.2)]}  # fmt: skip
    cap = build_caption(words, is_instrumental=False, voices=["female vocals"], bpm=72.0,
                        mode="major", loudness_lufs=-20.0, onset_rate=2.0)  # fmt: skip
    assert cap.text.startswith("Folk track with guitar and violin.")
    assert "female vocals" in cap.text and "major mode" in cap.text and "relaxed" in cap.text
    assert not any(ch.isdigit() for ch in cap.text) and "bpm" not in cap.text.lower()
    assert len(cap.text.split()) <= 150 and clean_caption(cap.text) == cap.text
    assert cap.confidence == pytest.approx((0.3 + 0.6 + 0.3 + 0.2) / 4, abs=1e-3)


def _tagger_section(instrumental: bool = True, caption: str = "Folk track with guitar."):
    return TaggerSection(
        models={"mtt": {}, "msd": {}},
        tags={"genre": [TagScore(tag="folk", probability=0.4)],
              "instrument": [TagScore(tag="guitar", probability=0.7)]},
        vocals=VocalActivity(is_instrumental=instrumental, confidence=0.8,
                             vocal_probability=0.1, vocal_ratio=0.0),
        caption=TaggerCaption(text=caption, confidence=0.55),
        audio_s=20.0, elapsed_s=1.0,
    )


def test_reconcile_precedence_human_model_tagger():
    record = attach_tagger(measured_record(), _tagger_section())
    final = reconcile(record)
    assert final.value("caption") == "Folk track with guitar."
    assert final.fields["caption"].provenance == "tagger"
    assert final.fields["caption"].confidence == 0.55
    assert final.value("genres") == ["folk"] and final.value("instruments") == ["guitar"]
    assert final.value("is_instrumental") is True and final.value("lyrics") == "[Instrumental]"
    assert final.value("bpm") == record.summary.bpm
    assert final.fields["bpm"].provenance == "measured"

    record.listen = listen_section({"caption": "A bright flamenco guitar with a male singer.",
                                    "tags": "flamenco, guitar, male vocals"})
    record = attach_tagger(record, _tagger_section(instrumental=True))
    final = reconcile(record)
    assert final.fields["caption"].provenance == "model"
    assert final.value("is_instrumental") is False
    assert any(c.field == "is_instrumental" and c.other_source == "tagger"
               for c in final.conflicts)  # fmt: skip

    edit = Edit(content_hash="a" * 64, field="caption", value=parse_value("caption", "Mine."),
                author="ana")  # fmt: skip
    assert reconcile(record, {"caption": edit}).fields["caption"].provenance == "human"


def test_analyze_listen_defaults_to_the_cpu_listener(tmp_path, capsys):
    source = tmp_path / "music"
    source.mkdir()
    (source / "piano.flac").write_bytes((EXAMPLES / "piano_84bpm_4-4_E-minor.flac").read_bytes())
    out = tmp_path / "out"
    args = ["analyze", str(source), "--out", str(out), "--listen", "--lyrics-model", "none", "-q"]
    assert main(args) == 0
    assert capsys.readouterr().err.count("listening on the CPU") == 1
    record = json.loads((out / "piano.linernotes.json").read_text())
    tagger = record["listen"]["tagger"]
    assert record["listen"]["backend"] == "cpu" and tagger["provenance"] == "tagger"
    assert record["final"]["fields"]["caption"]["provenance"] == "tagger"
    assert record["final"]["fields"]["caption"]["value"] == tagger["caption"]["text"]
    assert main(args) == 0  # the rerun takes the cached section
    again = json.loads((out / "piano.linernotes.json").read_text())
    assert again["listen"]["tagger"]["cached"] is True
    # the library found from the folder remembers where the records went
    assert main(["export", str(source), "--to", "ace-step", "--out", str(tmp_path / "export"),
                 "--quiet"]) == 0  # fmt: skip
    sample = json.loads((tmp_path / "export/ace-step/piano.json").read_text())
    assert sample["caption"] and sample["lyrics"] == "[Instrumental]"


def test_measurements_of_a_record():
    m = Measurements.of_record(measured_record(bpm=90.0, key="E minor"))
    assert m.bpm == 90.0 and m.mode == "minor"
