"""Reading passages with the reader: which windows it reads, and what its scores decide.

The reader costs what embedding costs per token, so it reads a few short windows, not
articles: in each of the first READ_PASSAGES passages it is given, the sentence windows
(consecutive sentences up to WINDOW_CHARS) that share the most of the question's words,
WINDOWS_PER_PASSAGE of them (one by the question's last sentence, when it has several). `ask`
gives it the passages of the article it quotes first, and its best window there is the quote
shown first (verbatim, at the article's offsets); only an answerability model fitted with the
reader's scores has it read the top passages before judging. It does not reorder the passages:
on the dev halves every reordering tried lost to retrieval's (docs/reader.md).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np

from newsbot.index.answering.extractive import score_sentence
from newsbot.index.answering.question import question_stems
from newsbot.index.records import Article, Passage, Window
from newsbot.index.text.words import is_prose, sentence_runs, sentence_spans

READ_PASSAGES = 4
WINDOWS_PER_PASSAGE = 2
WINDOW_CHARS = 400  # about 100 tokens: 8 windows read in ~150 ms on 2 cores
# Logits per unit of retrieval relevance when reranking, or None: retrieval's order stands. benchmarks/fit_reader.py
# chose the largest weight it tried (1000) over 0-32: at 4, gold-first fell on held-out halves (idmt 0.931 -> 0.709,
# facqa 0.789 -> 0.521, rgb 0.533 -> 0.444). Even 1000 re-sorts by relevance, which is not retrieval's fused order:
# in the mixed-language index that alone put the gold article first less often (half B 0.909 -> 0.869), so the
# reader does not reorder at all; it judges and chooses the window.
RELEVANCE_WEIGHT: float | None = None


# Below this many logits for every window of the passage it would quote, in the question's language, the reader
# overrules an "answer": it is sure that passage does not answer. Chosen on half A of the leave-gold-out runs
# (docs/reader.md, stop 39): the highest floor at which no set abstained falsely more than without it; on half B
# facqa's abstain recall rose 0.449 -> 0.478 at the same false abstention. Across languages the reader is not
# trusted to refute (it saw no such pair; an Indonesian question over an English answer scored -5.6).
READ_FLOOR = -3.5


@dataclass(frozen=True)
class Reading:
    windows: tuple[Window, ...]  # best first
    model: str = ""
    ms: float = 0.0

    def features(self) -> dict[str, float]:
        """What the judgment reads: the best score, its margin over the best of another article,
        and the probability it stands for."""
        if not self.windows:
            return {"reader": -10.0, "reader_gap": 0.0, "reader_p": 0.0}
        top = self.windows[0]
        others = [w.score for w in self.windows if w.article_id != top.article_id]
        return {"reader": top.score, "reader_gap": top.score - (max(others) if others else top.score - 1.0),
                "reader_p": 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, top.score))))}


def candidate_windows(text: str, start: int, end: int, max_chars: int = WINDOW_CHARS) -> list[tuple[int, int]]:
    """Sentence windows of `text[start:end]`: from each sentence, as many of the following ones as
    fit in `max_chars` (a longer sentence is its own window: the reader reads it in parts)."""
    spans = [(a, b) for a, b in sentence_spans(text, start, end) if is_prose(text[a:b])]
    out: list[tuple[int, int]] = []
    for a, stop in sentence_runs(spans, max_chars):
        if not out or out[-1][1] < stop:  # a window inside the previous one adds nothing
            out.append((a, stop))
    return out


def choose_windows(question: str, passages: list[Passage],
                   articles: dict[str, Article]) -> list[tuple[Passage, int, int]]:
    """The windows to read: in each of the top READ_PASSAGES passages, the WINDOWS_PER_PASSAGE that
    share the most of the question's (weighted) words, earlier first among equals. A question of several
    sentences (a quiz: "The sports world is in turmoil after ... Which team does Watson play for?") has
    its second window chosen by its last sentence alone: the preamble's words outweigh the question's,
    and its two best windows restated the preamble (rtqa lgo, both halves: answer shown 0.795 -> 0.846,
    docs/reader.md, stop 43)."""
    stems = question_stems(question)
    spans = sentence_spans(question)
    asked = question_stems(question[spans[-1][0]:spans[-1][1]]) if len(spans) > 1 else {}
    chosen: list[tuple[Passage, int, int]] = []
    seen: set[tuple[str, int, int]] = set()
    for passage in passages[:READ_PASSAGES]:
        article = articles.get(passage.article_id)
        if article is None:
            continue
        scored, by_ask = [], []
        for i, (a, b) in enumerate(candidate_windows(article.text, passage.start, passage.end, WINDOW_CHARS)):
            text = article.text[a:b]
            damp = 0.3 if text.rstrip("\"'”’») ").endswith("?") else 1.0  # a window ending in "?" restates it
            scored.append((score_sentence(text, stems) * damp - 0.001 * i, a, b))
            if asked:
                by_ask.append((score_sentence(text, asked) * damp - 0.001 * i, a, b))
        picks = sorted(scored, reverse=True)
        if by_ask:  # a quiz's preamble outweighs its question: one window by the question sentence alone
            picks = [picks[0], max(by_ask), *picks[1:]]  # the same window twice is read once (`seen`)
        kept = 0
        for _, a, b in picks:
            if kept == WINDOWS_PER_PASSAGE:
                break
            if (passage.article_id, a, b) not in seen:
                seen.add((passage.article_id, a, b))
                chosen.append((passage, a, b))
                kept += 1
    return chosen


def read(reader, question: str, passages: list[Passage], articles: dict[str, Article]) -> Reading:
    """The reader's scores of the chosen windows, best first."""
    t = time.perf_counter()
    chosen = choose_windows(question, passages, articles)
    if not chosen:
        return Reading((), reader.name, (time.perf_counter() - t) * 1000)
    scores = np.asarray(reader.score(question, [articles[p.article_id].text[a:b] for p, a, b in chosen]), dtype=float)
    windows = sorted((Window(p.chunk_id, p.article_id, a, b, float(s)) for (p, a, b), s in zip(chosen, scores)),
                     key=lambda w: -w.score)
    return Reading(tuple(windows), reader.name, (time.perf_counter() - t) * 1000)


def refutes(windows) -> bool:
    """Whether the reader reads every one of these windows (those of the passage to quote) as not
    answering, beyond doubt (below READ_FLOOR)."""
    return bool(windows) and max(w.score for w in windows) < READ_FLOOR


def rerank(passages: list[Passage], reading: Reading, weight: float | None = RELEVANCE_WEIGHT) -> list[Passage]:
    """The read passages by their best window's score plus `weight` x relevance, ahead of the rest in
    their order (weight None: every passage in retrieval's order); each read passage's `reader` field
    holds its best score."""
    best: dict[str, float] = {}
    for w in reading.windows:
        best.setdefault(w.chunk_id, w.score)
    if weight is None:
        return [replace(p, reader=best[p.chunk_id]) if p.chunk_id in best else p for p in passages]
    read_ = [replace(p, reader=best[p.chunk_id]) for p in passages if p.chunk_id in best]
    rest = [p for p in passages if p.chunk_id not in best]
    read_.sort(key=lambda p: -((p.reader or 0.0) + weight * (p.relevance or 0.0)))
    return read_ + rest
