"""Errors the engine raises on purpose. Each carries a message fit for a user."""


class NewsbotError(Exception):
    """Base class: the CLI and the bot show `str(error)` and keep going."""


class InputError(NewsbotError):
    """The input cannot become an article (empty, binary, unsupported, too large).
    `origin` names the source (a file, a JSONL line) when the message is reported per source."""

    def __init__(self, message: str = "", origin: str = "") -> None:
        super().__init__(message)
        self.origin = origin


class FetchError(NewsbotError):
    """A URL could not be fetched or did not hold an article."""


class NotFoundError(NewsbotError):
    """An id that names nothing in this namespace."""


class IndexBusyError(NewsbotError):
    """Another process holds the embedded index."""


class ModelMismatchError(NewsbotError):
    """The index was built with another embedding model."""


class StoreUnavailableError(NewsbotError):
    """The vector store (a Chroma server) cannot be reached."""


class StorageError(NewsbotError):
    """The data directory cannot be written: the disk is full, or it is read-only."""


class ConfigError(NewsbotError):
    """A setting is invalid."""


class LLMUnavailableError(NewsbotError):
    """The LLM did not answer in time, or refused the request; answers fall back to extractive."""
