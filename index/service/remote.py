"""The running bot shares its engine with the command line, over a Unix socket in the data directory.

The embedded store allows one process. While `newsbot serve` holds it, `newsbot ask`, `sources`,
`stats`, `export`, `add`, `import`, `remove` and `reindex` reach the bot's engine through
`<data dir>/newsbot.sock` instead (mode 0600: only the user who runs the bot). Files, URLs and
stdin are still read by the command line; the bot receives drafts, never a path. A long `add`, `import`
or `reindex` serves the reads of this protocol the same way, on `newsbot-read.sock` (sharing.py).

The protocol is JSON lines. A request is one line `{"op": ..., "args": {...}}`; `add` then sends one
line per draft and `{"end": true}`. The answer is zero or more `{"item": ...}` lines (a result of
`add`, an article of `export`, a step of `reindex`), then `{"ok": value}` or `{"error": message,
"kind": class name}`.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable, Iterator

from newsbot.index import errors
from newsbot.index.api import AskRequest, ask_request
from newsbot.index.records import AddError, AddResult, Answer, Article, Stats
from newsbot.index.settings import Settings
from newsbot.index.sources import drafting
from newsbot.index.sources.draft import Draft

SOCKET = "newsbot.sock"
READ_SOCKET = "newsbot-read.sock"  # a long `add`, `import` or `reindex` answers questions here (sharing.py)
LINE_LIMIT = 64 << 20  # an article of up to NEWSBOT_MAX_ARTICLE_CHARS, JSON-escaped, fits in one line
IDLE_S = 120.0  # a client silent this long (between two lines of its request) is dropped; above a page fetch
ADD_BATCH, ADD_BATCH_BYTES = 32, 64 << 20  # drafts read before they go to a worker, at most
log = logging.getLogger("newsbot.remote")


def socket_path(data_dir: Path, read_only: bool = False) -> Path:
    return Path(data_dir) / (READ_SOCKET if read_only else SOCKET)


# ------------------------------------------------------------------ the server (in the bot)

class EngineServer:
    """Serves the engine on the socket; every engine call runs through `run` (the bot's worker
    threads), so the event loop never blocks, and the long ones (add, export, reindex, remove)
    through `run_long`, which leaves a worker free for questions. A request is read whole, on the
    event loop, before a worker takes it (an add in batches of drafts): no client holds a worker
    while it is slow to send."""

    def __init__(self, engine, run: Callable[..., Awaitable[Any]],
                 run_long: Callable[..., Awaitable[Any]] | None = None, read_only: bool = False,
                 holder: str = "") -> None:
        """`read_only`: a command that writes holds the index; it answers reads and refuses writes, naming
        itself (`holder`)."""
        self.engine, self.run, self.run_long = engine, run, run_long or run
        self.read_only, self.holder = read_only, holder
        self.path = socket_path(engine.settings.data_dir, read_only)
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self.path.unlink(missing_ok=True)  # we hold the data directory's lock: a socket left here is stale
        old = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=str(self.path), limit=LINE_LIMIT)
        finally:
            os.umask(old)
        log.info("the command line reaches this bot's engine through %s", self.path)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self.path.unlink(missing_ok=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()

        def line(obj: dict) -> bytes:
            return (json.dumps(obj, ensure_ascii=False) + "\n").encode()

        def send(obj: dict) -> None:  # items, from the worker threads: queued in order before the op's result
            loop.call_soon_threadsafe(writer.write, line(obj))

        try:
            request = await _decode(await _line(reader) or b"{}")
            if not isinstance(request, dict) or not isinstance(request.get("args") or {}, dict):
                raise errors.InputError("a request is one JSON object {\"op\": ..., \"args\": {...}}")
            op, args = request.get("op"), request.get("args") or {}
            handler = getattr(self, f"op_{op}", None)
            if handler is None:
                raise errors.InputError(f"unknown operation {op!r}")
            result = await handler(args, reader, send, loop)
            writer.write(await loop.run_in_executor(None, line, {"ok": result}))  # a long list, encoded off the loop
        except errors.NewsbotError as exc:
            writer.write(line({"error": str(exc), "kind": exc.__class__.__name__}))
        except (ValueError, asyncio.LimitOverrunError) as exc:  # not JSON, or a line over LINE_LIMIT
            writer.write(line({"error": f"not a request: {str(exc)[:200]}", "kind": "InputError"}))
        except Exception as exc:  # a bug: the bot keeps running, the caller gets one line
            log.exception("a command-line request failed")
            writer.write(line({"error": f"{exc.__class__.__name__}: {exc}", "kind": "Exception"}))
        finally:
            try:
                await writer.drain()
                writer.close()
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    async def op_ask(self, args, reader, send, loop):
        return (await self.run(self.engine.ask, AskRequest.from_dict(args))).to_dict()

    async def op_sources(self, args, reader, send, loop):
        return await self.run(lambda: [a.to_dict() for a in self.engine.sources(**args)])

    async def op_stats(self, args, reader, send, loop):
        return (await self.run(self.engine.stats, **args)).to_dict()

    async def op_namespaces(self, args, reader, send, loop):
        return await self.run(self.engine.namespaces)

    def _writes(self) -> None:
        if self.read_only:
            raise errors.IndexBusyError(
                f"the index in {self.engine.settings.data_dir} is being written by another newsbot command "
                f"({self.holder}); it answers questions meanwhile, but takes no other write: run this command again "
                "with --wait SECONDS to wait for it to finish")

    async def op_remove(self, args, reader, send, loop):
        self._writes()
        return (await self.run_long(self.engine.remove, **args)).to_dict()

    async def op_export(self, args, reader, send, loop):
        def stream() -> int:
            n = 0
            for article in self.engine.export(**args):
                send({"item": article.to_dict(with_text=True)})
                n += 1
            return n
        return await self.run_long(stream)

    async def op_reindex(self, args, reader, send, loop):
        self._writes()
        result = await self.run_long(self.engine.reindex, progress=lambda done, total: send({"item": [done, total]}),
                                     **args)
        return result.to_dict()

    async def op_add(self, args, reader, send, loop):
        self._writes()
        n = 0
        while True:
            batch, done = await _read_drafts(reader)  # on the event loop: a slow client holds no worker
            if batch:
                n += len(await self.run_long(self.engine.add, batch, on_result=lambda r: send({"item": r.to_dict()}),
                                             **args))
            if done:
                return n


async def _decode(raw: bytes):
    """A request line's JSON; a large one (an article of megabytes) is decoded off the event loop,
    in the default pool rather than the engine's workers, so the gateway's heartbeat never waits."""
    if len(raw) < 1 << 20:
        return json.loads(raw)
    return await asyncio.get_running_loop().run_in_executor(None, json.loads, raw)


async def _line(reader: asyncio.StreamReader) -> bytes:
    """One line of a request, or a clear error when the client goes quiet for IDLE_S."""
    try:
        return await asyncio.wait_for(reader.readline(), IDLE_S)
    except asyncio.TimeoutError:
        raise errors.InputError(f"the client sent nothing for {IDLE_S:.0f} s; the request was dropped") from None


async def _read_drafts(reader: asyncio.StreamReader) -> tuple[list[Draft | AddError], bool]:
    """The next batch of an add's drafts (at most ADD_BATCH, or ADD_BATCH_BYTES), and whether the
    client said it is done."""
    batch: list[Draft | AddError] = []
    size = 0
    while len(batch) < ADD_BATCH and size < ADD_BATCH_BYTES:
        raw = await _line(reader)
        size += len(raw)
        item = await _decode(raw or b'{"end": true}')
        if not isinstance(item, dict) or item.get("end"):
            return batch, True
        try:
            batch.append(Draft(**item["draft"]) if "draft" in item else AddError.from_dict(item["error"]))
        except (KeyError, TypeError) as exc:
            raise errors.InputError(f"not a draft: {str(exc)[:200]}") from None
    return batch, False


# ------------------------------------------------------------------ the client (in the CLI)

def _send_all(out, lines: Iterable[dict]) -> None:
    try:
        for obj in lines:
            out.write((json.dumps(obj, ensure_ascii=False) + "\n").encode())
            out.flush()
    except (OSError, ValueError):  # the bot closed the connection (it answered with an error)
        pass

class RemoteEngine:
    """The part of the Engine facade the command line uses, answered by the running bot."""

    def __init__(self, settings: Settings, read_only: bool = False) -> None:
        self.settings = settings
        self.path = socket_path(settings.data_dir, read_only)
        self.holder = "another newsbot command that writes" if read_only else "`newsbot serve`"

    @classmethod
    def available(cls, settings: Settings, read_only: bool = False) -> bool:
        return socket_path(settings.data_dir, read_only).is_socket()

    def __enter__(self) -> "RemoteEngine":
        return self

    def __exit__(self, *exc) -> None:
        pass

    def _call(self, op: str, args: dict, send: Iterable[dict] = (), on_item: Callable[[Any], None] | None = None):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            try:
                conn.connect(str(self.path))
            except OSError as exc:
                raise errors.IndexBusyError(
                    f"the index in {self.settings.data_dir} is held by {self.holder}, and its socket {self.path} "
                    f"does not answer ({exc.strerror or exc}); is it still starting or stuck? Run the command again "
                    "with --wait SECONDS to wait for it") from None
            out = conn.makefile("wb")
            out.write((json.dumps({"op": op, "args": args}, ensure_ascii=False) + "\n").encode())
            out.flush()
            # Drafts go out from a thread while results come back here: the progress bar moves as the bot adds.
            writer = threading.Thread(target=_send_all, args=(out, send), daemon=True)
            writer.start()
            for line in conn.makefile("rb"):
                reply = json.loads(line)
                if "item" in reply:
                    if on_item:
                        on_item(reply["item"])
                elif "ok" in reply:
                    return reply["ok"]
                else:
                    kind = getattr(errors, reply.get("kind", ""), None)
                    cls = kind if isinstance(kind, type) and issubclass(kind,
                                                                        errors.NewsbotError) else errors.NewsbotError
                    raise cls(reply["error"])
        raise errors.NewsbotError(f"{self.holder} closed {self.path} without answering (did it stop?)")

    # the facade, as the CLI uses it
    def ask(self, question: str | AskRequest, **options) -> Answer:
        return Answer.from_dict(self._call("ask", ask_request(question, options).to_dict()))

    def close(self) -> None:
        """Nothing to release: every call is its own connection."""

    def sources(self, namespace: str | None = None) -> list[Article]:
        return [Article(**{"text": "", **a}) for a in self._call("sources", {"namespace": namespace})]

    def stats(self, namespace: str | None = None) -> Stats:
        return Stats.from_dict(self._call("stats", {"namespace": namespace}))

    def namespaces(self) -> list[str]:
        return self._call("namespaces", {})

    def remove(self, article_id: str, namespace: str | None = None, actor: str = "") -> Article:
        return Article(**{"text": "", **self._call("remove", {"article_id": article_id, "namespace": namespace,
                                                               "actor": actor})})

    def export(self, namespace: str | None = None) -> list[Article]:
        got: list[Article] = []
        self._call("export", {"namespace": namespace}, on_item=lambda a: got.append(Article(**a)))
        return got

    def reindex(self, namespace: str | None = None, progress: Callable[[int, int], None] | None = None):
        from newsbot.index.ingest.reindex import Reindexed

        return Reindexed(**self._call("reindex", {"namespace": namespace},
                                      on_item=lambda step: progress and progress(*step)))

    def add(self, drafts: Iterable[Draft | AddError], namespace: str | None = None,
            on_result: Callable[[AddResult | AddError], None] | None = None, actor: str = "") -> list:
        results: list[AddResult | AddError] = []

        def received(item: dict) -> None:
            result = AddError.from_dict(item) if item.get("status") == "error" else AddResult.from_dict(item)
            results.append(result)
            if on_result:
                on_result(result)

        def lines() -> Iterator[dict]:
            for d in drafts:
                yield {"error": d.to_dict()} if isinstance(d, AddError) else {"draft": asdict(d)}
            yield {"end": True}

        self._call("add", {"namespace": namespace, "actor": actor}, send=lines(), on_item=received)
        return results

    # drafts are made here, from this machine's files, URLs and stdin
    def drafts_from_sources(self, sources: list[str], overrides: dict | None = None):
        return drafting.from_sources(sources, self.settings, overrides)

    def drafts_from_jsonl(self, path: str):
        return drafting.from_jsonl(path, self.settings.max_article_chars)
