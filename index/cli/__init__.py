"""The `newsbot` command line: one module per command group (its parser and its handler), and a
dispatcher (main.py) that imports only the group of the command given.

Every command goes through `index.engine.Engine` (or, while `newsbot serve` holds the index, the
bot's engine over its socket), exactly like the bot and the eval.
"""
from newsbot.index.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
