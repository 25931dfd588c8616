"""Pairs mined with newsbot's own `ask` (issue #26, training/mined.py): the windows `ask` reads when a
question's gold article is gone are negatives, the one it reads in the gold article that states the
answer is the positive; on small sets made here, indexed by the test tier's embedder."""
from __future__ import annotations

import json
import random

import pytest
from conftest import make_settings, write_set

from training import mined

GOLD = ("The city opened the new bridge over the Brantas on Monday after four years of building. "
        "The bridge cost 40 billion rupiah, the mayor said.")
DAM = "A dam on the Brantas river was repaired on Monday, officials said. Its repair cost the province dearly."
MARKET = "The market beside the Brantas bridge reopened on Monday. Traders said the new bridge brought buyers."


def bridge_set(folder, answers=("40 billion rupiah",)):
    write_set(folder / "tydiqa-id-train", [{"id": "gold", "text": GOLD}, {"id": "dam", "text": DAM},
                                           {"id": "market", "text": MARKET}],
              [{"id": "q", "question": "How much did the new bridge over the Brantas cost?", "answers": list(answers),
                "article_ids": ["gold"]},
               {"id": "q-none", "question": "Who designed the bridge?", "answers": [], "article_ids": [],
                "written_for": ["gold"]}])
    return folder / "tydiqa-id-train"


def mine(folder, tmp_path, cache_dir, negatives=2, scorer=None):
    return mined.mine_set(folder, 10, negatives, scorer, random.Random(1), tmp_path,
                          base=make_settings(cache_dir=cache_dir))


class Prefers:
    """A scorer that rates windows holding `word` above the rest."""

    def __init__(self, word: str) -> None:
        self.word = word

    def score(self, question, texts):
        return [float(self.word in t) for t in texts]


def test_with_the_gold_gone_the_windows_read_are_negatives_and_the_gold_window_stating_the_answer_is_positive(
        tmp_path, cache_dir):
    got = mine(bridge_set(tmp_path), tmp_path, cache_dir)
    positives = [p for p in got if p.label == 1]
    negatives = [p for p in got if p.label == 0]
    assert [(p.qid, p.kind) for p in positives] == [("q", "read_gold")]
    assert "40 billion rupiah" in positives[0].passage and positives[0].passage in GOLD, "verbatim, from the gold"
    assert negatives and {p.kind for p in negatives} == {"gone"}
    assert all(p.passage in DAM or p.passage in MARKET for p in negatives), "never a window of the gold article"


def test_an_unanswerable_question_gives_no_pair_since_no_article_is_known_to_answer_it(tmp_path, cache_dir):
    assert "q-none" not in {p.qid for p in mine(bridge_set(tmp_path), tmp_path, cache_dir)}


def test_the_scorer_picks_the_hardest_negatives_one_article_each(tmp_path, cache_dir):
    folder = bridge_set(tmp_path)
    [dam] = [p for p in mine(folder, tmp_path / "a", cache_dir, 1, Prefers("dam")) if p.label == 0]
    [market] = [p for p in mine(folder, tmp_path / "b", cache_dir, 1, Prefers("market")) if p.label == 0]
    assert dam.passage in DAM and market.passage in MARKET
    two = [p for p in mine(folder, tmp_path / "c", cache_dir, 5, Prefers("dam")) if p.label == 0]
    assert len(two) == 2 and len({p.passage in DAM for p in two}) == 2, "one window per article"


def test_a_window_of_another_article_that_states_the_answer_is_never_a_negative(tmp_path, cache_dir):
    folder = bridge_set(tmp_path, answers=("40 billion rupiah", "Monday"))  # every paragraph says "Monday"
    got = mine(folder, tmp_path, cache_dir)
    assert not [p for p in got if p.label == 0]
    assert [p.kind for p in got] == ["read_gold"]


def test_held_back_weeks_are_neither_asked_nor_indexed(train_dir, tmp_path, cache_dir):
    got = mine(train_dir / "rtqa-train", tmp_path, cache_dir)
    assert {p.qid for p in got} == {"r-train"}
    assert not any("dev week" in p.passage for p in got)
    assert [p.passage for p in got if p.label == 0] == [
        "Persija fans gathered in Jakarta before the final match, police said, and the trains were full."]


@pytest.mark.model
def test_the_command_line_writes_the_mined_pairs_and_says_what_it_used(train_dir, tmp_path, cache_dir, capsys):
    out = tmp_path / "out" / "mined.jsonl"
    assert mined.main(["--train-dir", str(train_dir), "--out", str(out), "--scorer", "none", "--seed", "3",
                       "--cache-dir", str(cache_dir)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    said = capsys.readouterr().out
    assert {r["kind"] for r in rows} == {"gone", "read_gold"} and {r["label"] for r in rows} == {0, 1}
    assert f"{len(rows)} mined pairs" in said and "seed 3" in said and "scorer none" in said
