"""Bulk adds: every source gets its own result, a bad one never takes others down with it,
and duplicate ids or texts inside one batch end exactly as if added one at a time."""
from __future__ import annotations

import json
import zlib

import pytest

from conftest import run_cli
from newsbot.index.records import AddError
from newsbot.index.sources.draft import Draft
from support.pdf_fixture import make_pdf

STORIES = [
    "Fishermen in Ambon reported the largest tuna catch in a decade this season, the provincial fisheries office said.",
    "The national railway company will open a new line between Bandung and Garut next year, its director announced.",
    "A volcano on Sangihe island erupted on Sunday, sending ash two kilometres into the sky, the geology agency said.",
    "Rice prices in Medan fell for the third week in a row as the harvest reached local markets, traders said.",
]


def row(i: int, **fields) -> str:
    return json.dumps({"id": f"story-{i}", "text": STORIES[i], **fields})


def statuses(results) -> list[str]:
    return ["error" if isinstance(r, AddError) else r.status for r in results]


@pytest.mark.parametrize("bad", [
    {"title": 5}, {"title": ["a", "list"]}, {"url": {"an": "object"}}, {"source": 3.5}, {"id": {"x": 1}},
])
def test_a_jsonl_row_with_a_wrongly_typed_field_is_its_own_error(engine, tmp_path, bad):
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join([row(0), row(1, **bad), row(2)]) + "\n", encoding="utf-8")
    results = engine.add(engine.drafts_from_jsonl(str(path)))
    assert statuses(results) == ["added", "error", "added"]
    assert results[1].origin == f"{path}:2" and "must be a string" in results[1].message
    assert sorted(a.id for a in engine.sources()) == ["story-0", "story-2"]


def test_a_malformed_line_does_not_drop_the_rest_of_the_file(engine, tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join([row(0), '{"id": "broken", "text": "unterminated', row(1), row(2)]) + "\n", encoding="utf-8")
    results = engine.add(engine.drafts_from_jsonl(str(path)))
    assert statuses(results) == ["added", "error", "added", "added"]
    assert "not valid JSON" in results[1].message
    assert len(engine.sources()) == 3


def test_the_cli_reports_every_line_and_exits_1_without_a_traceback(settings, tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join([row(0), '{"text": 5}', row(1, title=7), row(2), row(3)]) + "\n", encoding="utf-8")
    done = run_cli(["add", "--jsonl", str(path)], settings)
    err = done.stderr.decode()
    assert done.returncode == 1
    assert "3 added, 0 replaced, 0 already indexed, 2 failed" in err
    assert "Traceback" not in err and "TypeError" not in err


@pytest.mark.parametrize("bad_url", ["http://[::1", "http://example.com:99999/", "https://exa mple.com/a b"])
def test_a_malformed_url_among_sources_is_its_own_error(engine, tmp_path, bad_url):
    good = tmp_path / "story.txt"
    good.write_text(STORIES[0], encoding="utf-8")
    results = engine.add(engine.drafts_from_sources([bad_url, str(good)]))
    assert statuses(results) == ["error", "added"]


def bomb_pdf() -> bytes:
    """A PDF whose one content stream inflates past pypdf's output limit."""
    pdf = make_pdf(["A short line."])
    stream = zlib.compress(b"0 0 m " * 14_000_000, 9)
    start = pdf.index(b"4 0 obj")
    end = pdf.index(b"endobj", start)
    body = b"4 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream\n"
    return pdf[:start] + body + pdf[end:]


def test_a_pdf_that_trips_the_pdf_readers_limits_is_its_own_error(engine, tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a-bomb.pdf").write_bytes(bomb_pdf())
    (tmp_path / "docs" / "b-story.txt").write_text(STORIES[1], encoding="utf-8")
    results = engine.add(engine.drafts_from_sources([str(tmp_path / "docs")]))
    assert statuses(results) == ["error", "added"]
    assert "unreadable PDF" in results[0].message


def test_a_draft_that_breaks_preparation_fails_alone(engine):
    drafts = [Draft(text=STORIES[0], id="ok-1"), Draft(text=STORIES[1], id="bad", published_at="2025-13-45"),
              Draft(text=STORIES[2], id="ok-2")]
    assert statuses(engine.add(drafts)) == ["added", "error", "added"]


def test_duplicate_ids_in_one_batch_end_as_if_added_one_at_a_time(engine):
    text_a, text_b = STORIES[0], STORIES[1]
    results = engine.add([Draft(text=text_a, id="dup"), Draft(text=text_b, id="dup"), Draft(text=text_a, id="dup2")])
    assert statuses(results) == ["added", "replaced", "added"]
    assert engine.article("dup").text == text_b
    assert engine.article("dup2").text == text_a, "text A is kept, under the id that holds it last"
    again = engine.add([Draft(text=text_a, id="dup"), Draft(text=text_b, id="dup"), Draft(text=text_a, id="dup2")])
    assert statuses(again) == ["duplicate", "duplicate", "duplicate"], "a second run changes nothing"
    assert engine.article("dup").text == text_b and engine.article("dup2").text == text_a
    assert engine.stats().chunks == 2


def test_a_batch_that_rewrites_a_stored_id_frees_its_old_text(engine):
    engine.add([Draft(text=STORIES[0], id="x")])
    results = engine.add([Draft(text=STORIES[1], id="x"), Draft(text=STORIES[0], id="y")])
    assert statuses(results) == ["replaced", "added"]
    assert engine.article("x").text == STORIES[1] and engine.article("y").text == STORIES[0]


def test_the_same_text_twice_in_one_batch_is_reported_as_already_indexed(engine):
    results = engine.add([Draft(text=STORIES[3], id="first"), Draft(text=STORIES[3], id="second")])
    assert statuses(results) == ["added", "duplicate"] and results[1].article.id == "first"
