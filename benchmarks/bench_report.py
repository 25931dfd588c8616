"""report.html at scale: how big the page of a large run is, how long it takes to draw, and how long a
real headless Chromium takes to open it (until its question table is drawn) and to show every row.

    python bench_report.py                      # a made-up run: 2,000 questions x 2 configs, 3,000-char passages
    python bench_report.py --run DIR [DIR2]     # a real `newsbot eval --out DIR` run (against DIR2 if given)

Prints the figures and records them in results.json under "report".
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))


def open_times(path: Path, repeats: int = 5) -> dict:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return {"browser": "no chromium (apt-get install chromium)"}
    opened, all_rows = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for _ in range(repeats):
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            started = time.perf_counter()
            page.goto(path.resolve().as_uri())
            page.wait_for_selector("body[data-ready='1']")
            opened.append(time.perf_counter() - started)
            if page.locator("#more").is_visible():
                started = time.perf_counter()
                page.click("#more")
                page.wait_for_function("document.querySelector('#more').hidden")
                all_rows.append(time.perf_counter() - started)
            page.close()
        browser.close()
    return {"open_s_median": round(statistics.median(opened), 3), "open_s_max": round(max(opened), 3),
            "show_all_rows_s_median": round(statistics.median(all_rows), 3) if all_rows else None}


def main() -> None:
    from newsbot.index.evaluation.report import eval_page, load_run
    from support.report_runs import synthetic_run

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", nargs="+", metavar="DIR", help="a real run folder (and a baseline run folder)")
    parser.add_argument("--questions", type=int, default=2000, help="questions per config of the made-up run")
    args = parser.parse_args()
    if args.run:
        run, baseline = load_run(args.run[0]), (load_run(args.run[1]) if len(args.run) > 1 else None)
        label = f"run {args.run[0]}" + (f" against {args.run[1]}" if baseline else "")
    else:
        run, baseline = synthetic_run(args.questions, configs=("default", "reader-on"), passage_chars=3000), None
        label = f"made-up run, {args.questions} questions x 2 configs, 3,000-char passages"
    started = time.perf_counter()
    html = eval_page(run, baseline)
    build_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.html"
        path.write_text(html, encoding="utf-8")
        figures = {"case": label, "rows": len(run.records), "bytes": len(html.encode("utf-8")),
                   "build_s": round(build_s, 2), **open_times(path)}
    for key, value in figures.items():
        print(f"{key:>24}: {value}")
    results_path = HERE / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    results.setdefault("report", {})["real" if args.run else "synthetic"] = figures
    results_path.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
