"""Token-level MaxSim from the frozen encoder: a feature of the judgment, or a reranker?

    python benchmarks/probe_maxsim.py judge NAME=EVAL_DIR ... [--passages=3] [--seed=1]
    python benchmarks/probe_maxsim.py rerank NAME=EVAL_DIR ... [--passages=5] [--seed=1]

EVAL_DIR is a `newsbot eval --out` run over a leave-gold-out set (`benchmarks/reader_evals.sh`); the
`default` configuration's records give the question, its top passages (their full text and fused
score) and the judgment's probability. The question and each passage are encoded as one sequence by
multilingual-e5-small (all 12 layers, untrained, as the embedder ships it); MaxSim is the mean over
the question's tokens of the best cosine with a passage token in the final hidden states.

`judge`: AUC of telling answerable questions from the removed ones, for the hand judgment's logit,
MaxSim of the first passage and the best of the top passages; then a logistic model on each feature
set fitted on one half (threshold at ≤ 0.05 false abstention there) and read on the other.
`rerank`: gold article cited first when the top passages are re-sorted by fused score + w × MaxSim.
Nothing here ships; docs/reader.md has the figures.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from fit_answerability import fit_logistic, half  # noqa: E402

from newsbot.index.embedding.e5_onnx import build_graph, open_session, shared_model  # noqa: E402
from newsbot.index.embedding.e5_tokenizer import PASSAGE_PREFIX, QUERY_PREFIX  # noqa: E402
from training.metrics import auc  # noqa: E402

CACHE = ROOT / "benchmarks" / "cache"
STATES = "l11.h2"  # the last layer's hidden states, a tensor inside the embedder's graph
MAX_POSITIONS = 512
QUESTION_TOKENS = 64


class TokenStates:
    """The embedder's graph with its last hidden states as a second output."""

    def __init__(self) -> None:
        import onnx

        self.e5 = shared_model(CACHE)
        graph = CACHE / "onnx" / "probe-maxsim-states.onnx"
        if not graph.exists():
            model = build_graph(self.e5.weights)
            hidden = self.e5.weights.config.hidden
            model.graph.output.append(onnx.helper.make_tensor_value_info(STATES, onnx.TensorProto.FLOAT,
                                                                         ["batch", "seq", hidden]))
            graph.parent.mkdir(parents=True, exist_ok=True)
            onnx.save(model, str(graph))
        self.session = open_session(graph, 2)

    def maxsim(self, question: str, passages: list[str]) -> list[float]:
        tok = self.e5.tokenizer
        q = tok.content_ids_batch([question], QUERY_PREFIX)[0][:QUESTION_TOKENS]
        seqs, spans = [], []
        for p in tok.content_ids_batch(passages, PASSAGE_PREFIX):
            p = p[: MAX_POSITIONS - 4 - len(q)]  # a probe: a passage's tail past 512 tokens is not read
            seqs.append([tok.bos, *q, tok.eos, tok.eos, *p, tok.eos])
            spans.append((len(q), len(p)))
        embeddings, mask = self.e5.inputs(seqs)
        (states,) = self.session.run([STATES], {"embeddings": embeddings, "mask": mask})
        out = []
        for s, (lq, lp) in zip(states, spans):
            qs, ps = unit(s[1: 1 + lq]), unit(s[lq + 3: lq + 3 + lp])
            out.append(float((qs @ ps.T).max(axis=1).mean()))
        return out


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def default_records(folder: Path) -> list[dict]:
    rows = (json.loads(line) for line in (folder / "answers.jsonl").read_text(encoding="utf-8").splitlines())
    return [r for r in rows if r.get("config") == "default" and r.get("passages")]


def threshold_at(score: np.ndarray, y: np.ndarray, false_abstain: float = 0.05) -> float:
    """Abstain below it: the highest such threshold at which at most that share of answerable ones abstain."""
    answerable = np.sort(score[y == 1])
    k = int(np.floor(false_abstain * len(answerable)))
    return float(answerable[k]) if k < len(answerable) else float(answerable[-1]) + 1e-9


def rates(abstain: np.ndarray, y: np.ndarray) -> str:
    return f"{abstain[y == 0].mean():.3f} / {abstain[y == 1].mean():.3f}"


def judge(name: str, records: list[dict], sims: list[list[float]], seed: str) -> None:
    y = np.array([0 if r["id"].startswith("gone-") else 1 for r in records])
    h = np.array([half(r["id"], seed) for r in records])
    p = np.array([r["judgment"].get("probability", 0.5) for r in records]).clip(1e-4, 1 - 1e-4)
    hand = np.log(p / (1 - p))
    first, best = np.array([s[0] for s in sims]), np.array([max(s) for s in sims])
    shipped = np.array([bool(r["abstained"]) for r in records])
    print(f"{name}: {len(records)} questions, {int(y.sum())} answerable; AUC hand {auc(hand, y):.3f}, "
          f"MaxSim first {auc(first, y):.3f}, best {auc(best, y):.3f}")
    for fit_half in (0, 1):
        fit_on, read_on = h == fit_half, h != fit_half
        cells = [f"shipped {rates(shipped[read_on], y[read_on])}"]
        feature_sets = {"hand": np.c_[hand], "hand+MaxSim": np.c_[hand, first, best], "MaxSim": np.c_[first, best]}
        for label, x in feature_sets.items():
            x = np.c_[x, np.ones(len(x))]
            beta = fit_logistic(x[fit_on], y[fit_on].astype(float), np.ones(int(fit_on.sum())))
            score = x @ beta
            t = threshold_at(score[fit_on], y[fit_on])
            cells.append(f"{label} {rates(score[read_on] < t, y[read_on])}")
        print(f"  fitted on half {'AB'[fit_half]}, read on half {'BA'[fit_half]} (abstain recall / false abstain): "
              + "; ".join(cells))


def rerank(name: str, records: list[dict], sims: list[list[float]], seed: str) -> None:
    answerable = [(r, s) for r, s in zip(records, sims) if not r["id"].startswith("gone-")]
    for which in ("A", "B", "all"):
        chosen = [(r, s) for r, s in answerable if which == "all" or half(r["id"], seed) == "AB".index(which)]
        cells = []
        for w in (0.0, 0.5, 1.0, 2.0, 4.0, 16.0, None):
            first = 0
            for r, s in chosen:
                fused = np.array([p["score"] for p in r["passages"][: len(s)]])
                order = np.array(s) if w is None else fused + w * np.array(s)
                first += r["passages"][int(np.argmax(order))]["article_id"] in set(r["gold_articles"])
            cells.append(f"{'MaxSim alone' if w is None else f'w {w:g}'} {first / len(chosen):.3f}")
        print(f"{name} half {which} ({len(chosen)} answerable), gold cited first: " + ", ".join(cells))


def main(argv: list[str]) -> int:
    mode, args = argv[0], [a for a in argv[1:] if not a.startswith("--")]
    opts = dict(a[2:].split("=", 1) for a in argv[1:] if a.startswith("--") and "=" in a)
    k = int(opts.get("passages", 3 if mode == "judge" else 5))
    seed = opts.get("seed", "1")
    states = TokenStates()
    for arg in args:
        name, folder = arg.split("=", 1)
        records = default_records(Path(folder))
        if mode == "judge":
            records = [r for r in records if "features" in r.get("judgment", {})]
        sims = [states.maxsim(r["question"], [p["text"] for p in r["passages"][:k]]) for r in records]
        (judge if mode == "judge" else rerank)(name, records, sims, seed)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
