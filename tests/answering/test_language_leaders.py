"""Ranking across languages: in a mixed-language index each language's best candidate is compared with
the others' by what its best sentence means, not by the question's words, which only a passage in the
question's language can share."""
from __future__ import annotations

import numpy as np
import pytest

from newsbot.index.answering import answerability
from newsbot.index.answering.retrieval import RetrievalConfig, level_languages
from newsbot.index.records import Passage
from newsbot.index.text.words import sentences_of

QUESTION = np.array([1.0, 0.0, 0.0])


def _unit(cos: float) -> np.ndarray:
    return np.array([cos, (1 - cos * cos) ** 0.5, 0.0])


# A long Indonesian chunk whose second sentence answers; English chunks near the topic.
SENTENCE_COS = {
    "Presiden Zelenskyy berbicara tentang banyak hal lain hari itu.": 0.70,
    "Zelenskyy menunda perjalanannya ke Arab Saudi minggu depan.": 0.90,
    "Zelenskyy spoke in Kyiv about the war on Saturday evening.": 0.84,
    "He asked allies for more air defence systems.": 0.75,
    "Ukraine's grain exports rose again in the third month.": 0.70,
}


def _rows():
    texts = {
        "id-1": "Presiden Zelenskyy berbicara tentang banyak hal lain hari itu. "
                "Zelenskyy menunda perjalanannya ke Arab Saudi minggu depan.",
        "en-1": "Zelenskyy spoke in Kyiv about the war on Saturday evening. "
                "He asked allies for more air defence systems.",
        "en-2": "Ukraine's grain exports rose again in the third month.",
    }
    return {cid: {"text": text, "meta": {"lang": cid[:2]}} for cid, text in texts.items()}


class _Embedder:
    def __init__(self):
        self.asked: list[list[str]] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.asked.append(texts)
        return np.stack([_unit(SENTENCE_COS[t]) for t in texts])


def test_a_fact_translated_inside_a_long_chunk_outranks_passages_that_share_the_questions_words():
    rows = _rows()
    sims = {"id-1": 0.80, "en-1": 0.86, "en-2": 0.78}
    cover = {"id-1": 0.1, "en-1": 0.7, "en-2": 0.6}
    config = RetrievalConfig()
    scores = {cid: sims[cid] + config.coverage_weight * cover[cid] for cid in rows}
    scores["id-1"] += config.crosslingual_bonus
    assert max(scores, key=scores.get) == "en-1"  # by the question's words, the English chunk wins

    embedder = _Embedder()
    levelled, best = level_languages(scores, rows, sims, cover, "en", QUESTION, config, embedder)

    assert sorted(levelled, key=lambda c: -levelled[c]) == ["id-1", "en-1", "en-2"]
    assert best == {"id-1": 0.90}


def test_only_the_leader_in_another_language_than_the_questions_has_its_sentences_embedded():
    rows = _rows()
    sims = {"id-1": 0.80, "en-1": 0.86, "en-2": 0.78}
    embedder = _Embedder()
    level_languages({"id-1": 0.86, "en-1": 0.95, "en-2": 0.90}, rows, sims, dict.fromkeys(rows, 0.5), "en", QUESTION,
                    RetrievalConfig(), embedder)
    assert embedder.asked == [sentences_of(rows["id-1"]["text"])]


def test_the_order_within_a_language_is_kept():
    rows = _rows()
    sims = {"id-1": 0.80, "en-1": 0.80, "en-2": 0.83}
    scores = {"id-1": 0.84, "en-1": 0.95, "en-2": 0.90}  # en-1 leads English by its words, en-2 by cosine
    levelled, _ = level_languages(scores, rows, sims, dict.fromkeys(rows, 0.5), "en", QUESTION, RetrievalConfig(),
                                  _Embedder())
    assert levelled["en-1"] - levelled["en-2"] == pytest.approx(scores["en-1"] - scores["en-2"])


def test_one_language_among_the_candidates_is_left_as_it_was_and_nothing_is_embedded():
    rows = {cid: row for cid, row in _rows().items() if cid.startswith("en")}
    scores = {"en-1": 0.95, "en-2": 0.90}
    embedder = _Embedder()
    levelled, best = level_languages(scores, rows, {"en-1": 0.86, "en-2": 0.78}, dict.fromkeys(rows, 0.5), "en",
                                     QUESTION, RetrievalConfig(), embedder)
    assert levelled == scores and best == {} and embedder.asked == []


def test_a_leader_is_never_rated_below_its_whole_chunk():
    rows = {"id-1": {"text": "Ya.", "meta": {"lang": "id"}}, **{k: v for k, v in _rows().items() if k == "en-2"}}
    levelled, best = level_languages({"id-1": 0.9, "en-2": 0.9}, rows, {"id-1": 0.81, "en-2": 0.78},
                                     {"id-1": 0.0, "en-2": 0.0}, "en", QUESTION, RetrievalConfig(), _Embedder())
    assert best["id-1"] == 0.81  # no sentence of 12 letters: the chunk's own similarity stands


def test_captions_and_one_word_lines_are_not_sentences_to_compare():
    assert sentences_of("Foto: AP\nUkraina menginginkan jaminan keamanan dalam perjanjian.") == [
        "Ukraina menginginkan jaminan keamanan dalam perjanjian."]


def _passage(lang: str, dense: float, sentence: float | None) -> Passage:
    return Passage("c", "a", "Ukraina menginginkan jaminan keamanan.", 0, 10, score=dense, dense=dense,
                   relevance=dense, lang=lang, sentence=sentence)


def test_across_languages_the_judgment_reads_the_passage_at_its_best_sentence():
    across = answerability.features_of("What does Ukraine want?", "en", [_passage("id", 0.80, 0.86)], {}, {})
    assert across["dense1"] == across["xl_dense1"] and abs(across["dense1"] - 0.86) < 1e-9
    assert abs(across["rel1"] - 0.86) < 1e-9


def test_within_a_language_the_judgment_reads_the_whole_passage_as_it_was_fitted():
    same = answerability.features_of("Apa yang diinginkan Ukraina?", "id", [_passage("id", 0.80, 0.86)], {}, {})
    assert same["dense1"] == 0.80 and same["rel1"] == 0.80


@pytest.mark.model
def test_an_english_question_on_a_fact_deep_in_the_indonesian_seed_ranks_it_first(sample_engine):
    """The seed's chunk holding the invasion's anniversary is mostly about the UN vote; English articles on
    the sanctions share more of the question's words."""
    from newsbot.index.answering.retrieval import RetrievalConfig

    question = "How long ago did Moscow launch its full-scale invasion of its neighbour, according to the article?"
    assert sample_engine.ask(question).passages[0].article_id == "seed-trump-putin-summit"
    by_words = sample_engine.ask(question, retrieval=RetrievalConfig(language_leaders=False))
    assert by_words.passages[0].article_id != "seed-trump-putin-summit"


def test_the_judgments_margin_is_over_the_next_passages_in_the_best_ones_language():
    """English passages below an Indonesian answer carry the question's words in their relevance; the
    margin the model was fitted on (indexes of one language) compares like with like."""
    def passage(cid: str, lang: str, relevance: float) -> Passage:
        return Passage(cid, cid, "Ukraina menginginkan jaminan keamanan.", 0, 10, score=relevance,
                       dense=relevance, relevance=relevance, lang=lang)

    ranked = [passage("id-1", "id", 0.86), passage("en-1", "en", 0.95), passage("en-2", "en", 0.94),
              passage("id-2", "id", 0.80), passage("id-3", "id", 0.78)]
    features = answerability.features_of("What does Ukraine want?", "en", ranked, {}, {})
    assert features["gap"] == pytest.approx(0.86 - (0.80 + 0.78) / 2)
    alone = answerability.features_of("What does Ukraine want?", "en", [ranked[0], *ranked[3:]], {}, {})
    assert alone["gap"] == pytest.approx(features["gap"])
