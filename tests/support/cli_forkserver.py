"""A fork server for the tests' `newsbot` subprocesses: one interpreter imports the CLI and its
libraries once, and each command runs in a process forked from it.

Why: a `newsbot` command spends 0.7-2 s of its CPU importing chromadb, llama-index and dateparser,
and the fast tier runs some 150 of them, `make test` more, on 2 cores: started afresh, they made the
fast tier four minutes instead of one and `make test` a minute longer. Forked, a command is still its
own process (its own pid, environment, working directory, standard streams, umask, file locks and
exit status, killable by pid) that runs the real `main` and loads the embedding model itself; only
the interpreter's start and the imports are shared. tests/cli/test_cli_forkserver.py checks that a
forked command gives the output and exit status of one started afresh (`python -m
newsbot.index.cli`; `pytest --fresh-cli` starts them all so).

The server reads one JSON request a line and answers `{"id", "pid"}` when it has forked and
`{"id", "rc"}` when that child has ended; the child writes its output to the files the request
names.
"""
from __future__ import annotations

import importlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

# What `newsbot` commands import on the fake embedder, heaviest first; a missing one is skipped.
PRELOAD = (
    "chromadb",
    "llama_index.core.node_parser",
    "dateparser.search",
    "newsbot.index.engine",
    "newsbot.index.cli.main",
    "newsbot.index.cli.adding",
    "newsbot.index.cli.asking",
    "newsbot.index.cli.library",
    "newsbot.index.cli.feeds",
    "newsbot.index.cli.evaluation",
    "newsbot.index.cli.service",
    "support.fake_embedder",
    "support.fake_reader",
)


# ---- the server side -------------------------------------------------------------------------------

def _run_child(request: dict) -> int:
    """In the forked child: become the command's process, run `main`, and end as Python would."""
    import atexit
    import io
    import locale
    import traceback

    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for fd, path, flags in ((0, request["stdin"] or os.devnull, os.O_RDONLY),
                            (1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                            (2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
        opened = os.open(path, flags, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    encoding = os.environ.get("PYTHONIOENCODING") or locale.getpreferredencoding(False)
    sys.stdin = io.TextIOWrapper(open(0, "rb", closefd=False), encoding=encoding)
    sys.stdout = io.TextIOWrapper(open(1, "wb", closefd=False), encoding=encoding)
    sys.stderr = io.TextIOWrapper(open(2, "wb", closefd=False), encoding=encoding, errors="backslashreplace",
                                  line_buffering=True)
    sys.argv = ["newsbot", *request["args"]]
    code = 1
    try:
        from newsbot.index.cli.main import main

        code = main(request["args"])
    except SystemExit as exc:  # argparse's usage errors, `--help`, `--version`
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
    except BaseException:  # as the interpreter does with an uncaught exception
        traceback.print_exc()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            code = code or 120
    return code


def serve() -> None:
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    requests, answers = os.dup(0), os.dup(1)  # off 0 and 1, which each child points at its own files
    os.dup2(os.open(os.devnull, os.O_RDWR), 0)
    os.dup2(0, 1)  # whatever a library prints must not reach the answers
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C reaches the children; pytest ends the server

    def answer(record: dict) -> None:
        os.write(answers, (json.dumps(record) + "\n").encode())

    children: dict[int, str] = {}
    pending = b""
    while True:
        readable, _, _ = select.select([requests], [], [], 0.02)
        if readable:
            chunk = os.read(requests, 65536)
            if not chunk:
                break
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    code = 1
                    try:
                        os.close(requests)
                        os.close(answers)
                        signal.signal(signal.SIGINT, signal.default_int_handler)
                        code = _run_child(request)
                    finally:
                        os._exit(code)
                children[pid] = request["id"]
                answer({"id": request["id"], "pid": pid})
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            answer({"id": children.pop(pid), "rc": os.waitstatus_to_exitcode(status)})


# ---- the client side -------------------------------------------------------------------------------

class CliForkServer:
    """Starts the server lazily, sends it commands, and hands each caller its own result; callers in
    several threads may run commands at once."""

    def __init__(self, python: str, env: dict[str, str], cwd: Path):
        self._proc = subprocess.Popen([python, "-c", "from support.cli_forkserver import serve; serve()"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=cwd)
        self._scratch = tempfile.TemporaryDirectory(prefix="newsbot-cli-")
        self._lock = threading.Lock()
        self._events: dict[str, dict] = {}
        self._changed = threading.Condition()
        self._count = 0
        threading.Thread(target=self._read_answers, daemon=True).start()

    def _read_answers(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            record = json.loads(line)
            with self._changed:
                self._events.setdefault(record.pop("id"), {}).update(record)
                self._changed.notify_all()
        with self._changed:
            self._events["<ended>"] = {}
            self._changed.notify_all()

    def _wait_for(self, ident: str, key: str, timeout: float | None) -> dict:
        with self._changed:
            if not self._changed.wait_for(lambda: key in self._events.get(ident, {}) or "<ended>" in self._events,
                                          timeout=timeout):
                raise TimeoutError
            if key not in self._events.get(ident, {}):
                raise RuntimeError("the CLI fork server ended")
            return self._events[ident]

    def run(self, args: list[str], env: dict[str, str], cwd: Path, input: bytes | None,
            timeout: float) -> subprocess.CompletedProcess:
        with self._lock:
            self._count += 1
            ident = str(self._count)
        base = Path(self._scratch.name) / ident
        stdin = None
        if input is not None:
            stdin = str(base) + ".in"
            Path(stdin).write_bytes(input)
        request = {"id": ident, "args": args, "env": env, "cwd": str(cwd), "stdin": stdin,
                   "stdout": f"{base}.out", "stderr": f"{base}.err"}
        with self._lock:
            assert self._proc.stdin is not None
            self._proc.stdin.write((json.dumps(request) + "\n").encode())
            self._proc.stdin.flush()
        pid = self._wait_for(ident, "pid", 60)["pid"]
        try:
            rc = self._wait_for(ident, "rc", timeout)["rc"]
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
            raise subprocess.TimeoutExpired(["newsbot", *args], timeout) from None
        out, err = Path(f"{base}.out"), Path(f"{base}.err")
        result = subprocess.CompletedProcess(["newsbot", *args], rc, out.read_bytes(), err.read_bytes())
        result.pid = pid  # type: ignore[attr-defined]
        for path in (out, err, Path(stdin) if stdin else None):
            if path:
                path.unlink()
        with self._changed:
            self._events.pop(ident, None)
        return result

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
        self._scratch.cleanup()
