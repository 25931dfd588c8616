"""`newsbot eval`: metrics on our own question set, errors counted, feedback summarised, shared sets."""
import json

import pytest

from conftest import SAMPLES, SHARED_DATA, needs_shared, run_cli
from newsbot.index.evaluation.metrics import METRIC_KEYS, Question, aggregate, error_row, score_question
from newsbot.index.records import Answer, Passage


def shared_subset(tmp_path, name: str, questions: int, others: int):
    """The first `questions` of a shared set, over their gold articles and the first `others` of the rest:
    a clone's first run embeds a third of the articles the whole set would need (the whole sets' figures
    are `benchmarks/reader_evals.sh`'s)."""
    folder = SHARED_DATA / name
    asked = [json.loads(line) for line in (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines()][:questions]
    gold = {a for q in asked for a in q["article_ids"]}
    articles = [json.loads(line) for line in (folder / "articles.jsonl").read_text(encoding="utf-8").splitlines()]
    chosen = [a for a in articles if a["id"] in gold] + [a for a in articles if a["id"] not in gold][:others]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(a) + "\n" for a in chosen), encoding="utf-8")
    (tmp_path / "q.jsonl").write_text("".join(json.dumps(q) + "\n" for q in asked), encoding="utf-8")
    return tmp_path / "a.jsonl", tmp_path / "q.jsonl"


def eval_report(settings, tmp_path, articles, questions, *extra):
    out = tmp_path / "report"
    result = run_cli(["eval", "--articles", str(articles), "--questions", str(questions), "--out", str(out), *extra], settings)
    assert result.returncode in (0, 1), result.stderr.decode()
    return json.loads((out / "report.json").read_text(encoding="utf-8")), result


@pytest.mark.model
def test_dated_questions_are_answered_from_the_articles_of_their_time(settings, tmp_path):
    """samples/dated_questions.jsonl: 18 questions asked on a given day ("asked_on") with "last week",
    "kemarin", "since Monday"...; 3 of them name a time no article is from. Measured: hit@1 1.000,
    answer_shown 0.933 and abstain_recall 1.000 with the dates, 0.867, 0.667 and 0.000 without."""
    report, _ = eval_report(settings, tmp_path, SAMPLES / "articles.jsonl", SAMPLES / "dated_questions.jsonl")
    m = report["configs"][0]["metrics"]
    assert m["n_questions"] == 18 and m["n_errors"] == 0 and m["citation_validity"] == 1.0
    assert m["hit@1"] >= 0.9 and m["abstain_recall"] == 1.0


@pytest.mark.model
def test_own_question_set_meets_the_quality_bar(settings, tmp_path):
    report, result = eval_report(settings, tmp_path, SAMPLES / "articles.jsonl", SAMPLES / "questions.jsonl",
                                 "--config", "default,dense")
    assert result.returncode == 0
    [default, dense] = report["configs"]
    assert (default["name"], dense["name"]) == ("default", "dense")
    m = default["metrics"]
    assert list(m) == list(METRIC_KEYS)
    assert m["citation_validity"] == 1.0
    assert m["hit@5"] >= 0.9 and m["answer@5"] >= 0.9
    # 18 of the 20 unanswerable questions abstain (the other 2 are near-topic and name nothing the
    # articles lack), 1 of the 30 answerable ones does: the 0.9 / 0.9 target.
    assert m["abstain_recall"] >= 0.9 and m["abstain_precision"] >= 0.9 and m["false_abstain"] <= 0.05
    assert m["n_questions"] == 50 and m["n_errors"] == 0
    assert set(default["by_language"]) == {"en", "id"}
    assert "| default |" in (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert "| default |" in result.stdout.decode()


def test_a_second_run_embeds_nothing(settings, tmp_path):
    eval_report(settings, tmp_path, SAMPLES / "articles.jsonl", SAMPLES / "questions.jsonl", "--limit", "2")
    report, _ = eval_report(settings, tmp_path, SAMPLES / "articles.jsonl", SAMPLES / "questions.jsonl", "--limit", "2")
    assert report["indexes"][0]["embedded"] == 0 and report["indexes"][0]["chunks"] > 30


def test_a_question_that_errors_is_counted_not_dropped(settings, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"id": "ok", "question": "What did Zelenskyy say about the minerals deal?", "lang": "en",
                    "answers": ["tidak siap"], "article_ids": ["seed-trump-putin-summit"], "evidence": []}) + "\n"
        + json.dumps({"id": "bad", "question": "   ", "lang": "en", "answers": [], "article_ids": ["seed-trump-putin-summit"],
                      "evidence": []}) + "\n", encoding="utf-8")
    report, result = eval_report(settings, tmp_path, SAMPLES / "articles.jsonl", questions)
    m = report["configs"][0]["metrics"]
    assert m["n_questions"] == 2 and m["n_errors"] == 1
    assert m["hit@1"] == 0.5, "the failed question counts as a miss"
    assert report["configs"][0]["errors"][0]["question"] == "bad"
    assert result.returncode == 1


def test_unknown_config_is_a_clear_error(settings, tmp_path):
    result = run_cli(["eval", "--articles", str(SAMPLES / "articles.jsonl"), "--questions", str(SAMPLES / "questions.jsonl"),
                      "--config", "magic"], settings)
    assert result.returncode == 1 and "unknown eval config 'magic'" in result.stderr.decode()


def test_feedback_is_summarised_and_exported(settings, tmp_path):
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    rows = [
        {"vote": "up", "namespace": "guild-1", "question": "q1", "citations": [{"article_id": "a1"}], "user": "u1"},
        {"vote": "down", "namespace": "guild-1", "question": "q2", "citations": [{"article_id": "a2"}], "user": "u2"},
        {"vote": "down", "namespace": "guild-2", "question": "q2", "citations": [], "user": "u2"},
    ]
    (settings.data_dir / "feedback.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    export = tmp_path / "feedback-questions.jsonl"
    result = run_cli(["eval", "--feedback", "--json", "--export-questions", str(export)], settings)
    summary = json.loads(result.stdout)
    assert (summary["total"], summary["up"], summary["down"], summary["users"]) == (3, 1, 2, 2)
    assert summary["down_questions"] == [["q2", 2]]
    exported = [json.loads(line) for line in export.read_text().splitlines()]
    assert exported[0]["article_ids"] == ["a1"] and exported[1]["article_ids"] == []


def test_metrics_of_a_ranked_answer():
    q = Question("q", "x", "en", answers=["needle"], article_ids=["b", "z"], evidence=["the needle"])
    passages = [Passage(chunk_id=f"{a}#0", article_id=a, text=t, start=0, end=1, score=1.0)
                for a, t in (("a", "hay"), ("b", "the Needle here"), ("a", "hay"), ("z", "z"))]
    row = score_question(q, Answer("x", "", False, [], passages))
    assert (row["hit@1"], row["hit@5"], row["mrr@10"], row["recall@10"]) == (0.0, 1.0, 0.5, 1.0)
    assert row["answer@5"] == 1.0 and row["evidence@5"] == 1.0 and row["answer_cited"] == 0.0
    agg = aggregate([row, error_row(q, "boom")])
    assert agg["hit@5"] == 0.5 and agg["n_errors"] == 1 and agg["n_questions"] == 2


# ------------------------------------------------------------------ the shared evaluation sets

@needs_shared
@pytest.mark.model
def test_shared_seed_set_ranks_the_seed_first_and_cites_it(settings, tmp_path):
    report, _ = eval_report(settings, tmp_path, SHARED_DATA / "seed" / "articles.jsonl", SHARED_DATA / "seed" / "questions.jsonl")
    m = report["configs"][0]["metrics"]
    assert m["hit@1"] == 1.0 and m["answer_cited"] == 1.0 and m["citation_validity"] == 1.0


@needs_shared
@pytest.mark.parametrize("name, limit, floors", [
    # measured: 0.970 / 0.987 (the whole set's 1,921 articles: 0.953 / 0.973)
    ("idmt-dev", 300, {"hit@1": 0.93, "hit@5": 0.96}),
    # measured: 0.847 / 0.973 / 0.987 / 0.887 (among the whole set's 1,369: 0.753 / 0.953 / 0.967 / 0.873)
    ("facqa-dev", 150, {"hit@1": 0.78, "hit@5": 0.93, "answer@5": 0.95, "answer_shown": 0.83}),
])
@pytest.mark.model
def test_shared_set_meets_its_floor(settings, tmp_path, name, limit, floors):
    """The first questions of a dev set, over their gold articles and 300 others of the set."""
    articles, questions = shared_subset(tmp_path, name, limit, 300)
    report, _ = eval_report(settings, tmp_path, articles, questions)
    m = report["configs"][0]["metrics"]
    assert m["citation_validity"] == 1.0 and m["n_errors"] == 0
    for key, floor in floors.items():
        assert m[key] >= floor, (key, m[key])


@needs_shared
@pytest.mark.model
def test_shared_rtqa_subset_meets_its_floor(settings, tmp_path):
    """Full news articles: the gold articles of the first 20 questions among 20 other articles of the set.
    Measured: hit@1 0.90, hit@5 1.00, answer@5 1.00, the answer shown 0.944 (among 40 others: 0.80, 1.00,
    1.00, 0.944)."""
    report, _ = eval_report(settings, tmp_path, *shared_subset(tmp_path, "rtqa-dev", 20, 20))
    m = report["configs"][0]["metrics"]
    assert m["citation_validity"] == 1.0 and m["hit@5"] >= 0.9 and m["answer@5"] >= 0.85
    assert m["hit@1"] >= 0.75 and m["answer_shown"] >= 0.85


@needs_shared
@pytest.mark.model
def test_dated_questions_over_real_news_find_the_weeks_article_only_with_the_day_asked(settings, tmp_path):
    """samples/dated_rtqa_questions.jsonl: gas prices, monkeypox counts and inflation figures that
    change from week to week in rtqa-dev, asked "this week", "last week", "on Wednesday" on given
    days; 4 ask about a time no article on the topic is from. Here among every June-August article
    on those topics and 30 others (the whole set: hit@1 1.000 with the days, 0.643 without)."""
    questions = [json.loads(line) for line in (SAMPLES / "dated_rtqa_questions.jsonl").read_text("utf-8").splitlines()]
    gold = {a for q in questions for a in q["article_ids"]}
    articles = [json.loads(line) for line in (SHARED_DATA / "rtqa-dev" / "articles.jsonl").read_text("utf-8").splitlines()]
    topical = [a for a in articles if a["id"] in gold or any(w in a["text"][:1500].lower()
                                                             for w in ("gas price", "monkeypox", "inflation"))]
    others = [a for a in articles if a not in topical and (a["published_at"] or "") >= "2022-06"][:30]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(a) + "\n" for a in topical + others), encoding="utf-8")
    (tmp_path / "undated.jsonl").write_text("".join(json.dumps({k: v for k, v in q.items() if k != "asked_on"}) + "\n"
                                                    for q in questions), encoding="utf-8")
    dated, _ = eval_report(settings, tmp_path / "dated", tmp_path / "a.jsonl", SAMPLES / "dated_rtqa_questions.jsonl")
    undated, _ = eval_report(settings, tmp_path / "undated", tmp_path / "a.jsonl", tmp_path / "undated.jsonl")
    with_days, without = dated["configs"][0]["metrics"], undated["configs"][0]["metrics"]
    assert with_days["n_errors"] == 0 and with_days["citation_validity"] == 1.0
    assert with_days["hit@1"] >= 0.9 and with_days["abstain_recall"] >= 0.5 and with_days["false_abstain"] <= 0.1
    assert without["hit@1"] <= with_days["hit@1"] - 0.2 and without["abstain_recall"] == 0.0, without
