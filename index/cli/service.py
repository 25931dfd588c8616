"""Running newsbot as a service: `newsbot serve` (the Discord bot), `newsbot health` (the check
a service manager or a container runs) and `newsbot warm` (the model files, built before the first question)."""
from __future__ import annotations

import sys

from newsbot.index.cli.shared import AddParser, Parents, shown
from newsbot.index.errors import IndexBusyError
from newsbot.index.service import health
from newsbot.index.service.logs import setup_logging


def register(add_parser: AddParser, parents: Parents) -> None:
    hl = add_parser(
        "health", parents=[parents.base],
        description="Exit 0 when the store opens and the embedding model answers; if `newsbot serve` holds the "
        "index, when the bot is connected to Discord and reported within --max-age seconds. Exit 1, with one "
        "line saying why, otherwise. --bot checks only the running bot (what a container health check runs).")
    hl.add_argument("--bot", action="store_true", help="only check the running bot's status file")
    hl.add_argument("--max-age", type=float, default=60.0, metavar="SECONDS",
                    help="how old the bot's status may be (default 60; the bot writes it every "
                         "NEWSBOT_HEALTH_INTERVAL_S)")
    hl.set_defaults(handler=cmd_health)
    add_parser("warm", parents=[parents.base],
               description="Build every model file a question needs (the embedding model's graph and tokenizer, "
               "the reader's graph) into NEWSBOT_MODEL_DIR (default: the data directory) and check that each "
               "answers. The container image runs it at build time; the files are readable by every user, so the "
               "image may run as another.").set_defaults(handler=cmd_warm)
    add_parser("serve", parents=[parents.base],
               description="Run the Discord bot. It needs DISCORD_TOKEN; DISCORD_GUILD_ID syncs the commands "
               "instantly to one server (otherwise globally). Each server gets its own namespace. "
               "See the README's Discord section.").set_defaults(handler=cmd_serve)


def cmd_serve(settings, args) -> int:
    from newsbot.bot.app import run  # the Discord layer: the one command that needs it

    setup_logging(settings.log_level, settings.log_format)
    run(args.env_file, settings)
    return 0


def cmd_warm(settings, args) -> int:
    from newsbot.index.service.warm import describe, warm

    print(describe(warm(settings)))
    return 0


def cmd_health(settings, args) -> int:
    def bot_health() -> int:
        ok, why = health.judge(health.read_status(settings.data_dir), args.max_age)
        print(f"{'ok' if ok else 'unhealthy'}: {why}", file=sys.stdout if ok else sys.stderr)
        return 0 if ok else 1

    if args.bot:
        return bot_health()  # what a container runs every few seconds: without the engine's 0.5 s of imports
    from newsbot.index.engine import Engine

    problems = health.file_problems(settings.data_dir, settings.cache_dir, settings.server_mode)
    for problem in problems:
        print(f"unhealthy: {shown(problem)}", file=sys.stderr)
    if problems:
        return 1
    try:
        with Engine.open(settings) as engine:
            engine.embedder.embed_query("health check")
            stats = engine.stats(settings.namespace)
    except IndexBusyError:
        return bot_health()  # the bot holds the index: its own report says whether it works
    print(f"ok: data directory {settings.data_dir}, {stats.store}, model {stats.embedding_model}, "
          f"{stats.articles} articles in namespace {stats.namespace!r}")
    return 0
