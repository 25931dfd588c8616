"""What every benchmark shares: where data lives, percentiles, results.json, tables.

Benchmarks print figures; they assert nothing. `benchmarks/results.json` collects the
figures of every script (each script replaces its own keys).
"""
from __future__ import annotations

import json
import os
import random
import resource
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH = ROOT / "benchmarks"
RESULTS = BENCH / "results.json"
WORK = Path(os.environ.get("NEWSBOT_BENCH_WORK", BENCH / "work"))
# Embeddings are cached across runs here (set NEWSBOT_BENCH_CACHE to reuse another cache).
CACHE = Path(os.environ.get("NEWSBOT_BENCH_CACHE", BENCH / "cache"))
SHARED = ROOT.parent / "shared" / "data"
SAMPLES = ROOT / "samples"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q
    lo, hi = int(pos), min(int(pos) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def peak_rss_mb() -> float:
    """Peak resident set size of this process, in MiB.

    VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss across fork + exec, so a probe
    started by a big benchmark process reports at least the parent's size (a 600 MB parent made a
    212 MB probe read 611 MB). VmHWM belongs to the process image itself.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # no /proc: bytes on macOS, KiB elsewhere
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def article_files() -> list[Path]:
    """Real articles: the shared evaluation sets when present, else the bundled samples."""
    names = ["rtqa-dev", "idmt-dev", "facqa-dev"]
    found = [SHARED / n / "articles.jsonl" for n in names if (SHARED / n / "articles.jsonl").is_file()]
    return found or [SAMPLES / "articles.jsonl"]


def question_texts(limit: int, seed: int = 7) -> list[str]:
    """Real questions (English and Indonesian) from the same sets, shuffled with a fixed seed."""
    names = ["rtqa-dev", "idmt-dev", "facqa-dev"]
    files = [SHARED / n / "questions.jsonl" for n in names if (SHARED / n / "questions.jsonl").is_file()]
    files = files or [SAMPLES / "questions.jsonl"]
    questions = []
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                questions.append(json.loads(line)["question"])
    random.Random(seed).shuffle(questions)
    return questions[:limit]


def save(section: dict) -> None:
    """Merge `section` into benchmarks/results.json."""
    BENCH.mkdir(exist_ok=True)
    data = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.is_file() else {}
    data.update(section)
    RESULTS.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def table(rows: list[dict], title: str = "") -> str:
    if not rows:
        return ""
    cols = list(rows[0])
    widths = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in cols}
    lines = [title] if title else []
    lines.append("  ".join(c.ljust(widths[c]) for c in cols))
    lines.append("  ".join("-" * widths[c] for c in cols))
    lines += ["  ".join(_fmt(r.get(c)).ljust(widths[c]) for c in cols) for r in rows]
    return "\n".join(lines)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)
