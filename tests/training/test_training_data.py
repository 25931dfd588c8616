"""The reader's training data (issue #26): sentence windows, the week split that keeps the RGB dev
set out of training, and training pairs with their hard negatives, on a small set made here."""
from __future__ import annotations

import json
import pytest

from conftest import SHARED_DATA, TRAIN_PARAGRAPH as LONG, write_set
from training import pairs, rgb_set
from training.splits import held_back, week_of
from training.windows import MAX_WINDOW_CHARS, answering_window, closest_window, windows



def test_windows_are_consecutive_sentences_within_the_cap():
    got = windows(LONG, max_chars=200)
    assert got and all(len(w) <= 200 for w in got)
    assert all(w in LONG for w in got), "verbatim"


def test_a_sentence_longer_than_the_cap_is_cut_at_a_space():
    [only, *_] = windows("word " * 400, max_chars=100)
    assert len(only) <= 100 and not only.endswith(" ")


def test_the_answering_window_states_the_answer_and_the_closest_avoids_it():
    assert "40 billion rupiah" in answering_window(LONG, ["40 Billion Rupiah"])
    assert answering_window(LONG, ["a tunnel"]) is None
    negative = closest_window(LONG, "How much did the bridge cost to build?", avoid=["40 billion rupiah"])
    assert negative and "40 billion" not in negative


def test_the_split_is_by_week_and_keeps_one_week_in_five():
    days = [f"2024-{m:02d}-{d:02d}" for m in range(1, 13) for d in (3, 17)]
    assert all(held_back(a) == held_back(b) for a, b in zip(days, days[1:]) if week_of(a) == week_of(b))
    share = sum(held_back(f"{y}-{m:02d}-15") for y in (2023, 2024, 2025) for m in range(1, 13)) / 36
    assert 0.05 < share < 0.4
    assert held_back("") is False


def test_pairs_have_a_positive_and_each_kind_of_hard_negative_with_the_right_labels(train_dir):
    built = pairs.build(train_dir, per_set=100, seed=1)
    kinds = {(p.qid, p.kind): p for p in built}
    assert kinds[("q-cost", "gold")].label == 1 and "40 billion rupiah" in kinds[("q-cost", "gold")].passage
    assert kinds[("q-unans", "written_for")].label == 0
    assert kinds[("r-train", "near_topic")].label == 0 and "Persija fans" in kinds[("r-train", "near_topic")].passage
    assert all("40 billion" not in p.passage for p in built if p.qid == "q-cost" and p.label == 0)


def test_a_sibling_window_of_the_gold_passage_that_does_not_answer_is_a_negative(tmp_path):
    gold = ("The city opened the new bridge over the Brantas on Monday after four years of building, the mayor said. "
            * 4 + "Traffic on the old road fell by half. " * 8 + "The bridge cost 40 billion rupiah, officials said.")
    write_set(tmp_path / "tydiqa-id-train", [{"id": "p", "text": gold}], [
        {"id": "q", "question": "How much did the new bridge over the Brantas cost?", "answers": ["40 billion rupiah"],
         "article_ids": ["p"]}])
    [sibling] = [p for p in pairs.build(tmp_path, per_set=10, seed=1) if p.kind == "sibling"]
    assert sibling.qid == "q" and sibling.label == 0
    assert sibling.passage in gold and "Brantas" in sibling.passage and "40 billion" not in sibling.passage


def test_off_topic_windows_come_from_any_set_and_share_no_word_with_the_question(train_dir):
    from newsbot.index.text.words import content_terms

    built = pairs.build(train_dir, per_set=100, seed=1, off_topic_share=1.0)
    off = [p for p in built if p.kind == "off_topic"]
    assert {p.qid for p in off} == {p.qid for p in built if p.kind != "off_topic"}, "one for every question"
    assert all(p.label == 0 and not set(content_terms(p.question)) & set(content_terms(p.passage)) for p in off)
    assert not [p for p in pairs.build(train_dir, per_set=100, seed=1, off_topic_share=0.0) if p.kind == "off_topic"]


def test_held_back_weeks_give_no_pair_neither_question_nor_article(train_dir):
    built = pairs.build(train_dir, per_set=100, seed=1, off_topic_share=1.0)
    assert "r-dev" not in {p.qid for p in built}
    assert not any("dev week" in p.passage for p in built)


def test_pairs_are_the_same_for_a_seed(train_dir):
    assert pairs.build(train_dir, 100, seed=5) == pairs.build(train_dir, 100, seed=5)


def test_the_rgb_set_holds_the_held_back_questions_with_their_week_and_no_other(train_dir):
    articles, questions = rgb_set.build(train_dir)
    assert [q["id"] for q in questions] == ["r-dev"] and questions[0]["article_ids"] == ["n-2"]
    assert {a["id"] for a in articles} == {"n-2", "n-3", "n-4"}


def test_the_command_line_writes_the_pairs_and_says_what_it_used(train_dir, tmp_path, capsys):
    out = tmp_path / "out" / "pairs.jsonl"
    assert pairs.main(["--train-dir", str(train_dir), "--out", str(out), "--seed", "3"]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    said = capsys.readouterr().out
    assert rows and f"{len(rows)} pairs" in said and "seed 3" in said and "idkmrc-train" in said


def test_one_set_can_be_sampled_more_than_the_others_and_a_wrong_name_is_refused(train_dir, tmp_path, capsys):
    out = tmp_path / "pairs.jsonl"
    assert pairs.main(["--train-dir", str(train_dir), "--out", str(out), "--per-set", "1",
                       "--set-size", "rtqa-train=50"]) == 0
    assert "'rtqa-train': 50" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        pairs.main(["--train-dir", str(train_dir), "--out", str(out), "--set-size", "nosuch=5"])


@pytest.mark.skipif(not (SHARED_DATA / "train").is_dir(), reason="../shared/data/train is absent (a user's clone)")
def test_on_the_real_training_sets_every_positive_states_an_answer_and_windows_stay_short():
    from newsbot.index.text.words import normalize_for_match

    built = pairs.build(SHARED_DATA / "train", per_set=40, seed=13)
    questions = {}
    for name in pairs.SETS:
        for q in pairs.read_jsonl(SHARED_DATA / "train" / name / "questions.jsonl"):
            questions[q["id"]] = q
    assert {p.kind for p in built} == {"gold", "written_for", "near_topic", "lexical", "sibling", "off_topic"}
    for p in built:
        assert len(p.passage) <= MAX_WINDOW_CHARS
        if p.label:
            assert any(normalize_for_match(a) in normalize_for_match(p.passage) for a in questions[p.qid]["answers"])
    assert not any(held_back(questions[p.qid].get("asked_on", "")) for p in built if p.source == "rtqa-train")
