"""Embedded tags as a source (provenance ``tags``): above defaults, below the model and human
edits, normalised like the other sources (:mod:`linernotes.reconcile.file_tags`)."""

from __future__ import annotations

from test_reconcile_fixtures import listen_section, measured_record

from linernotes.models import Edit
from linernotes.reconcile import reconcile
from linernotes.reconcile.file_tags import tag_comment, tag_genres

TAGS = {"genre": "Synth-Pop; (13) Rock", "album": "  Night   Drive ", "year": "1987",
        "comment": "Recorded live in one take", "title": "Night", "artist": "Ada"}  # fmt: skip


def test_tags_fill_what_no_better_source_has():
    final = reconcile(measured_record(tags=TAGS))
    assert final.value("genres") == ["synth-pop", "rock"]
    assert final.fields["genres"].provenance == "tags"
    assert final.fields["genres"].origin == "file tags"
    assert final.value("album") == "Night Drive" and final.value("year") == 1987
    assert final.value("comment") == "Recorded live in one take"
    assert final.value("title") == "Night" and final.fields["title"].provenance == "tags"


def test_model_and_human_outrank_the_tags():
    record = measured_record(tags=TAGS)
    record.listen = listen_section({"caption": "Warm jazz trio.", "tags": "jazz, piano"})
    final = reconcile(record)
    assert final.value("genres") == ["jazz"] and final.fields["genres"].provenance == "model"
    edit = Edit(content_hash="0" * 64, field="genres", value=["bossa nova"])
    edited = reconcile(record, {"genres": edit})
    assert edited.value("genres") == ["bossa nova"]


def test_tag_normalisation():
    assert tag_genres("(17)") == []
    assert tag_genres(None) == []
    assert tag_comment("Lavf60.16.100") is None
    assert tag_comment("  two\n lines ") == "two lines"
