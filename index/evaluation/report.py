"""report.html: an eval run (report.json + answers.jsonl) as one page a person reads, alone or against a
baseline run, and the bot's 👍/👎 feedback the same way.

What the page shows comes from eval_outcomes (pure figures) and report_figures (pictures); this
module decides what goes where and what a row opens to.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from newsbot.index.evaluation import figures
from newsbot.index.evaluation import outcomes as eo
from newsbot.index.evaluation.metrics import METRIC_KEYS, format_metric
from newsbot.index.evaluation.page import MAX_BYTES, Card, Table, cards, esc, figure, page, question_section, table


class ReportError(Exception):
    """A run folder that cannot be read as an eval run (said in words a user can act on)."""


@dataclass(frozen=True)
class Run:
    label: str  # where it came from, for the page
    report: dict  # report.json
    records: list[dict]  # answers.jsonl

    def names(self) -> list[str]:
        names = [c["name"] for c in self.report.get("configs", [])]
        return names + [n for n in dict.fromkeys(r.get("config") for r in self.records) if n and n not in names]

    def records_of(self, name: str) -> list[dict]:
        return [r for r in self.records if r.get("config") == name]

    def config(self, name: str) -> dict:
        return next((c for c in self.report.get("configs", []) if c["name"] == name), {})


def load_run(folder: str | Path) -> Run:
    folder = Path(folder)
    report_path, answers_path = folder / "report.json", folder / "answers.jsonl"
    if not report_path.is_file() or not answers_path.is_file():
        raise ReportError(f"{folder} is not an eval run: it needs report.json and answers.jsonl "
                          "(newsbot eval --out DIR writes them)")
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
        records = [json.loads(line) for line in answers_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (ValueError, UnicodeDecodeError) as exc:
        raise ReportError(f"{folder}: damaged run files ({exc})") from exc
    return Run(str(folder), report, records)


def write_page(text: str, path: Path) -> Path:
    """Written beside and renamed into place: an interrupted write never leaves half a page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


# ------------------------------------------------------------------ figures shown as large numbers

# (metric, label, higher is better, percentage)
HEADLINE = (("answer_shown", "answer shown (holds a gold answer)", True, True),
            ("abstain_recall", "abstain recall (unanswerable withheld)", True, True),
            ("false_abstain", "false abstention (answerable withheld)", False, True),
            ("hit@5", "hit@5 (gold article in the first 5)", True, True),
            ("citation_validity", "valid citations", True, True),
            ("latency_p95_ms", "p95 latency", False, False))


def _value(value, percent: bool) -> str:
    value = eo.finite(value)
    if value is None:
        return "–"
    return f"{100 * value:.1f}%" if percent else f"{value:.0f} ms"


def _delta(new, old, higher_better: bool, percent: bool) -> tuple[str, str]:
    new, old = eo.finite(new), eo.finite(old)
    if new is None or old is None:
        return "", ""
    change = new - old
    if abs(change) < (0.0005 if percent else 0.5):
        return "unchanged", "same"
    text = f"{100 * change:+.1f} pts" if percent else f"{change:+.0f} ms"
    return f"{text} (was {_value(old, percent)})", "up" if (change > 0) == higher_better else "down"


def headline_cards(metrics: dict, old: dict | None = None, small: bool = False) -> str:
    items = []
    for key, label, higher, percent in HEADLINE:
        delta, direction = _delta(metrics.get(key), old.get(key), higher, percent) if old else ("", "")
        items.append(Card(label.split(" (")[0] if small else label, _value(metrics.get(key), percent), delta,
                          direction))
    return cards(items, small=small)


def language_cards(config: dict, old: dict | None = None) -> str:
    """The headline figures again for each question language, smaller."""
    out = []
    before = (old or {}).get("by_language") or {}
    for lang, m in (config.get("by_language") or {}).items():
        out.append(f"<h4>{esc(lang)} · {format_metric('n_questions', m.get('n_questions'))} questions</h4>"
                   + headline_cards(m, before.get(lang) if old else None, small=True))
    return "".join(out)


def full_table(run: Run) -> str:
    rows = []
    for name in run.names():
        c = run.config(name)
        rows.append([name] + [format_metric(k, (c.get("metrics") or {}).get(k)) for k in METRIC_KEYS])
        for lang, m in (c.get("by_language") or {}).items():
            rows.append([f"↳ {lang}"] + [format_metric(k, m.get(k)) for k in METRIC_KEYS])
    return table(["config", *METRIC_KEYS], rows)


# ------------------------------------------------------------------ what a row opens to

# Cut levels (passages, characters per passage, characters of answer): the first that fits is used.
CUTS = ((5, 320, 700), (3, 200, 400), (2, 120, 240), (1, 80, 160), (0, 0, 120))


def _cut(text, n: int) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= n else text[: max(0, n - 1)].rstrip() + "…"


def detail(record: dict, cut: tuple[int, int, int], before: dict | None = None) -> list[dict]:
    n_passages, passage_chars, answer_chars = cut
    gold = set(record.get("gold_articles") or [])
    sections: list[dict] = []
    if "error" in record:
        sections.append({"h": "Error", "text": record["error"]})
    else:
        said = "abstained" if record.get("abstained") else "answered"
        reason = f", reason {record['reason']}" if record.get("reason") else ""
        sections.append({"h": f"Answer as the user read it ({said}{reason})",
                         "text": _cut(record.get("answer"), answer_chars)})
    sections.append({"h": "Gold answers",
                     "list": [_cut(a, 200) for a in record.get("gold_answers") or []] or ["(none given)"]})
    rank = record.get("gold_rank")
    where = (f" (the first retrieved at rank {rank})" if rank
             else " (none among the first 10 retrieved)" if gold else "")
    sections.append({"h": "Gold articles" + where,
                     "list": list(record.get("gold_articles") or []) or ["none: no indexed article answers it"]})
    if record.get("citations"):
        sections.append({"h": "Citations", "list": [
            f"[{c.get('n')}] {'★ ' if c.get('article_id') in gold else ''}{c.get('title') or c.get('article_id')}"
            f" — {c.get('source') or ''} {c.get('published_at') or ''} {c.get('url') or ''}: "
            f"“{_cut(c.get('quote'), 240)}”"
            for c in record["citations"]]})
    passages = (record.get("passages") or [])[:n_passages]
    if passages:
        sections.append({"h": "Passages (★ a gold article)", "list": [
            f"{'★ ' if p.get('article_id') in gold else ''}score {p.get('score', 0):.3f} (relevance "
            f"{p.get('relevance', 0):.3f}, dense {p.get('dense', 0):.3f}) {p.get('title') or p.get('article_id')}: "
            f"{_cut(p.get('text'), passage_chars)}" for p in passages]})
    j = record.get("judgment")
    if j:
        threshold = "a rule decided" if j.get("threshold") is None else f"{j['threshold']:.3f}"
        kv = [["answerable", str(j.get("answerable"))], ["reason", j.get("reason") or "–"],
              ["probability", f"{j.get('probability', 0):.3f}"], ["threshold", threshold]]
        kv += [[k, f"{v:.3f}" if isinstance(v, (int, float)) else str(v)] for k, v in (j.get("features") or {}).items()]
        if j.get("names"):
            kv.append(["names no article has", ", ".join(j["names"])])
        if j.get("years"):
            kv.append(["years asked", ", ".join(j["years"])])
        sections.append({"h": "Answerability judgment", "kv": kv})
    if record.get("latency_ms") is not None:
        sections.append({"h": "Latency", "text": f"{record['latency_ms']:.0f} ms"})
    if before is not None:
        sections.append({"h": f"Before: {eo.outcome(before)}",
                         "text": before.get("error") or _cut(before.get("answer"), answer_chars)})
    return sections


def question_rows(run: Run, baseline: Run | None, pairs: dict[str, str], cut) -> list[dict]:
    rows = []
    for name in run.names():
        old = {r["id"]: r for r in baseline.records_of(pairs[name])} if baseline and name in pairs else None
        for r in run.records_of(name):
            row = {"c": name, "id": r.get("id"), "lang": eo.language(r), "o": eo.outcome(r), "q": r.get("question", ""),
                   "ms": "" if r.get("latency_ms") is None else f"{r['latency_ms']:.0f}"}
            before = old.get(r.get("id")) if old is not None else None
            if baseline is not None and old is None:
                row["b"], row["g"] = "–", "not compared"
            elif old is not None:
                row["b"] = eo.outcome(before) if before else "–"
                row["g"] = ("new question" if before is None else
                            "unchanged" if row["b"] == row["o"] else eo.change_group(row["b"], row["o"]))
            changed = before is not None and row.get("g") != "unchanged"
            row["d"] = detail(r, cut, before if changed else None)
            rows.append(row)
    return rows


def question_table(run: Run, baseline: Run | None, pairs: dict[str, str], budget: int) -> Table:
    langs = sorted({eo.language(r) for r in run.records})
    present = Counter(eo.outcome(r) for r in run.records)
    filters: list[dict] = [{"key": "o", "label": "outcome", "values": [[o] for o in eo.OUTCOMES if present[o]]},
               {"key": "lang", "label": "language", "values": [[lang] for lang in langs]}]
    columns: list[dict] = [{"key": "o", "label": "outcome", "badge": True}, {"key": "lang", "label": "lang"}]
    if len(run.names()) > 1:
        filters.append({"key": "c", "label": "config", "values": [[n] for n in run.names()]})
        columns.append({"key": "c", "label": "config", "cls": "wide"})
    if baseline is not None:
        columns.append({"key": "b", "label": "before", "badge": True, "cls": "wide"})
    columns += [{"key": "q", "label": "question"}, {"key": "ms", "label": "ms", "cls": "n wide"}]
    data = Table(columns, filters)
    for cut in CUTS:
        data.rows = question_rows(run, baseline, pairs, cut)
        if baseline is not None:
            seen = Counter(r["g"] for r in data.rows)
            order = [*eo.CHANGE_GROUPS, "new question", "unchanged", "not compared"]
            data.filters = filters + [{"key": "g", "label": "change", "values": [[g] for g in order if seen[g]]}]
        if len(data.json().encode("utf-8")) <= budget:
            break
    return data


# ------------------------------------------------------------------ the pages

def pair_configs(run: Run, baseline: Run | None) -> dict[str, str]:
    """Which baseline configuration each configuration is compared with: the one of the same name, or,
    when each run has one, that one (a run of `default` against a run of `reader-off`)."""
    if baseline is None:
        return {}
    pairs = {n: n for n in run.names() if n in baseline.names()}
    if not pairs and len(run.names()) == 1 and len(baseline.names()) == 1:
        pairs = {run.names()[0]: baseline.names()[0]}
    return pairs


def _sweep_curve(records: list[dict]) -> list[tuple[float, float, float]]:
    return [(p.threshold, p.false_abstain, p.abstain_recall) for p in eo.threshold_sweep(records)
            if p.false_abstain is not None and p.abstain_recall is not None]


def _scores(records: list[dict]) -> tuple[list[float], list[float]]:
    answerable: list[float] = []
    unanswerable: list[float] = []
    for r in records:
        s = eo.judged_score(r)
        if s is not None:
            (answerable if r.get("gold_articles") else unanswerable).append(s)
    return answerable, unanswerable


def sweep_table(records: list[dict]) -> str:
    points = {round(p.threshold, 2): p for p in eo.threshold_sweep(records)}
    own = eo.operating_thresholds(records)
    best = eo.best_threshold(list(points.values()))
    marks = {round(t, 2): f"this run ({g})" for g, t in own.items()}
    if best is not None:
        marks.setdefault(round(best.threshold, 2), "")
        marks[round(best.threshold,
                    2)] = (marks[round(best.threshold, 2)] + "; " if marks[round(best.threshold, 2)] else "") \
            + "most abstain recall within 5% false abstention"
    wanted = sorted({0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7, *marks})
    rows = [[f"{t:.2f}", _value(points[t].abstain_recall, True), _value(points[t].false_abstain, True),
             _value(points[t].shown, True), marks.get(t, "")] for t in wanted if t in points]
    return table(["NEWSBOT_ABSTAIN_THRESHOLD", "abstain recall", "false abstention", "answer shown", ""], rows)


def eval_page(run: Run, baseline: Run | None = None) -> str:
    pairs = pair_configs(run, baseline)
    if baseline is not None and not pairs:
        theirs = ", ".join(baseline.names()) or "no"
        raise ReportError(f"nothing to compare: the baseline {baseline.label} has {theirs} "
                          f"configs, {run.label} has {', '.join(run.names()) or 'none'}; run the same --config in both")
    names = run.names()
    report = run.report
    title = "newsbot eval" + (" — compared" if baseline is not None else "")
    subtitle = (f"{run.label}: {report.get('n_questions', '?')} questions on {report.get('articles', '?')}, "
                f"k = {report.get('k', '?')}" + (f"; baseline {baseline.label}" if baseline is not None else ""))
    body: list[str] = []
    def old_of(n: str):
        return baseline.config(pairs[n]) if baseline is not None and n in pairs else None

    def old_records(n: str):
        return baseline.records_of(pairs[n]) if baseline is not None and n in pairs else None

    for name in names:
        c, old = run.config(name), old_of(name)
        against = f" against {pairs[name]} of the baseline" if old else ""
        body.append(f"<h2>{esc(name)}{esc(against)}</h2><p class=\"meta\">{esc(c.get('description', ''))}</p>")
        body.append(headline_cards(c.get("metrics") or {}, (old or {}).get("metrics")))
        if len(c.get("by_language") or {}) > 1:
            body.append("<h3>By language</h3>" + language_cards(c, old))
        if baseline is not None and name in pairs:
            groups = Counter(ch.group for ch in eo.changes(baseline.records_of(pairs[name]), run.records_of(name)))
            links = " ".join(f'<a href="#questions" data-filter="g={esc(g)}" '
                             f'class="{"up" if g in eo.BETTER else "down"}">'
                             f"{esc(g)}: {groups[g]}</a>" for g in eo.CHANGE_GROUPS if groups[g])
            body.append(f'<h3>Questions whose outcome changed: {sum(groups.values())}</h3>'
                        f'<p class="groups">{links or "none"}</p>')
    body.append("<h2>Pictures</h2><div class=\"figs\">")
    for name in names:
        records, old = run.records_of(name), old_records(name)
        answerable, unanswerable = _scores(records)
        if answerable or unanswerable:
            svg = figures.score_distribution(answerable, unanswerable, eo.operating_thresholds(records),
                                             _scores(old) if old else None, title=name)
            body.append(figure(svg, f"{name}: the answerability judgment's probability for questions an article "
                        "answers (green) and questions none answers (red); vertical lines are the thresholds this "
                        "run answered at, below which the bot abstains" + ("; dashed: the baseline" if old else "")
                        + ". Questions a rule decided (no articles, a year or name no article has) are left out."))
    curves = {n: _sweep_curve(run.records_of(n)) for n in names}
    if any(curves.values()):
        points = {n: (run.config(n).get("metrics", {}).get("false_abstain"),
                      run.config(n).get("metrics", {}).get("abstain_recall"))
                  for n in names}
        points = {n: p for n, p in points.items() if None not in p}
        base_curves = {n: _sweep_curve(old_records(n)) for n in names if old_records(n)}
        body.append(figure(figures.threshold_sweep(curves, points, base_curves or None),
                           "What NEWSBOT_ABSTAIN_THRESHOLD would change: abstain recall against false abstention as "
                           "one "
                           "threshold moves from 0 to 1 (labels on the curve); the star is this run"
                           + ("; dashed: the baseline" if base_curves else "") + "."))
    else:
        body.append('<p class="meta">No question of this set is unanswerable, so there is no abstention to draw: '
                    "make the set's answerability version (half its questions lose their gold articles) with "
                    "../shared/tools/leavegoldout.py and run it.</p>")
    hits = {n: eo.hit_at_k(run.records_of(n)) for n in names}
    if any(v is not None for h in hits.values() for v in h):
        base_hits = {n: eo.hit_at_k(old_records(n)) for n in names if old_records(n)}
        body.append(figure(figures.hit_at_k(hits, base_hits or None),
                           "Retrieval: the share of answerable questions with a gold article among the first k "
                           "articles."))
    lat = {n: eo.latencies(run.records_of(n)) for n in names}
    if any(lat.values()):
        base_lat = {n: eo.latencies(old_records(n)) for n in names if old_records(n)}
        body.append(figure(figures.latency(lat, base_lat or None), "How long each answer took, Engine.ask end to end."))
    body.append("</div>")
    for name in names:
        if any(eo.judged_score(r) is not None for r in run.records_of(name)):
            body.append(f"<details><summary>{esc(name)}: the threshold table</summary>"
                        "<p class=\"meta\">NEWSBOT_ABSTAIN_THRESHOLD=t sets one threshold for every language pair. "
                        "Answer shown counts an answer that was withheld in this run as not shown.</p>"
                        f"{sweep_table(run.records_of(name))}</details>")
    body.append(f"<details><summary>Every metric</summary>{full_table(run)}"
                + (f"<h3>Baseline</h3>{full_table(baseline)}" if baseline is not None else "") + "</details>")
    indexes = report.get("indexes") or []
    if indexes:
        body.append("<details><summary>Indexes</summary>" + table(
            ["chunk tokens", "articles", "chunks", "embedded", "seconds"],
            [[i.get(k) for k in ("chunk_tokens", "articles", "chunks", "embedded", "seconds")] for i in indexes],
            numeric_from=0) + "</details>")
    skeleton = page(title, subtitle, body + [question_section(Table([], []))], Table([], []))
    data = question_table(run, baseline, pairs, MAX_BYTES - len(skeleton.encode("utf-8")) - 20_000)
    intro = ("Every question of the run; a row opens to what the user read, the gold answers, the passages "
             "with their scores and the judgment's features.")
    return page(title, subtitle, body + [question_section(data, intro=intro)], data)


# ------------------------------------------------------------------ feedback

def feedback_page(rows: list[dict], source: str) -> str:
    up = sum(1 for r in rows if r.get("vote") == "up")
    down = sum(1 for r in rows if r.get("vote") == "down")
    users = len({r.get("user") for r in rows})
    body = [cards([Card("votes", str(len(rows))), Card("👍 up", str(up)), Card("👎 down", str(down)),
                   Card("share voted down", _value(down / len(rows), True) if rows else "–"),
                   Card("voters", str(users))])]
    by_ns: dict[str, Counter] = {}
    for r in rows:
        by_ns.setdefault(r.get("namespace", "?"), Counter())[r.get("vote")] += 1
    if by_ns:
        body.append("<h2>By server</h2>" + table(["namespace", "👍", "👎"],
                                                 [[ns, c["up"], c["down"]] for ns, c in sorted(by_ns.items())]))
    days: dict[str, Counter] = {}
    for r in rows:
        days.setdefault(str(r.get("time", ""))[:10] or "?", Counter())[r.get("vote")] += 1
    if days:
        order = sorted(days)
        body.append("<div class=\"figs\">" + figure(figures.votes_by_day(order, [days[d]["up"] for d in order],
                                                                          [days[d]["down"] for d in order]),
                                                    "Votes per day (UTC).") + "</div>")
    times_down = Counter(r.get("question", "") for r in rows if r.get("vote") == "down")
    columns: list[dict] = [{"key": "vote", "label": "vote", "badge": True},
                           {"key": "ns", "label": "server", "cls": "wide"},
                           {"key": "t", "label": "time", "cls": "wide"}, {"key": "q", "label": "question"},
                           {"key": "x", "label": "times 👎", "cls": "n"}]
    filters: list[dict] = [{"key": "vote", "label": "vote", "values": [["down"], ["up"]]},
               {"key": "ns", "label": "server", "values": [[ns] for ns in sorted(by_ns)]}]
    data = Table(columns, filters, defaults={"vote": "down"} if down else {})
    for r in sorted(rows, key=lambda r: str(r.get("time", "")), reverse=True):
        answer = {"h": f"What was shown ({'abstained' if r.get('abstained') else 'answered'})",
                  "text": _cut(r.get("answer"), 1500)}
        cites = {"h": "Citations", "list": [f"[{c.get('n')}] {c.get('title') or c.get('article_id')} — "
                                            f"{c.get('source') or ''} "
                                            f"{c.get('published_at') or ''} {c.get('url') or ''}: "
                                            f"“{_cut(c.get('quote'), 300)}”"
                                            for c in r.get("citations") or []] or ["(none)"]}
        data.rows.append({"vote": r.get("vote", "?"), "ns": r.get("namespace", "?"), "t": str(r.get("time", "")),
                          "q": r.get("question", ""), "x": times_down.get(r.get("question", ""), 0),
                          "id": "", "d": [answer, cites]})
    intro = ("The votes of the bot's 👍/👎 buttons, voted down first selected; "
             "a row opens to the answer as it was shown.")
    return page("newsbot feedback", f"{len(rows)} votes in {source}", body + [question_section(data, "Votes", intro)],
                data)
