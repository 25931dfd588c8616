"""How long `newsbot add` takes, and how much memory, to refuse an article too long for
NEWSBOT_MAX_ARTICLE_CHARS: a 60 MB JSONL line (followed by a good one, which must still be added) and a
19.6 MB HTML page. Each `newsbot add` is a process of its own on a fresh data directory; its peak RSS is
its own (wait4's rusage of that child alone).

    python benchmarks/bench_refusals.py
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import CACHE, save

GOOD = {"id": "ok", "title": "Port of Odesa reopens", "text": "The port of Odesa reopened on Thursday after a drone "
        "attack damaged two grain terminals overnight, regional officials said. Loading resumed by noon."}


def timed_add(args: list[str], data_dir: Path) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, what it printed on stderr) of one `newsbot add`."""
    env = {**os.environ, "NEWSBOT_DATA_DIR": str(data_dir), "NEWSBOT_CACHE_DIR": str(CACHE)}
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "newsbot.index.cli", "add", *args], env=env,
                                 stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        said = err.read().decode("utf-8", "replace")
    return seconds, usage.ru_maxrss / 1024, said


def main() -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        line = folder / "big.jsonl"
        with line.open("w", encoding="utf-8") as out:
            out.write(json.dumps({"id": "huge", "title": "A 60 MB article", "text": "word " * 12_000_000}) + "\n")
            out.write(json.dumps(GOOD) + "\n")
        paragraph = "<p>" + "The council met again today to discuss the budget for the coming year. " * 40 + "</p>\n"
        page = folder / "big.html"
        page.write_text("<html><head><title>Budget</title></head><body><article>"
                        + paragraph * (19_600_000 // len(paragraph)) + "</article></body></html>", encoding="utf-8")
        baseline = folder / "small.jsonl"
        baseline.write_text(json.dumps(GOOD) + "\n", encoding="utf-8")
        cases = [("one small article (baseline)", ["--jsonl", str(baseline)]),
                 (f"a {line.stat().st_size / 1e6:.0f} MB JSONL line, then a small one", ["--jsonl", str(line)]),
                 (f"a {page.stat().st_size / 1e6:.1f} MB HTML page", [str(page)])]
        print(f"{'input':44} {'seconds':>8} {'peak RSS MB':>12}  outcome")
        for i, (name, args) in enumerate(cases):
            seconds, rss, said = timed_add(args, folder / f"data{i}")
            outcome = "refused (article too long)" if "article too long" in said else ""
            if "1 added" in said:
                outcome += ", the good one added" if outcome else "added"
            print(f"{name:44} {seconds:8.2f} {rss:12.0f}  {outcome}")
            results[name] = {"seconds": round(seconds, 2), "peak_rss_mb": round(rss)}
    save({"refusals": results})


if __name__ == "__main__":
    main()
