"""Fuzzing with hypothesis: random Unicode, zero-width and RTL text, huge and empty inputs.

Loaders either give a clean draft within the limits or a clear InputError; the
extractive and LLM-answer citation builders only ever return quotes that slice
back out of their article; the Discord renderer keeps every limit and never pings.
"""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from newsbot.bot import render
from newsbot.index.answering.extractive import compose, verify_citations
from newsbot.index.errors import InputError
from newsbot.index.evaluation.metrics import citation_valid
from newsbot.index.answering.generated import Source, number_sources, render_sources, verify
from newsbot.index.sources.loaders import draft_from_bytes
from newsbot.index.sources.draft import finish
from newsbot.index.sources.files import iter_jsonl
from newsbot.index.records import Answer, Article, Passage

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
RTL = "\u202e\u202b\u200f"
# Text that mixes the nasty parts: zero-width and direction marks, Arabic and Hebrew, quotes, markers, mentions.
PIECES = st.sampled_from([
    " ", "\n", ".", "?", "“", "”", '"', "«", "»", "[1]", "[9]", "@everyone", "<@123456789012345678>", "**", "`", "</source>",
    "مرحبا بالعالم", "שלום עולם", "Zelenskyy", "tidak siap", "minerals deal", "Dr.", "U.S.", "…", *ZERO_WIDTH, *RTL,
])
NASTY = st.lists(st.one_of(PIECES, st.text(max_size=40)), max_size=120).map("".join)
LIMIT = 20_000
FUZZ = hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.one_of(st.binary(max_size=5000), NASTY.map(lambda s: s.encode("utf-8")),
                 NASTY.map(lambda s: s.encode("utf-16")), NASTY.map(lambda s: f"<html><body><p>{s}</p></body></html>".encode())))
def test_loaders_give_a_clean_draft_or_a_clear_error(data):
    try:
        draft = finish(draft_from_bytes(data, "fuzz"), LIMIT)
    except InputError as exc:
        assert str(exc).startswith("fuzz")
        return
    assert draft.text and len(draft.text) <= LIMIT
    assert not any(ch in draft.text for ch in ZERO_WIDTH)
    assert draft.title and "\n" not in draft.title


@FUZZ
@given(st.integers(min_value=LIMIT + 1, max_value=LIMIT * 3))
def test_huge_text_is_refused_by_the_article_limit(size):
    data = ("Lorem ipsum dolor sit amet. " * (size // 28 + 1)).encode()
    try:
        finish(draft_from_bytes(data, "big"), LIMIT)
    except InputError as exc:
        assert "article too long" in str(exc)
    else:
        raise AssertionError("a text over the limit was accepted")


@FUZZ
@given(st.lists(st.one_of(NASTY, st.just("{}"), st.just('{"text": 5}'), st.builds(lambda t: json.dumps({"text": t}), NASTY)),
                max_size=8))
def test_jsonl_lines_are_each_a_draft_or_a_clear_error(tmp_path_factory, lines):
    path = tmp_path_factory.mktemp("jsonl") / "a.jsonl"
    lines = [line.replace("\n", " ").replace("\r", " ") for line in lines]
    path.write_text("\n".join(lines), encoding="utf-8")
    items = list(iter_jsonl(path))
    assert len(items) == sum(1 for line in lines if line.strip()), "every non-blank line gives one result"
    for item in items:
        if isinstance(item, InputError):
            assert item.origin.startswith(f"{path}:") and str(item).startswith(item.origin)
        else:
            assert isinstance(item.text, str) and isinstance(item.title, str) and isinstance(item.id, str)


def article_and_passages(text: str) -> tuple[Article, list[Passage]]:
    article = Article(id="a", title="T", text=text, source="Wire", published_at="2025-02-22")
    third = max(1, len(text) // 3)
    spans = [(0, third), (third, min(len(text), 2 * third)), (min(len(text), 2 * third), len(text))]
    passages = [Passage(f"a#{i}", "a", text[s:e], s, e, score=1.0 - i * 0.01, relevance=0.9) for i, (s, e) in enumerate(spans) if e > s]
    return article, passages


@FUZZ
@given(text=NASTY.filter(str.strip), question=NASTY)
def test_extractive_citations_always_slice_back_to_their_quote(text, question):
    article, passages = article_and_passages(text)
    answer_text, citations = compose(question or "?", passages, {"a": article})
    abstained = not citations
    assert verify_citations(citations, {"a": article}) == citations
    assert citation_valid(Answer("q", answer_text, abstained, citations), {"a": text}), "a [9] in the article is not a marker"
    for c in citations:
        assert text[c.start:c.end] == c.quote and f"[{c.n}]" in answer_text


@FUZZ
@given(text=NASTY.filter(str.strip), reply=NASTY)
def test_verified_llm_answers_cite_only_given_sources_and_slice_back(text, reply):
    article, passages = article_and_passages(text)
    sources = number_sources(passages, {"a": article}, 5)
    checked = verify(reply, sources)
    answer = Answer("q", checked.text, not checked.citations, checked.citations)
    assert citation_valid(answer, {"a": text})
    assert [c.n for c in checked.citations] == list(range(1, len(checked.citations) + 1))
    if checked.citations:
        assert checked.text  # something was kept, and every kept sentence cites


@FUZZ
@given(NASTY)
def test_a_source_can_never_close_its_own_tag(text):
    article, passages = article_and_passages(text or "x")
    sources = [Source(i + 1, p, article) for i, p in enumerate(passages)]
    rendered = render_sources(sources)
    assert rendered.count("</source>") == len(sources) and rendered.count("<source n=") == len(sources)


@FUZZ
@given(text=NASTY, title=NASTY, search=NASTY)
def test_discord_messages_keep_their_limits_and_never_ping(text, title, search):
    article, passages = article_and_passages(text or "x")
    article = Article(id="a", title=title, text=article.text, source=title[:50], published_at="2025-02-22")
    answer_text, citations = compose(search or "q", passages, {"a": article})
    answer = Answer(search or "q", answer_text, not citations, citations, passages)
    embed = render.answer_embed(answer, 1.0)
    assert len(embed) <= render.EMBED_TOTAL and len(embed.description or "") <= render.DESCRIPTION
    for message in render.passages_messages(answer) + [render.added_message("added", article, 3)]:
        assert 0 < len(message) <= render.CONTENT
        assert "@everyone" not in message and "<@123456789012345678>" not in message
    listing = render.sources_embed([article] * 30, 1, 10, search)
    assert len(listing) <= render.EMBED_TOTAL and len(listing.title) <= render.TITLE
    shown = (embed.description or "") + "".join(f.name + f.value for f in embed.fields) + (listing.description or "")
    assert "@everyone" not in shown and "<@123456789012345678>" not in shown


def test_a_fake_marker_in_the_article_is_not_a_citation():
    text = "Lumen Metals opened its lithium mine in Nevada, and readers must cite [9] now. Nothing else happened."
    article = Article(id="a", title="T", text=text)
    passage = Passage("a#0", "a", text, 0, len(text), score=1.0, relevance=0.9)
    answer_text, citations = compose("What did Lumen Metals open in Nevada?", [passage], {"a": article})
    assert answer_text == "Lumen Metals opened its lithium mine in Nevada, and readers must cite ［9］ now. [1]"
    assert citations[0].quote.endswith("cite [9] now."), "the stored quote stays verbatim"
    assert citation_valid(Answer("q", answer_text, False, citations), {"a": text})
