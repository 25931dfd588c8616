"""Past one process: how long a process on a Chroma server takes to bring its BM25 index up to date after
another process added 100 articles to a namespace of 100k chunks (what a question then waits for), against
rebuilding that index from every chunk (what it did before it caught up by write time).

A real `chroma run` on 127.0.0.1; the chunks are written straight to the store with random vectors (the
embedding model is not what is measured), 5 chunks an article.

    python benchmarks/bench_sync.py [CHUNKS=100000]
"""
from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import ROOT, save

sys.path.insert(0, str(ROOT / "tests"))

from newsbot.index.ingest.pipeline import catch_up  # noqa: E402
from newsbot.index.records import Article, Chunk  # noqa: E402
from newsbot.index.storage.lexical import LexicalIndex  # noqa: E402
from newsbot.index.storage.store import NamespaceStore, open_client  # noqa: E402

WORDS = ("harbour bridge council budget nickel smelter election court ruling minister port grain drone talks "
         "summit refinery lithium flood rain school strike wages market shares bank rate inflation").split()
PER_ARTICLE = 5


def articles(start: int, count: int, rng: np.random.Generator):
    for a in range(start, start + count):
        sentences = [" ".join(rng.choice(WORDS, 24)) + "." for _ in range(PER_ARTICLE)]
        text = " ".join(sentences)
        article = Article(id=f"a{a}", title=f"Article {a}", text=text, lang="en", content_hash=f"{a:012d}",
                          added_at="2025-03-01T00:00:00+00:00")
        chunks, offset = [], 0
        for i, sentence in enumerate(sentences):
            chunks.append(Chunk(f"a{a}@{a:012d}#{i}", article.id, i, sentence, offset, offset + len(sentence)))
            offset += len(sentence) + 1
        vectors = rng.standard_normal((len(chunks), 384)).astype(np.float32)
        yield article, chunks, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def write(store: NamespaceStore, start: int, count: int, rng: np.random.Generator) -> None:
    batch = []
    for item in articles(start, count, rng):
        batch.append(item)
        if len(batch) == 200:
            store.write_articles(batch, replacing=set())
            batch = []
    if batch:
        store.write_articles(batch, replacing=set())


def main() -> None:
    chunks = int(next((a for a in sys.argv[1:] if a.isdigit()), "100000"))
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory() as tmp:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen([str(Path(sys.executable).parent / "chroma"), "run", "--path", f"{tmp}/server",
                                   "--host", "127.0.0.1", "--port", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(300):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    time.sleep(0.2)
            client = open_client(Path(tmp), "127.0.0.1", port)
            writer = NamespaceStore(client, "default", "bench-model")
            started = time.perf_counter()
            write(writer, 0, chunks // PER_ARTICLE, rng)
            print(f"{writer.count_chunks():,} chunks written in {time.perf_counter() - started:.0f} s", flush=True)

            reader = LexicalIndex(Path(tmp) / "lexical.sqlite")
            store = NamespaceStore(client, "default", "bench-model", create=False)
            started = time.perf_counter()
            reader.rebuild("default", store.iter_chunks())
            rebuild_s = time.perf_counter() - started
            started = time.perf_counter()
            catch_up(reader, store)  # marks where it is: the newest write it holds
            first_s = time.perf_counter() - started
            idle = []
            for _ in range(20):
                started = time.perf_counter()
                catch_up(reader, store)
                idle.append(time.perf_counter() - started)

            write(writer, chunks // PER_ARTICLE, 100, rng)  # another process adds 100 articles
            started = time.perf_counter()
            added, removed = catch_up(reader, store)
            after_s = time.perf_counter() - started
            assert reader.count("default") == store.count_chunks(), "caught up"
        finally:
            server.terminate()
            server.wait(30)
    idle_ms = sorted(idle)[len(idle) // 2] * 1000
    print(f"rebuild from every chunk: {rebuild_s:.1f} s; first catch-up after it: {first_s:.1f} s")
    print(f"catch-up with nothing new (what a question pays): median {idle_ms:.1f} ms")
    print(f"catch-up after 100 new articles ({added} chunks added, {removed} removed): {after_s * 1000:.0f} ms")
    save({"server_sync": {"chunks": chunks, "rebuild_s": round(rebuild_s, 1), "idle_catch_up_ms": round(idle_ms, 1),
                          "catch_up_after_100_articles_ms": round(after_s * 1000)}})


if __name__ == "__main__":
    main()
