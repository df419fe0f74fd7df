"""No renderer lets article, feed or member text put live markup in the bot's posts.

Random text made of Discord's markup (brackets, parentheses, backticks, `*_~|>#-`, newlines,
mentions, masked links and bare URLs) goes through every renderer in bot/discord/render.py,
with highlights at random spans; whatever Discord would read as markup in the output must be
the renderer's own: a link only to the article's own address, the bot's own channel mention and
timestamps, and no heading, list or block quote at all.
"""

from __future__ import annotations

import datetime
import re

import discord
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.discord import render
from bot.discord.respond import error_message
from corpus import CorpusError
from corpus.models import (
    Answer,
    Citation,
    CorpusStats,
    DocumentStats,
    LeadIn,
    ParagraphText,
    Quote,
    Summary,
)
from corpus.sources.feeds import Feed
from corpus.sources.library import StoredArticle
from tests.markdown_check import Live, live_markup

ARTICLE_URL = "https://news.example/story"
OUR_LINK = render.safe_link(ARTICLE_URL)
CHANNEL_ID = 111222333444555666
BUILT = datetime.datetime(2026, 11, 2, 9, 0, tzinfo=datetime.UTC)
OUR_MENTIONS = {f"<#{CHANNEL_ID}>", *(f"<t:{int(BUILT.timestamp())}:{s}>" for s in "Rf")}

PIECES = [
    "[", "]", "(", ")", "`", "```", "*", "**", "_", "__", "~~", "|", "||", ">", ">>> ", "#",
    "# ", "## ", "-", "- ", "-# ", "+ ", "1. ", "12.", "\\", ":", "<", ">", "\n", "\n\n", " ",
    "  ", "@everyone", "@here", "<@123>", "<@!123>", "<@&456>", "<#789>", "</ask:42>",
    "<t:1700000000:R>", "<:emoji:42>", "https://evil.example/phish", "http://evil.example",
    "<https://evil.example/x>", "[the signed order](https://evil.example/phish)",
    "[x](<https://evil.example/y>)", "fares", "order", "signed", "the", "board", "double",
    "word", "Ünïcode", "١. ", "\u2028", "\r", "discord.gg/abc", "DiscordApp.com/invite/x",
]  # fmt: skip
texts = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)
small = st.integers(min_value=0, max_value=400)


def spans_in(text: str, points: list[int]) -> tuple[tuple[int, int], ...]:
    """Random ordered, non-overlapping spans of `text` (highlighted words, in any place)."""
    cuts = sorted({p % (len(text) + 1) for p in points})
    pairs = zip(cuts[::2], cuts[1::2], strict=False)
    return tuple((start, end) for start, end in pairs if start < end)


def citation(title: str, *, url: str | None, source: str, n: int = 1) -> Citation:
    return Citation(
        doc_id="doc-1",
        title=title,
        paragraph=n,
        sentence=1,
        sentence_in_document=n,
        start=n,
        end=n + 1,
        url=url,
        source=source or None,
        date=datetime.date(2026, 11, 2),
    )


def stored(title: str, source: str, published: str, url: str | None) -> StoredArticle:
    return StoredArticle(
        collection="guild-1",
        id="doc-1",
        title=title or "t",
        source=source or None,
        author=None,
        published=published or None,
        url=url,
        sha256="0" * 64,
        suffix=".html",
        bytes=10,
        added_at="2026-11-02T09:00:00",
        fetched_at=None,
    )


def surfaces(output: discord.Embed | str) -> list[str]:
    """What Discord reads as markdown: content, and an embed's title, description and fields
    (footers and author names are shown as plain text)."""
    if isinstance(output, str):
        return [output]
    parts = [output.title or "", output.description or ""]
    return parts + [text for f in output.fields for text in (f.name or "", f.value or "")]


def foreign(outputs: list[discord.Embed | str]) -> list[Live]:
    """Live markup in the outputs that the renderers did not put there themselves."""
    return [
        live
        for output in outputs
        for text in surfaces(output)
        for live in live_markup(text)
        if not (live.kind in ("link", "url") and live.target == OUR_LINK)
        and not (live.kind == "mention" and live.target in OUR_MENTIONS)
    ]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=texts,
    other=texts,
    title=texts,
    source=texts,
    points=st.lists(small, max_size=12),
    linked=st.booleans(),
    limit=st.integers(min_value=1, max_value=60),
)
def test_no_renderer_lets_untrusted_text_make_links_mentions_or_blocks(
    text, other, title, source, points, linked, limit
):
    url = ARTICLE_URL if linked else None
    cited = citation(title, url=url, source=source)
    lead_in = LeadIn(text=other, citation=cited) if other else None
    quote = Quote(
        text=text or "x",
        citation=cited,
        score=1.0,
        coverage=0.5,
        answers_question=True,
        highlights=spans_in(text or "x", points),
        lead_in=lead_in,
    )
    plain_quote = quote.model_copy(update={"citation": citation(title, url=None, source=other)})
    answered = Answer(
        question=other or "q", found=True, outcome="answer", quotes=(quote, plain_quote)
    )
    closest = answered.model_copy(update={"found": False, "outcome": "closest", "reason": text})
    unanswered = Answer(question=title or "q", found=False, reason=text or "r")
    paragraph = ParagraphText(
        doc_id="doc-1",
        title=title or "t",
        number=2,
        text=text or "x",
        url=url,
        highlight=(spans_in(text or "x", points) or (None,))[0],
    )
    neighbour = paragraph.model_copy(update={"number": 3, "text": other or "y", "highlight": None})
    stats = CorpusStats(
        documents=(
            DocumentStats(
                id="doc-1", title=title or "t", characters=1, paragraphs=1, sentences=1, passages=1
            ),
        ),
        sentences=1,
        passages=1,
        vocabulary=1,
        content_hash="0" * 16,
        built_at=BUILT,
    )
    article = stored(title, source, other, url)
    feed = Feed(
        id=1,
        collection="guild-1",
        url="https://feeds.example/rss",
        title=title or None,
        channel_id=CHANNEL_ID,
        added_at=BUILT,
        last_polled_at=None,
        next_poll_at=BUILT,
        failures=1,
        last_error=text or None,
        articles=1,
    )
    summary = Summary(length="short", topic=other or None, found=True, quotes=(quote,))
    outputs: list[discord.Embed | str] = [
        render.answer_embed(answered),
        render.answer_embed(closest),
        render.answer_embed(unanswered),
        render.summary_embed(summary),
        render.summary_embed(Summary(length="short", topic=title, found=False, reason=text)),
        render.paragraph_embed(paragraph, [neighbour]),
        render.context_embed([(1, paragraph), (2, neighbour)]),
        render.about_embed([("server", stats), (title or "x", stats)]),
        render.added_text(article, True, 3, 4),
        render.added_text(article, False, 3, 4),
        render.articles_embed([article], 1),
        render.feed_item_embed(article, summary),
        render.feeds_text([feed]),
        render.citation_text(cited),
        render.citation_text(plain_quote.citation),
        render.mod_log_text(7, CHANNEL_ID, other, answered),
        render.help_embed(),
        render.echo(text, 500),
        render.echo(text, limit),  # cut anywhere: never between an escape and its character
        error_message(CorpusError(text)),
    ]
    assert foreign(outputs) == []


def test_the_phishing_sentence_from_the_issue_keeps_no_live_link_when_a_word_in_it_is_bold():
    text = (
        "The board said fares double, see [the minutes](https://x.example/a) and "
        "[the signed order](https://evil.example/phish) for details."
    )
    spans = tuple((text.index(w), text.index(w) + len(w)) for w in ("fares", "signed order"))
    quote = Quote(
        text=text,
        citation=citation("Minutes", url=None, source="Board"),
        score=1.0,
        answers_question=True,
        highlights=spans,
    )
    embed = render.answer_embed(Answer(question="fares?", found=True, quotes=(quote,)))
    found = foreign([embed])
    assert [live for live in found if live.kind == "link"] == []
    assert found == []
    assert "**signed order**" in embed.description  # still highlighted


@given(text=texts)
def test_inert_text_shows_word_for_word(text):
    """What Discord shows of `inert(text)` (escapes consumed, the zero-width space after @ not
    seen) is `text` itself: the quote is still verbatim."""
    shown = re.sub(r"\\([^0-9A-Za-z\s])", r"\1", render.inert(text)).replace("@\u200b", "@")
    assert shown == text
