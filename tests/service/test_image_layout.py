"""The container image's layout, rebuilt without docker: the model files built by one user (root, as the
Dockerfile's `RUN newsbot warm` does), then newsbot run by another (uid 10001, as `USER 10001:10001`) with
every capability dropped, on a data directory that user owns.

Needs root, util-linux's `setpriv` and `unshare`, and mount namespaces: the interpreter may live in a folder
only root may enter (/root/.pyenv), which a private mount namespace opens for the other user without
changing the machine. Skipped, with the reason, where any of that is missing.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT, SAMPLES, SEED_QUESTION

RUN_AS = 10001
pytestmark = [
    pytest.mark.model,
    pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="needs root, to act as another user"),
    pytest.mark.skipif(not (shutil.which("setpriv") and shutil.which("unshare")), reason="needs setpriv and unshare"),
]


def closed_ancestors(path: Path) -> list[tuple[Path, str]]:
    """(folder, child on the way to `path`) for each folder on the way that other users may not enter."""
    out = []
    for folder in reversed(path.resolve().parents):
        if folder == Path("/"):
            continue
        if not folder.stat().st_mode & stat.S_IXOTH:
            child = path.resolve().relative_to(folder).parts[0]
            out.append((folder, child))
    return out


def opening_script(needed: list[Path], staging: Path) -> str:
    """Shell lines, run in a private mount namespace, that let another user reach `needed`: each closed
    folder is covered by an empty world-readable tmpfs holding only the children on the way, bind-mounted
    from where they are (so nothing else in it is shown, and nothing on the machine changes)."""
    children: dict[Path, set[str]] = {}
    for path in needed:
        for folder, child in closed_ancestors(path):
            children.setdefault(folder, set()).add(child)
    lines = []
    for i, (folder, names) in enumerate(sorted(children.items())):
        for name in sorted(names):
            keep = staging / f"{i}-{name}"
            lines += [f"mkdir -p {shlex.quote(str(keep))}",
                      f"mount --bind {shlex.quote(str(folder / name))} {shlex.quote(str(keep))}"]
        lines.append(f"mount -t tmpfs -o mode=755 tmpfs {shlex.quote(str(folder))}")
        for name in sorted(names):
            keep = staging / f"{i}-{name}"
            lines += [f"mkdir -p {shlex.quote(str(folder / name))}",
                      f"mount --bind {shlex.quote(str(keep))} {shlex.quote(str(folder / name))}"]
    return "\n".join(lines)


class OtherUser:
    """Commands run as uid RUN_AS with no capabilities, the interpreter and this checkout reachable."""

    def __init__(self, base: Path, env: dict[str, str]) -> None:
        self.base = base
        self.env = env
        needed = [ROOT, Path(sys.prefix), Path(sys.base_prefix), Path(os.path.realpath(sys.executable))]
        self.prelude = opening_script(needed, base / "staging")

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        drop = ["setpriv", f"--reuid={RUN_AS}", f"--regid={RUN_AS}", "--clear-groups", "--inh-caps=-all",
                "--bounding-set=-all"]
        env_args = [f"{k}={v}" for k, v in self.env.items()]
        command = shlex.join([*drop, "env", "-i", *env_args, *args])
        script = f"set -e\n{self.prelude}\ncd {shlex.quote(str(self.base))}\nexec {command}"
        return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                              capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def image(tmp_path):
    base = Path(tempfile.mkdtemp(prefix="newsbot-image-"))  # pytest's tmp_path is 0700: the other user needs in
    try:
        base.chmod(0o755)
        model, data = base / "model", base / "data"
        data.mkdir()
        os.chown(data, RUN_AS, RUN_AS)
        bin_dir = str(Path(sys.executable).parent)
        image_env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "NEWSBOT_MODEL_DIR": str(model), "NEWSBOT_DATA_DIR":
                     str(data), "HOME": str(data), "NEWSBOT_LOG_FORMAT": "json", "PYTHONDONTWRITEBYTECODE": "1"}
        probe = OtherUser(base, image_env).run(sys.executable, "-c", "import newsbot.index.cli", timeout=120)
        if probe.returncode != 0:
            pytest.skip(f"uid {RUN_AS} cannot run this interpreter here: {probe.stderr.strip()[-300:]}")
        yield base, image_env
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_a_model_built_by_root_answers_for_another_user_without_capabilities(image):
    base, image_env = image
    model = Path(image_env["NEWSBOT_MODEL_DIR"])
    # the Dockerfile's build step: root, umask 022, `newsbot warm` (which itself runs with umask 077)
    built = subprocess.run([str(Path(sys.executable).parent / "newsbot"), "warm"], env={**image_env, "HOME": str(base)},
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    files = sorted((model / "onnx").iterdir())
    assert {f.suffix for f in files} == {".onnx", ".spm"} and any(f.name.startswith("reader-") for f in files), \
        "warm builds the embedder's graph and tokenizer and the reader's graph"
    for path in [model, model / "onnx", *files]:
        assert path.stat().st_mode & 0o005 == 0o005 or path.is_file() and path.stat().st_mode & 0o004, path
    before = {f.name: f.stat().st_mtime_ns for f in files}

    user = OtherUser(base, image_env)
    added = user.run("newsbot", "add", "--jsonl", str(SAMPLES / "articles.jsonl"))
    assert added.returncode == 0, added.stderr
    asked = user.run("newsbot", "ask", SEED_QUESTION, "--json")
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["citations"] and not answer["abstained"]
    assert "damaged" not in added.stderr + asked.stderr
    health = user.run("newsbot", "health")
    assert health.returncode == 0 and health.stdout.startswith("ok:"), health.stderr
    assert {f.name: f.stat().st_mtime_ns for f in sorted((model / "onnx").iterdir())} == before, \
        "the run user read the model as built; nothing was built again"
    assert all(p.stat().st_uid == RUN_AS for p in Path(image_env["NEWSBOT_DATA_DIR"]).iterdir())

    # A model folder the run user may not read is named as such, not as the data directory.
    for f in files:
        f.chmod(0o600)
    refused = user.run("newsbot", "ask", SEED_QUESTION)
    assert refused.returncode == 1
    assert f"model directory {model / 'onnx'}" in refused.stderr and "NEWSBOT_MODEL_DIR" in refused.stderr, \
        refused.stderr
    assert "data directory" not in refused.stderr
