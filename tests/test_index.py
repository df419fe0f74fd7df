"""The index keeps rank-bm25's traps from users."""

from __future__ import annotations

import threading
import weakref

import pytest
from rank_bm25 import BM25Okapi

import corpus.indexing.analysis
from corpus.errors import DamagedIndexError
from corpus.indexing.bm25 import FoldedChunks
from corpus.indexing.index import build_index
from corpus.ingest.loader import load_seeds
from corpus.models import IndexConfig
from corpus.tokenize import tokenize
from tests.conftest import build_corpus, make_seeds


def index_of(tmp_path, texts, **config):
    documents = load_seeds(make_seeds(tmp_path, texts)).documents
    return build_index(documents, IndexConfig(**config), "test")


def test_two_sentence_corpus_still_answers(tmp_path):
    # One passage holds both sentences, so every term is in all passages and BM25Okapi scores
    # the only passage below zero.
    corpus = build_corpus(tmp_path, {"d": "Goats eat grass.\nSharks eat fish."})
    reference = corpus.index.retriever.model  # rank-bm25's BM25Okapi, for a corpus this small
    assert max(reference.get_scores(tokenize("What do sharks eat?"))) < 0
    answer = corpus.ask("What do sharks eat?")
    assert answer.found
    assert answer.quotes[0].text == "Sharks eat fish."


def test_two_passages_with_zero_idf_still_rank(tmp_path):
    # Each term is in one of two passages: BM25Okapi's IDF is exactly zero for all of them.
    index = index_of(
        tmp_path,
        {"d": "Goats eat grass.\nSharks eat fish."},
        passage_sentences=1,
        passage_overlap=0,
    )
    assert list(index.retriever.model.get_scores(tokenize("sharks fish"))) == [0.0, 0.0]
    assert [h.passage.id for h in index.search(tokenize("sharks fish"), 2)] == ["d:2-2"]


def test_term_in_half_the_passages_ranks_by_the_other_terms(tmp_path):
    texts = {
        "d": "Rain fell in Accra.\nRain fell in Lagos.\nSun shone in Dakar.\nWind blew in Lome."
    }
    index = index_of(tmp_path, texts, passage_sentences=1, passage_overlap=0)
    hits = index.search(tokenize("rain in Lagos"), 4)
    assert hits[0].passage.id == "d:2-2"
    assert [h.passage.id for h in hits] == ["d:2-2", "d:1-1"]


def test_ties_keep_document_order(tmp_path):
    texts = {"d": "Alpha beta.\nGamma delta.\nAlpha beta.\nAlpha beta."}
    index = index_of(tmp_path, texts, passage_sentences=1, passage_overlap=0)
    hits = index.search(tokenize("alpha"), 10)
    assert [h.position for h in hits] == [0, 2, 3]
    assert len({h.bm25 for h in hits}) == 1


def test_scores_equal_rank_bm25_on_the_candidates(tmp_path, article_text):
    make_seeds(tmp_path, {"a": article_text})
    index = build_index(load_seeds(tmp_path).documents, IndexConfig(), "x")
    reference = BM25Okapi(list(index.passage_tokens()))
    query = tokenize("military intervention in Niger by West African states")
    expected = reference.get_scores(query)
    for hit in index.search(query, 100):
        assert abs(hit.bm25 - expected[hit.position]) < 1e-9


def test_corpus_without_content_words_finds_nothing(tmp_path):
    corpus = build_corpus(tmp_path, {"d": "It is what it is. And so on."})
    assert corpus.index.retriever is None
    answer = corpus.ask("What is the army doing?")
    assert not answer.found and answer.quotes == ()


def test_empty_index_is_safe():
    index = build_index([], IndexConfig(), "empty")
    assert index.search(["anything"], 5) == []


def test_passages_are_windows_with_stable_ids(tmp_path):
    text = "\n".join(f"Sentence number {n} here." for n in range(1, 8))
    index = index_of(tmp_path, {"d": text}, passage_sentences=3, passage_overlap=1)
    assert [p.id for p in index.passages] == ["d:1-3", "d:3-5", "d:5-7"]
    again = index_of(tmp_path / "again", {"d": text}, passage_sentences=3, passage_overlap=1)
    assert [p.id for p in again.passages] == [p.id for p in index.passages]


def test_every_sentence_is_the_slice_of_its_document(article_corpus):
    index = article_corpus.index
    for sentence in index.sentences:
        text = index.document_text(sentence.doc_id)
        assert sentence.text == text[sentence.start : sentence.end]
    assert len(index.sentences) == 26


def test_questions_can_be_restricted_to_one_document(tmp_path):
    corpus = build_corpus(
        tmp_path, {"one": "The river flooded the town.", "two": "The river dried up in summer."}
    )
    answer = corpus.ask("What happened to the river?", doc_id="two", top=5)
    assert {q.citation.doc_id for q in answer.quotes} == {"two"}


def test_texts_in_any_script_slice_exactly(tmp_path):
    texts = {
        "ascii": "Plain words. More words.",
        "latin": "Café société. Déjà vu.",
        "curly": "Mali’s leader spoke. “Yes,” he said.",
        "emoji": "Flags 🇳🇪 waved. Crowds 👍 cheered.",
    }
    index = index_of(tmp_path, texts)
    for doc_id, text in texts.items():
        assert index.document_text(doc_id) == text
    for sentence in index.sentences:
        assert sentence.text == texts[sentence.doc_id][sentence.start : sentence.end]


def test_find_paragraphs_searches_rather_than_scans(tmp_path):
    texts = {
        f"report{n:03d}": f"Report {n} opens here.\nGoats graze on hill {n}." for n in range(60)
    }
    texts["zebras"] = "Zebras cross the river at dawn.\nThey rest at noon."
    corpus = build_corpus(tmp_path, texts)
    assert len(corpus.find_paragraphs("", 25)) == 25
    zebra = corpus.find_paragraphs("zebras river", 25)
    assert [(p.doc_id, p.number) for p in zebra] == [("zebras", 1)]
    by_id = corpus.find_paragraphs("report007", 25)
    assert {p.doc_id for p in by_id} == {"report007"}
    assert len(corpus.find_paragraphs("goats graze hill", 25)) == 25
    assert corpus.find_paragraphs("nothing matches this", 25) == []


def _documents(tmp_path, count):
    texts = {
        f"d{n:02d}": (
            f"The US and IT firm {n} met in Lagos. Goats graze near hill {n}.\n\n"
            f"THE US ARMY SAID NO. Shepherd {n % 7} counts the goats, and 3.5 tonnes of grain "
            f"arrive; the U.S. sends word.\n"
        )
        for n in range(count)
    }
    return load_seeds(make_seeds(tmp_path / "seeds", texts)).documents


def test_terms_are_numbered_in_order_of_first_appearance(tmp_path):
    # rank-bm25 averages its IDFs in this order; the floor for common terms depends on it.
    index = build_index(_documents(tmp_path, 3), IndexConfig(), "h")
    first_seen = dict.fromkeys(t for sentence in index.sentences for t in tokenize(sentence.text))
    assert index.sentence_tokens.terms == list(first_seen)


def test_a_build_in_worker_processes_is_the_same_index(tmp_path, monkeypatch):
    documents = _documents(tmp_path, 40)
    serial = build_index(documents, IndexConfig(passage_sentences=2), "h", workers=1)
    # Small batches and no size threshold, so two workers each read several batches.
    monkeypatch.setattr("corpus.indexing.index.BATCH_CHARACTERS", 1_000)
    monkeypatch.setattr("corpus.indexing.index.PARALLEL_CHARACTERS", 0)
    parallel = build_index(documents, IndexConfig(passage_sentences=2), "h", workers=2)
    assert parallel.sentence_tokens.terms == serial.sentence_tokens.terms
    assert list(parallel.sentence_tokens) == list(serial.sentence_tokens)
    assert list(parallel.sentences) == list(serial.sentences)
    assert list(parallel.paragraphs) == list(serial.paragraphs)
    assert list(parallel.passages) == list(serial.passages)
    assert parallel.sentence_df.tolist() == serial.sentence_df.tolist()
    assert parallel.aliases == serial.aliases
    for query in (["goat"], ["us", "armi"], ["shepherd", "3"], ["grain", "lago"]):
        assert parallel.search(query, 10) == serial.search(query, 10)


def test_a_stream_of_documents_is_indexed_without_holding_them_all(tmp_path, monkeypatch):
    documents = _documents(tmp_path, 40)
    originals = {d.id: d.text for d in documents}
    monkeypatch.setattr("corpus.indexing.index.BATCH_CHARACTERS", 1_000)  # ~5 a batch
    alive: list[weakref.ref] = []
    most_alive = 0

    def stream():
        nonlocal most_alive
        for document in documents:
            copy = document.model_copy(update={"text": originals[document.id]})
            alive.append(weakref.ref(copy))
            most_alive = max(most_alive, sum(ref() is not None for ref in alive))
            yield copy

    index = build_index(stream(), IndexConfig(), "h", workers=1, expected=(40, 10_000))
    assert {d: index.document_text(d) for d in originals} == originals
    assert most_alive <= 8  # one batch being read and the next one's first
    assert list(index.sentences) == list(build_index(documents, IndexConfig(), "h").sentences)


def test_a_build_spilled_to_files_is_the_build_in_memory(tmp_path, monkeypatch):
    # Texts, tables, tokens and postings go to files as they grow; the postings are then
    # placed a range of terms at a time (here a few hundred postings a range).
    documents = _documents(tmp_path, 60)
    monkeypatch.setattr("corpus.indexing.index.BATCH_CHARACTERS", 2_000)
    monkeypatch.setattr("corpus.indexing.retrieval.LARGE_CORPUS", 10)
    monkeypatch.setattr(FoldedChunks, "RANGE_POSTINGS", 300)
    spill = tmp_path / "spill"
    spill.mkdir()
    spilled = build_index(documents, IndexConfig(), "h", workers=1, spill_to=spill)
    in_memory = build_index(documents, IndexConfig(), "h", workers=1)
    assert list(spill.iterdir()) == []  # every file removed once mapped
    for name in ("passages", "frequencies", "pointers", "idf", "bounds", "lengths"):
        mine = getattr(spilled.retriever.postings, name)
        assert mine.tolist() == getattr(in_memory.retriever.postings, name).tolist(), name
    assert len(FoldedChunks(spill).term_ranges(spilled.retriever.postings.pointers)) > 3
    assert list(spilled.sentence_tokens) == list(in_memory.sentence_tokens)
    assert list(spilled.sentences) == list(in_memory.sentences)
    assert list(spilled.passages) == list(in_memory.passages)
    assert spilled.texts.blob.tobytes() == in_memory.texts.blob.tobytes()
    for query in (["goat"], ["us", "armi"], ["shepherd", "3"], ["grain", "lago"]):
        assert spilled.search(query, 10) == in_memory.search(query, 10)


def test_a_build_started_beside_other_threads_spawns_its_workers(tmp_path, monkeypatch):
    # The bot reloads its index from a worker thread; forking then could copy a held lock,
    # so the workers are spawned instead. Same index either way.
    documents = _documents(tmp_path, 12)
    serial = build_index(documents, IndexConfig(), "h", workers=1)
    monkeypatch.setattr("corpus.indexing.index.BATCH_CHARACTERS", 1_000)
    monkeypatch.setattr("corpus.indexing.index.PARALLEL_CHARACTERS", 0)
    stop = threading.Event()
    beside = threading.Thread(target=stop.wait)
    beside.start()
    try:
        assert corpus.indexing.analysis._process_context().get_start_method() == "spawn"
        spawned = build_index(documents, IndexConfig(), "h", workers=2)
    finally:
        stop.set()
        beside.join()
    assert list(spawned.sentence_tokens) == list(serial.sentence_tokens)
    assert spawned.search(["goat"], 10) == serial.search(["goat"], 10)


def test_every_quote_is_the_slice_of_its_seed_file_as_read_from_disk(tmp_path):
    """Checked against the files themselves, read here byte for byte, not against the
    index's own copy: an offset drift in the index would show."""
    texts = {
        "crlf": "Harbour council met.\r\nIt approved the ferry timetable on Monday.\r\n",
        "curly": "Mali’s leader spoke. “Yes,” he said of the ferry timetable.",
        "emoji": "Flags 🇳🇪 waved. The ferry 🚢 timetable changed at dawn.",
        "bom": "\ufeffThe ferry timetable was printed. Nobody read it.",
        "cjk": "渡し船の時刻表. The ferry timetable was in Japanese too.",
    }
    seeds = make_seeds(tmp_path, texts)
    corpus = build_corpus(tmp_path, texts)
    for question in ("What about the ferry timetable?", "Who spoke?", "What waved?"):
        for quote in corpus.ask(question, top=5).quotes + corpus.summarize(length="long").quotes:
            on_disk = (seeds / f"{quote.citation.doc_id}.txt").read_bytes().decode("utf-8-sig")
            assert on_disk[quote.citation.start : quote.citation.end] == quote.text, quote


def test_a_build_that_fails_half_way_leaves_no_spilled_file_behind(tmp_path, monkeypatch):
    documents = _documents(tmp_path, 30)
    monkeypatch.setattr("corpus.indexing.index.BATCH_CHARACTERS", 1_000)
    spill = tmp_path / "spill"
    spill.mkdir()

    def stream():
        yield from documents[:20]
        raise OSError(28, "No space left on device")  # as a full disk would, mid-build

    with pytest.raises(OSError, match="No space left") as failed:
        build_index(stream(), IndexConfig(), "h", workers=1, spill_to=spill)
    assert failed.value is not None  # the exception (and its frames) still held
    assert list(spill.iterdir()) == []


def test_a_rebuild_holds_no_text_of_the_documents_it_reuses(tmp_path, monkeypatch):
    """Unchanged documents are taken from the previous index; while their runs wait behind
    the workers' look-ahead, they are held without their texts."""
    documents = _documents(tmp_path, 60)
    monkeypatch.setattr("corpus.indexing.index.BATCH_CHARACTERS", 1_000)
    monkeypatch.setattr("corpus.indexing.index.PARALLEL_CHARACTERS", 0)
    previous = build_index(documents, IndexConfig(), "h", workers=1)
    changed = [
        d.model_copy(update={"text": d.text + " The ferry was late.", "sha256": "new"})
        for d in documents[:6]
    ]
    alive: list[weakref.ref] = []
    most_alive = 0

    def stream():
        nonlocal most_alive
        for document in changed + documents[6:]:
            copy = document.model_copy()
            alive.append(weakref.ref(copy))
            most_alive = max(most_alive, sum(ref() is not None for ref in alive))
            yield copy

    rebuilt = build_index(stream(), IndexConfig(), "h", previous=previous, workers=2)
    assert most_alive <= 12  # not the 54 reused ones pulled ahead while looking for work
    fresh = build_index(changed + documents[6:], IndexConfig(), "h", workers=1)
    assert list(rebuilt.sentences) == list(fresh.sentences)
    assert rebuilt.texts.blob.tobytes() == fresh.texts.blob.tobytes()


def test_a_rebuild_never_copies_a_damaged_stored_text(tmp_path):
    documents = _documents(tmp_path, 4)
    previous = build_index(documents, IndexConfig(), "h", workers=1)
    previous.texts.blob[5] ^= 0xFF  # the stored bytes of the first text, changed
    with pytest.raises(DamagedIndexError):
        build_index(documents, IndexConfig(), "h", previous=previous, workers=1)
    assert previous.damaged
