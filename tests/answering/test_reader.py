"""The reader in `ask`: what it reads, how a long text is read, what it decides, and answering without it."""
from __future__ import annotations

import json
import logging
import zipfile

import numpy as np
import pytest
from conftest import FAST, SAMPLES, SEED_QUESTION, make_settings, run_cli

from newsbot.index.answering import answerability, extractive, reading
from newsbot.index.answering import reader as reader_mod
from newsbot.index.answering.reader import (
    MAX_TOKENS,
    ReaderUnavailable,
    combine_parts,
    pair_sequences,
    parts,
    read_meta,
)
from newsbot.index.engine import Engine
from newsbot.index.settings import Settings
from newsbot.index.records import Article, Passage, Window

MEASLES = "How many measles cases were reported in the West Texas outbreak?"


# ------------------------------------------------------------------ windowing (pure)

def test_a_long_passage_is_read_in_parts_that_together_hold_every_token():
    question, passage = list(range(1000, 1012)), list(range(5000, 5400))
    sequences = pair_sequences(0, 2, question, passage)
    assert len(sequences) > 1 and all(len(s) <= MAX_TOKENS for _, s in sequences)
    read = {t for _, s in sequences for t in s}
    assert set(passage) <= read and set(question) <= read


def test_a_long_question_is_read_in_parts_too_never_cut():
    question = list(range(1000, 1000 + 3 * MAX_TOKENS // 3 + 5))
    sequences = pair_sequences(0, 2, question, list(range(5000, 5050)))
    assert {qi for qi, _ in sequences} == {0, 1, 2, 3}
    assert set(question) <= {t for _, s in sequences for t in s}
    assert all(len(s) <= MAX_TOKENS for _, s in sequences)


def test_a_text_read_in_parts_scores_the_mean_of_its_parts_not_its_best_fragment():
    assert combine_parts([3.0]) == 3.0
    assert combine_parts([-4.0, 2.0]) == -1.0  # a fragment scored high does not carry the window alone


def test_parts_overlap_and_a_short_text_is_one_part():
    assert parts(list(range(10)), 20) == [list(range(10))]
    pieces = parts(list(range(100)), 40, 10)
    assert all(len(p) <= 40 for p in pieces) and pieces[0][-10:] == pieces[1][:10]
    assert sorted({t for p in pieces for t in p}) == list(range(100))


def test_windows_stay_inside_the_passage_and_within_the_window_size():
    text = " ".join(f"Sentence number {i} says something about the measles outbreak in Texas." for i in range(40))
    start, end = 300, 1800
    windows = reading.candidate_windows(text, start, end)
    assert windows and all(start <= a < b <= end + 80 for a, b in windows)  # a sentence may run past the chunk
    assert all(b - a <= reading.WINDOW_CHARS for a, b in windows)


QUIZ = ("The sports world is in turmoil after quarterback Deshaun Watson was suspended for just six games for "
        "violating the league's personal conduct policy in private meetings with massage therapists. "
        "Which team does Watson play for?")
WATSON = Article("nfl", "Watson", " ".join([
    "Deshaun Watson was suspended for six games on Monday for violating the league's personal conduct policy in "
    "private meetings with massage therapists, a decision the league and many fans in the sports world criticised.",
    "The suspension of just six games for the quarterback, who met the massage therapists in private, has put "
    "the sports world in turmoil, and the league's personal conduct policy is now under review by its owners.",
    "Watson signed a new contract with the Cleveland Browns in March and will play for the team again once his "
    "suspension ends, the club said, adding that it supported the process and would not comment further.",
]))


def _quiz_windows(question):
    passage = Passage("nfl#0", "nfl", WATSON.text, 0, len(WATSON.text), 1.0)
    return [WATSON.text[a:b] for _, a, b in reading.choose_windows(question, [passage], {"nfl": WATSON})]


def test_a_quizs_question_sentence_gets_a_window_of_its_own_beside_the_preambles_best():
    windows = _quiz_windows(QUIZ)
    assert len(windows) == reading.WINDOWS_PER_PASSAGE
    assert windows[0].startswith("Deshaun Watson was suspended")  # the best match of the whole question, first
    assert any("Cleveland Browns" in w for w in windows)  # matched by "Which team does Watson play for?" alone


def test_a_one_sentence_question_reads_the_windows_that_match_it_best():
    windows = _quiz_windows("Which team did the league suspend Watson from for violating its conduct policy?")
    assert len(windows) == reading.WINDOWS_PER_PASSAGE and not any("Cleveland Browns" in w for w in windows)


def _two_articles():
    en = Article("en-1", "Rates",
                 "The central bank met on Tuesday. Officials kept the rate at six percent, a spokesman said.")
    idn = Article("id-1", "Suku bunga",
                  "Bank sentral menahan suku bunga di enam persen. Keputusan diambil hari Selasa.")
    passages = [Passage(f"{a.id}#0", a.id, a.text, 0, len(a.text), 1.0 - i / 10, relevance=1.0 - i / 10)
                for i, a in enumerate((en, idn))]
    windows = [Window(f"{en.id}#0", en.id, 33, 91, 2.0), Window(f"{en.id}#0", en.id, 0, 32, 0.5),
               Window(f"{idn.id}#0", idn.id, 0, 47, 1.5), Window(f"{idn.id}#0", idn.id, 48, 78, -1.0)]
    return {a.id: a for a in (en, idn)}, passages, windows


RATE = "What did the central bank decide about the rate?"


def _spans(citations):
    return [(c.article_id, c.start, c.end) for c in citations]


def test_the_readers_best_window_of_the_lead_article_comes_first_then_todays_sentences():
    articles, passages, windows = _two_articles()
    _, today = extractive.compose(RATE, passages, articles, 3)
    _, citations = extractive.compose_read(RATE, passages, windows, articles, 3, lead="id-1")
    assert (citations[0].article_id, citations[0].quote) == ("id-1", "Bank sentral menahan suku bunga di enam persen.")
    assert _spans(citations[1:]) == [s for s in _spans(today) if not (s[0] == "id-1" and s[1] < 47)]
    assert any(c.article_id == "en-1" for c in citations[1:]), "the sentence match's other article is still quoted"
    assert [c.n for c in citations] == list(range(1, len(citations) + 1))


def test_a_sentence_the_window_holds_is_not_quoted_again():
    articles, passages, windows = _two_articles()
    _, citations = extractive.compose_read(RATE, passages, windows, articles, 3, lead="en-1")
    assert _spans(citations)[0] == ("en-1", 33, 91)
    spans = _spans(citations)
    assert not any(x[0] == y[0] and x[1] < y[2] and y[1] < x[2] for i, x in enumerate(spans) for y in spans[i + 1:])


def test_without_a_window_of_the_lead_article_the_answer_is_todays():
    articles, passages, windows = _two_articles()
    assert extractive.compose_read(RATE, passages, windows, articles, 3, lead="elsewhere") == \
        extractive.compose(RATE, passages, articles, 3)


def test_the_window_comes_from_the_lead_articles_first_passage_even_when_a_later_one_reads_better():
    articles, passages, windows = _two_articles()
    en = articles["en-1"]
    later = Passage("en-1#1", "en-1", en.text, 33, len(en.text), 0.5, relevance=0.5)
    windows = [Window("en-1#1", "en-1", 33, 91, 5.0), Window("en-1#0", "en-1", 0, 32, 0.5)]
    _, citations = extractive.compose_read(RATE, [*passages, later], windows, articles, 3, lead="en-1")
    assert _spans(citations)[0] == ("en-1", 0, 32)


def test_a_window_overlapping_the_best_one_stretches_the_quote_over_both():
    text = ("The volcano erupted at 8:05 p.m., the Japan Meteorological Agency said. "
            "The agency announced a Level 5 alert, the highest level. "
            "Residents of Kagoshima were told to evacuate.")
    article = Article("v0", "Volcano", text)
    second, third = text.index("The agency"), text.index("Residents")
    passages = [Passage("v0#0", "v0", text, 0, len(text), 1.0, relevance=1.0)]
    question = "A volcano eruption in which country prompted a Level 5 alert?"
    overlapping = [Window("v0#0", "v0", second, len(text), 2.0), Window("v0#0", "v0", 0, third - 1, 0.5)]
    _, citations = extractive.compose_read(question, passages, overlapping, {"v0": article}, 3, lead="v0")
    assert _spans(citations)[0] == ("v0", 0, len(text)) and "Japan" in citations[0].quote

    apart = [Window("v0#0", "v0", third, len(text), 2.0), Window("v0#0", "v0", 0, second - 1, 0.5)]
    _, citations = extractive.compose_read(question, passages, apart, {"v0": article}, 3, lead="v0")
    assert _spans(citations)[0] == ("v0", third, len(text)), "a window that does not touch the best one stays apart"


def _who_said():
    text = ("Preparations are under way for a meeting of the two presidents, a deputy minister told state media. "
            "Sergei Ryabkov said the summit could include talks on trade.")
    article = Article("a0", "Summit", text)
    first = text.index("Sergei")
    passages = [Passage("a0#0", "a0", text, 0, len(text), 1.0, relevance=1.0)]
    return {"a0": article}, passages, [Window("a0#0", "a0", 0, first - 1, 1.0)], first


def test_a_who_question_quotes_the_next_sentence_when_it_names_the_person_and_the_window_does_not():
    articles, passages, windows, first = _who_said()
    _, citations = extractive.compose_read("Who said preparations were under way for a meeting?", passages, windows,
                                           articles, 3, lead="a0")
    assert [(c.n, c.start) for c in citations] == [(1, 0), (2, first)]
    assert citations[1].quote.startswith("Sergei Ryabkov said")


def test_the_next_sentence_is_not_added_when_the_question_asks_for_no_kind_or_the_budget_is_one():
    articles, passages, windows, _ = _who_said()
    assert len(extractive.compose_read("Are preparations under way for a meeting?", passages, windows, articles, 3,
                                       lead="a0")[1]) == 1
    assert len(extractive.compose_read("Who said preparations were under way for a meeting?", passages, windows,
                                       articles, 1, lead="a0")[1]) == 1


def test_the_reader_keeps_retrievals_order_and_only_scores_the_passages_it_read():
    articles, passages, windows = _two_articles()
    low_first = [passages[1], passages[0]]  # retrieval's fused order need not follow relevance
    ranked = reading.rerank(low_first, reading.Reading(tuple(sorted(windows, key=lambda w: -w.score))))
    assert [p.article_id for p in ranked] == ["id-1", "en-1"]
    assert [p.reader for p in ranked] == [1.5, 2.0]


# ------------------------------------------------------------------ the reader file

def test_a_missing_reader_file_is_one_clear_error(tmp_path):
    with pytest.raises(ReaderUnavailable, match="missing"):
        read_meta(tmp_path / "nothing.npz")


@pytest.mark.parametrize("damage", ["garbage", "cut", "no_head"])
def test_a_damaged_reader_file_is_one_clear_error(tmp_path, damage):
    path = tmp_path / "reader.npz"
    if damage == "garbage":
        path.write_bytes(b"\x00not a zip" * 100)
    elif damage == "no_head":
        np.savez(path, meta=np.frombuffer(b"{}", dtype=np.uint8))
    else:
        np.savez(path, **{"head.w": np.zeros(384, np.float16), "head.b": np.zeros(1, np.float32),
                          "meta": np.frombuffer(b"{}", dtype=np.uint8)})
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ReaderUnavailable, match="damaged"):
        read_meta(path)


@pytest.mark.parametrize("layers", [4, 13, "all"])
def test_a_reader_file_whose_layers_do_not_fit_the_model_is_one_clear_error(tmp_path, cache_dir, layers):
    """The shipped file trains layers 5 and 6 of e5's first 6: it cannot run on the first 4, nor on 13 of e5's 12."""
    from newsbot.index.embedding.e5_onnx import shared_model

    with np.load(reader_mod.READER_FILE) as data:
        arrays = {name: data[name] for name in data.files}
    meta = {**json.loads(bytes(arrays["meta"]).decode()), "layers": layers}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(tmp_path / "reader.npz", **arrays)
    with pytest.raises(ReaderUnavailable, match="does not fit"):
        reader_mod.trained_tensors(tmp_path / "reader.npz", shared_model(cache_dir).weights)


def test_the_shipped_reader_file_is_whole_small_and_says_how_it_was_trained():
    meta = read_meta(reader_mod.READER_FILE)
    assert reader_mod.READER_FILE.stat().st_size < 10_000_000
    for key in ("pairs", "steps", "seconds", "seed", "train_layers", "dev_auc_after"):
        assert key in meta
    with zipfile.ZipFile(reader_mod.READER_FILE) as z:
        assert z.testzip() is None


# ------------------------------------------------------------------ in ask (the fast tier's fake reader)

@pytest.fixture
def fake_read_engine(tmp_path, cache_dir):
    settings = make_settings(data_dir=tmp_path / "data", cache_dir=cache_dir, embed_provider="custom",
                             embed_model="support.fake_embedder:HashEmbedding", reader_model="support.fake_reader:OverlapReader",
                             reader="on", abstain_threshold=0.0)  # the fake's scores are not the fitted reader's
    with Engine.open(settings) as engine:
        engine.add(engine.drafts_from_jsonl(str(SAMPLES / "articles.jsonl")))
        yield engine


def test_with_the_reader_the_quote_is_a_window_it_read_verbatim(fake_read_engine):
    answer = fake_read_engine.ask(MEASLES)
    assert not answer.abstained and answer.judgment.read and "read_ms" in answer.timings_ms
    read = {(w.article_id, w.start, w.end) for w in answer.judgment.read}
    first = answer.citations[0]
    assert (first.article_id, first.start, first.end) in read
    article = fake_read_engine.article(first.article_id)
    assert article.text[first.start:first.end] == first.quote


def test_with_the_reader_the_answer_still_quotes_every_sentence_it_quotes_without(fake_read_engine):
    """So the reader can only add an answer the hand features' quote missed, never lose one (unless it
    refutes the passage outright: then it says "not covered", `test_a_question_whose_passage_...`)."""
    questions = [json.loads(line)["question"] for line in (SAMPLES / "questions.jsonl").read_text().splitlines()]
    compared = 0
    for question in questions:
        on, off = fake_read_engine.ask(question), fake_read_engine.ask(question, reader=False)
        if off.abstained:
            assert on.abstained, "the reader never answers what the judgment refused"
            continue
        if on.abstained:
            assert reading.refutes(on.judgment.read), "only the reader's refutation abstains where today answers"
            continue
        compared += 1
        for c in off.citations:
            assert any(q.article_id == c.article_id and q.start <= c.start and c.end <= q.end for q in on.citations), \
                (question, c.quote)
    assert compared >= 10


def test_the_reader_does_not_change_the_judgment_unless_it_was_fitted_with_the_readers_scores(fake_read_engine):
    on, off = fake_read_engine.ask(MEASLES), fake_read_engine.ask(MEASLES, reader=False)
    assert "reader" not in on.judgment.features
    assert (on.judgment.features, on.judgment.probability) == (off.judgment.features, off.judgment.probability)


def test_only_the_article_quoted_first_is_read_and_its_passages_carry_the_scores(fake_read_engine):
    answer = fake_read_engine.ask(MEASLES)
    lead = answer.citations[0].article_id
    assert {w.article_id for w in answer.judgment.read} == {lead}
    scored = [p for p in answer.passages if p.reader is not None]
    assert scored and {p.article_id for p in scored} == {lead}


def test_a_judgment_fitted_with_the_readers_scores_reads_the_top_passages_before_judging(fake_read_engine):
    groups = dict(answerability.fitted_model().groups)
    for base in ("same", "xling"):
        groups[f"reader-{base}"] = {**groups[base], "weights": {**groups[base]["weights"], "reader": 0.1}}
    fake_read_engine.asker.model = answerability.Model(groups)
    answer = fake_read_engine.ask(MEASLES)
    assert "reader" in answer.judgment.features
    assert len({w.article_id for w in answer.judgment.read}) > 1, "the top passages are read, not one article"


def test_the_reader_overrules_an_answer_only_when_every_window_it_read_is_beyond_doubt_not_one():
    def window(score):
        return Window("a#0", "a", 0, 10, score)

    assert reading.refutes([window(reading.READ_FLOOR - 0.1), window(-9.0)])
    assert not reading.refutes([window(reading.READ_FLOOR - 0.1), window(reading.READ_FLOOR + 0.1)])
    assert not reading.refutes([])


@pytest.fixture
def refuting_engine(tmp_path, cache_dir):
    settings = make_settings(data_dir=tmp_path / "data", cache_dir=cache_dir, embed_provider="custom",
                             embed_model="support.fake_embedder:HashEmbedding",
                             reader_model="support.fake_reader:RefutingReader", reader="on", abstain_threshold=0.0)
    with Engine.open(settings) as engine:
        engine.add(engine.drafts_from_jsonl(str(SAMPLES / "articles.jsonl")))
        yield engine


def test_a_question_whose_passage_the_reader_refutes_is_answered_not_covered(refuting_engine):
    refuted, without = refuting_engine.ask(MEASLES), refuting_engine.ask(MEASLES, reader=False)
    assert not without.abstained
    assert refuted.abstained and refuted.reason == "not_covered" and not refuted.citations
    assert refuted.judgment.read and all(w.score < reading.READ_FLOOR for w in refuted.judgment.read)


def test_the_reader_refutes_only_a_passage_in_the_questions_language(refuting_engine):
    """It saw no pair across languages, and underrates those: there its word is not final."""
    across = 0
    for line in (SAMPLES / "questions.jsonl").read_text().splitlines():
        question = json.loads(line)["question"]
        without = refuting_engine.ask(question, reader=False)
        if without.abstained:
            continue
        on = refuting_engine.ask(question)
        lead = next(p for p in without.passages if p.article_id == without.citations[0].article_id)
        assert on.abstained == (lead.lang == on.lang), (question, lead.lang, on.lang)
        across += lead.lang != on.lang
    assert across >= 1, "the own set asks across languages"


def test_the_reader_is_on_unless_turned_off(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.delenv("NEWSBOT_READER", raising=False)
    assert Settings.load().reader == "on"
    monkeypatch.setenv("NEWSBOT_READER", "off")
    assert Settings.load().reader == "off"


def test_reader_off_answers_as_before_without_reading(fake_read_engine):
    answer = fake_read_engine.ask(MEASLES, reader=False)
    assert not answer.abstained and not answer.judgment.read
    assert "read_ms" not in answer.timings_ms and all(p.reader is None for p in answer.passages)


def test_the_reader_reads_a_few_short_windows_only(fake_read_engine):
    answer = fake_read_engine.ask(MEASLES)
    assert len(answer.judgment.read) <= reading.READ_PASSAGES * reading.WINDOWS_PER_PASSAGE
    assert all(w.end - w.start <= reading.WINDOW_CHARS for w in answer.judgment.read)


def test_a_content_free_question_abstains_before_anything_is_read(fake_read_engine):
    answer = fake_read_engine.ask("?!?! *")
    assert answer.abstained and answer.reason == "no_words" and answer.judgment is None


def test_a_missing_reader_file_is_said_once_and_questions_are_answered_without_it(tmp_path, cache_dir, caplog):
    settings = make_settings(data_dir=tmp_path / "data", cache_dir=cache_dir, embed_provider="custom",
                             embed_model="support.fake_embedder:HashEmbedding", reader_model=str(tmp_path / "gone.npz"),
                             reader="on")
    with Engine.open(settings) as engine:
        engine.add(engine.drafts_from_jsonl(str(SAMPLES / "articles.jsonl")))
        with caplog.at_level(logging.WARNING, logger="newsbot.reader"):
            first, second = engine.ask(MEASLES), engine.ask(MEASLES)
    assert not first.abstained and not first.judgment.read and second.answer == first.answer
    said = [r.getMessage() for r in caplog.records if r.name == "newsbot.reader"]
    assert len(said) == 1 and "gone.npz is missing" in said[0] and "without the reader" in said[0]


def test_the_cli_answers_with_the_reader_off_and_on(tmp_path, cache_dir):
    settings = make_settings(data_dir=tmp_path / "data", cache_dir=cache_dir, embed_provider="custom",
                             embed_model="support.fake_embedder:HashEmbedding", reader_model="support.fake_reader:OverlapReader")
    assert run_cli(["add", "--jsonl", str(SAMPLES / "articles.jsonl")], settings).returncode == 0
    for value in ("on", "off"):
        done = run_cli(["ask", MEASLES, "--json"], settings, NEWSBOT_READER=value)
        assert done.returncode == 0, done.stderr
        assert ('"read_ms"' in done.stdout.decode()) == (value == "on")


def test_a_bad_reader_setting_is_one_clear_line(tmp_path, cache_dir):
    settings = make_settings(data_dir=tmp_path / "data", cache_dir=cache_dir)
    done = run_cli(["stats"], settings, NEWSBOT_READER="maybe")
    assert done.returncode != 0 and "NEWSBOT_READER" in done.stderr.decode()


# ------------------------------------------------------------------ the shipped reader (real model)

@pytest.mark.model
def test_a_damaged_cached_reader_graph_is_built_again(tmp_path):
    first = reader_mod.OnnxReader(tmp_path / "cache")
    expected = first.score(SEED_QUESTION, ["Zelenskyy tidak siap menandatangani kesepakatan mineral."])
    (graph,) = (tmp_path / "cache" / "onnx").glob("reader-*.onnx")
    graph.write_bytes(graph.read_bytes()[:5000])
    again = reader_mod.OnnxReader(tmp_path / "cache")
    assert np.allclose(again.score(SEED_QUESTION, ["Zelenskyy tidak siap menandatangani kesepakatan mineral."]),
                       expected, atol=1e-4)


@pytest.mark.skipif(FAST, reason="needs the real embedding model (left out of the fast tier)")
def test_the_seed_question_is_answered_with_the_shipped_reader(sample_engine):
    answer = sample_engine.ask(SEED_QUESTION, reader=True)
    assert not answer.abstained and answer.judgment.read
    assert "tidak siap" in answer.answer
