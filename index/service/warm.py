"""`newsbot warm`: build every model file a question needs (the embedding model's ONNX graph and
tokenizer, the reader's graph) into NEWSBOT_MODEL_DIR, and check that each answers. The container
image runs it at build time, so a new container answers its first question without building anything,
whichever user it runs as (the files are world-readable: `model_files.write_atomically`)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from newsbot.index.settings import Settings


@dataclass(frozen=True)
class Warmed:
    folder: Path
    embedding_model: str
    dimensions: int
    reader: str  # the reader's name, or why there is none ("off")
    seconds: float


def warm(settings: Settings) -> Warmed:
    """Build and load the embedding model and the reader the settings name; raises NewsbotError."""
    from newsbot.index.embedding.providers import build_embedding

    started = time.perf_counter()
    if not (settings.model_dir or settings.cache_dir):  # the model files then live in the data directory
        from newsbot.index.storage.data_dir import prepare

        prepare(Path(settings.data_dir))
    model = build_embedding(settings)
    vector = model.get_query_embedding("warm-up")
    reader = "off"
    if settings.reader == "on":
        from newsbot.index.answering.reader import load_reader

        loaded = load_reader(settings)
        loaded.score("warm-up", ["warm-up"])
        reader = loaded.name
    folder = Path(settings.model_dir or settings.cache_dir or settings.data_dir)
    return Warmed(folder, model.model_name, len(vector), reader, time.perf_counter() - started)


def describe(done: Warmed) -> str:
    return (f"{done.embedding_model}: ready in {done.folder} ({done.dimensions} dimensions); reader: {done.reader} "
            f"({done.seconds:.1f} s)")
