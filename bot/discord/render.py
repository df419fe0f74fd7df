"""Answers, summaries and corpus facts as Discord embeds and messages, within Discord's limits.

Pure functions of the corpus models. Quotes are never cut: a quote that does not fit is left out
whole (and the reader is told), because half a sentence is not a quote.
"""

from __future__ import annotations

import re
import urllib.parse

import discord

from corpus.models import Answer, Citation, CorpusStats, ParagraphText, Quote, Summary
from corpus.sources import Feed, StoredArticle

from ..state import FeedbackReport, Forgotten, Gap, ShownAnswer

__all__ = [
    "CONTENT_LIMIT",
    "EMBED_TOTAL_LIMIT",
    "ParagraphView",
    "about_embed",
    "answer_embed",
    "code",
    "context_embed",
    "echo",
    "embed_size",
    "flat",
    "help_embed",
    "inert",
    "mod_log_text",
    "paragraph_embed",
    "summary_embed",
]

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FIELD_COUNT_LIMIT = 25
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000

FOUND_COLOUR = discord.Colour.blurple()
NOT_FOUND_COLOUR = discord.Colour.light_grey()
CLOSEST_COLOUR = discord.Colour.gold()
NOT_FOUND_HINT = "Try rephrasing with words the article would use, or `/summary` for an overview."
QUOTE_FOOTER = "Quoted word for word from the article. Press “Show context” for the paragraphs."


# A paragraph to show, with the span of a sentence to highlight (or None).
ParagraphView = ParagraphText


def echo(text: str, limit: int) -> str:
    """User or article text made inert (see `inert`), at most `limit` characters: cut between
    whole escaped characters, never between a backslash and the character it escapes."""
    return _joined(_inert_units(text), limit)


def inert(text: str) -> str:
    """`text` as Discord shows it, word for word, with nothing in it read as markup: every
    character Discord's markdown may treat specially is backslash-escaped, and @everyone and
    @here are broken with a zero-width space.

    discord.py's `escape_markdown` escapes one greedy match per line, and escaping the pieces
    between highlighted words separately let a masked link live across a highlight; escaping
    each character once, before anything is highlighted, leaves no piece that can combine."""
    return "".join(_inert_units(text))


# Markup anywhere in a line: emphasis, underline, strike, spoilers, code, masked links
# `[..](..)`, everything in angle brackets (mentions <@id> <@&id> <#id> </cmd:id>, timestamps,
# emoji, autolinks <https://..>), headings, block quotes, and the colon of a URL's scheme, so
# an address in an article shows as text and is not a link: the only links in the bot's posts
# are the ones it made to the articles themselves (a visible address is still one the bot would
# be lending its name to, in a public feed post).
_ALWAYS_ESCAPED = frozenset("\\*_~`|[]()<>#:")
# Markup only at the start of a line (after spaces): lists `- ` `+ ` and subtext `-# `.
_LINE_START_ESCAPED = frozenset("-+")
_PINGS = re.compile(r"@(?=everyone|here)", re.IGNORECASE)
# Invite links are live without a scheme (discord.gg/abc): the dot after the name is escaped.
_INVITE_DOT = re.compile(r"(?<=discord)\.(?=gg/|com/invite|me/)|(?<=discordapp)\.", re.IGNORECASE)
_NEWLINES = frozenset("\n\r\u2028\u2029")


def _inert_units(text: str) -> list[str]:
    """One string per character of `text`: the character as it must be sent to show as
    itself. Highlights and cuts work on these units, so offsets into `text` stay valid and no
    cut or `**` lands between a backslash and the character it escapes."""
    units: list[str] = []
    line_start = True  # only spaces and tabs since the start of the line
    number_start = False  # a number at the start of the line: `1.` would begin a list
    pings = {match.start() for match in _PINGS.finditer(text)}
    invite_dots = {match.start() for match in _INVITE_DOT.finditer(text)}
    for index, char in enumerate(text):
        if char in _ALWAYS_ESCAPED or (char in _LINE_START_ESCAPED and line_start):
            unit = "\\" + char
        elif char == "." and (number_start or index in invite_dots):
            unit = "\\."
        elif index in pings:
            unit = "@\u200b"
        else:
            unit = char
        units.append(unit)
        number_start = char in "0123456789" and (line_start or number_start)
        line_start = char in _NEWLINES or (line_start and char in " \t")
    return units


def _joined(units: list[str], limit: int) -> str:
    if sum(len(unit) for unit in units) <= limit:
        return "".join(units)
    kept, size = [], 0
    for unit in units:
        if size + len(unit) > limit - 1:
            break
        kept.append(unit)
        size += len(unit)
    return "".join(kept) + "…"


def flat(text: str, limit: int) -> str:
    """Text for the places Discord shows as plain text (embed footers and author names): no
    markup is read there, so escaping would only show backslashes. Cut to `limit`."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def code(text: str, limit: int = 100) -> str:
    """`text` as inline code (ids): nothing inside a code span is markup, so it is only kept
    from closing the span early or running over lines."""
    cleaned = " ".join(text.replace("`", "'").split())[:limit] or "?"
    return f"`{cleaned}`"


def embed_size(embed: discord.Embed) -> int:
    """Characters Discord counts towards the 6000 limit."""
    size = len(embed.title or "") + len(embed.description or "")
    size += len(embed.footer.text or "") + len(embed.author.name or "")
    return size + sum(len(f.name or "") + len(f.value or "") for f in embed.fields)


def answer_embed(answer: Answer) -> discord.Embed:
    embed = _answer_embed(answer)
    if answer.follows:  # a follow-up says which of the member's questions it was read with
        said = f"{FOLLOWS} “{flat(answer.follows, FOLLOWS_QUESTION_LIMIT)}”"
        if embed.author.name is None:
            embed.set_author(name=said)
        else:
            embed.set_footer(text=flat(f"{said} {embed.footer.text or ''}", FOOTER_LIMIT))
    return embed


# Plain text in the author line (or the footer): short, within the room the quotes leave.
FOLLOWS = "Read with your earlier question:"
FOLLOWS_QUESTION_LIMIT = 90


def _answer_embed(answer: Answer) -> discord.Embed:
    title = echo(answer.question, TITLE_LIMIT)
    if answer.outcome == "closest" and answer.quotes:
        embed = _quotes_embed(title, [answer.quotes[0]], CLOSEST_COLOUR)
        embed.set_author(name=flat(answer.reason or "", FIELD_NAME_LIMIT))
        embed.set_footer(
            text=f"Shown as the closest passage, not as an answer: the model is "
            f"{answer.confidence:.0%} sure it answers, and answers only when surer. "
            + NOT_FOUND_HINT.replace("`", "")
        )
        return embed
    if not answer.found:
        description = f"{echo(answer.reason or '', 1500)}\n\n{NOT_FOUND_HINT}"
        return discord.Embed(title=title, description=description, colour=NOT_FOUND_COLOUR)
    quotes = [q for q in answer.quotes if q.answers_question]
    embed = _quotes_embed(title, quotes, FOUND_COLOUR)
    basis = {
        "lead": "A broad question: the opening sentences of the article about it.",
        "naming": "A broad question: the first sentences of the article about it that name it.",
    }.get(answer.basis, f"Confidence that the first quote answers: {answer.confidence:.0%}.")
    embed.set_footer(text=f"{QUOTE_FOOTER} {basis}")
    return embed


def summary_embed(
    summary: Summary, *, title: str | None = None, footer: str = QUOTE_FOOTER
) -> discord.Embed:
    if title is None and summary.topic:
        title = echo(f"Summary ({summary.length}): {summary.topic}", TITLE_LIMIT)
    elif title is None:
        title = f"Summary ({summary.length})"
    if not summary.found:
        hint = "\n\nTry a broader topic, or none." if summary.topic else ""
        description = f"{echo(summary.reason or '', 1500)}{hint}"
        embed = discord.Embed(title=title, description=description, colour=NOT_FOUND_COLOUR)
        return embed
    return _quotes_embed(title, list(summary.quotes), FOUND_COLOUR, footer)


def _quotes_embed(
    title: str, quotes: list[Quote], colour: discord.Colour, footer: str = QUOTE_FOOTER
) -> discord.Embed:
    embed = discord.Embed(title=title, colour=colour)
    embed.set_footer(text=footer)
    shown: list[tuple[int, Quote]] = []
    blocks: list[str] = []
    # Room for the two fields (sources, why) at their largest.
    budget = EMBED_TOTAL_LIMIT - embed_size(embed) - 2 * FIELD_VALUE_LIMIT - 100
    left_out = 0
    for quote in quotes:
        block = f"“{_bold_matches(quote)}” **[{len(shown) + 1}]**"
        if quote.lead_in:
            block = f"“{echo(quote.lead_in.text, 10**6)}” {block}"
        candidate = "\n\n".join([*blocks, block])
        if len(candidate) > min(DESCRIPTION_LIMIT, budget):
            left_out += 1
            continue
        blocks.append(block)
        shown.append((len(shown) + 1, quote))
    if left_out:
        blocks.append(f"*({left_out} more quote(s) too long to show here; use /source.)*")
    embed.description = "\n\n".join(blocks)
    if shown:
        embed.add_field(name="Sources", value=_sources_value(shown), inline=False)
        why = _why_value(shown)
        if why:
            embed.add_field(name="Why these sentences", value=why, inline=False)
    return embed


def _bold_matches(quote: Quote) -> str:
    """The quote, escaped, with the words that matched the question in bold."""
    return _in_bold(quote.text, _merged(quote.text, quote.highlights))


def _in_bold(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` made inert as a whole, then the spans (offsets into `text`, in order) wrapped
    in `**`: the bold goes around whole escaped characters, never inside an escape."""
    units = _inert_units(text)
    parts, position = [], 0
    for start, end in spans:
        start, end = max(start, position), min(end, len(text))
        if start >= end:
            continue  # "****" is not bold, and could pair with another "**"
        parts.append("".join(units[position:start]))
        parts.append("**" + "".join(units[start:end]) + "**")
        position = end
    parts.append("".join(units[position:]))
    return "".join(parts)


def _merged(text: str, spans: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    """Neighbouring highlighted words as one run: **West African army chiefs**."""
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and not text[merged[-1][1] : start].strip():
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _why_value(numbered: list[tuple[int, Quote]]) -> str:
    lines = []
    for n, quote in numbered:
        words = sorted({quote.text[s:e].casefold() for s, e in quote.highlights})
        if words:
            shown = ", ".join(echo(w, 40) for w in words[:8])
            lines.append(f"[{n}] matches {shown}; covers {quote.coverage:.0%} of the question")
    value = "\n".join(lines)
    return value if len(value) <= FIELD_VALUE_LIMIT else value[: FIELD_VALUE_LIMIT - 1] + "…"


def _sources_value(numbered: list[tuple[int, Quote]]) -> str:
    """One whole line per source: a line that would not fit goes without its link (a link cut
    in half shows as raw text)."""
    lines: list[str] = []
    for n, quote in numbered:
        room = FIELD_VALUE_LIMIT - sum(len(line) + 1 for line in lines)
        line = f"[{n}] {citation_text(quote.citation)}"
        if len(line) > room:
            line = f"[{n}] {citation_text(quote.citation.model_copy(update={'url': None}))}"
        lines.append(line if len(line) <= room else line[: max(room - 1, 0)] + "…")
    return "\n".join(lines)[:FIELD_VALUE_LIMIT]


def citation_text(citation: Citation) -> str:
    """`[title ¶ n](url)` when the article has a link, then the sentence, source and date."""
    where = f"{echo(_link_text(citation.title), 120)} ¶ {citation.paragraph}"
    link = safe_link(citation.url)
    cited = f"[{where}]({link})" if link else f"{where} ({code(citation.doc_id)})"
    facts = [f"sentence {citation.sentence}"]
    if citation.source:
        facts.append(echo(citation.source, 80))
    if citation.date:
        facts.append(citation.date.isoformat())
    return f"{cited} · {', '.join(facts)}"


def safe_link(url: str | None) -> str | None:
    """An article's URL as a Markdown link target, or None if it is not a plain http(s) URL
    (stored URLs come from pages and feeds: never let one break out of the link)."""
    if not url or not url.startswith(("https://", "http://")) or len(url) > 500:
        return None
    if any(c.isspace() or c in "<>" for c in url):
        return None
    # Everything but plain URL characters percent-encoded: brackets, parentheses, backslashes,
    # backticks and pipes would end or spoil the link; Unicode (a right-to-left override)
    # could make it read as another address.
    return urllib.parse.quote(url, safe=_URL_SAFE)


_URL_SAFE = ":/?#@!$&'*+,;=%-._~"


def _link_text(text: str) -> str:
    """Raw text for inside a masked link's brackets (before it is made inert): Discord's link
    rule does not honour escapes there, so brackets are replaced, not escaped."""
    return text.replace("[", "(").replace("]", ")")


def paragraph_embed(target: ParagraphView, neighbours: list[ParagraphView]) -> discord.Embed:
    """The cited paragraph in full, with the paragraphs around it while they fit."""
    embed = discord.Embed(
        title=echo(f"{target.title} · paragraph {target.number}", TITLE_LIMIT), colour=FOUND_COLOUR
    )
    embed.set_footer(text=f"Document {target.doc_id}. Paragraph text is shown word for word.")
    ordered = sorted([target, *neighbours], key=lambda p: p.number)
    parts = [_paragraph_block(p, is_target=p.number == target.number) for p in ordered]
    while len("\n\n".join(parts)) > DESCRIPTION_LIMIT and len(parts) > 1:
        # Drop the neighbour farthest from the target first.
        farthest = max(
            (i for i, p in enumerate(ordered) if p.number != target.number),
            key=lambda i: abs(ordered[i].number - target.number),
        )
        del parts[farthest], ordered[farthest]
    description = "\n\n".join(parts)
    if len(description) > DESCRIPTION_LIMIT:
        description = description[: DESCRIPTION_LIMIT - 60] + "… *(paragraph too long for Discord)*"
    embed.description = description
    return embed


def context_embed(paragraphs: list[tuple[int, ParagraphView]]) -> discord.Embed:
    """For the "Show context" button: each quote's paragraph, the quote in bold."""
    embed = discord.Embed(title="Context of the quotes", colour=FOUND_COLOUR)
    blocks: list[str] = []
    for n, paragraph in paragraphs:
        block = f"**[{n}]** ¶{paragraph.number}\n{_highlighted(paragraph)}"
        if len("\n\n".join([*blocks, block])) > DESCRIPTION_LIMIT:
            blocks.append(f"*[{n}] ¶{paragraph.number} is too long to show; use /source.*")
            continue
        blocks.append(block)
    embed.description = "\n\n".join(blocks)[:DESCRIPTION_LIMIT]
    return embed


def _paragraph_block(paragraph: ParagraphView, *, is_target: bool) -> str:
    label = f"**¶{paragraph.number}**" if is_target else f"¶{paragraph.number}"
    body = _highlighted(paragraph) if is_target else echo(paragraph.text, 10**6)
    return f"{label}\n{body}"


def _highlighted(paragraph: ParagraphView) -> str:
    if paragraph.highlight is None:
        return echo(paragraph.text, 10**6)
    return _in_bold(paragraph.text, [paragraph.highlight])


SET_LABELS = {"server": "This server's articles", "shared": "Shared with every server"}


def about_embed(sets: list[tuple[str, CorpusStats]]) -> discord.Embed:
    """Each set of articles this server answers from: its size, its freshness, its articles."""
    lines = []
    for name, stats in sets:
        built = int(stats.built_at.timestamp())
        lines.append(
            f"**{echo(SET_LABELS.get(name, name), 100)}**: {len(stats.documents)} article(s), "
            f"{stats.sentences} sentences, {stats.passages} passages, {stats.vocabulary} "
            f"distinct terms; index built <t:{built}:R> (<t:{built}:f>)."
        )
    embed = discord.Embed(
        title="About the articles",
        description="\n".join(lines) or "No articles yet.",
        colour=FOUND_COLOUR,
    )
    documents = [d for _, stats in sets for d in stats.documents]
    for document in documents[: FIELD_COUNT_LIMIT - 1]:
        embed.add_field(
            name=echo(document.title, FIELD_NAME_LIMIT),
            value=(
                f"{code(document.id, 200)} · {document.characters:,} characters, "
                f"{document.paragraphs} paragraphs, {document.sentences} sentences"
            ),
            inline=False,
        )
    hidden = len(documents) - (FIELD_COUNT_LIMIT - 1)
    if hidden > 0:
        embed.add_field(name="…", value=f"and {hidden} more article(s)", inline=False)
    while embed_size(embed) > EMBED_TOTAL_LIMIT and len(embed.fields) > 1:
        embed.remove_field(len(embed.fields) - 2)
    return embed


ARTICLES_PER_PAGE = 10
# The most an entry takes without its link: a title (150), its id, source, date (60 each).
_UNLINKED_ENTRY = 150 + 3 * 60 + 40


def added_text(article: StoredArticle, new: bool, paragraphs: int, sentences: int) -> str:
    """What an admin reads after /article add."""
    title = f"**{echo(article.title, 200)}** ({code(article.id, 80)})"
    if not new:
        return f"Already here: {title}. Nothing was added."
    facts = [f"{paragraphs} paragraphs, {sentences} sentences"]
    facts.extend(echo(fact, 80) for fact in (article.source, article.published) if fact)
    link = safe_link(article.url)
    if link:
        facts.append(f"<{link}>")
    return f"Added {title}: {' · '.join(facts)}. Members can ask about it now."


def page_count(articles: int) -> int:
    """Pages of the article list (one, when there are none)."""
    return max(1, -(-articles // ARTICLES_PER_PAGE))


def articles_embed(articles: list[StoredArticle], page: int) -> discord.Embed:
    """One page of a server's articles, newest first, each with its link and date."""
    pages = page_count(len(articles))
    page = min(max(page, 1), pages)
    newest = sorted(articles, key=lambda a: a.added_at, reverse=True)
    shown = newest[(page - 1) * ARTICLES_PER_PAGE : page * ARTICLES_PER_PAGE]
    embed = discord.Embed(title="This server's articles", colour=FOUND_COLOUR)
    if not articles:
        embed.description = "No articles yet. An admin can add one with `/article add`."
        return embed
    lines = []
    for article in shown:
        title = echo(_link_text(article.title), 150)
        facts = [code(article.id, 60)]
        facts.extend(echo(f, 60) for f in (article.source, article.published) if f)
        facts.append(f"added {article.added_at[:10]}")
        link = safe_link(article.url)
        # Whole entries: ten always fit without their links, so a long link is left out
        # rather than the list cut.
        room = DESCRIPTION_LIMIT - sum(len(line) + 2 for line in lines)
        room -= (len(shown) - len(lines) - 1) * _UNLINKED_ENTRY
        linked = f"[{title}]({link})\n{' · '.join(facts)}" if link else ""
        plain = f"{title}\n{' · '.join(facts)}"
        lines.append(linked if linked and len(linked) <= room else plain)
    embed.description = "\n\n".join(lines)
    embed.set_footer(text=f"Page {page} of {pages} · {len(articles)} article(s)")
    return embed


def feed_item_embed(article: StoredArticle, summary: Summary | None) -> discord.Embed:
    """A new article from a feed, posted to its channel: title and link, then a few of its
    own sentences."""
    embed = discord.Embed(title=echo(article.title, TITLE_LIMIT), colour=FOUND_COLOUR)
    link = safe_link(article.url)
    if link:
        embed.url = link
    if summary is not None and summary.quotes:
        lines, size = [], 0
        for quote in summary.quotes:
            line = f"“{echo(quote.text, 1000)}”"
            if size + len(line) > 1500:
                break
            lines.append(line)
            size += len(line) + 1
        embed.description = "\n".join(lines)
    facts = [flat(f, 80) for f in (article.source, article.published) if f]
    facts.append("Ask me about it with /ask.")
    embed.set_footer(text=" · ".join(facts))
    return embed


def feeds_text(feeds: list[Feed]) -> str:
    if not feeds:
        return "This server follows no feeds. An admin can add one with `/feed add`."
    lines = []
    for feed in feeds:
        where = f" → <#{feed.channel_id}>" if feed.channel_id else ""
        status = (
            f"failing ({feed.failures}×): {echo(feed.last_error or '', 120)}"
            if feed.failures
            else "ok"
        )
        lines.append(
            f"`{feed.id}` {echo(feed.title or feed.url, 100)}{where} · {feed.articles} "
            f"article(s) · {status}"
        )
    return _whole_lines(lines, CONTENT_LIMIT)


def _whole_lines(lines: list[str], limit: int) -> str:
    """As many whole lines as fit, and how many did not."""
    kept: list[str] = []
    for n, line in enumerate(lines):
        more = f"…and {len(lines) - n} more."
        if sum(len(k) + 1 for k in kept) + len(line) + len(more) + 1 > limit:
            kept.append(more)
            break
        kept.append(line)
    return "\n".join(kept)


HELP_TEXT = (
    "I answer questions about the articles by **quoting them word for word**, with a citation "
    "for every sentence. If the articles do not say, I tell you so.\n\n"
    "`/ask question` · quoted answer (add `public: True` to show everyone); rate it 👍 / 👎\n"
    "`/summary [length] [topic]` · the article in its own sentences\n"
    "`/source paragraph` · a cited paragraph in full, with its neighbours\n"
    "`/about` · which articles I know · `/articles` · this server's own, with links\n"
    "Mention me with a question (or reply to my answer to ask a follow-up), or right-click a "
    "message → Apps → **Ask the article** or **Summarise link**.\n"
    "`/privacy show` · what I keep about you · `/forget-me` · delete it all\n\n"
    "Admins: `/article add url|file` · `/article remove` · `/article pin` (a channel about one "
    "story) · `/feed add url [channel]` · `/feeds` · `/forum answer` · `/gaps` · `/feedback`"
)


def help_embed() -> discord.Embed:
    return discord.Embed(title="How to ask", description=HELP_TEXT, colour=FOUND_COLOUR)


def mod_log_text(user_id: int, channel_id: int | None, question: str, answer: Answer) -> str:
    where = f"<#{channel_id}>" if channel_id else "a direct message"
    lines = [f"Question from user `{user_id}` in {where}: {echo(question, 600)}"]
    cited = [q for q in answer.quotes if q.answers_question]
    if not cited:
        lines.append("Not answered from the articles.")
    for n, quote in enumerate(cited, start=1):
        c = quote.citation
        lines.append(
            f"[{n}] {code(c.doc_id)} ¶{c.paragraph} s{c.sentence}: “{echo(quote.text, 400)}”"
        )
    text = "\n".join(lines)
    return text if len(text) <= CONTENT_LIMIT else text[: CONTENT_LIMIT - 1] + "…"


# Feedback and the gap queue (bot/discord/feedback)


def vote_thanks(vote: int) -> str:
    said = "👍" if vote > 0 else "👎"
    return (
        f"Thanks: your {said} is counted (vote again to change it). The moderators see the "
        "votes with /feedback."
    )


def picked_text(index: int) -> str:
    if index < 0:
        return "Noted: none of the quotes shown answers the question."
    return f"Noted: quote {index + 1} is the right one. `quotebot feedback export` will use it."


def pick_embed(shown: ShownAnswer) -> discord.Embed:
    lines = [
        f"**{number}.** {echo(quote.text, 300)} ({code(quote.doc_id)})"
        for number, quote in enumerate(shown.quotes, 1)
    ]
    return discord.Embed(
        title=echo(shown.question, TITLE_LIMIT),
        description=_whole_lines(["Which quote answers the question?", *lines], 3500),
        colour=FOUND_COLOUR,
    )


def feedback_embed(report: FeedbackReport) -> discord.Embed:
    summary = (
        f"{report.answers} answer(s) kept; {report.rated} rated: {report.up} 👍, "
        f"{report.down} 👎; a moderator picked the right quote for {report.picked}."
    )
    embed = discord.Embed(title="Feedback on answers", description=summary, colour=FOUND_COLOUR)
    for rated in report.worst:
        shown = rated.answer
        first = shown.quotes[0].text if shown.quotes else "(no quote: declined)"
        # At most five answers: 5 × (200 + 800) leaves room for the rest within 6,000.
        embed.add_field(
            name=f"{rated.down} 👎 {rated.up} 👍 · {echo(shown.question, 200)}",
            value=f"{echo(first, 700)} — {shown.outcome}, {shown.confidence:.0%} sure · asked "
            f"<t:{int(shown.asked_at)}:R>",
            inline=False,
        )
    if not report.worst:
        embed.set_footer(text="No answer has more 👎 than 👍.")
    else:
        embed.set_footer(
            text="Worst-rated recent answers first. Export them with "
            "`quotebot feedback export --collection server-<id>`."
        )
    return embed


def gaps_embed(gaps: list[Gap]) -> discord.Embed:
    lines = [
        f"`{gap.number}` · asked {gap.asked}× by {gap.members} member(s), last "
        f"<t:{int(gap.last_asked)}:R>: {echo(gap.question, 300)}"
        for gap in gaps
    ]
    embed = discord.Embed(
        title="Questions the articles could not answer",
        description=_whole_lines(lines, 3800) or "None: every question was answered.",
        colour=NOT_FOUND_COLOUR,
    )
    embed.set_footer(
        text="Add an article that answers one with /article add: the queue is asked again and "
        "answered questions leave it. /gaps dismiss:<number> takes one off."
    )
    return embed


def dismissed_text(number: int, gone: bool) -> str:
    if gone:
        return f"Question {number} is off the gap queue."
    return f"There is no question {number} in this server's gap queue."


def reasked_text(answered: list[str]) -> str:
    if not answered:
        return ""
    listed = "; ".join(f"“{echo(q, 150)}”" for q in answered[:5])
    more = f" and {len(answered) - 5} more" if len(answered) > 5 else ""
    return f"Now answered, and off the gap queue: {listed}{more}."


# Members' data (bot/discord/privacy.py)


def forgotten_text(forgotten: Forgotten) -> str:
    posts = len(forgotten.mod_log_messages)
    mod_log = (
        f" The {posts} mod-log message(s) about your questions are being deleted." if posts else ""
    )
    return (
        f"Deleted everything stored about you: {forgotten.answers} question(s) with their "
        f"answers, {forgotten.votes} vote(s), {forgotten.gap_questions} question(s) in gap "
        f"queues and {forgotten.shared_links} shared link(s). Follow-ups you were in the "
        f"middle of are forgotten too.{mod_log}"
    )


def privacy_embed(retention_days: int, left_server_days: int) -> discord.Embed:
    description = (
        "**What I store about members**, in this server:\n"
        "• each question asked, with the quotes shown, their citations and my confidence "
        "(for 👍 / 👎 and the moderators' /feedback)\n"
        "• your 👍 / 👎 votes\n"
        "• questions I could not answer, in the moderators' /gaps queue\n"
        "• links you asked me to summarise\n"
        "• the mod-log messages about your questions, if the host keeps a mod log\n\n"
        f"**For how long:** {retention_days} day(s), then deleted (an admin can change it "
        "with /privacy retention). Follow-ups are remembered in memory for 30 minutes only.\n"
        f"**If I leave this server**, its articles, feeds and all of the above are deleted "
        f"after {left_server_days} day(s).\n\n"
        "**/forget-me** deletes everything about you, in every server, at once."
    )
    return discord.Embed(title="Your data", description=description, colour=FOUND_COLOUR)


# Forums (bot/discord/forums.py)


def forum_watched_text(channel_id: int, closest: bool) -> str:
    also = (
        " When nothing answers confidently, I post the closest passage, marked as such."
        if closest
        else " When nothing answers confidently, I stay quiet."
    )
    return f"I'll answer every new post in <#{channel_id}> with quotes from the articles.{also}"


def forums_text(watched: dict[int, bool]) -> str:
    if not watched:
        return "I answer posts in no forum here. An admin can name one with /forum answer."
    lines = [
        f"<#{channel}>" + (" (with the closest passage)" if closest else "")
        for channel, closest in watched.items()
    ]
    return "I answer every new post in: " + ", ".join(lines) + "."


# Shared links (bot/discord/links.py)

LINK_GONE = (
    "That link is no longer kept (links are kept for the server's retention period). Add it "
    "with /article add."
)


def link_summary_embed(summary: Summary, title: str, url: str, source: str | None) -> discord.Embed:
    where = f"{flat(source, 100)} · " if source else ""
    embed = summary_embed(
        summary,
        title=f"Summary: {echo(title, TITLE_LIMIT - 9)}",
        footer=f"{where}{flat(url, 200)} · Quoted word for word from the page; not added to "
        "the articles.",
    )
    link = safe_link(url)
    if link is not None:
        embed.url = link
    return embed


def links_rate_text(wait: float, *, server: bool) -> str:
    who = "This server has" if server else "You have"
    return (
        f"{who} summarised many links in the last hour. Please try again in "
        f"{max(1, round(wait / 60))} min."
    )
