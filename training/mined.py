"""Pairs mined with newsbot's own `ask`: the windows it reads when a question's gold article is gone.

    python -m training.mined --out benchmarks/work/reader/mined.jsonl [--per-set 600] [--set-size SET=N]
        [--negatives 2] [--scorer FILE|none] [--seed 13]

The pairs of `training.pairs` teach one window against another, picked by shared words. What the
judgment must tell apart is different: a question whose answer is in no indexed article, over the
windows `ask` actually reads in the top passages of a real index. So, for each training set, its
articles are indexed in a scratch namespace with the real embedder (its cache makes a rerun cheap),
each sampled answerable question is asked (k=10, reader off, on its quiz day where it has one), and:

- `gone` (label 0): with the gold articles left out of what was retrieved (a leave-gold-out index as
  `ask` sees it), the windows `reading.choose_windows` reads in the top passages; the `--negatives`
  that the scorer (the shipped reader by default) rates highest, from distinct articles: the
  windows that make today's reader answer a question nobody answered. A window that states an
  answer is never one (its label would be wrong);
- `read_gold` (label 1): when a gold article is among the passages read, the window `ask` reads in
  it that states an answer: what answering looks like in the windows `ask` reads (400 characters,
  chosen by the question's words), not the shortest answering window.

Held-back RealTimeQA weeks (the RGB-kind dev set) are left out, questions and articles alike.
Deterministic for a seed and a scorer. Prints what it used.
"""
from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from newsbot.index.answering import reading
from newsbot.index.settings import Settings
from newsbot.index.text.words import normalize_for_match

from .pairs import Pair, has_train_dir, read_jsonl, sampling_parser, write_pairs
from .splits import held_back

CACHE = Path(__file__).resolve().parents[1] / "benchmarks" / "cache"


def states_answer(text: str, answers: list[str]) -> bool:
    needles = [normalize_for_match(a) for a in answers if normalize_for_match(a)]
    return bool(needles) and any(n in normalize_for_match(text) for n in needles)


def sample(folder: Path, per_set: int, rng: random.Random) -> tuple[list[dict], list[dict]]:
    """Up to `per_set` answerable questions of a set (gold and answers known; held-back weeks out) and
    the articles to index: all of a set's, or for RealTimeQA the sampled questions' search results."""
    questions = [q for q in read_jsonl(folder / "questions.jsonl")
                 if q.get("article_ids") and q.get("answers") and not held_back(q.get("asked_on") or "")]
    rng.shuffle(questions)
    questions = questions[:per_set]
    articles = read_jsonl(folder / "articles.jsonl")
    if folder.name == "rtqa-train":  # 15k articles of 4,000 characters: index only the sampled weeks' results
        wanted = {a for q in questions for a in (q.get("retrieved") or []) + q["article_ids"]}
        articles = [a for a in articles if a["id"] in wanted]
    return questions, articles


def mine_question(engine, scorer, q: dict, negatives: int, source: str) -> list[Pair]:
    """The pairs of one question: its `gone` negatives and its `read_gold` positive."""
    text, answers, gold = q["question"], q["answers"], set(q["article_ids"])
    today = date.fromisoformat(q["asked_on"]) if q.get("asked_on") else None
    passages = engine.ask(text, k=10, today=today, reader=False).passages
    if not passages:
        return []
    articles = engine.store().get_articles(list({p.article_id for p in passages}), with_text=True)
    out: list[Pair] = []
    gone = [p for p in passages if p.article_id not in gold]
    chosen = [(p, a, b) for p, a, b in reading.choose_windows(text, gone, articles)
              if not states_answer(articles[p.article_id].text[a:b], answers)]
    if chosen:
        texts = [articles[p.article_id].text[a:b] for p, a, b in chosen]
        ranked = (sorted(zip(scorer.score(text, texts), range(len(chosen))), reverse=True) if scorer is not None
                  else [(0.0, i) for i in range(len(chosen))])
        used: set[str] = set()
        for _, i in ranked:
            p = chosen[i][0]
            if p.article_id not in used and len(used) < negatives:
                used.add(p.article_id)
                out.append(Pair(q["id"], source, "gone", text, texts[i], 0))
    read_gold = [articles[p.article_id].text[a:b]
                 for p, a, b in reading.choose_windows(text, passages, articles) if p.article_id in gold]
    stating = [w for w in read_gold if states_answer(w, answers)]
    if stating:
        out.append(Pair(q["id"], source, "read_gold", text, stating[0], 1))
    return out


def mine_set(folder: Path, per_set: int, negatives: int, scorer, rng: random.Random, work: Path,
             base=None, progress=None) -> list[Pair]:
    """The mined pairs of one set. `base`: the Settings to index with (default: the real embedder,
    its cache under benchmarks/cache); the data directory is a scratch one under `work`."""
    from dataclasses import replace

    from newsbot.index.engine import Engine

    questions, articles = sample(folder, per_set, rng)
    if not questions:
        return []
    work.mkdir(parents=True, exist_ok=True)
    docs = work / f"{folder.name}.jsonl"
    with docs.open("w", encoding="utf-8") as f:
        for a in articles:
            f.write(json.dumps(a, ensure_ascii=False) + "\n")
    settings = replace(base or Settings(cache_dir=CACHE), data_dir=work / f"index-{folder.name}", namespace="mine",
                       reader="off")
    out: list[Pair] = []
    with Engine(settings) as engine:
        engine.add(engine.drafts_from_jsonl(str(docs)))
        for n, q in enumerate(questions, 1):
            out.extend(mine_question(engine, scorer, q, negatives, folder.name))
            if progress and n % 100 == 0:
                progress(f"  {folder.name}: {n}/{len(questions)} questions, {len(out)} pairs")
    return out


def load_scorer(name: str, cache_dir: Path = CACHE):
    if name == "none":
        return None
    from newsbot.index.answering.reader import READER_FILE, OnnxReader

    return OnnxReader(cache_dir, Path(name) if name else READER_FILE)


def main(argv: list[str] | None = None) -> int:
    parser = sampling_parser(__doc__.split("\n\n")[0], 600, "answerable questions sampled from each set")
    parser.add_argument("--negatives", type=int, default=2, help="`gone` windows per question, best-scored first")
    parser.add_argument("--scorer", default="", help="the reader file that rates the negatives (default: the "
                        "shipped one; `none`: the order `ask` reads them in)")
    parser.add_argument("--cache-dir", type=Path, default=CACHE, help="the embedding cache (a rerun embeds nothing)")
    args = parser.parse_args(argv)
    if not has_train_dir(args):
        return 1
    t0 = time.perf_counter()
    rng = random.Random(args.seed)
    scorer = load_scorer(args.scorer, args.cache_dir)
    sizes = dict(args.set_size)
    pairs: list[Pair] = []
    base = Settings(cache_dir=args.cache_dir)
    with tempfile.TemporaryDirectory(prefix="newsbot-mine-") as tmp:
        for name in args.sets:
            if (args.train_dir / name).is_dir():
                pairs.extend(mine_set(args.train_dir / name, sizes.get(name, args.per_set), args.negatives, scorer,
                                      rng, Path(tmp), base, progress=lambda s: print(s, file=sys.stderr, flush=True)))
    rng.shuffle(pairs)
    write_pairs(args.out, pairs, f"{len(pairs):,} mined pairs ({sum(p.label for p in pairs):,} positive) from "
                f"{args.train_dir}, seed {args.seed}, scorer {args.scorer or 'the shipped reader'}, at most "
                f"{args.per_set:,} questions a set {sizes or ''}, {args.negatives} negatives a question, in "
                f"{time.perf_counter() - t0:.0f} s:")
    return 0


if __name__ == "__main__":
    sys.exit(main())
