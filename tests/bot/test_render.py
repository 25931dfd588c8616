"""Discord rendering is pure: limits always hold, untrusted text cannot ping or break markdown."""
from hypothesis import given, settings as hsettings, strategies as st

from newsbot.bot import render
from newsbot.index.records import Answer, Article, Citation, Passage


def citation(n: int, title: str = "Title", quote: str = "A quote.", url: str = "https://news.example/a") -> Citation:
    return Citation(n=n, article_id=f"a{n}", title=title, source="Outlet", published_at="2025-02-22", url=url,
                    quote=quote, start=0, end=len(quote), chunk_id=f"a{n}#0")


def within_limits(embed) -> bool:
    return (len(embed) <= render.EMBED_TOTAL and len(embed.description or "") <= render.DESCRIPTION
            and len(embed.title or "") <= render.TITLE and len(embed.fields) <= render.FIELDS
            and all(len(f.name) <= render.FIELD_NAME and len(f.value) <= render.FIELD_VALUE for f in embed.fields))


def test_the_closest_passage_says_when_it_is_from_outside_the_dates_asked_about():
    asked = {"from": "2025-03-01", "to": "2025-03-31", "phrase": "in March", "searched_from": "2025-02-28",
             "searched_to": "2025-04-01"}
    outside = Answer("What was said in March?", "not covered", True, [], date_range=asked, closest=citation(1))
    inside = Answer("What was said in March?", "not covered", True, [], date_range=asked,
                    closest=Citation(**{**citation(1).to_dict(), "published_at": "2025-03-12"}))
    names = [[f.name for f in render.answer_embed(a, 1.0).fields] for a in (outside, inside)]
    assert names == [["Closest passage, from outside those dates (may not answer the question)"],
                     ["Closest passage (may not answer the question)"]]


def test_mass_mentions_in_article_text_are_neutralised():
    answer = Answer("q", "@everyone look [1]", False, [citation(1, title="@here news", quote="<@123456789012345678> and @everyone")])
    embed = render.answer_embed(answer, 1.0)
    text = embed.description + "".join(f.name + f.value for f in embed.fields)
    assert "@everyone" not in text and "@here" not in text and "<@123456789012345678>" not in text


def test_markdown_in_titles_is_escaped():
    name, _ = render.citation_field(citation(1, title="**bold** _it_ [x](http://evil)"))
    assert "\\*\\*bold\\*\\*" in name


def test_citation_links_only_to_http_urls():
    _, value = render.citation_field(citation(1, url="javascript:alert(1)"))
    assert "javascript" not in value
    _, value = render.citation_field(citation(1))
    assert "(https://news.example/a)" in value


def test_split_text_respects_the_limit_and_keeps_all_words():
    text = " ".join(f"word{i}" for i in range(2000))
    parts = render.split_text(text, 2000)
    assert all(len(p) <= 2000 for p in parts)
    assert " ".join(parts).split() == text.split()


def test_sources_embed_pages():
    articles = [Article(id=f"id{i}", title=f"Story {i}", text="", source="Wire", published_at="2025-01-01") for i in range(23)]
    assert render.sources_embed(articles, 2, 10).footer.text == "Page 3/3 · 23 articles"
    assert render.sources_embed([], 0, 10).description.startswith("No articles yet")


@hsettings(max_examples=80, deadline=None)
@given(
    answer_text=st.text(max_size=9000),
    titles=st.lists(st.text(max_size=600), max_size=30),
    quote=st.text(max_size=3000),
)
def test_answer_embeds_always_fit_discord_limits(answer_text, titles, quote):
    cits = [citation(i + 1, title=t, quote=quote) for i, t in enumerate(titles)]
    passages = [Passage(chunk_id=c.chunk_id, article_id=c.article_id, text=quote * 3, start=0, end=1, score=1.0,
                        title=c.title) for c in cits]
    for abstained in (False, True):
        embed = render.answer_embed(Answer(answer_text, answer_text, abstained, cits, passages), 2.5)
        assert within_limits(embed)
    for message in render.passages_messages(Answer("q", answer_text, False, cits, passages)):
        assert 0 < len(message) <= render.CONTENT
