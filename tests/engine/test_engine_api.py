"""One engine interface: `AskRequest` carries a question's options (the same record over the bot's
socket), and `Engine` and `RemoteEngine` both provide `EngineAPI`, parameter for parameter."""
from __future__ import annotations

import inspect
import json
from dataclasses import replace
from datetime import date

import pytest

from newsbot.index.api import AskRequest, EngineAPI, ask_request
from newsbot.index.engine import Engine
from newsbot.index.errors import InputError
from newsbot.index.records import Answer, Judgment, Stats, Window
from newsbot.index.service.remote import RemoteEngine
from newsbot.index.answering.retrieval import RetrievalConfig
from newsbot.index.storage.store import Filters

PROTOCOL_METHODS = [name for name, value in vars(EngineAPI).items()
                    if callable(value) and not name.startswith("_")]


def test_a_request_survives_the_socket_whole():
    request = AskRequest("harga nikel?", namespace="guild-1", k=7, filters=Filters(source="Sample", date_from="2025-01-01"),
                         mode="hybrid", retrieval=RetrievalConfig(candidates=20), context="earlier question",
                         context_articles=["a1", "a2"], llm=False, answer_lang="id", today=date(2025, 2, 22), reader=True)
    assert AskRequest.from_dict(request.to_dict()) == request


def test_a_request_with_fields_this_version_does_not_know_is_refused_clearly():
    with pytest.raises(InputError, match="unknown fields \\['temperature'\\]"):
        AskRequest.from_dict({"question": "q", "temperature": 0.2})
    with pytest.raises(InputError, match="no question"):
        AskRequest.from_dict({"k": 3})
    with pytest.raises(InputError, match="not a question request"):
        AskRequest.from_dict({"question": "q", "today": "last Tuesday"})


def test_ask_takes_keywords_or_one_request_but_not_both():
    assert ask_request("q", {"k": 3}) == AskRequest("q", k=3)
    assert ask_request(AskRequest("q"), {}) == AskRequest("q")
    with pytest.raises(TypeError):
        ask_request("q", {"temperature": 0.2})
    with pytest.raises(TypeError):
        ask_request(AskRequest("q"), {"k": 3})


@pytest.mark.parametrize("cls", [Engine, RemoteEngine])
@pytest.mark.parametrize("method", PROTOCOL_METHODS)
def test_both_engines_provide_every_method_of_the_interface(cls, method):
    declared = list(inspect.signature(getattr(EngineAPI, method)).parameters)
    provided = list(inspect.signature(getattr(cls, method)).parameters)
    assert provided[: len(declared)] == declared, (cls.__name__, method, provided)


def test_an_open_engine_is_an_engine_api(engine):
    assert isinstance(engine, EngineAPI)
    assert isinstance(RemoteEngine(engine.settings), EngineAPI)


def test_an_answer_from_the_socket_carries_a_typed_judgment(sample_engine):
    answer = sample_engine.ask("What did Zelenskyy say about the minerals deal?")
    back = Answer.from_dict(json.loads(json.dumps(answer.to_dict())))
    assert isinstance(back.judgment, Judgment)
    assert back.judgment == replace(answer.judgment, passages=(),  # the passages travel once, in Answer.passages
                                    probability=round(answer.judgment.probability, 4),
                                    threshold=round(answer.judgment.threshold, 4) if answer.judgment.threshold else None,
                                    features={k: round(v, 4) for k, v in answer.judgment.features.items()},
                                    read=tuple(replace(w, score=round(w.score, 4)) for w in answer.judgment.read))
    assert back.decision() == answer.decision()


def test_a_judgment_with_the_readers_windows_survives_the_socket():
    judgment = Judgment(False, "name_not_mentioned", 0.25, {"rel1": 0.5}, names=("Pope",), years=("2024",),
                        read=(Window("c1", "a1", 10, 80, 1.5),), threshold=0.4)
    assert Judgment.from_dict(json.loads(json.dumps(judgment.to_dict()))) == judgment


def test_stats_are_one_record_on_both_sides_of_the_socket(sample_engine):
    stats = sample_engine.stats()
    assert isinstance(stats, Stats) and stats.articles == len(sample_engine.sources()) > 1 and stats.chunks > 0
    assert Stats.from_dict(json.loads(json.dumps(stats.to_dict()))) == stats
    assert inspect.signature(Engine.stats).return_annotation == inspect.signature(RemoteEngine.stats).return_annotation
