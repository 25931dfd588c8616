"""Does any indexed article answer this question? One judgment, made in one place.

Input: the question (and its language), its ranked passages, their articles, and the
document frequencies of the question's terms in the namespace. Output: a `Judgment`:
answer or not, why not, the probability, the features it was judged by, and the
passages to answer from. The CLI, the bot, the eval and the LLM path all go through
`Engine.ask`, which asks this module and nothing else.

Two rules are certain and come first: a question naming a year is answered only from
articles of (or mentioning) that year, and a question about a name that no chunk of the
namespace contains is not covered (judged only when the closest passage is in the question's
language: "Pope" may be "Paus" in Indonesian, and "US" is "AS"). Everything else is a logistic model,
one per language pair, over cheap signals of the top passages: how similar the best passage
is, how far it stands above the next ones, how much of the question (IDF-weighted) it, its
title, its best sentence and the top five cover, whether it holds the question's rarest
term, and how many of the question's names the top passages contain. It is fitted by
`benchmarks/fit_answerability.py` on the leave-gold-out versions of the dev sets and the
own set; the parameters are in `answerability.json`.

The expected answer type (a number for "how many / berapa", a date for "when / kapan", a
name for "who / siapa / which X") is read here too; the sentence choice uses it (the
passage-level signal did not separate answerable questions: every news paragraph holds
numbers and names).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from newsbot.index.answering.question import key_names
from newsbot.index.records import EMPTY, NAMES, NO_WORDS, NOT_COVERED, YEAR, Article, Judgment, Passage  # noqa: F401
from newsbot.index.text.words import lexical_terms, sentence_spans, years

JUDGE_MIN_CHUNKS = 1000  # the IDF of the judgment's coverage signals counts at least this many chunks
FEATURES = ("rel1", "dense1", "gap", "cov1", "cov_max", "sent_cov", "rare_in", "names", "xling", "xl_rel1", "xl_dense1",
            "xl_gap")
READER_FEATURES = ("reader", "reader_gap", "reader_p")  # the reader's, when it read the passages (reading.py)


@dataclass(frozen=True)
class Model:
    """Logistic regression per language pair: `same` (question and best passage in one language) and
    `xling` (across languages), each with its own weights and operating point, so that a probability
    means the same thing whichever language the passage is in. With the reader's features, the
    `reader-same` / `reader-xling` groups decide (fitted with the reader on)."""

    groups: dict[str, dict]  # group -> {"weights": {feature: w}, "bias": b, "threshold": t}

    @property
    def reads(self) -> bool:
        """Whether it was fitted with the reader's features: then the reader reads before the judgment."""
        return any(name.startswith("reader-") for name in self.groups)

    @staticmethod
    def base_group(features: dict[str, float]) -> str:
        return "xling" if features.get("xling") else "same"

    def group(self, features: dict[str, float]) -> str:
        base = self.base_group(features)
        return f"reader-{base}" if "reader" in features and f"reader-{base}" in self.groups else base

    def probability(self, features: dict[str, float]) -> float:
        g = self.groups[self.group(features)]
        z = g["bias"] + sum(w * features.get(name, 0.0) for name, w in g["weights"].items())
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def threshold(self, features: dict[str, float]) -> float:
        return float(self.groups[self.group(features)]["threshold"])


@lru_cache(maxsize=1)
def fitted_model() -> Model:
    data = json.loads(resources.files(__package__).joinpath("answerability.json").read_text(encoding="utf-8"))
    return Model(data["groups"])


def operating_point(threshold: float | None) -> Model:
    """The fitted model, or the same model answering at `threshold` (NEWSBOT_ABSTAIN_THRESHOLD) instead."""
    model = fitted_model()
    if threshold is None:
        return model
    return Model({name: {**group, "threshold": threshold} for name, group in model.groups.items()})


# ------------------------------------------------------------------ the judgment

def _coverage(terms: set[str], weights: dict[str, float]) -> float:
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in terms) / total if total else 1.0


def features_of(question: str, lang: str, passages: list[Passage], weights: dict[str, float],
                passage_terms: dict[str, set[str]]) -> dict[str, float]:
    """The signals the model reads, from the top five passages (`weights`: IDF of the question's terms).

    Cross-lingual statements (a sentence looked up in another language) and same-language questions
    sit on different similarity scales, so the similarity signals also enter multiplied by `xling`."""
    top = passages[:5]
    best = top[0]
    rels = [p.relevance or 0.0 for p in top]
    covers = [_coverage(passage_terms.get(p.chunk_id, set()) | set(lexical_terms(p.title, p.lang)),
                        weights) for p in top]
    terms = passage_terms.get(best.chunk_id, set()) | set(lexical_terms(best.title, best.lang))
    rarest = max(weights, key=lambda t: weights[t]) if weights else ""
    names = key_names(question)
    seen = " ".join(f"{p.title} {p.text}" for p in top[:3]).lower()
    xling = float(bool(lang and best.lang and lang != best.lang))
    # Across languages the passage is judged by its best sentence, as the cross-lingual model was fitted
    # (on idmt, one sentence per article): a fact translated inside a long chunk is diluted by the rest.
    lift = max(0.0, (best.sentence or 0.0) - (best.dense or 0.0)) if xling else 0.0
    rels[0] += lift
    dense1 = (best.dense or 0.0) + lift
    # The margin over the next passages in the best one's language: in a mixed-language index the others'
    # relevance sits on another scale (the question's words count only in its language), and the model was
    # fitted on indexes of one language.
    peers = [p.relevance or 0.0 for p in passages if p.lang == best.lang][1:5]
    gap = rels[0] - (sum(peers) / len(peers) if peers else rels[0] - 0.05)
    return {
        "rel1": rels[0],
        "dense1": dense1,
        "gap": gap,
        "cov1": covers[0],
        "cov_max": max(covers),
        "sent_cov": max((_coverage(set(lexical_terms(best.text[a:b], best.lang)), weights)
                         for a, b in sentence_spans(best.text)), default=0.0),
        "rare_in": float(bool(rarest) and rarest in terms),
        "names": sum(n.lower() in seen for n in names) / len(names) if names else 1.0,
        "xling": xling,
        "xl_rel1": xling * rels[0],
        "xl_dense1": xling * dense1,
        "xl_gap": xling * gap,
    }


SOURCE_MARGIN = 0.05


def sources_for(judgment: Judgment | None) -> list[Passage]:
    """The passages an answer may be written from: those of an answerable judgment whose relevance is
    within SOURCE_MARGIN of the best (a passage far below the one judged to answer is not a source)."""
    if judgment is None or not judgment.answerable or not judgment.passages:
        return []
    best = max(p.relevance or 0.0 for p in judgment.passages)
    return [p for p in judgment.passages if (p.relevance or 0.0) >= best - SOURCE_MARGIN]


def near_topic(judgment: Judgment, model: Model | None = None) -> bool:
    """Judged not to answer, but close enough that the nearest passage is worth showing as
    "closest, may not answer" (a third of the way to the operating point)."""
    model = model or fitted_model()
    return bool(judgment.passages) and judgment.probability >= model.threshold(judgment.features) / 3


def about_another_year(asked: set[str], article: Article | None) -> bool:
    """The question names a year (or years) that the article neither mentions nor was published in
    (or the year after): "Who won the 2022 World Cup?" is not answered from a 2024 article on the
    2026 qualifiers. An undated article cannot be judged, so it is never excluded."""
    if not asked or article is None or not article.published_at[:4].isdigit():
        return False
    published = int(article.published_at[:4])
    return not (asked & years(article.text) or any(published in (int(y), int(y) + 1) for y in asked))


def judge(
    question: str,
    lang: str,
    passages: list[Passage],
    articles: dict[str, Article],
    weights: dict[str, float],
    passage_terms: dict[str, set[str]],
    unknown_names: list[str] | None = None,
    model: Model | None = None,
    read: dict[str, float] | None = None,
) -> Judgment:
    """Answer or not, and from which passages. `unknown_names`: names of the question that no chunk
    of the namespace contains (the caller looks them up; None when not judged); `read`: the reader's
    features (`Reading.features`), when it read the passages."""
    if not passages:
        return Judgment(False, EMPTY)
    asked = years(question)
    usable = [p for p in passages if not about_another_year(asked, articles.get(p.article_id))]
    if not usable:
        return Judgment(False, YEAR, years=tuple(sorted(asked)), passages=())
    features = features_of(question, lang, usable, weights, passage_terms)
    if read:
        features.update(read)
    if unknown_names:
        return Judgment(False, NAMES, 0.0, features, tuple(usable), names=tuple(unknown_names))
    model = model or fitted_model()
    p, threshold = model.probability(features), model.threshold(features)
    return Judgment(p >= threshold, "" if p >= threshold else NOT_COVERED, p, features, tuple(usable),
                    threshold=threshold)
