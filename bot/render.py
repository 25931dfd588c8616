"""Answers and article lists as Discord messages, always within Discord's limits.

Pure functions: they take engine records and return `discord.Embed`s and strings.
Text from articles is escaped (markdown, mentions), then trimmed or split; it
never makes a message fail.
"""
from __future__ import annotations

from urllib.parse import quote

import discord

from newsbot.index.i18n.catalogue import Messages
from newsbot.index.i18n.wording import answer_text, closest_label, dating, notices
from newsbot.index.records import Answer, Article, Citation, Stats

ENGLISH = Messages("en")

CONTENT = 2000
TITLE = 256
DESCRIPTION = 4096
FIELD_NAME = 256
FIELD_VALUE = 1024
FIELDS = 25
FOOTER = 2048
EMBED_TOTAL = 6000
COLOR = 0x2B6CB0
ABSTAIN_COLOR = 0x718096


def clean(text: str) -> str:
    """Escape markdown and neutralise @everyone/@here/user mentions in untrusted text."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text or ""))


def trim(text: str, limit: int) -> str:
    text = text or ""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ", max(0, limit - 40))
    cut = cut[:space] if space > 0 else cut
    if cut.endswith("\\"):  # never leave a dangling markdown escape
        cut = cut[:-1]
    return cut + "…"


def split_text(text: str, limit: int = CONTENT) -> list[str]:
    """Split into pieces of at most `limit` characters, at line breaks or spaces when possible."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = text.rfind(" ", 0, limit)
        if cut < limit // 2:
            cut = limit
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n ")
    if text:
        pieces.append(text)
    return pieces


def _meta(outlet: str, date: str) -> str:
    return " · ".join(x for x in (clean(outlet), date) if x)


def link_target(url: str) -> str:
    """A URL made safe inside a markdown link: brackets, parentheses, quotes, spaces and markdown
    characters percent-encoded, so a crafted URL cannot close the link and start another."""
    return quote(url, safe=":/?#@!$&+,;=%-._~")


def citation_field(c: Citation, quote_limit: int = 600, m: Messages = ENGLISH) -> tuple[str, str]:
    name = trim(f"[{c.n}] {clean(c.title) or c.article_id}", FIELD_NAME)
    meta = _meta(c.source, m.date(c.published_at))
    link = f"[{meta or m.t('answer.source')}]({link_target(c.url)})" if c.url.startswith(("http://",
                                                                                          "https://")) else meta
    quote = trim(clean(" ".join(c.quote.split())), quote_limit)
    value = trim(f"{link}\n> {quote}" if link else f"> {quote}", FIELD_VALUE)
    return name, value


def answer_embed(answer: Answer, elapsed_s: float, m: Messages = ENGLISH) -> discord.Embed:
    """The answer with [n] markers, one field per cited source, and the time taken, framed in `m`'s
    language (the cited sentences stay in the articles' words)."""
    if answer.abstained:
        embed = discord.Embed(title=trim(clean(answer.question), TITLE), color=ABSTAIN_COLOR,
                              description=trim(clean(answer_text(answer, m)), DESCRIPTION))
        if answer.closest is not None:
            _, value = citation_field(answer.closest, 500, m)
            embed.add_field(name=closest_label(answer, m), value=value, inline=False)
        closest = list(dict.fromkeys((p.article_id, p.title, p.source, p.published_at) for p in answer.passages))[:5]
        if closest:
            lines = [f"• {clean(t) or aid} ({_meta(s, m.date(d))})" if _meta(s, d) else f"• {clean(t) or aid}"
                     for aid, t, s, d in closest]
            embed.add_field(name=m.t("answer.closest_articles"), value=trim("\n".join(lines), FIELD_VALUE),
                            inline=False)
    else:
        embed = discord.Embed(title=trim(clean(answer.question), TITLE), color=COLOR,
                              description=trim(clean(answer.answer), DESCRIPTION))
        for c in answer.citations[: FIELDS - 1]:
            name, value = citation_field(c, m=m)
            embed.add_field(name=name, value=value, inline=False)
    seconds = f"{elapsed_s:.1f}" if m.lang == "en" else f"{elapsed_s:.1f}".replace(".", ",")
    footer = [m.t("answer.answered_in", seconds=seconds), *dating(answer, m)]
    if answer.mode == "llm" and not answer.abstained:
        footer.append(m.t("answer.written_by", model=answer.model))
    footer += notices(answer, m)
    embed.set_footer(text=trim(" · ".join(footer), FOOTER))
    return fit_embed(embed)


def fit_embed(embed: discord.Embed) -> discord.Embed:
    """Shrink an embed to Discord's 6000-character total: shorter quotes first, then fewer fields."""
    quote_limit = 600
    while len(embed) > EMBED_TOTAL and quote_limit > 80:
        quote_limit //= 2
        for i, field in enumerate(embed.fields):
            embed.set_field_at(i, name=field.name, value=trim(field.value or "", quote_limit + 120),
                               inline=field.inline)
    while len(embed) > EMBED_TOTAL and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
    if len(embed) > EMBED_TOTAL:
        room = EMBED_TOTAL - (len(embed) - len(embed.description or ""))
        embed.description = trim(embed.description or "", max(1, room))
    return embed


def passages_messages(answer: Answer, m: Messages = ENGLISH) -> list[str]:
    """The full cited passages, as messages of at most 2000 characters."""
    by_chunk = {p.chunk_id: p for p in answer.passages}
    blocks = []
    for c in answer.citations:
        passage = by_chunk.get(c.chunk_id)
        text = passage.text if passage else c.quote
        quoted = "\n".join(f"> {clean(line)}" for line in text.splitlines() if line.strip())
        blocks.append(f"**[{c.n}] {clean(c.title)}**\n" + quoted)
    if not blocks:
        blocks = [f"**{clean(p.title)}**\n> {clean(' '.join(p.text.split()))}" for p in answer.passages[:3]]
    out: list[str] = []
    for block in blocks or [m.t("answer.no_passages")]:
        out.extend(split_text(block, CONTENT))
    return out


def article_line(a: Article, m: Messages = ENGLISH) -> str:
    meta = _meta(a.source, m.date(a.published_at))
    return trim(f"`{a.id}` **{clean(a.title)}**" + (f" — {meta}" if meta else ""), 300)


def sources_embed(articles: list[Article], page: int, per_page: int, search: str = "",
                  m: Messages = ENGLISH) -> discord.Embed:
    pages = max(1, -(-len(articles) // per_page))
    page = max(0, min(page, pages - 1))
    shown = articles[page * per_page : (page + 1) * per_page]
    title = m.t("bot.sources_matching", search=trim(clean(search), 100)) if search else m.t("bot.sources_title")
    body = "\n".join(article_line(a, m) for a in shown) or m.t("bot.sources_empty")
    embed = discord.Embed(title=title, description=trim(body, DESCRIPTION), color=COLOR)
    embed.set_footer(text=m.t("bot.sources_footer", page=page + 1, pages=pages, count=m.number(len(articles))))
    return embed


def added_message(status: str, article: Article, chunks: int, m: Messages = ENGLISH) -> str:
    if status == "duplicate":
        return trim(m.t("bot.duplicate", id=article.id, title=clean(article.title)), CONTENT)
    key = "bot.replaced" if status == "replaced" else "bot.added"
    date = m.date(article.published_at) if article.published_at else m.t("bot.no_date")
    return trim(m.t(key, title=clean(article.title), date=date, chunks=chunks, id=article.id), CONTENT)


def stats_embed(stats: Stats, m: Messages = ENGLISH) -> discord.Embed:
    """/stats: what an admin needs to know about this server's library."""
    from newsbot.index.text.words import human_bytes

    count = m.number(stats.articles)
    articles = m.t("bot.stats_of_at_most", count=count,
                   cap=m.number(stats.max_articles)) if stats.max_articles else count
    langs = ", ".join(f"{lang} {n}" for lang, n in sorted(stats.languages.items(), key=lambda kv: -kv[1])) or "–"
    embed = discord.Embed(title=m.t("bot.stats_title"), color=COLOR)
    embed.add_field(name=m.t("bot.stats_articles"), value=articles)
    embed.add_field(name=m.t("bot.stats_chunks"), value=m.number(stats.chunks))
    embed.add_field(name=m.t("bot.stats_languages"), value=trim(langs, FIELD_VALUE))
    disk = human_bytes(stats.disk_bytes) if stats.disk_bytes is not None else m.t("bot.stats_on_server")
    embed.add_field(name=m.t("bot.stats_disk"), value=disk)
    latest = "\n".join(f"{m.date(a['added_at'])} · `{trim(a['id'], 60)}` {trim(clean(a['title']), 80)}"
                       for a in stats.last_added) or m.t("bot.stats_none")
    embed.add_field(name=m.t("bot.stats_last_added"), value=trim(latest, FIELD_VALUE), inline=False)
    embed.set_footer(text=trim(m.t("bot.stats_model", model=stats.embedding_model), 200))
    return embed


def help_embed(m: Messages = ENGLISH) -> discord.Embed:
    return discord.Embed(title=m.t("bot.help_title"), description=m.t("bot.help"), color=COLOR)


def matching_choices(items, current: str, haystack, name, value) -> list[discord.app_commands.Choice[str]]:
    """Autocomplete: the first 25 items whose `haystack(item)` contains what the member typed, as
    choices within Discord's 100-character limits."""
    needle = current.lower()
    hits = [item for item in items if needle in haystack(item).lower()][:25]
    return [discord.app_commands.Choice(name=trim(name(item), 100), value=value(item)[:100]) for item in hits]
