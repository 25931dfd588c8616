"""Questions answered while a command writes. The embedded store allows one process, so a long `newsbot
add`, `import` or `reindex` used to refuse every other command, `ask` in any namespace included, for as long as
it ran. It now serves reads (ask, sources, stats, export) on `<data dir>/newsbot-read.sock`, the protocol the
bot serves on its own socket (remote.py), from its own engine in two threads beside the write; other writes
are refused there with the --wait advice. A question answered this way during an add: benchmarks/bench_sharing.py.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Iterator

from newsbot.index.service.remote import EngineServer

log = logging.getLogger("newsbot.remote")


@contextmanager
def answering_meanwhile(engine) -> Iterator[None]:
    """Serve reads of `engine` on the read socket while the block runs (an embedded store only: with a Chroma
    server every process opens the index itself)."""
    if engine.settings.server_mode or not hasattr(engine, "ingest"):  # a RemoteEngine: the bot serves
        yield
        return
    loop = asyncio.new_event_loop()
    pool = ThreadPoolExecutor(2, thread_name_prefix="newsbot-share")

    async def run(fn, *args, **kwargs):
        return await loop.run_in_executor(pool, functools.partial(fn, *args, **kwargs))

    holder = f"pid {os.getpid()}: {' '.join(sys.argv[:3])}"
    server = EngineServer(engine, run, run, read_only=True, holder=holder)
    started = threading.Event()
    failed: list[BaseException] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.start())
        except OSError as exc:  # a data directory path too long for a Unix socket: the write goes on
            failed.append(exc)
            log.warning("questions cannot be answered during this command (%s)", exc)
            started.set()
            return
        started.set()
        loop.run_forever()
        loop.run_until_complete(server.close())

    thread = threading.Thread(target=serve, name="newsbot-share", daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield
    finally:
        if not failed:
            loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        pool.shutdown(wait=True, cancel_futures=True)
        if not loop.is_running():
            loop.close()
