"""Grow an index to a given number of chunks from real articles, without hours of embedding.

Real articles (the shared evaluation sets, else the samples) go in first through
`Engine.add`, the real pipeline; their embeddings come from the cache after the
first run. Past the real corpus, each further article is a *variant* of a real
one: its digits are redrawn (same length, so the chunk offsets hold), it gets its
own id and content hash, and each chunk vector is the real chunk's vector plus
Gaussian noise (sigma 0.01 per dimension, cosine about 0.98 to the original),
renormalised. Variants are written with `Ingest.write_embedded`, the same
Chroma and lexical writes as an add, minus the model.
"""
from __future__ import annotations

import random
import re
from dataclasses import replace
from typing import Iterator

import numpy as np

from newsbot.index.text.chunking import chunk_text
from newsbot.index.engine import Engine
from newsbot.index.records import AddError
from newsbot.index.records import Article, Chunk
from newsbot.index.text.words import content_hash

_DIGIT = re.compile(r"\d")


class GrowingCorpus:
    def __init__(self, engine: Engine, files, namespace: str = "bench", seed: int = 11) -> None:
        self.engine = engine
        self.namespace = namespace
        self.rng = random.Random(seed)
        self.np_rng = np.random.default_rng(seed)
        self._drafts = self._iter_drafts(files)
        self.base: list[tuple[Article, list[Chunk], np.ndarray]] = []
        self.real_articles = 0
        self.variants = 0

    def _iter_drafts(self, files) -> Iterator:
        for path in files:
            yield from self.engine.drafts_from_jsonl(str(path))

    def chunks(self) -> int:
        return self.engine.store(self.namespace).count_chunks()

    def grow_to(self, target: int, batch: int = 64) -> int:
        """Add real articles, then variants, until the namespace holds at least `target` chunks."""
        count = self.chunks()
        while count < target:
            drafts = [d for _, d in zip(range(batch), self._drafts)]
            if not drafts:
                break
            for result in self.engine.add(drafts, namespace=self.namespace):
                if not isinstance(result, AddError) and result.status == "added":
                    self.real_articles += 1
                    count += result.chunks
                    self._remember(result.article)
        while count < target and self.base:
            items = []
            while count < target and len(items) < 200:
                article, chunks, vectors = self.rng.choice(self.base)
                items.append(self._variant(article, chunks, vectors))
                count += len(chunks)
            self.engine.ingest.write_embedded(self.engine.store(self.namespace), items)
            self.variants += len(items)
        return self.chunks()

    def _remember(self, article: Article) -> None:
        text = self.engine.store(self.namespace).get_article(article.id).text
        article = replace(article, text=text)
        settings = self.engine.settings
        chunks = chunk_text(article.id, text, settings.chunk_tokens, settings.chunk_overlap, self.engine.embedder.tokenizer(),
                            id_prefix=f"{article.id}@{article.content_hash[:12]}")
        vectors = self.engine.embedder.embed_passages([c.text for c in chunks])  # cache hits: embedded by the add
        self.base.append((article, chunks, vectors))

    def _variant(self, article: Article, chunks: list[Chunk], vectors: np.ndarray):
        text = _DIGIT.sub(lambda _: str(self.rng.randrange(10)), article.text)
        digest = content_hash(text + str(self.rng.random()))
        vid = f"{article.id}~{digest[:8]}"
        new = replace(article, id=vid, text=text, content_hash=digest, title=f"{article.title} ({digest[:4]})")
        new_chunks = [Chunk(f"{vid}@{digest[:12]}#{c.index}", vid, c.index, text[c.start:c.end], c.start, c.end) for c in chunks]
        noisy = vectors + self.np_rng.normal(0, 0.01, vectors.shape).astype(np.float32)
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        return new, new_chunks, noisy.astype(np.float32)
