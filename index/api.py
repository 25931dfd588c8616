"""The engine's interface, declared once: what a question asks for (`AskRequest`, which also travels
over the bot's socket) and the methods every front end may call (`EngineAPI`), which both `Engine`
(in process) and `RemoteEngine` (the running bot's engine, over its socket) provide."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import date
from typing import Callable, Iterable, Protocol, runtime_checkable

from newsbot.index.answering.retrieval import RetrievalConfig
from newsbot.index.errors import InputError
from newsbot.index.records import AddError, AddResult, Answer, Article, Stats
from newsbot.index.settings import Settings
from newsbot.index.storage.store import Filters


@dataclass(frozen=True)
class AskRequest:
    """One question and how to answer it; every option None/empty means "as the settings say"."""

    question: str
    namespace: str | None = None
    k: int | None = None  # passages to retrieve (NEWSBOT_TOP_K)
    filters: Filters | None = None  # outlet and date range
    mode: str | None = None  # retrieval mode (NEWSBOT_RETRIEVAL_MODE)
    retrieval: RetrievalConfig | None = None  # the whole retrieval config (eval presets)
    context: str = ""  # a follow-up's earlier question: retrieval reads both
    context_articles: tuple[str, ...] = ()  # ... and its earlier sources
    llm: bool | None = None  # True: the configured LLM writes the answer; False: quotes only
    answer_lang: str | None = None  # the language a generated answer is written in (default: the question's)
    today: date | None = None  # the day the question is asked on: what "last week" counts from
    reader: bool | None = None  # NEWSBOT_READER for this question

    def __post_init__(self) -> None:
        object.__setattr__(self, "context_articles", tuple(self.context_articles or ()))

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["filters"] = asdict(self.filters) if self.filters else None
        d["retrieval"] = asdict(self.retrieval) if self.retrieval else None
        d["context_articles"] = list(self.context_articles)
        d["today"] = self.today.isoformat() if self.today else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "AskRequest":
        """The inverse of to_dict; a field it does not know is an InputError (a client of another version)."""
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown or "question" not in d:
            raise InputError(f"not a question request: unknown fields {sorted(unknown)}" if unknown
                             else "not a question request: no question")
        d = dict(d)
        try:
            d["filters"] = Filters(**d["filters"]) if d.get("filters") else None
            d["retrieval"] = RetrievalConfig(**d["retrieval"]) if d.get("retrieval") else None
            d["today"] = date.fromisoformat(d["today"]) if d.get("today") else None
        except (TypeError, ValueError) as exc:
            raise InputError(f"not a question request: {exc}") from None
        return cls(**d)


def ask_request(question: str | AskRequest, options: dict) -> AskRequest:
    """`ask(question, k=5, ...)` or `ask(AskRequest(...))`, as one record (an unknown option: TypeError)."""
    if isinstance(question, AskRequest):
        if options:
            raise TypeError("pass the options inside the AskRequest, not beside it")
        return question
    return AskRequest(question, **options)


@runtime_checkable
class EngineAPI(Protocol):
    """What the command line and the bot call, in process or over the socket."""

    settings: Settings

    def ask(self, question: str | AskRequest, **options) -> Answer: ...

    def add(self, drafts: Iterable, namespace: str | None = None,
            on_result: Callable[[AddResult | AddError], None] | None = None, actor: str = "") -> list: ...

    def sources(self, namespace: str | None = None) -> list[Article]: ...

    def remove(self, article_id: str, namespace: str | None = None, actor: str = "") -> Article: ...

    def export(self, namespace: str | None = None) -> Iterable[Article]: ...

    def reindex(self, namespace: str | None = None, progress: Callable[[int, int], None] | None = None): ...

    def stats(self, namespace: str | None = None) -> Stats: ...

    def namespaces(self) -> list[str]: ...

    def drafts_from_sources(self, sources: list[str], overrides: dict | None = None) -> Iterable: ...

    def drafts_from_jsonl(self, path: str) -> Iterable: ...

    def close(self) -> None: ...

    def __enter__(self) -> "EngineAPI": ...

    def __exit__(self, *exc: object) -> None: ...
