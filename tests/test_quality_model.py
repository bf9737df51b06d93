"""Model quality: the quality prompt's five scores, validated, weighted, failures marked."""

from __future__ import annotations

import pytest

from linernotes.quality.model_score import (
    check_weights,
    model_quality,
    model_quality_from_listen,
    model_quality_from_text,
)
from linernotes.quality.weights import MODEL_WEIGHTS

GOOD = (
    '{"genre": "rock", "tempo": "fast", "key": "E minor", "instruments": "guitar",'
    ' "production_style": "live", "mood": "angry", "content_usefulness": 0.8,'
    ' "production_quality": 0.9, "content_enjoyment": 0.7, "production_complexity": 0.6,'
    ' "overall_recommendation_score": 0.75}'
)
EXPECTED = 0.15 * 0.8 + 0.30 * 0.9 + 0.25 * 0.7 + 0.10 * 0.6 + 0.20 * 0.75


def test_default_weights_are_the_published_formula():
    assert MODEL_WEIGHTS == {
        "content_usefulness": 0.15,
        "production_quality": 0.30,
        "content_enjoyment": 0.25,
        "production_complexity": 0.10,
        "overall_recommendation_score": 0.20,
    }


def test_clean_reply():
    mq = model_quality_from_text(GOOD)
    assert mq.status == "ok"
    assert mq.score == pytest.approx(EXPECTED, abs=1e-4)
    assert mq.missing == []


@pytest.mark.parametrize(
    "reply",
    [
        "Sure! Here is my assessment:\n```json\n" + GOOD + "\n```\nHope this helps.",
        GOOD.replace('"', "'"),  # single quotes
        GOOD[:-1] + ",}",  # trailing comma
    ],
)
def test_sloppy_but_complete_replies_score_the_same(reply):
    mq = model_quality_from_text(reply)
    assert mq.status == "ok"
    assert mq.score == pytest.approx(EXPECTED, abs=1e-4)


def test_truncated_reply_is_partial_and_renormalised():
    reply = GOOD[: GOOD.index('"content_enjoyment"')]  # cut off by the token limit
    mq = model_quality_from_text(reply)
    assert mq.status == "partial"
    assert set(mq.missing) == {
        "content_enjoyment",
        "production_complexity",
        "overall_recommendation_score",
    }
    assert mq.score == pytest.approx((0.15 * 0.8 + 0.30 * 0.9) / 0.45, abs=1e-4)


@pytest.mark.parametrize(
    "reply",
    [
        "I cannot rate this track.",
        "",
        '{"genre": "jazz", "mood": "calm"}',  # JSON but no scores
        '{"content_usefulness": "great", "production_quality": null}',
        "[1, 2, 3]",
    ],
)
def test_unusable_replies_are_marked_never_zero(reply):
    mq = model_quality_from_text(reply)
    assert mq.status == "parse_failed"
    assert mq.score is None
    assert mq.reason


def test_out_of_range_scores_are_dropped_with_a_note():
    mq = model_quality(
        {"content_usefulness": 0.5, "production_quality": 1.7, "content_enjoyment": -0.2}
    )
    assert mq.status == "partial"
    assert mq.scores == {"content_usefulness": 0.5}
    assert "production_quality" in mq.reason and "content_enjoyment" in mq.reason
    assert mq.score == 0.5


def test_booleans_and_nan_are_not_scores():
    mq = model_quality({"content_usefulness": True, "production_quality": float("nan")})
    assert mq.status == "parse_failed" and mq.score is None


def test_ten_point_scale_reply_is_rescaled_by_the_listen_parser():
    mq = model_quality_from_text(GOOD.replace("0.8", "8").replace("0.9", "9"))
    assert mq.scores["content_usefulness"] == pytest.approx(0.8)
    assert mq.scores["production_quality"] == pytest.approx(0.9)


def test_custom_weights_and_validation():
    mq = model_quality_from_text(GOOD, weights={"production_quality": 1.0})
    assert mq.score == pytest.approx(0.9)
    with pytest.raises(ValueError):
        check_weights({"loudness": 1.0})
    with pytest.raises(ValueError):
        check_weights({"production_quality": -1.0})
    with pytest.raises(ValueError):
        check_weights({"production_quality": 0.0})


def test_weight_on_a_missing_score_only_is_a_failure():
    mq = model_quality({"content_usefulness": 0.4}, weights={"production_quality": 1.0})
    assert mq.status == "parse_failed" and mq.score is None


class _Entry:
    def __init__(self, parsed, error=None):
        self.parsed, self.parse_error, self.model_id = parsed, error, "nvidia/test"


class _Listen:
    def __init__(self, entries):
        self.entries = entries


def test_from_listen_section():
    assert model_quality_from_listen(None).status == "absent"
    assert model_quality_from_listen(_Listen({})).status == "absent"
    failed = model_quality_from_listen(_Listen({"quality": _Entry(None, "no JSON object")}))
    assert failed.status == "parse_failed" and "no JSON object" in failed.reason
    ok = model_quality_from_listen(_Listen({"quality": _Entry({"production_quality": 0.6})}))
    assert ok.score == pytest.approx(0.6) and ok.model_id == "nvidia/test"
