"""An article too long for NEWSBOT_MAX_ARTICLE_CHARS is refused before the costly steps (parsing a JSONL
line, extracting a page, decoding a file), and the sources after it are still added. How long and how much
memory the refusal takes is measured by benchmarks/bench_refusals.py."""
from __future__ import annotations

import json

from newsbot.index.records import AddError, AddResult
from newsbot.index.sources import files, loaders
from newsbot.index.sources.draft import OVERSIZE

GOOD = {"id": "ok", "title": "Port of Odesa reopens", "text": "The port of Odesa reopened on Thursday after a drone "
        "attack damaged two grain terminals overnight, regional officials said. Loading resumed by noon."}


def test_a_jsonl_line_longer_than_any_article_is_skipped_unparsed_and_the_next_line_is_added(engine, tmp_path,
                                                                                             monkeypatch):
    limit = engine.settings.max_article_chars
    path = tmp_path / "big.jsonl"
    with path.open("w", encoding="utf-8") as out:
        out.write(json.dumps({"id": "huge", "text": "word " * (files.line_limit(limit) // 5 + 10)}) + "\n")
        out.write(json.dumps(GOOD) + "\n")
    parsed: list[int] = []
    real_loads = json.loads
    monkeypatch.setattr(files.json, "loads", lambda line: parsed.append(len(line)) or real_loads(line))
    results = engine.add(engine.drafts_from_jsonl(str(path)))
    assert isinstance(results[0], AddError) and "article too long" in results[0].message
    assert "NEWSBOT_MAX_ARTICLE_CHARS" in results[0].message and results[0].origin.endswith(":1")
    assert isinstance(results[1], AddResult) and results[1].status == "added"
    assert max(parsed) < 10_000, "the long line was never parsed"


def test_a_parsed_line_whose_text_is_over_the_cap_is_refused_before_cleaning(engine, tmp_path):
    limit = engine.settings.max_article_chars
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps({"id": "long", "text": "x " * (OVERSIZE * limit // 2 + 1)}) + "\n" + json.dumps(GOOD)
                    + "\n", encoding="utf-8")
    results = engine.add(engine.drafts_from_jsonl(str(path)))
    assert isinstance(results[0], AddError) and f"the limit is {limit:,}" in results[0].message
    assert isinstance(results[1], AddResult)


def test_a_page_whose_text_cannot_fit_is_refused_before_extraction(engine, tmp_path, monkeypatch):
    limit = engine.settings.max_article_chars
    paragraph = "<p>" + "The council met again today to discuss the budget. " * 50 + "</p>\n"
    page = "<html><head><title>Budget</title></head><body><article>" + paragraph * (
        OVERSIZE * limit // len(paragraph) + 10) + "</article></body></html>"
    (tmp_path / "page.html").write_text(page, encoding="utf-8")
    extracted: list[str] = []
    monkeypatch.setattr(loaders, "draft_from_html", lambda *a, **k: extracted.append("called"))
    [result] = engine.add(engine.drafts_from_sources([str(tmp_path / "page.html")]))
    assert isinstance(result, AddError) and "article too long (a page with" in result.message
    assert extracted == [], "trafilatura never saw it"


def test_markup_does_not_count_against_the_cap(tmp_path):
    """A page over the cap in bytes whose text fits is extracted: scripts, styles and tags are not text."""
    text = "<p>The council met again today to discuss the budget and the new bridge over the river.</p>"
    page = "<html><body><script>" + "var x = 1;" * 30_000 + "</script><article>" + text * 3 + "</article></body></html>"
    assert loaders.text_bound(page) < 1_000 < len(page)
    draft = loaders.draft_from_bytes(page.encode(), "page.html", max_chars=1_000)
    assert "new bridge" in draft.text


def test_a_text_file_far_over_the_cap_is_refused_before_it_is_decoded(engine, tmp_path):
    limit = engine.settings.max_article_chars
    (tmp_path / "big.txt").write_bytes(b"A long line of text. " * (4 * OVERSIZE * limit // 21 + 10))
    [result] = engine.add(engine.drafts_from_sources([str(tmp_path / "big.txt")]))
    assert isinstance(result, AddError) and "article too long (at least" in result.message
