"""Scores file and cache round trips, external imports, the combined section, QualityFilter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from linernotes.models.quality import Detection, ObjectiveQuality
from linernotes.quality import QualityFilter
from linernotes.quality.external import load_external
from linernotes.quality.model_score import model_quality
from linernotes.quality.scores_file import (
    ScoreEntry,
    cache_path,
    read_cache,
    read_scores,
    write_cache_entry,
    write_scores,
)
from linernotes.quality.section import combine

USERS_FILE = {
    "song-id-1": {
        "song_id": "song-id-1",
        "title": "Song Title",
        "scores": {
            "content_usefulness": 0.85,
            "production_quality": 0.92,
            "content_enjoyment": 0.78,
            "production_complexity": 0.65,
            "overall_recommendation_score": 0.82,
            "overall_quality_score": 0.82,
        },
    },
    "song-id-2": {
        "song_id": "song-id-2",
        "title": "Weak",
        "scores": {"overall_quality_score": 0.31},
    },
}


@pytest.fixture
def users_scores(tmp_path: Path) -> Path:
    p = tmp_path / "scores.json"
    p.write_text(json.dumps(USERS_FILE))
    return p


def test_users_scores_file_reads_and_round_trips(users_scores: Path, tmp_path: Path):
    entries = read_scores(users_scores)
    assert entries["song-id-1"].title == "Song Title"
    assert entries["song-id-1"].overall == 0.82
    out = write_scores(tmp_path / "again.json", entries)
    data = json.loads(out.read_text())
    assert data["song-id-1"]["song_id"] == "song-id-1"
    assert data["song-id-1"]["scores"] == USERS_FILE["song-id-1"]["scores"]
    assert read_scores(out) == entries


def test_cache_round_trip_with_subfolder_ids(tmp_path: Path):
    e = ScoreEntry(
        song_id="sub/three",
        title="Three",
        scores={"production_quality": 0.5, "overall_quality_score": 0.6},
    )
    p = write_cache_entry(tmp_path / "cache", e)
    assert p == cache_path(tmp_path / "cache", "sub/three") and p.name == "sub__three.json"
    back = read_cache(tmp_path / "cache")
    assert back["sub/three"].scores == e.scores


def test_external_json_csv_and_lookup_by_path(tmp_path: Path):
    (tmp_path / "aes.csv").write_text("path,CE,PQ,note\n/data/a.wav,7.0,8.0,x\nb.flac,5,6,y\n")
    ext = load_external(tmp_path / "aes.csv")  # 1-10 scale detected per column
    assert ext.lookup("a") == {"CE": 0.7, "PQ": 0.8}
    assert ext.lookup(None, "/elsewhere/b.flac") == {"CE": 0.5, "PQ": 0.6}
    assert ext.lookup("nope") is None
    (tmp_path / "aes.json").write_text(json.dumps({"a": {"PQ": 0.4, "CE": 0.9}}))
    only_pq = load_external(tmp_path / "aes.json", columns=["PQ"])
    assert only_pq.lookup("a") == {"PQ": 0.4}
    (tmp_path / "aes.jsonl").write_text('{"song_id": "a", "PQ": 9}\n')
    assert load_external(tmp_path / "aes.jsonl", scale=10).lookup("a") == {"PQ": 0.9}


def _objective(score: float) -> ObjectiveQuality:
    det = Detection(value=0.0, status="pass", reason="ok")
    return ObjectiveQuality(detections={"clipping": det}, score=score, weights={"clipping": 1.0})


def test_combine_renormalises_over_present_components():
    model = model_quality({"production_quality": 0.6})
    sec = combine(_objective(1.0), model, {"PQ": 0.8, "CE": 0.4})
    # 0.3 * 1.0 + 0.5 * 0.6 + 0.2 * 0.6
    assert sec.combined_score == pytest.approx(0.72)
    assert sec.weights == {"objective": 0.3, "model": 0.5, "external": 0.2}
    only_obj = combine(_objective(0.8), None)
    assert only_obj.combined_score == pytest.approx(0.8)
    assert only_obj.weights == {"objective": 1.0}
    flat = sec.flat_scores()
    assert flat["overall_quality_score"] == pytest.approx(0.72)
    assert flat["production_quality"] == 0.6 and flat["ext_PQ"] == 0.8


def test_failed_model_is_left_out_not_zero():
    failed = model_quality(None, error="no JSON object")
    sec = combine(_objective(0.9), failed)
    assert sec.combined_score == pytest.approx(0.9)
    assert "model" not in sec.weights
    assert any("left out" in n for n in sec.notes)
    assert combine(None, failed).combined_score is None


def test_custom_combine_weights_60_40():
    model = model_quality({"production_quality": 0.5})
    sec = combine(None, model, {"aes": 1.0}, weights={"model": 0.6, "external": 0.4})
    assert sec.combined_score == pytest.approx(0.7)
    with pytest.raises(ValueError):
        combine(None, model, weights={"vibes": 1.0})


# -- QualityFilter ----------------------------------------------------------------------------
def test_filter_with_users_legacy_names_and_lists(users_scores: Path):
    qf = QualityFilter(quality_threshold=0.4, quality_scores_file=users_scores)
    assert qf.quality_threshold == 0.4
    assert qf.fit(["song-id-1", "song-id-2", "new"]) is qf
    assert qf.missing_ == ["new"]
    assert qf.filter(["song-id-2", "song-id-1", "new"]) == ["song-id-1", "new"]  # unknown kept
    assert qf.score("song-id-2") == 0.31
    assert qf.score("new") is None


def test_filter_unknown_policies(users_scores: Path):
    drop = QualityFilter(threshold=0.4, scores_file=users_scores, unknown="drop")
    assert drop.filter(["new", "song-id-1"]) == ["song-id-1"]
    strict = QualityFilter(threshold=0.4, scores_file=users_scores, unknown="raise")
    with pytest.raises(KeyError):
        strict.filter(["song-id-1", "new"])
    with pytest.raises(ValueError):
        QualityFilter(unknown="maybe")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        QualityFilter(threshold=0.4, quality_threshold=0.5)


def test_filter_on_a_dataframe(users_scores: Path):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"song_id": ["song-id-1", "song-id-2", "x"], "artist": ["a", "b", "c"]})
    qf = QualityFilter(threshold=0.4, scores_file=users_scores, unknown="drop").fit(df)
    kept = qf.filter(df)
    assert isinstance(kept, pd.DataFrame)
    assert kept["song_id"].tolist() == ["song-id-1"]
    assert qf.filter(df["song_id"]) == ["song-id-1"]  # a Series of ids
    indexed = df.set_index("song_id")
    assert qf.filter(indexed).index.tolist() == ["song-id-1"]


def test_dataframe_scores_fill_gaps_and_scorer_computes_missing(users_scores: Path):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"song_id": ["song-id-2", "y"], "overall_quality_score": [0.9, 0.7]})
    qf = QualityFilter(threshold=0.5, scores_file=users_scores).fit(df)
    assert qf.score("song-id-2") == 0.31  # the scores file wins
    assert qf.score("y") == 0.7
    asked = []
    qf2 = QualityFilter(
        threshold=0.5, scores={"a": 0.2}, scorer=lambda sid: asked.append(sid) or 0.8
    )
    assert qf2.filter(["a", "b"]) == ["b"]
    assert asked == ["b"]
    assert qf2.score("b") == 0.8 and asked == ["b"]  # computed once


def test_require_pass_rejects_flagged_tracks_with_reason():
    scores = {
        "clip": {"scores": {"overall_quality_score": 0.9}, "flags": {"clipping": "fail"}},
        "warned": {"scores": {"overall_quality_score": 0.9}, "flags": {"clipping": "warn"}},
        "fine": {"scores": {"overall_quality_score": 0.9}},
    }
    qf = QualityFilter(threshold=0.4, scores=scores, require_pass=["clipping"])
    kept, rejected = qf.split(["clip", "warned", "fine"])
    assert [d.song_id for d in kept] == ["warned", "fine"]
    assert rejected[0].reason.startswith("clipping fail")
    strict = QualityFilter(
        threshold=0.4, scores=scores, require_pass=["clipping"], reject_warn=True
    )
    assert strict.filter(["clip", "warned", "fine"]) == ["fine"]


def test_list_of_dicts_and_bad_input():
    qf = QualityFilter(threshold=0.5, scores={"a": 0.6, "b": 0.1})
    assert qf.filter([{"song_id": "a"}, {"id": "b"}]) == ["a"]
    with pytest.raises(TypeError):
        qf.filter("a")
    d = qf.decide("b")
    assert not d.kept and "0.100 < 0.5" in d.reason
