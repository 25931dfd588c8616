"""What every command group shares: the parent parsers (one declaration of --data-dir, --namespace,
--wait and --json), argument types, safe terminal text, settings, and how the engine is opened."""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from newsbot.index.settings import Settings

if TYPE_CHECKING:  # the engine's imports cost 0.5 s: `newsbot --help` and `health --bot` skip them
    from newsbot.index.api import EngineAPI


@dataclass(frozen=True)
class Parents:
    """Parent parsers a command's parser is built from."""

    base: argparse.ArgumentParser  # --data-dir, --env-file: every command
    common: argparse.ArgumentParser  # + --namespace, --wait: commands on one namespace's index
    json: argparse.ArgumentParser  # --json: commands that can print JSON


def make_parents() -> Parents:
    base = argparse.ArgumentParser(add_help=False)
    base.add_argument("--data-dir", help="data directory (default: NEWSBOT_DATA_DIR, else the user data folder, "
                                         "~/.local/share/newsbot on Linux; see `newsbot stats`)")
    base.add_argument("--env-file", help="settings file (default: ./.env)")
    common = argparse.ArgumentParser(add_help=False, parents=[base])
    common.add_argument("--namespace", "-n", help="index namespace (default: NEWSBOT_NAMESPACE or 'default'); the bot "
                                                  "uses one per Discord server")
    common.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                        help="when another newsbot command holds the index, wait up to this long for it (default: "
                        "fail at once). While `newsbot serve` runs, commands go through the bot instead")
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print JSON (the stable format of docs/json.md)")
    return Parents(base, common, as_json)


# A command's parser: add_parser(name, **argparse keywords) -> its ArgumentParser (help given by main.py).
AddParser = Callable[..., argparse.ArgumentParser]


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"{value} is out of range (1 to 1000)")
    return value


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def shown(text: str) -> str:
    """Text from articles and users as the terminal may print it: no escape codes or other
    control characters (an outlet named "\\x1b]0;..." must not retitle the terminal)."""
    return _CONTROL.sub("", text)


def load_settings(args) -> Settings:
    from newsbot.index.settings import data_dir_notice

    overrides = {}
    if args.data_dir:
        from pathlib import Path

        overrides["data_dir"] = Path(args.data_dir)
    settings = Settings.load(args.env_file, **overrides)
    notice = data_dir_notice(settings)
    if notice:
        print(shown(notice), file=sys.stderr)
    return settings


def open_engine(settings: Settings, wait_s: float = 0.0, writes: bool = False) -> "EngineAPI":
    """The engine, or, while `newsbot serve` holds the index, the bot's engine over its socket; while another
    command writes (it serves reads on its own socket), that command's engine for a command that only reads.
    Otherwise the command holding it is waited for up to `wait_s` seconds."""
    from newsbot.index.engine import Engine
    from newsbot.index.errors import IndexBusyError
    from newsbot.index.service.remote import RemoteEngine
    from newsbot.index.storage.data_lock import when_free

    def attempt():
        try:
            return Engine.open(settings)
        except IndexBusyError:
            if RemoteEngine.available(settings):
                return RemoteEngine(settings)
            if not writes and RemoteEngine.available(settings, read_only=True):
                return RemoteEngine(settings, read_only=True)
            raise

    return when_free(attempt, wait_s, lambda busy: print(f"waiting up to {wait_s:.0f} s: {busy}", file=sys.stderr))


def cli_actor() -> str:
    """Who is at the command line, for the audit file."""
    import getpass
    import os

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no name for this uid (a container)
        return f"cli:uid-{os.getuid()}"
