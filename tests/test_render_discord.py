"""Rendering for Discord stays inside Discord's limits and never cuts a quote."""

from __future__ import annotations

import datetime

from bot.discord import render
from corpus.models import Answer, Citation, CorpusStats, DocumentStats, Quote, Summary
from corpus.sources.library import StoredArticle


def quote(text: str, n: int = 1, doc: str = "doc") -> Quote:
    citation = Citation(
        doc_id=doc,
        title="Title",
        paragraph=n,
        sentence=1,
        sentence_in_document=n,
        start=0,
        end=len(text),
    )
    return Quote(text=text, citation=citation, score=1.0, coverage=1.0, answers_question=True)


def answer(*quotes: Quote, question: str = "Q?") -> Answer:
    return Answer(question=question, found=True, quotes=quotes)


def within_limits(embed) -> None:
    assert len(embed.title or "") <= render.TITLE_LIMIT
    assert len(embed.description or "") <= render.DESCRIPTION_LIMIT
    assert len(embed.fields) <= render.FIELD_COUNT_LIMIT
    assert all(len(f.value) <= render.FIELD_VALUE_LIMIT for f in embed.fields)
    assert render.embed_size(embed) <= render.EMBED_TOTAL_LIMIT


def test_quotes_are_whole_and_numbered():
    embed = render.answer_embed(answer(quote("First one.", 1), quote("Second one.", 2)))
    assert embed.description == "“First one.” **[1]**\n\n“Second one.” **[2]**"
    assert "[1] Title ¶ 1 (`doc`) · sentence 1" in embed.fields[0].value
    within_limits(embed)


def test_a_citation_links_to_its_article_and_names_source_and_date():
    cited = quote("First one.").citation.model_copy(
        update={
            "url": "https://news.example/story",
            "source": "Harbour Herald",
            "date": datetime.date(2026, 11, 2),
        }
    )
    line = render.citation_text(cited)
    assert line == (
        "[Title ¶ 1](https://news.example/story) · sentence 1, Harbour Herald, 2026-11-02"
    )
    # A URL that tries to close the link and open its own stays inside the one link.
    hostile = cited.model_copy(update={"url": "https://x.example/a)[click](https://evil"})
    assert render.citation_text(hostile).startswith(
        "[Title ¶ 1](https://x.example/a%29%5Bclick%5D%28https://evil) · "
    )
    # Backslashes, backticks, pipes and a right-to-left override are encoded too.
    odd = cited.model_copy(update={"url": "https://x.example/\\`|\u202eevil"})
    assert "](https://x.example/%5C%60%7C%E2%80%AEevil)" in render.citation_text(odd)
    for bad in ("javascript:alert(1)", "https://x.example/a b", "<https://x.example>"):
        no_link = cited.model_copy(update={"url": bad})
        assert render.citation_text(no_link).startswith("Title ¶ 1 (`doc`)")


def test_long_links_never_leave_a_link_cut_in_half():
    """Sources and the article list keep whole entries: a link that does not fit is left out
    (the title stays), and every article of the page is listed."""
    long_url = "https://news.example/" + "a" * 400
    quotes = [
        quote(f"Sentence {n}.", n).model_copy(
            update={
                "citation": quote(f"Sentence {n}.", n).citation.model_copy(
                    update={"url": long_url, "title": "T" * 110}
                )
            }
        )
        for n in range(1, 4)
    ]
    embed = render.answer_embed(answer(*quotes))
    within_limits(embed)
    sources = embed.fields[0].value
    lines = sources.splitlines()
    assert [line[:3] for line in lines] == ["[1]", "[2]", "[3]"]
    assert f"]({long_url}) · " in lines[0]  # the first fits with its link
    assert all("](" not in line for line in lines[1:])  # the others go without, not cut
    articles = [
        StoredArticle(
            collection="server-1",
            id=f"story-{n}",
            title="A fairly long headline about the harbour " * 3,
            source="Coast Courier",
            author=None,
            published="2026-10-14",
            url=long_url,
            sha256="0" * 64,
            suffix=".html",
            bytes=100,
            added_at=f"2026-11-0{n % 9 + 1}T00:00:00+00:00",
            fetched_at=None,
        )
        for n in range(10)
    ]
    listing = render.articles_embed(articles, 1)
    assert len(listing.description) <= render.DESCRIPTION_LIMIT
    assert all(f"`story-{n}`" in listing.description for n in range(10))


def test_quotes_that_do_not_fit_are_left_out_whole_not_cut():
    long_quotes = [quote(("word " * 700).strip() + f" {n}.", n) for n in range(1, 6)]
    embed = render.answer_embed(answer(*long_quotes))
    within_limits(embed)
    shown = [block for block in embed.description.split("\n\n") if block.startswith("“")]
    assert shown and all(block.endswith("**") for block in shown)
    assert "too long to show here" in embed.description


def test_huge_question_title_is_shortened():
    embed = render.answer_embed(answer(quote("A."), question="why " * 500))
    within_limits(embed)
    assert embed.title.endswith("…")


def test_not_found_has_a_hint_and_no_sources():
    embed = render.answer_embed(Answer(question="Q?", found=False, reason="Not in the articles."))
    assert "/summary" in embed.description and not embed.fields


def test_article_markdown_is_escaped_in_quotes():
    embed = render.answer_embed(answer(quote("Some *stars* and _under_ @everyone.")))
    assert "\\*stars\\*" in embed.description and "@everyone" not in embed.description


def test_summary_title_and_limits():
    summary = Summary(length="long", topic="x" * 300, found=True, quotes=(quote("A."),))
    within_limits(render.summary_embed(summary))


def test_about_with_many_documents_stays_within_limits():
    documents = tuple(
        DocumentStats(
            id=f"d{n}", title="T" * 250, characters=10, paragraphs=1, sentences=1, passages=1
        )
        for n in range(100)
    )
    stats = CorpusStats(
        documents=documents,
        sentences=100,
        passages=100,
        vocabulary=5,
        content_hash="0" * 64,
        built_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    )
    embed = render.about_embed([("server", stats), ("shared", stats)])
    within_limits(embed)
    assert "more article(s)" in embed.fields[-1].value


def test_paragraph_drops_far_neighbours_before_the_target():
    target = render.ParagraphView(doc_id="d", title="T", number=5, text="target " * 400)
    neighbours = [
        render.ParagraphView(doc_id="d", title="T", number=n, text="x " * 1500) for n in (4, 6)
    ]
    embed = render.paragraph_embed(target, neighbours)
    within_limits(embed)
    assert "**¶5**" in embed.description


def test_context_bolds_the_quoted_sentence():
    paragraph = render.ParagraphView(
        doc_id="d", title="T", number=2, text="Before. Quoted one. After.", highlight=(8, 19)
    )
    embed = render.context_embed([(1, paragraph)])
    assert "Before. **Quoted one.** After." in embed.description


def test_mod_log_fits_in_one_message():
    text = render.mod_log_text(1, 2, "q" * 5000, answer(*[quote("y" * 900, n) for n in range(5)]))
    assert len(text) <= render.CONTENT_LIMIT
