"""The typed records that flow through the engine: article, chunk, passage, judgment, answer, stats.

They are plain dataclasses so that the CLI, the bot and the eval script share one
shape, and `to_dict` gives the stable JSON documented in the README.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Article:
    """One indexed news article. `text` is what citations' offsets point into."""

    id: str
    title: str
    text: str
    url: str = ""
    source: str = ""  # the outlet, e.g. "CBS News"
    published_at: str = ""  # ISO date (YYYY-MM-DD) or ""
    lang: str = ""
    added_at: str = ""  # ISO timestamp, UTC
    content_hash: str = ""
    chunks: int = 0  # how many chunks the index holds for it

    def to_dict(self, with_text: bool = False) -> dict[str, Any]:
        d = asdict(self)
        if not with_text:
            d.pop("text")
        return d


@dataclass(frozen=True)
class Chunk:
    """A sentence-aware slice of an article: `article.text[start:end] == text`."""

    id: str
    article_id: str
    index: int
    text: str
    start: int
    end: int


@dataclass
class Passage:
    """A retrieved chunk with its article's metadata and its ranking scores."""

    chunk_id: str
    article_id: str
    text: str
    start: int
    end: int
    score: float  # fused score used for the ranking
    dense: float | None = None  # cosine similarity to the question
    relevance: float | None = None  # dense + term-coverage bonus: what abstention is judged by
    lexical_rank: int | None = None
    dense_rank: int | None = None
    title: str = ""
    source: str = ""
    published_at: str = ""
    url: str = ""
    lang: str = ""
    reader: float | None = None  # the reader's best score of a window of it (a logit), when it was read
    sentence: float | None = None  # its best sentence's cosine (the best passage of another language than the
    # question's, in a mixed-language index: retrieval.level_languages)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Citation:
    """A verbatim quote of an article, numbered as it is cited in the answer."""

    n: int
    article_id: str
    title: str
    source: str
    published_at: str
    url: str
    quote: str
    start: int
    end: int
    chunk_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Removal:
    """Something verification took out of a generated answer, and why."""

    kind: str  # invalid_citation | uncited_sentence | unverified_quote | unsupported_claim | truncated
    text: str  # the sentence or marker concerned
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Window:
    """A span of an article the reader read, and its score (a logit: > 0 leans "answers")."""

    chunk_id: str
    article_id: str
    start: int
    end: int
    score: float

    def to_dict(self) -> dict:
        return {"chunk_id": self.chunk_id, "article_id": self.article_id, "start": self.start, "end": self.end,
                "score": round(self.score, 4)}


# Why a judgment says no article answers (Judgment.reason, Answer.reason).
NOT_COVERED, NAMES, YEAR, EMPTY = "not_covered", "name_not_mentioned", "year", "no_articles"
NO_WORDS = "no_words"  # "?!", "*", "OR": nothing an article could answer


@dataclass(frozen=True)
class Judgment:
    """Whether any indexed article answers the question (made by `answerability.judge`), and why.
    The same record in process and from the running bot's socket (`to_dict`/`from_dict`)."""

    answerable: bool
    reason: str = ""  # why not: not_covered | name_not_mentioned | year | no_articles
    probability: float = 0.0
    features: dict[str, float] = field(default_factory=dict)
    passages: tuple[Passage, ...] = ()  # what to answer from (relevant, of the asked year); not sent: Answer has them
    names: tuple[str, ...] = ()  # the names no article mentions (reason name_not_mentioned)
    years: tuple[str, ...] = ()  # the years asked (reason year)
    read: tuple[Window, ...] = ()  # the reader's windows, best first, when it read the passages
    threshold: float | None = None  # the operating point `probability` was held against (None: a rule decided)

    def to_dict(self) -> dict:
        return {"answerable": self.answerable, "reason": self.reason, "probability": round(self.probability, 4),
                "threshold": None if self.threshold is None else round(self.threshold, 4),
                "features": {k: round(v, 4) for k, v in self.features.items()}, "names": list(self.names),
                "years": list(self.years), "read": [w.to_dict() for w in self.read]}

    @classmethod
    def from_dict(cls, d: dict) -> "Judgment":
        return cls(answerable=bool(d["answerable"]), reason=d.get("reason", ""),
                   probability=float(d.get("probability", 0.0)), features=dict(d.get("features") or {}),
                   names=tuple(d.get("names") or ()), years=tuple(d.get("years") or ()),
                   read=tuple(Window(**w) for w in d.get("read") or ()), threshold=d.get("threshold"))


@dataclass
class Answer:
    """What `ask` returns, to the CLI, the bot and the eval alike."""

    question: str
    answer: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    mode: str = "extractive"  # "extractive" | "llm"
    notes: list[str] = field(default_factory=list)  # shown to the user, e.g. "the LLM timed out"
    removed: list[Removal] = field(default_factory=list)  # what verification took out of an LLM answer
    model: str = ""  # the LLM that wrote the answer, when mode == "llm"
    reason: str = ""  # why it abstained: not_covered | name_not_mentioned | year | no_articles
    judgment: Judgment | None = None  # the answerability judgment behind the decision
    closest: Citation | None = None  # with an abstention: the nearest sentence, shown as "may not answer"
    lang: str = ""  # the question's language, as detected
    # `notes` as data: {"code", "detail"}, worded by front ends
    notices: list[dict[str, str]] = field(default_factory=list)
    # the dates the question asked about, as searched: {"from", "to", "phrase"}
    date_range: dict[str, str] | None = None
    as_of: str = ""  # the newest cited article's date, when the cited articles' dates differ or the latest was asked

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "reason": self.reason,
            "mode": self.mode,
            "citations": [c.to_dict() for c in self.citations],
            "passages": [p.to_dict() for p in self.passages],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "notes": list(self.notes),
            "removed": [r.to_dict() for r in self.removed],
            "model": self.model,
            "judgment": self.judgment.to_dict() if self.judgment is not None else None,
            "closest": self.closest.to_dict() if self.closest is not None else None,
            "lang": self.lang,
            "notices": [dict(n) for n in self.notices],
            "date_range": dict(self.date_range) if self.date_range else None,
            "as_of": self.as_of,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Answer":
        """The inverse of to_dict: an answer the running bot computed, for the CLI (see remote.py)."""
        return cls(
            question=d["question"], answer=d["answer"], abstained=d["abstained"],
            citations=[Citation(**c) for c in d.get("citations", [])],
            passages=[Passage(**p) for p in d.get("passages", [])],
            timings_ms=dict(d.get("timings_ms", {})), mode=d.get("mode", "extractive"), notes=list(d.get("notes", [])),
            removed=[Removal(**r) for r in d.get("removed", [])], model=d.get("model", ""), reason=d.get("reason", ""),
            judgment=Judgment.from_dict(d["judgment"]) if d.get("judgment") else None,
            closest=Citation(**d["closest"]) if d.get("closest") else None,
            lang=d.get("lang", ""), notices=[dict(n) for n in d.get("notices", [])],
            date_range=d.get("date_range"), as_of=d.get("as_of", ""),
        )

    def decision(self) -> tuple[str, list[str], list[str]]:
        """(reason, names, years) of an abstention: what front ends word in the reader's language."""
        j = self.judgment
        return self.reason, list(j.names) if j else [], list(j.years) if j else []


@dataclass(frozen=True)
class AddResult:
    """The outcome of adding one article: added, replaced or duplicate."""

    status: str  # "added" | "replaced" | "duplicate"
    article: Article
    chunks: int

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "chunks": self.chunks, **self.article.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AddResult":
        fields_ = {k: v for k, v in d.items() if k != "status"}
        return cls(d["status"], Article(**{"text": "", **fields_}), d["chunks"])


@dataclass(frozen=True)
class AddError:
    """A source that could not be added, and why (reported in place of its AddResult)."""

    origin: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"status": "error", "origin": self.origin, "error": self.message}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AddError":
        return cls(d["origin"], d["error"])


@dataclass(frozen=True)
class Stats:
    """What a namespace holds and where (`newsbot stats`, the bot's /stats)."""

    namespace: str
    articles: int
    chunks: int
    max_articles: int = 0  # NEWSBOT_MAX_ARTICLES (0: no cap)
    languages: dict[str, int] = field(default_factory=dict)  # articles per detected language
    embedding_model: str = ""
    store: str = ""  # "embedded (PATH)" or "chroma server HOST:PORT"
    data_dir: str = ""
    embedding_cache_entries: int = 0
    retrieval_mode: str = ""
    disk_bytes: int | None = None  # None with a Chroma server (its disk is not ours to measure)
    last_added: tuple[dict[str, str], ...] = ()  # the 5 latest: {"id", "title", "added_at"}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["last_added"] = [dict(a) for a in self.last_added]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Stats":
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in d.items() if k in known}
        values["last_added"] = tuple(dict(a) for a in d.get("last_added") or ())
        return cls(**values)
