"""The reader's training recipe runs end to end (issue #26): pairs, the torch copy of the encoder,
training the top layers and the head, the file it writes. Few pairs, so the recipe cannot rot."""
from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the [train] extra (torch==2.13.0) is not installed")

from training import pairs, train  # noqa: E402
from training.encoder import E5, batch  # noqa: E402

pytestmark = pytest.mark.model  # the real weights, in torch


def test_the_torch_encoder_computes_what_the_onnx_embedder_does(cache_dir):
    from newsbot.index.embedding.e5_onnx import shared_model
    from newsbot.index.embedding.e5_tokenizer import PASSAGE_PREFIX

    onnx_e5_shared = shared_model(cache_dir)
    texts = ["Presiden meresmikan jalan tol baru di Jawa Timur pada hari Senin.",
             "The mayor opened the bridge on Monday, officials said, after years of delay."]
    tok = onnx_e5_shared.tokenizer
    ids, mask = batch([[tok.bos, *c, tok.eos] for c in tok.content_ids_batch(texts, PASSAGE_PREFIX)],
                      onnx_e5_shared.weights.vocabulary.pad)
    model = E5.shipped().eval()
    with torch.no_grad():
        pooled = model.pooled(model.upper(model.lower(ids, mask, 7), mask, 7), mask).numpy()
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
    assert ((pooled * onnx_e5_shared.passage(texts)).sum(1) > 0.999).all()


def test_training_runs_end_to_end_and_writes_a_small_file_saying_what_it_used(train_dir, tmp_path, capsys):
    pairs_file, out = tmp_path / "pairs.jsonl", tmp_path / "reader.npz"
    assert pairs.main(["--train-dir", str(train_dir), "--out", str(pairs_file)]) == 0
    rows = pairs_file.read_text(encoding="utf-8").splitlines() * 8  # a few dozen pairs
    pairs_file.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert train.main(["--pairs", str(pairs_file), "--out", str(out), "--train-layers", "1", "--batch", "8",
                       "--seed", "3"]) == 0
    said = capsys.readouterr().out
    assert f"{len(rows)} pairs" in said and "seed 3" in said and "steps" in said
    saved = np.load(out)
    meta = json.loads(saved["meta"].tobytes())
    assert meta["pairs"] == len(rows) and meta["steps"] > 0 and meta["train_layers"] == 1
    assert {"l11.q.weight", "l11.fo.bias", "head.w", "head.b"} <= set(saved.files)
    assert saved["l11.q.weight"].dtype == np.float16 and out.stat().st_size < 10e6
    assert np.abs(saved["l11.q.weight"].astype(np.float32)).max() > 0, "the top layer was trained, not only the head"

    # What newsbot runs on ONNX Runtime from that file is what torch trained.
    from newsbot.index.answering.reader import OnnxReader

    onnx = OnnxReader(tmp_path / "cache", out)
    assert np.allclose(onnx.score(QUESTION, WINDOWS), torch_scores(saved, onnx.tokenizer, 12, 1), atol=0.05)


def test_a_reader_of_the_first_layers_runs_only_those_and_scores_as_trained(train_dir, tmp_path):
    """The cheaper reader of docs/reader.md: e5's first 4 layers, the 4th trained; on ONNX Runtime a
    third of the whole encoder's graph, scoring what torch trained."""
    pairs_file, out = tmp_path / "pairs.jsonl", tmp_path / "reader.npz"
    assert pairs.main(["--train-dir", str(train_dir), "--out", str(pairs_file)]) == 0
    rows = pairs_file.read_text(encoding="utf-8").splitlines() * 4
    pairs_file.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert train.main(["--pairs", str(pairs_file), "--out", str(out), "--layers", "4", "--train-layers", "1",
                       "--batch", "8"]) == 0
    saved = np.load(out)
    assert json.loads(saved["meta"].tobytes())["layers"] == 4
    assert "l3.q.weight" in saved.files and not any(n.startswith("l11.") for n in saved.files)

    import onnx as onnx_lib

    from newsbot.index.answering.reader import OnnxReader

    reader = OnnxReader(tmp_path / "cache", out)
    (graph,) = (tmp_path / "cache" / "onnx").glob("reader-*.onnx")
    nodes = {n.name.split(".")[0] for n in onnx_lib.load(str(graph)).graph.node}
    assert {"l0", "l3"} <= nodes and "l4" not in nodes
    assert np.allclose(reader.score(QUESTION, WINDOWS), torch_scores(saved, reader.tokenizer, 4, 1), atol=0.05)


QUESTION = "Siapa yang meresmikan jalan tol baru?"
WINDOWS = ["Presiden meresmikan jalan tol baru di Jawa Timur pada hari Senin.", "Harga cabai naik di pasar."]


def torch_scores(saved, tokenizer, layers: int, train_layers: int) -> np.ndarray:
    """The scores torch gives QUESTION x WINDOWS with the saved file's deltas applied to e5."""
    encoder = E5.shipped().eval()
    reader = train.Reader(encoder, train_layers, layers)
    for offset, layer in enumerate(reader.top):
        for name, value in layer.state_dict().items():
            value += torch.from_numpy(saved[f"l{reader.start + offset}.{name}"].astype(np.float32))
    reader.head.weight.data = torch.from_numpy(saved["head.w"].astype(np.float32)).reshape(1, -1)
    reader.head.bias.data = torch.from_numpy(saved["head.b"].astype(np.float32))
    ids, mask = batch([train.pair_ids(tokenizer, QUESTION, w, 160) for w in WINDOWS], 1)
    with torch.no_grad():
        return reader(encoder.lower(ids, mask, reader.start), mask).numpy()


def test_auc_is_the_chance_a_positive_outranks_a_negative():
    assert train.auc(np.array([3.0, 2.0, 1.0, 0.0]), np.array([1, 1, 0, 0])) == 1.0
    assert train.auc(np.array([0.0, 1.0]), np.array([1, 0])) == 0.0
    assert train.auc(np.array([1.0, 1.0]), np.array([1, 0])) == 0.5
