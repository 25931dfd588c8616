"""A scripted LLM server on 127.0.0.1 speaking OpenAI's and Ollama's chat protocols.

The real llama-index clients (OpenAILike, Ollama) are pointed at it. It checks what
a real server checks (method, path, JSON body, model, messages, the bearer key) and
answers with the real success and error shapes: OpenAI's `{"error": {...}}` bodies
with 401/404/429/500 and Retry-After, Ollama's `{"error": "..."}` and its NDJSON
stream. Replies come from a script (one per request, in order) or from a function
of the request, and may be delayed to play a slow model.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

ROLES = {"system", "user", "assistant", "tool", "developer"}


@dataclass
class Reply:
    content: str = ""
    status: int = 200
    delay_s: float = 0.0
    message: str = ""  # the error message, for status >= 400
    headers: dict[str, str] = field(default_factory=dict)


def rate_limited(retry_after_s: float = 0) -> Reply:
    return Reply(status=429, message="Rate limit reached for requests", headers={"Retry-After": f"{retry_after_s:g}"})


def server_error() -> Reply:
    return Reply(status=500, message="The server had an error while processing your request.")


_OPENAI_ERROR_TYPE = {400: "invalid_request_error", 401: "invalid_request_error", 404: "invalid_request_error",
                      429: "requests", 500: "server_error", 503: "server_error"}
_OPENAI_ERROR_CODE = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}


class FakeLLM:
    """Serve until `close()`; `requests` holds every parsed request body, in order."""

    def __init__(self, models: tuple[str, ...] = ("test-model",), api_key: str = "sk-test"):
        self.models = set(models)
        self.api_key = api_key
        self.script: list[Reply] = []
        self.responder: Callable[[dict], Reply] | None = None
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def ollama_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def play(self, *replies: Reply) -> None:
        with self._lock:
            self.script = list(replies)
            self.requests.clear()

    def next_reply(self, body: dict) -> Reply:
        with self._lock:
            self.requests.append(body)
            if self.script:
                return self.script.pop(0)
        if self.responder is not None:
            return self.responder(body)
        return Reply(status=500, message="the test server has no scripted reply left")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------ protocol

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                if self.path.rstrip("/") == "/v1/models":
                    return self._send(200, {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "test"} for m in sorted(fake.models)]})
                if self.path == "/api/tags":
                    return self._send(200, {"models": [{"name": m, "model": m} for m in sorted(fake.models)]})
                self._send(404, {"error": {"message": f"Invalid URL (GET {self.path})", "type": "invalid_request_error"}})

            def do_POST(self):
                body = self._body()
                if self.path == "/v1/chat/completions":
                    self._openai(body)
                elif self.path == "/api/chat":
                    self._ollama(body)
                elif self.path == "/api/show":  # llama-index's Ollama asks for the model's context length
                    self._ollama_show(body)
                else:
                    self._send(404, {"error": {"message": f"Invalid URL (POST {self.path})", "type": "invalid_request_error"}})

            def _body(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    return json.loads(raw or b"null")
                except ValueError:
                    return None

            def _openai(self, body):
                if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    return self._openai_error(401, "Incorrect API key provided.")
                problem = _check_chat(body, fake.models)
                if problem:
                    return self._openai_error(*problem)
                if body.get("stream"):
                    return self._openai_error(400, "this test server does not stream")
                reply = fake.next_reply(body)
                time.sleep(reply.delay_s)
                if reply.status >= 400:
                    return self._openai_error(reply.status, reply.message, reply.headers)
                prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
                completion_tokens = len(reply.content.split())
                self._send(200, {
                    "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion", "created": int(time.time()),
                    "model": body["model"], "system_fingerprint": None,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.content, "refusal": None},
                                 "logprobs": None, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                              "total_tokens": prompt_tokens + completion_tokens},
                }, reply.headers)

            def _openai_error(self, status, message, headers=None):
                self._send(status, {"error": {"message": message, "type": _OPENAI_ERROR_TYPE.get(status, "server_error"),
                                              "param": None, "code": _OPENAI_ERROR_CODE.get(status)}}, headers)

            def _ollama(self, body):
                problem = _check_chat(body, fake.models)
                if problem:
                    status, message = problem
                    return self._send(status, {"error": message})
                reply = fake.next_reply(body)
                time.sleep(reply.delay_s)
                if reply.status >= 400:
                    return self._send(reply.status, {"error": reply.message}, reply.headers)
                now = datetime.now(timezone.utc).isoformat()
                final = {"model": body["model"], "created_at": now, "message": {"role": "assistant", "content": reply.content},
                         "done": True, "done_reason": "stop", "total_duration": 1_000_000, "load_duration": 1000,
                         "prompt_eval_count": 10, "prompt_eval_duration": 1000, "eval_count": len(reply.content.split()),
                         "eval_duration": 1000}
                if body.get("stream", True):  # Ollama streams NDJSON unless told not to
                    first = {"model": body["model"], "created_at": now,
                             "message": {"role": "assistant", "content": reply.content}, "done": False}
                    final["message"] = {"role": "assistant", "content": ""}
                    data = (json.dumps(first) + "\n" + json.dumps(final) + "\n").encode()
                    return self._raw(200, data, "application/x-ndjson")
                self._send(200, final)

            def _ollama_show(self, body):
                model = body.get("model") if isinstance(body, dict) else None
                if model not in fake.models:
                    return self._send(404, {"error": f"model '{model}' not found"})
                self._send(200, {"modelfile": f"FROM {model}", "parameters": "temperature 0", "template": "{{ .Prompt }}",
                                 "details": {"format": "gguf", "family": "llama", "parameter_size": "8B",
                                             "quantization_level": "Q4_K_M"},
                                 "model_info": {"general.architecture": "llama", "llama.context_length": 8192},
                                 "capabilities": ["completion"], "modified_at": datetime.now(timezone.utc).isoformat()})

            def _send(self, status, payload, headers=None):
                self._raw(status, json.dumps(payload).encode(), "application/json", headers)

            def _raw(self, status, data, content_type, headers=None):
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        return Handler


def _check_chat(body, models: set[str]) -> tuple[int, str] | None:
    """What a real server refuses: a malformed body, an unknown model, malformed messages."""
    if not isinstance(body, dict):
        return 400, "We could not parse the JSON body of your request."
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return 400, "you must provide a model parameter"
    if model not in models:
        return 404, f"The model `{model}` does not exist or you do not have access to it."
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return 400, "'messages' must be a non-empty array"
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            return 400, f"Invalid value for 'messages[{i}].role'"
        if not isinstance(m.get("content"), (str, list)):
            return 400, f"Invalid type for 'messages[{i}].content'"
    return None
