"""Memory and failures of one process serving many namespaces (a bot in many Discord servers): N namespaces
with one article each, added one after another, then a question asked in every one. Prints RSS as it grows
and the peak; on the deterministic fake embedder (tests/support/fake_embedder.py), so only the store's and
newsbot's own per-namespace costs are measured.

    python benchmarks/bench_namespaces.py [N=2000] [--open-namespaces=K]
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, peak_rss_mb, save

sys.path.insert(0, str(ROOT / "tests"))

from newsbot.index.engine import Engine  # noqa: E402
from newsbot.index.settings import Settings  # noqa: E402
from newsbot.index.sources.draft import Draft  # noqa: E402

FAKE = {"embed_provider": "custom", "embed_model": "support.fake_embedder:HashEmbedding",
        "reader_model": "support.fake_reader:OverlapReader"}


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    n = int(next((a for a in sys.argv[1:] if a.isdigit()), "2000"))
    extra = {}
    for arg in sys.argv[1:]:
        if arg.startswith("--open-namespaces="):
            extra["open_namespaces"] = int(arg.split("=", 1)[1])
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", **FAKE, **extra)
        failures: list[str] = []
        started = time.perf_counter()
        with Engine(settings) as engine:
            for i in range(n):
                engine.add([Draft(text=f"Server {i} reports that the harbour bridge number {i} reopened on Monday "
                                       "after repairs, the city council said.", title=f"Bridge {i} reopens",
                                  id=f"a{i}")], namespace=f"guild-{i}")
                if (i + 1) % max(1, n // 10) == 0:
                    print(f"{i + 1:6} namespaces added: RSS {rss_mb():7.0f} MB ({time.perf_counter() - started:.0f} s)",
                          flush=True)
            asked_at = time.perf_counter()
            for i in range(n):
                try:
                    answer = engine.ask(f"When did harbour bridge number {i} reopen?", namespace=f"guild-{i}")
                    if not answer.passages:
                        failures.append(f"guild-{i}: nothing found")
                except Exception as exc:  # noqa: BLE001 - counted and shown: the figure is how many fail
                    failures.append(f"guild-{i}: {type(exc).__name__}: {str(exc)[:120]}")
            ask_s = time.perf_counter() - asked_at
            print(f"asked in all {n}: {len(failures)} failed, {ask_s / n * 1000:.1f} ms a question; RSS {rss_mb():.0f} MB")
        peak = peak_rss_mb()
    for failure in failures[:5]:
        print("  ", failure)
    print(f"peak RSS {peak:.0f} MB for {n} namespaces")
    save({f"namespaces_{n}": {"peak_rss_mb": round(peak), "failed_asks": len(failures),
                              "ask_ms": round(ask_s / n * 1000, 1), **extra}})


if __name__ == "__main__":
    main()
