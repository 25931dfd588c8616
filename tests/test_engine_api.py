"""One engine interface: `AskRequest` carries a question's options (the same record over the bot's
socket), and `Engine` and `RemoteEngine` both provide `EngineAPI`, parameter for parameter."""
from __future__ import annotations

import inspect
from datetime import date

import pytest

from newsbot.index.api import AskRequest, EngineAPI, ask_request
from newsbot.index.engine import Engine
from newsbot.index.errors import InputError
from newsbot.index.remote import RemoteEngine
from newsbot.index.retrieval import RetrievalConfig
from newsbot.index.store import Filters

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
