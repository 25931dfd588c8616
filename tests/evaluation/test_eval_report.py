"""report.html, compare pages and the feedback page: what each question's outcome is, what the page
holds, and — in a real headless Chromium — that its pictures render, its filters work, and it fetches
nothing."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import SAMPLES, make_settings, run_cli
from newsbot.index.evaluation import outcomes as eo
from newsbot.index.evaluation.report import MAX_BYTES, eval_page, feedback_page, load_run, ReportError
from support.report_runs import record, synthetic_run, write_run


# ------------------------------------------------------------------ outcomes, pure

def test_an_answer_holding_the_gold_answer_is_shown():
    assert eo.outcome(record(1)) == eo.SHOWN


def test_the_gold_article_cited_without_the_answer_is_a_wrong_sentence():
    r = record(1)
    r["metrics"]["answer_shown"] = 0.0
    assert eo.outcome(r) == eo.WRONG_SENTENCE


def test_no_gold_article_cited_is_a_wrong_article():
    assert eo.outcome(record(1, shown=False)) == eo.WRONG_ARTICLE


def test_abstaining_on_an_answerable_question_is_a_false_abstention():
    assert eo.outcome(record(1, abstained=True)) == eo.FALSE_ABSTENTION


def test_answering_a_question_no_article_answers_is_a_missed_abstention():
    assert eo.outcome(record(1, answerable=False)) == eo.MISSED_ABSTENTION
    assert eo.outcome(record(1, answerable=False, abstained=True)) == eo.RIGHT_ABSTENTION


def test_the_sweep_abstains_below_the_threshold_and_rules_abstain_at_any():
    low, high = record(1, probability=0.3), record(2, probability=0.8)
    assert (eo.abstains_at(low, 0.5), eo.abstains_at(high, 0.5)) == (True, False)
    ruled = record(3, answerable=False, abstained=True)
    ruled["judgment"]["threshold"] = None  # a rule decided: no threshold moves it
    assert eo.abstains_at(ruled, 0.0) and eo.abstains_at(ruled, 1.0)


def test_the_sweep_trades_false_abstention_for_abstain_recall_as_the_threshold_rises():
    records = [record(i, answerable=i % 2 == 0, probability=(i % 10) / 10) for i in range(40)]
    points = eo.threshold_sweep(records)
    assert points[0].abstain_recall == 0.0 and points[0].false_abstain == 0.0
    assert points[-1].abstain_recall == 1.0 and points[-1].false_abstain == 1.0
    recalls = [p.abstain_recall for p in points]
    assert recalls == sorted(recalls)


def test_hit_at_k_counts_the_first_gold_rank():
    records = [record(i) for i in range(4)]
    for r, rank in zip(records, (1, 3, None, 10)):
        r["gold_rank"] = rank
    hits = eo.hit_at_k(records)
    assert (hits[0], hits[2], hits[9]) == (0.25, 0.5, 0.75)


def test_changed_outcomes_are_grouped_by_what_changed_for_the_user():
    old = [record(1, shown=False), record(2), record(3, answerable=False), record(4)]
    new = [record(1), record(2, abstained=True), record(3, answerable=False, abstained=True), record(4)]
    groups = {c.id: c.group for c in eo.changes(old, new)}
    assert groups == {"q1": "newly shown", "q2": "newly lost", "q3": "newly abstained, rightly"}


# ------------------------------------------------------------------ the page, as text

def test_the_page_is_self_contained():
    html = eval_page(synthetic_run(30))
    assert "<svg" in html and 'id="data"' in html
    assert not re.search(r"<(script|img|iframe)[^>]+src=|<link\b|@import|url\((?!#)", html, re.I)
    assert "default-src 'none'" in html  # the page itself forbids every fetch


def test_markup_in_a_question_stays_text():
    run = synthetic_run(3)
    run.records[0]["question"] = "</script><script>alert(1)</script>"
    html = eval_page(run)
    data = html[html.index('id="data">'):]
    assert "</script><script>alert" not in data


def test_two_thousand_questions_with_long_passages_stay_under_ten_megabytes():
    run = synthetic_run(2000, configs=("default", "reader-on"), passage_chars=3000)
    html = eval_page(run)
    assert len(html.encode("utf-8")) < MAX_BYTES
    assert html.count('"o":') == 4000  # every question is still there, only its texts are cut


def test_a_folder_without_a_run_is_a_clear_error(tmp_path):
    with pytest.raises(ReportError, match="not an eval run"):
        load_run(tmp_path)


# ------------------------------------------------------------------ the command line

@pytest.fixture(scope="module")
def sample_runs(tmp_path_factory, cache_dir):
    """Two real runs of the sample set (`default`, and `dense`: another retrieval), and their comparison."""
    root = tmp_path_factory.mktemp("eval-report")
    settings = make_settings(data_dir=root / "data", cache_dir=cache_dir)
    out = {}
    for config in ("dense", "default"):
        result = run_cli(["eval", "--articles", str(SAMPLES / "articles.jsonl"), "--questions",
                          str(SAMPLES / "questions.jsonl"), "--config", config, "--out", str(root / config)], settings)
        assert result.returncode == 0, result.stderr.decode()
        out[config] = (root / config, result)
    result = run_cli(["eval", "--compare", str(root / "dense"), str(root / "default")], settings)
    assert result.returncode == 0, result.stderr.decode()
    out["compare"] = (root / "default" / "compare.html", result)
    return out


def test_eval_out_writes_report_html_beside_the_data(sample_runs):
    folder, result = sample_runs["default"]
    assert (folder / "report.html").is_file()
    assert f"report: {folder / 'report.html'}" in result.stderr.decode()
    records = [json.loads(line) for line in (folder / "answers.jsonl").read_text().splitlines()]
    assert all("lang" in r and "latency_ms" in r and "gold_rank" in r for r in records)


def test_compare_names_the_questions_whose_outcome_changed(sample_runs):
    page, result = sample_runs["compare"]
    assert str(page) in result.stdout.decode()
    html = page.read_text(encoding="utf-8")
    old, new = (load_run(sample_runs[c][0]) for c in ("dense", "default"))
    changed = eo.changes(old.records, new.records)
    assert f"Questions whose outcome changed: {len(changed)}" in html
    assert html.count('<div class="d ') >= 6  # every headline figure carries its change (or says unchanged)


def test_compare_of_a_folder_that_is_no_run_fails_clearly(settings, tmp_path):
    result = run_cli(["eval", "--compare", str(tmp_path), str(tmp_path)], settings)
    assert result.returncode == 2 and "is not an eval run" in result.stderr.decode()


def test_runs_with_no_config_in_common_are_refused_with_the_configs_named(settings, tmp_path):
    old = write_run(synthetic_run(5, configs=("dense",)), tmp_path / "old")
    new = write_run(synthetic_run(5, configs=("default", "reader-on")), tmp_path / "new")
    result = run_cli(["eval", "--compare", str(old), str(new)], settings)
    assert result.returncode == 2 and "nothing to compare" in result.stderr.decode()
    assert "dense" in result.stderr.decode() and not (new / "compare.html").exists()


def test_a_baseline_with_other_configs_is_refused_before_the_run(settings, tmp_path):
    old = write_run(synthetic_run(5, configs=("dense", "bm25")), tmp_path / "old")
    result = run_cli(["eval", "--articles", str(SAMPLES / "articles.jsonl"), "--questions", str(SAMPLES / "questions.jsonl"),
                      "--baseline", str(old), "--out", str(tmp_path / "new")], settings)
    assert result.returncode == 2 and "run the same --config in both" in result.stderr.decode()
    assert not (tmp_path / "new").exists()


def test_a_baseline_run_is_compared_in_the_new_report(sample_runs, settings, tmp_path):
    baseline, _ = sample_runs["dense"]
    out = tmp_path / "new"
    result = run_cli(["eval", "--articles", str(SAMPLES / "articles.jsonl"), "--questions",
                      str(SAMPLES / "questions.jsonl"), "--limit", "8", "--baseline", str(baseline), "--out", str(out)],
                     settings)
    assert result.returncode == 0, result.stderr.decode()
    assert "newsbot eval — compared" in (out / "report.html").read_text(encoding="utf-8")


def test_feedback_out_writes_the_votes_page(settings, tmp_path):
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    rows = [{"time": "2026-11-30T10:00:00+00:00", "vote": "down", "namespace": "guild-1", "question": "who won?",
             "answer": "The council won. [1]", "abstained": False, "user": "u1",
             "citations": [{"n": 1, "article_id": "a1", "title": "Vote", "quote": "The council won."}]},
            {"time": "2026-12-01T10:00:00+00:00", "vote": "up", "namespace": "guild-1", "question": "when?",
             "answer": "On Monday. [1]", "abstained": False, "user": "u2", "citations": []}]
    (settings.data_dir / "feedback.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = run_cli(["eval", "--feedback", "--out", str(tmp_path / "fb")], settings)
    assert result.returncode == 0, result.stderr.decode()
    html = (tmp_path / "fb" / "feedback.html").read_text(encoding="utf-8")
    assert "The council won." in html and "<svg" in html


def test_progress_in_a_log_is_lines_not_a_redrawn_bar(settings, tmp_path):
    articles = tmp_path / "many.jsonl"
    articles.write_text("".join(json.dumps({"title": f"Council vote {i}", "text": f"The council met on day {i}. " * 5,
                                            "url": f"https://example.com/{i}"}) + "\n" for i in range(12)),
                        encoding="utf-8")
    result = run_cli(["add", "--jsonl", str(articles)], settings)
    err = result.stderr.decode()
    assert result.returncode == 0, err
    assert "\r" not in err and re.search(r"adding: 12/12 articles in \d+ s", err)


def test_progress_lines_come_at_most_every_interval():
    import io

    from newsbot.index.cli.progress import progress

    now = [0.0]
    out = io.StringIO()
    bar = progress(total=1000, desc="asking", unit="question", stream=out, interval_s=5.0, clock=lambda: now[0])
    for _ in range(1000):
        now[0] += 0.012  # 12 s in all
        bar.update(1)
    bar.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and lines[0].startswith("asking: 417/1000 questions (42%)")
    assert lines[-1] == "asking: 1000/1000 questions in 12 s"


# ------------------------------------------------------------------ in a real browser

def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    path = _chromium()
    if path is None:
        pytest.skip("no Chromium here: `apt-get install chromium` (CI's set-up does; it could not here)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield b
        b.close()


def open_page(browser, path: Path, width: int, height: int = 900):
    """The page as a person opens it, with every request recorded and every non-file one refused."""
    page = browser.new_page(viewport={"width": width, "height": height})
    requests, errors = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route(re.compile(r"^(?!file:).*"), lambda route: route.abort())
    page.goto(path.resolve().as_uri())
    page.wait_for_selector("body[data-ready='1']")
    return page, requests, errors


def visible_rows(page) -> int:
    return page.locator("#rows tr.row").count()


@pytest.mark.parametrize("width", [390, 1280], ids=["phone", "laptop"])
def test_the_report_renders_its_pictures_and_fetches_nothing(browser, sample_runs, width, tmp_path):
    folder, _ = sample_runs["default"]
    page, requests, errors = open_page(browser, folder / "report.html", width)
    boxes = page.eval_on_selector_all("figure svg", "els => els.map(e => [e.getBoundingClientRect().width, "
                                      "e.getBoundingClientRect().height, e.querySelectorAll('path').length])")
    assert len(boxes) >= 4  # scores, threshold sweep, hit@k, latency
    assert all(w > 200 and h > 100 and paths > 5 for w, h, paths in boxes)
    assert all(w <= width for w, _, _ in boxes)  # fits the screen: nothing to scroll sideways
    assert requests == [(folder / "report.html").resolve().as_uri()] and errors == []
    shot = tmp_path / f"report-{width}px.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 10_000
    page.close()


def test_the_filters_show_exactly_the_questions_of_an_outcome_and_language(browser, sample_runs):
    folder, _ = sample_runs["default"]
    records = load_run(folder).records
    page, _, _ = open_page(browser, folder / "report.html", 1280)
    assert visible_rows(page) == len(records)
    for outcome in {eo.outcome(r) for r in records}:
        page.select_option("#filter-o select", outcome)
        assert visible_rows(page) == sum(1 for r in records if eo.outcome(r) == outcome), outcome
    page.select_option("#filter-o select", "")
    page.select_option("#filter-lang select", "id")
    assert visible_rows(page) == sum(1 for r in records if r["lang"] == "id")
    word = max(next(r for r in records if r["lang"] == "id")["question"].split(), key=len).lower()
    page.fill("#search", word)
    assert visible_rows(page) == sum(1 for r in records if r["lang"] == "id" and word in r["question"].lower())
    page.close()


def test_a_row_opens_to_what_the_user_read_and_why(browser, sample_runs):
    folder, _ = sample_runs["default"]
    first = load_run(folder).records[0]
    page, _, _ = open_page(browser, folder / "report.html", 390)
    page.locator("#rows tr.row").first.click()
    detail = page.locator("#rows tr.open").inner_text()
    assert "Answer as the user read it" in detail and first["answer"][:40] in detail
    assert "Passages" in detail and "Answerability judgment" in detail and "probability" in detail
    page.locator("#rows tr.row").first.click()
    assert page.locator("#rows tr.open").count() == 0
    page.close()


def test_the_compare_page_filters_by_change(browser, sample_runs):
    page_path, _ = sample_runs["compare"]
    old, new = (load_run(sample_runs[c][0]) for c in ("dense", "default"))
    changed = eo.changes(old.records, new.records)
    page, requests, errors = open_page(browser, page_path, 1280)
    assert errors == [] and len(requests) == 1
    unchanged = len(new.records) - len(changed)
    page.select_option("#filter-g select", "unchanged")
    assert visible_rows(page) == unchanged
    page.close()


def test_two_thousand_questions_open_in_the_browser(browser, tmp_path):
    """The size bound's page opens and draws its first rows (the open time is measured in
    benchmarks/bench_report.py, not asserted here)."""
    path = tmp_path / "big.html"
    path.write_text(eval_page(synthetic_run(2000, configs=("default", "reader-on"), passage_chars=3000)), encoding="utf-8")
    page, requests, errors = open_page(browser, path, 1280)
    assert errors == [] and len(requests) == 1
    assert visible_rows(page) == 200 and "of 4000" in page.inner_text("#count")
    page.click("#more")
    assert visible_rows(page) == 4000
    page.close()


def test_the_feedback_page_lists_the_questions_voted_down(browser, tmp_path):
    rows = [{"time": f"2026-11-{d:02d}T10:00:00+00:00", "vote": "down" if d % 3 == 0 else "up", "namespace": "g",
             "question": f"question {d}?", "answer": f"answer {d}", "abstained": False, "user": f"u{d}", "citations": []}
            for d in range(1, 21)]
    path = tmp_path / "feedback.html"
    path.write_text(feedback_page(rows, "feedback.jsonl"), encoding="utf-8")
    page, requests, errors = open_page(browser, path, 390)
    assert errors == [] and len(requests) == 1
    assert visible_rows(page) == 6  # voted down, selected when the page opens
    page.locator("#rows tr.row").first.click()
    assert "What was shown" in page.locator("#rows tr.open").inner_text()
    page.close()
