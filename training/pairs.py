"""Training pairs for the reader: (question, sentence window, label), with hard negatives.

    python -m training.pairs --out benchmarks/work/reader/pairs.jsonl [--per-set 4000] [--seed 13]

From each set of ../shared/data/train (see its README for what each holds, with licences):
- positive: the question and the shortest window of its gold passage that states an answer;
- "written_for" negative (IDK-MRC, SQuAD 2.0 in Indonesian): an unanswerable question and the
  window closest to it of the paragraph it was written against: same topic, no answer;
- "near_topic" negative (RealTimeQA train): the window closest to the question in a result of its
  week that does not state the answer (held-back weeks excluded: they are the RGB dev set);
- "lexical" negative (every answerable question): the closest window of the other passage of the
  same set that shares the most content words with the question (an inverted index of content
  words: cheap, and the kind of passage a retriever ranks high);
- "sibling" negative (every answerable question): the closest window of the gold passage itself that
  does not state the answer (and is not a part of the answering window): the sentence that restates
  the question, which the quote must not be;
- "off_topic" negative (every question): a window of a random passage of any set, in either
  language: a reader that never saw an unrelated window scores one high and cannot rank.
Deterministic for a seed. Prints what it used.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

from newsbot.index.text.words import content_terms

from .splits import held_back
from .windows import answering_window, closest_window, windows

TRAIN = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "train"
SETS = ("idkmrc-train", "tydiqa-id-train", "squad2-id", "facqa-train", "rtqa-train")


@dataclass(frozen=True)
class Pair:
    qid: str
    source: str  # the training set
    kind: str  # "gold" | "written_for" | "near_topic" | "lexical" | "sibling" | "off_topic"
    question: str
    passage: str
    label: int  # 1: the window answers the question


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class LexicalNeighbours:
    """The passage sharing the most (rare) content words with a question, by an inverted index."""

    def __init__(self, articles: dict[str, str]) -> None:
        self.postings: dict[str, list[str]] = defaultdict(list)
        for article_id, text in articles.items():
            for term in set(content_terms(text)):
                self.postings[term].append(article_id)

    def best(self, question: str, exclude: set[str]) -> str | None:
        scores: Counter = Counter()
        for term in set(content_terms(question)):
            ids = self.postings.get(term, [])
            if 0 < len(ids) <= 200:  # a word in more passages than that says nothing about which
                for article_id in ids:
                    scores[article_id] += 1.0 / len(ids) ** 0.5
        for article_id, _ in scores.most_common(len(exclude) + 1):
            if article_id not in exclude:
                return article_id
        return None


def pairs_of_set(folder: Path, per_set: int, rng: random.Random) -> tuple[list[Pair], list[str]]:
    """The pairs of one training set, at most `per_set` questions of it (sampled with `rng`), and
    the texts it may lend as off-topic windows (the held-back weeks' articles are not among them)."""
    source = folder.name
    articles = {a["id"]: a["text"] for a in read_jsonl(folder / "articles.jsonl")}
    questions = read_jsonl(folder / "questions.jsonl")
    if source == "rtqa-train":  # held-back weeks are the RGB dev set: neither their questions nor their articles
        dev = {a for q in questions if held_back(q.get("asked_on", "")) for a in (q.get("retrieved") or [])}
        questions = [q for q in questions if not held_back(q.get("asked_on", ""))]
        articles = {i: t for i, t in articles.items() if i not in dev}
    rng.shuffle(questions)
    questions = questions[:per_set]
    neighbours = LexicalNeighbours(articles)
    out: list[Pair] = []
    for q in questions:
        text, answers, gold = q["question"], q.get("answers") or [], list(q.get("article_ids") or [])
        if gold and answers:
            window = next((w for w in (answering_window(articles.get(g, ""), answers) for g in gold) if w), None)
            if window:
                out.append(Pair(q["id"], source, "gold", text, window, 1))
                home = next(g for g in gold if window in articles.get(g, ""))
                sibling = closest_window(articles[home], text, avoid=answers)
                if sibling and sibling not in window and window not in sibling:
                    out.append(Pair(q["id"], source, "sibling", text, sibling, 0))
            near = [r for r in q.get("retrieved") or [] if r not in gold and r in articles]
            if near:
                negative = closest_window(articles[near[0]], text, avoid=answers)
                if negative:
                    out.append(Pair(q["id"], source, "near_topic", text, negative, 0))
            other = neighbours.best(text, exclude=set(gold) | set(q.get("retrieved") or []))
            if other:
                negative = closest_window(articles[other], text, avoid=answers)
                if negative:
                    out.append(Pair(q["id"], source, "lexical", text, negative, 0))
        elif not gold and q.get("written_for"):
            paragraph = articles.get(q["written_for"][0])
            negative = closest_window(paragraph, text) if paragraph else None
            if negative:
                out.append(Pair(q["id"], source, "written_for", text, negative, 0))
    return out, list(articles.values())


def off_topic(pairs: list[Pair], pool: list[str], rng: random.Random, share: float) -> list[Pair]:
    """One window of a random passage (of any set, either language) for `share` of the questions;
    skipped when it shares a content word with the question (it might be on topic after all)."""
    out: list[Pair] = []
    for qid, source, question in sorted({(p.qid, p.source, p.question) for p in pairs}):
        if rng.random() >= share:
            continue
        terms = set(content_terms(question))
        for _ in range(5):
            candidates = windows(rng.choice(pool))
            window = rng.choice(candidates) if candidates else None
            if window and not terms & set(content_terms(window)):
                out.append(Pair(qid, source, "off_topic", question, window, 0))
                break
    return out


def build(train_dir: Path, per_set: int, seed: int, sets: tuple[str, ...] = SETS,
          overrides: dict[str, int] | None = None, off_topic_share: float = 0.5) -> list[Pair]:
    rng = random.Random(seed)
    pairs: list[Pair] = []
    pool: list[str] = []
    for name in sets:
        if (train_dir / name).is_dir():
            got, texts = pairs_of_set(train_dir / name, (overrides or {}).get(name, per_set), rng)
            pairs.extend(got)
            pool.extend(texts)
    if pool:
        pairs.extend(off_topic(pairs, pool, rng, off_topic_share))
    rng.shuffle(pairs)
    return pairs


def per_set_override(text: str) -> tuple[str, int]:
    name, _, n = text.partition("=")
    if name not in SETS or not n.isdigit():
        raise argparse.ArgumentTypeError(f"expected SET=N with SET one of {', '.join(SETS)}, got {text!r}")
    return name, int(n)


def sampling_parser(description: str, per_set: int, per_set_help: str) -> argparse.ArgumentParser:
    """The options every pair builder takes: where the training sets are, where the pairs go, how many
    questions of each set, which sets, the seed."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--train-dir", type=Path, default=TRAIN)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--per-set", type=int, default=per_set, help=per_set_help)
    parser.add_argument("--set-size", type=per_set_override, action="append", default=[], metavar="SET=N",
                        help="another --per-set for one set (repeatable), e.g. rtqa-train=4000")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--sets", nargs="*", default=list(SETS))
    return parser


def has_train_dir(args: argparse.Namespace) -> bool:
    if not args.train_dir.is_dir():
        print(f"error: no training data at {args.train_dir} (../shared/data/train)", file=sys.stderr)
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = sampling_parser(__doc__.split("\n\n")[0], 4000, "questions sampled from each training set")
    parser.add_argument("--off-topic-share", type=float, default=0.5,
                        help="the share of questions that get an off-topic negative")
    args = parser.parse_args(argv)
    if not has_train_dir(args):
        return 1
    t0 = time.perf_counter()
    pairs = build(args.train_dir, args.per_set, args.seed, tuple(args.sets), dict(args.set_size),
                  args.off_topic_share)
    write_pairs(args.out, pairs, f"{len(pairs):,} pairs ({sum(p.label for p in pairs):,} positive) from "
                f"{args.train_dir}, seed {args.seed}, at most {args.per_set:,} questions a set "
                f"{dict(args.set_size) or ''}, in {time.perf_counter() - t0:.0f} s:")
    return 0


def write_pairs(out: Path, pairs: list[Pair], said: str) -> None:
    """The pairs as JSON lines, and what was used (`said`) with a count of each set and kind."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for p in pairs:
            f.write(json.dumps(asdict(p), ensure_ascii=False) + "\n")
    print(said)
    for (source, kind), n in sorted(Counter((p.source, p.kind) for p in pairs).items()):
        print(f"  {source:<16} {kind:<12} {n:>6,}")
    print(f"-> {out}")


if __name__ == "__main__":
    sys.exit(main())
