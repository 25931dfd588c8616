"""A full disk or a read-only data directory is a clear error, and loses nothing.

The data directory is a small tmpfs mounted in a private mount namespace
(`unshare -r -m`: no root needed, nothing leaks to the host). The disk is filled
with a ballast file, or the mount is remounted read-only, while the real CLI runs.
"""
from __future__ import annotations

import json
import shlex
import subprocess
import sys

import pytest

from conftest import ROOT, SAMPLES, answerable, cli_env


def _can_mount() -> bool:
    try:
        probe = subprocess.run(["unshare", "-r", "-m", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"],
                               capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


pytestmark = [pytest.mark.skipif(not _can_mount(), reason="needs unshare and tmpfs mounts in a user namespace"),
              pytest.mark.drill]

CHECK = """
import json
from newsbot.index.engine import Engine
from newsbot.index.settings import Settings
with Engine(Settings.load()) as e:
    listed = {a.id: a.chunks for a in e.sources()}
    stored = {}
    for _, _, meta in e.store().iter_chunks():
        stored[meta["article_id"]] = stored.get(meta["article_id"], 0) + 1
    print("CHECK " + json.dumps({"articles": len(listed), "whole": listed == stored,
                                 "lexical": e.lexical.count("default") == sum(stored.values())}))
"""


def run_in_namespace(script: str, settings, tmp_path) -> dict[str, str]:
    """Run `script` (sh) with $DATA a fresh tmpfs; returns each step's output keyed by its `step NAME` marker."""
    data = tmp_path / "mnt"
    data.mkdir()
    py = shlex.quote(sys.executable)
    (tmp_path / "check.py").write_text(CHECK, encoding="utf-8")
    prelude = (f"set -u; DATA={shlex.quote(str(data))}; cd {shlex.quote(str(ROOT))}; "
               f"nb() {{ {py} -m newsbot.index.cli \"$@\" 2>&1; echo \"rc=$?\"; }}; "
               f"check() {{ {py} {shlex.quote(str(tmp_path / 'check.py'))} 2>&1; }}; "
               f"step() {{ echo \"@@step $1\"; }}; ")
    env = cli_env(settings, NEWSBOT_DATA_DIR=str(data))
    out = subprocess.run(["unshare", "-r", "-m", "sh", "-c", prelude + script], env=env, capture_output=True,
                         timeout=900, cwd=ROOT)
    steps: dict[str, str] = {}
    name = "start"
    for line in out.stdout.decode(errors="replace").splitlines():
        if line.startswith("@@step "):
            name = line.split(" ", 1)[1]
            continue
        steps[name] = steps.get(name, "") + line + "\n"
    assert out.returncode == 0, out.stderr.decode() + out.stdout.decode()
    return steps


def check_of(output: str) -> dict:
    line = next(line for line in output.splitlines() if line.startswith("CHECK "))
    return json.loads(line[6:])


def test_full_disk_during_a_bulk_add_is_a_clear_error_and_a_rerun_completes(settings, tmp_path, sample_engine):
    sample_engine.close()  # the samples are now in the shared embedding cache: the adds below embed nothing
    first, rest = tmp_path / "first.jsonl", tmp_path / "rest.jsonl"
    lines = (SAMPLES / "articles.jsonl").read_text(encoding="utf-8").splitlines()
    first.write_text("\n".join(lines[:10]) + "\n", encoding="utf-8")
    rest.write_text("\n".join(lines[10:]) + "\n", encoding="utf-8")
    steps = run_in_namespace(f"""
        mount -t tmpfs -o size=24m tmpfs "$DATA"
        step first; nb add --jsonl {first}
        step fill; dd if=/dev/zero of="$DATA/ballast" bs=64k 2>/dev/null; df -k "$DATA" | tail -1
        step full; nb add --jsonl {rest}
        step freed; rm "$DATA/ballast"; check
        step rerun; nb add --jsonl {SAMPLES / 'articles.jsonl'}
        step after; check
    """, settings, tmp_path)
    assert "rc=0" in steps["first"]
    assert "rc=1" in steps["full"]
    assert "cannot write to the data directory" in steps["full"] and "the disk is full" in steps["full"]
    assert "Traceback" not in steps["full"]
    kept = check_of(steps["freed"])
    assert kept["articles"] >= 10 and kept["whole"] and kept["lexical"], "what was indexed before is intact, no orphans"
    assert "rc=0" in steps["rerun"]
    assert check_of(steps["after"]) == {"articles": 31, "whole": True, "lexical": True}


def test_read_only_data_directory_is_a_clear_error_and_nothing_is_lost(settings, tmp_path, sample_engine):
    sample_engine.close()
    note = tmp_path / "note.txt"
    note.write_text("Lumen Metals opened a lithium mine in Nevada on Friday, the company said.", encoding="utf-8")
    question, quoted = answerable()
    steps = run_in_namespace(f"""
        mount -t tmpfs -o size=24m tmpfs "$DATA"
        step add; nb add --jsonl {SAMPLES / 'articles.jsonl'}
        mount -o remount,ro "$DATA"
        step ro_add; nb add {note}
        step ro_ask; nb ask "{question}"
        mount -o remount,rw "$DATA"
        step rw; check; nb ask "{question}"
    """, settings, tmp_path)
    assert "rc=0" in steps["add"]
    for step in ("ro_add", "ro_ask"):
        assert "rc=1" in steps[step] and "read-only or not writable" in steps[step], steps[step]
        assert "Traceback" not in steps[step]
    assert check_of(steps["rw"]) == {"articles": 31, "whole": True, "lexical": True}
    assert quoted in steps["rw"]


KILL_AT_STEP = """
import os, sys
import newsbot.index.ingest.reindex as reindex
reindex._step = lambda name: os._exit(137) if name == sys.argv[1] else None
from newsbot.index.cli import main
sys.exit(main(["reindex"]))
"""


def production_layout(settings, tmp_path) -> str:
    """The embedding cache in the data directory, as by default (a full disk reaches it too); the model's
    graphs, 37 MB, outside the small disk."""
    (tmp_path / "kill.py").write_text(KILL_AT_STEP, encoding="utf-8")
    return f'export NEWSBOT_CACHE_DIR="$DATA" NEWSBOT_MODEL_DIR={shlex.quote(str(settings.cache_dir))}; '


def test_a_reindex_without_room_for_its_copy_is_refused_before_it_writes_and_questions_are_answered(settings,
                                                                                                   tmp_path):
    """Before: the copy filled the disk; the swap then failed dropping `.old`, and every command after it failed
    with "the disk is full" until space was freed."""
    question, quoted = answerable()
    steps = run_in_namespace(production_layout(settings, tmp_path) + f"""
        mount -t tmpfs -o size=24m tmpfs "$DATA"
        step add; nb add --jsonl {SAMPLES / 'articles.jsonl'}
        step fill; dd if=/dev/zero of="$DATA/ballast" bs=64k count=$(( $(df -k --output=avail "$DATA" | tail -1) / 64 - 32 )) \
            2>/dev/null; df -k "$DATA" | tail -1
        step reindex; nb reindex
        step ask; nb ask "{question}"
        step health; nb health
        step collections; {shlex.quote(sys.executable)} -c "import chromadb; print(sorted(c.name for c in \
chromadb.PersistentClient(path='$DATA/chroma').list_collections()))"
        step freed; rm "$DATA/ballast"; nb reindex; check
    """, settings, tmp_path)
    assert "rc=1" in steps["reindex"] and "not enough room to reindex" in steps["reindex"], steps["reindex"]
    assert "MB free" in steps["reindex"] and "Traceback" not in steps["reindex"]
    assert "rc=0" in steps["ask"] and quoted in steps["ask"], steps["ask"]
    assert "rc=1" in steps["health"] and "is full" in steps["health"], steps["health"]
    assert ".next" not in steps["collections"] and ".old" not in steps["collections"], steps["collections"]
    assert "rc=0" in steps["freed"] and check_of(steps["freed"]) == {"articles": 31, "whole": True, "lexical": True}
