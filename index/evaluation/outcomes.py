"""What happened to each question of an eval run, in the words a reader of the report uses, and the
figures the report draws from them: the threshold sweep, hit@k by k, two runs' differences.

Pure functions over answers.jsonl records (`eval_run.answer_record`), so a report can be drawn
again, or compared, from the files of a run long after it ran.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from newsbot.index.answering import answerability

# The outcomes, best first for an answerable question, then the unanswerable ones.
SHOWN = "shown"  # the answer text holds a gold answer
RIGHT_ARTICLE = "right article"  # a gold article is cited; the question has no gold answer text to check
WRONG_SENTENCE = "wrong sentence"  # a gold article is cited, but the sentence shown lacks the answer
WRONG_ARTICLE = "wrong article"  # no cited article is a gold one
FALSE_ABSTENTION = "false abstention"  # an article answers it, and the bot said it could not
RIGHT_ABSTENTION = "right abstention"  # no article answers it, and the bot said so
MISSED_ABSTENTION = "missed abstention"  # no article answers it, and the bot answered anyway
ERROR = "error"
OUTCOMES = (SHOWN, RIGHT_ARTICLE, WRONG_SENTENCE, WRONG_ARTICLE, FALSE_ABSTENTION, RIGHT_ABSTENTION,
            MISSED_ABSTENTION, ERROR)
GOOD = frozenset({SHOWN, RIGHT_ARTICLE, RIGHT_ABSTENTION})
# Rules that abstain whatever the threshold (answerability.py): no articles, a year or name no article has...
RULE_REASONS = frozenset({"no_articles", "year", "name_not_mentioned", "no_words"})


def outcome(record: dict) -> str:
    """One of OUTCOMES for an answers.jsonl record."""
    if "error" in record:
        return ERROR
    gold = set(record.get("gold_articles") or [])
    abstained = bool(record.get("abstained"))
    if not gold:
        return RIGHT_ABSTENTION if abstained else MISSED_ABSTENTION
    if abstained:
        return FALSE_ABSTENTION
    if not gold & {c.get("article_id") for c in record.get("citations") or []}:
        return WRONG_ARTICLE
    shown = (record.get("metrics") or {}).get("answer_shown")
    if shown is None:
        return RIGHT_ARTICLE
    return SHOWN if shown else WRONG_SENTENCE


def language(record: dict) -> str:
    return record.get("lang") or "?"


# ------------------------------------------------------------------ the answerability threshold

def judged_score(record: dict) -> float | None:
    """The judgment's probability when the fitted model decided (None when a rule did, or no judgment)."""
    j = record.get("judgment") or {}
    if record.get("reason") in RULE_REASONS or j.get("reason") in RULE_REASONS or j.get("threshold") is None:
        return None
    return float(j.get("probability", 0.0))


def abstains_at(record: dict, threshold: float) -> bool:
    """Whether the question would abstain with NEWSBOT_ABSTAIN_THRESHOLD=threshold: the rules abstain at
    any threshold, the model below it; an answer withheld for another reason stays withheld."""
    score = judged_score(record)
    if score is None:
        return bool(record.get("abstained"))
    own = (record.get("judgment") or {}).get("threshold")
    withheld_anyway = bool(record.get("abstained")) and own is not None and score >= own
    return score < threshold or withheld_anyway


@dataclass(frozen=True)
class SweepPoint:
    threshold: float
    abstain_recall: float | None  # of the unanswerable questions, the share that abstain
    false_abstain: float | None  # of the answerable ones, the share that abstain
    shown: float | None  # of the answerable ones with answer text, the share still shown


def threshold_sweep(records: list[dict], steps: int = 101) -> list[SweepPoint]:
    """Abstain recall and false abstention as one threshold moves from 0 to 1 (what the environment
    variable sets for every language pair), from the probabilities the run recorded."""
    scored = [r for r in records if "error" not in r]
    unanswerable = [r for r in scored if not r.get("gold_articles")]
    answerable = [r for r in scored if r.get("gold_articles")]
    with_text = [r for r in answerable if (r.get("metrics") or {}).get("answer_shown") is not None]
    points = []
    for i in range(steps):
        t = i / (steps - 1)
        recall = _share(unanswerable, lambda r, t=t: abstains_at(r, t))
        false = _share(answerable, lambda r, t=t: abstains_at(r, t))
        # A question the run withheld has no answer text to check: counted as not shown.
        shown = _share(with_text, lambda r, t=t: not abstains_at(r, t) and bool(r["metrics"].get("answer_shown")))
        points.append(SweepPoint(t, recall, false, shown))
    return points


def _share(rows: list[dict], test) -> float | None:
    return sum(1 for r in rows if test(r)) / len(rows) if rows else None


def operating_thresholds(records: list[dict]) -> dict[str, float]:
    """The threshold each group of answerability.Model answered at in this run ("same", "xling", and
    "reader-same", "reader-xling" when the reader read the passages)."""
    out: dict[str, float] = {}
    for r in records:
        j = r.get("judgment") or {}
        if j.get("threshold") is not None:
            features = j.get("features") or {}
            group = answerability.fitted_model().group(features)  # with the reader on, its groups when fitted
            out.setdefault(group, float(j["threshold"]))
    return out


def best_threshold(points: list[SweepPoint], max_false_abstain: float = 0.05) -> SweepPoint | None:
    """The threshold with the highest abstain recall whose false abstention stays within the bound."""
    ok = [p for p in points if p.false_abstain is not None and p.abstain_recall is not None
          and p.false_abstain <= max_false_abstain]
    return max(ok, key=lambda p: (p.abstain_recall or 0.0, -(p.false_abstain or 0.0))) if ok else None


# ------------------------------------------------------------------ retrieval and latency

def hit_at_k(records: list[dict], max_k: int = 10) -> list[float | None]:
    """hit@1..max_k: the share of answerable questions with a gold article among the first k."""
    ranks = [r.get("gold_rank") for r in records if r.get("gold_articles")]
    if not ranks:
        return [None] * max_k
    return [sum(1 for rank in ranks if rank is not None and rank <= k) / len(ranks) for k in range(1, max_k + 1)]


def latencies(records: list[dict]) -> list[float]:
    return [float(r["latency_ms"]) for r in records if r.get("latency_ms") is not None and "error" not in r]


# ------------------------------------------------------------------ two runs

@dataclass(frozen=True)
class Change:
    id: str
    question: str
    old: str
    new: str

    @property
    def group(self) -> str:
        return change_group(self.old, self.new)


def change_group(old: str, new: str) -> str:
    if new == SHOWN:
        return "newly shown"
    if old == SHOWN:
        return "newly lost"
    if new in (RIGHT_ABSTENTION, FALSE_ABSTENTION) and old not in (RIGHT_ABSTENTION, FALSE_ABSTENTION):
        return "newly abstained, rightly" if new == RIGHT_ABSTENTION else "newly abstained, wrongly"
    if old in (RIGHT_ABSTENTION, FALSE_ABSTENTION):
        return "no longer abstains, rightly" if old == FALSE_ABSTENTION else "no longer abstains, wrongly"
    if new in GOOD and old not in GOOD:
        return "newly right"
    if old in GOOD and new not in GOOD:
        return "newly wrong"
    return "other changes"


CHANGE_GROUPS = ("newly shown", "newly abstained, rightly", "no longer abstains, rightly", "newly right",
                 "newly lost", "newly abstained, wrongly", "no longer abstains, wrongly", "newly wrong",
                 "other changes")
BETTER = frozenset(CHANGE_GROUPS[:4])


def changes(old: list[dict], new: list[dict]) -> list[Change]:
    """The questions (by id) whose outcome differs between two runs of one configuration."""
    before = {r["id"]: outcome(r) for r in old}
    out = []
    for r in new:
        was = before.get(r["id"])
        now = outcome(r)
        if was is not None and was != now:
            out.append(Change(r["id"], r.get("question", ""), was, now))
    return out


def finite(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
