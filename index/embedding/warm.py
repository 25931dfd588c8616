"""`python -m newsbot.index.embedding.warm`: build the ONNX graph and tokenizer the default embedding
model runs on, into NEWSBOT_MODEL_DIR, and check it embeds. The container image runs it at build
time, so the model is inside the image and a new container answers without building anything."""
from __future__ import annotations

import sys
import time

from newsbot.index.embedding.providers import build_embedding
from newsbot.index.errors import NewsbotError
from newsbot.index.settings import Settings


def main() -> int:
    try:
        settings = Settings.load()
        started = time.perf_counter()
        model = build_embedding(settings)
        vector = model.get_query_embedding("warm-up")
    except NewsbotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    where = settings.model_dir or settings.cache_dir or settings.data_dir
    print(f"{model.model_name}: ready in {where} ({len(vector)} dimensions, {time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
