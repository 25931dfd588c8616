"""Cold start: how long until the CLI or the bot can answer (the Discord login excluded).

    python benchmarks/bench_startup.py [--runs 5] [--reader on|off]

CLI: wall time of `newsbot ask QUESTION` in a new process (interpreter start,
imports, opening the index, embedding the question, answering), on the sample
articles. Bot: a new process that imports newsbot.bot.app, opens the engine and answers
once, which is what `newsbot serve` does before it logs in. Median of the runs
(the first run, with a cold OS file cache, is reported too).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

from common import CACHE, ROOT, SAMPLES, WORK, percentile, save, table

from newsbot.index.engine import Engine
from newsbot.index.settings import Settings

QUESTION = "What did Zelenskyy say about the minerals deal?"
BOT = (
    "import time; t = time.perf_counter()\n"
    "import newsbot.bot.app\n"
    "from newsbot.index.engine import Engine\nfrom newsbot.index.settings import Settings\n"
    "e = Engine(Settings.load()); e.ask(%r)\n"
    "print(time.perf_counter() - t)\n" % QUESTION
)


def timed(cmd: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reader", choices=("on", "off"), default="on",
                        help="NEWSBOT_READER for the measured processes "
                             "(the environment's NEWSBOT_ settings are not passed)")
    args = parser.parse_args()
    data = WORK / "startup"
    shutil.rmtree(data, ignore_errors=True)
    with Engine(Settings(data_dir=data, cache_dir=CACHE)) as engine:
        engine.add(engine.drafts_from_jsonl(str(SAMPLES / "articles.jsonl")))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "CHROMA_", "LLM_"))}
    env.update(NEWSBOT_DATA_DIR=str(data), NEWSBOT_READER=args.reader,
               NEWSBOT_CACHE_DIR=str(WORK / "startup-empty-cache"))  # an empty cache: the question is embedded
    newsbot = str(ROOT / ".venv" / "bin" / "newsbot") if (ROOT / ".venv" / "bin" / "newsbot").exists() else "newsbot"
    cli = [timed([newsbot, "ask", QUESTION], env) for _ in range(args.runs)]
    bot_runs = []
    for _ in range(args.runs):
        out = subprocess.run([sys.executable, "-c", BOT], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
        bot_runs.append(float(out.stdout.strip().splitlines()[-1]))
    rows = [{"what": what, "first_s": runs[0], "median_s": percentile(runs, 0.5), "max_s": max(runs)}
            for what, runs in (("newsbot ask (new process, wall)", cli),
                               ("bot ready + first answer (in process)", bot_runs))]
    print(table(rows, "Cold start"))
    save({"cold_start_s": round(max(percentile(cli, 0.5), percentile(bot_runs, 0.5)), 3),
          "cold_start": {"cli_median_s": round(percentile(cli, 0.5), 3), "cli_first_s": round(cli[0], 3),
                         "bot_median_s": round(percentile(bot_runs, 0.5), 3)}})


if __name__ == "__main__":
    main()
