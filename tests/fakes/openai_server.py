"""A local OpenAI-compatible chat-completions server that injects faults.

``FakeOpenAIServer`` binds 127.0.0.1 on a free port, answers
``POST /v1/chat/completions`` with a ``responder`` (request JSON -> reply text),
and injects the faults of a :class:`FaultPlan`: 429 with ``Retry-After``, 500,
503, stalls, malformed bodies and dropped connections, chosen per request index
or by a seeded probability. It records every request it received.

Use it as a context manager, or from a fixture::

    @pytest.fixture
    def server():
        with FakeOpenAIServer() as s:
            yield s
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

Responder = Callable[[dict[str, Any]], str]

FAULT_KINDS = (
    "rate_limit",  # 429 with a Retry-After header
    "server_error",  # 500
    "unavailable",  # 503
    "stall",  # sleep stall_s before answering normally
    "malformed_json",  # 200 with a body that is not JSON
    "no_choices",  # 200 with JSON that has no choices
    "drop",  # close the connection without an answer
    "status",  # answer with Fault.status (401, 400, 404...) and an error body
)
# The faults a well-behaved client retries until it gets an answer.
TRANSIENT_KINDS = tuple(k for k in FAULT_KINDS if k != "status")


@dataclass(frozen=True)
class Fault:
    """One injected fault.

    Attributes:
        kind: One of :data:`FAULT_KINDS`.
        retry_after: For ``rate_limit``: the ``Retry-After`` header's value
            (delta-seconds or an HTTP date), or ``None`` to send none.
        stall_s: For ``stall``: seconds to wait before answering.
        status: For ``status``: the HTTP status to answer with.
    """

    kind: str
    retry_after: str | None = "0"
    stall_s: float = 1.0
    status: int = 500

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; one of {FAULT_KINDS}")


@dataclass(frozen=True)
class FaultPlan:
    """Which requests fail, and how.

    Attributes:
        at: Faults by 0-based request index (order of arrival at the server).
        probability: Chance that any other request fails.
        kinds: The faults drawn (uniformly) when a request fails by chance
            (default: every transient one).
        seed: Seed of the draws; a request's draw depends only on the seed and its index.
        retry_after: ``Retry-After`` of faults drawn by chance.
        stall_s: Stall of faults drawn by chance.
    """

    at: Mapping[int, Fault] = field(default_factory=dict)
    probability: float = 0.0
    kinds: tuple[str, ...] = TRANSIENT_KINDS
    seed: int = 0
    retry_after: str | None = "0"
    stall_s: float = 1.0

    @classmethod
    def first(cls, n: int, kind: str, **options: Any) -> FaultPlan:
        """The first ``n`` requests fail with ``kind`` (``options``: Fault's fields)."""
        return cls(at={i: Fault(kind, **options) for i in range(n)})

    @classmethod
    def always(cls, kind: str, *, retry_after: str | None = "0", stall_s: float = 1.0) -> FaultPlan:
        """Every request fails with ``kind``."""
        return cls(probability=1.0, kinds=(kind,), retry_after=retry_after, stall_s=stall_s)

    def fault_for(self, index: int) -> Fault | None:
        """The fault of request ``index``, or ``None``."""
        if index in self.at:
            return self.at[index]
        if self.probability <= 0.0:
            return None
        rng = random.Random(f"{self.seed}:{index}")
        if rng.random() >= self.probability:
            return None
        return Fault(rng.choice(self.kinds), retry_after=self.retry_after, stall_s=self.stall_s)


@dataclass(frozen=True)
class RecordedRequest:
    """A request the server received.

    Attributes:
        index: Its 0-based order of arrival.
        path: The URL path.
        headers: Its headers (names lower-cased).
        body: The JSON body, or ``None`` if it was not JSON.
        fault: The fault injected into its answer, if any.
        received_at: ``time.monotonic()`` on arrival.
    """

    index: int
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    fault: str | None
    received_at: float


def echo_responder(request: dict[str, Any]) -> str:
    """The first line of the last user message."""
    for message in reversed(request.get("messages", [])):
        if message.get("role") == "user":
            text = str(message.get("content") or "")
            return text.splitlines()[0] if text else ""
    return ""


def _word_count(text: str) -> int:
    return len(text.split())


class FakeOpenAIServer:
    """An OpenAI chat-completions server on 127.0.0.1 for tests.

    Args:
        responder: Request JSON -> reply text (default: :func:`echo_responder`).
        faults: The faults to inject (default: none).
        latency_s: Seconds every answer takes (to make requests overlap).
        usage: Send ``usage`` (word counts); ``False`` omits it.
        model: The model name reported (default: the requested one).
    """

    def __init__(
        self,
        responder: Responder | None = None,
        faults: FaultPlan | None = None,
        *,
        latency_s: float = 0.0,
        usage: bool = True,
        model: str | None = None,
    ) -> None:
        self.responder = responder or echo_responder
        self.faults = faults or FaultPlan()
        self.latency_s = latency_s
        self.usage = usage
        self.model = model
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._in_flight = 0
        self._max_in_flight = 0
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> FakeOpenAIServer:
        """Bind a free port and serve in a background thread."""
        if self._httpd is not None:
            raise RuntimeError("the server is already running")
        self._stopping.clear()
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        httpd.daemon_threads = True
        self._httpd = httpd
        # A short poll interval: stop() waits for the serving loop's next poll.
        self._thread = threading.Thread(
            target=httpd.serve_forever, args=(0.02,), name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (stalled answers are cut short)."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what tests look at ------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port."""
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI base URL (``.../v1``)."""
        return self.url + "/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in order of arrival."""
        with self._lock:
            return list(self._requests)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies of the chat requests received so far."""
        return [r.body for r in self.requests if r.body is not None]

    @property
    def max_in_flight(self) -> int:
        """Most requests the server was handling at once."""
        with self._lock:
            return self._max_in_flight

    # -- serving -------------------------------------------------------------

    def _arrive(
        self, path: str, headers: dict[str, str], body: dict[str, Any] | None
    ) -> tuple[RecordedRequest, Fault | None]:
        with self._lock:
            index = len(self._requests)
            fault = self.faults.fault_for(index) if path.endswith("/chat/completions") else None
            record = RecordedRequest(
                index, path, headers, body, fault.kind if fault else None, time.monotonic()
            )
            self._requests.append(record)
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        return record, fault

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            loaded = json.loads(raw) if raw else None
        except ValueError:
            loaded = None
        body = loaded if isinstance(loaded, dict) else None
        headers = {k.lower(): v for k, v in handler.headers.items()}
        record, fault = self._arrive(handler.path, headers, body)
        try:
            reply = self._respond(record, fault)
        finally:
            # Leave before writing: once the client has the answer it may send its
            # next request, which must not count as overlapping this one.
            self._leave()
        if reply is None:
            _drop(handler)
        else:
            _send_raw(handler, reply.status, reply.payload, reply.headers)

    def _respond(self, record: RecordedRequest, fault: Fault | None) -> _Reply | None:
        """The answer to ``record`` (``None``: close the connection without one)."""
        if not record.path.rstrip("/").endswith("/chat/completions"):
            return _Reply.json(404, {"error": {"message": f"no route {record.path}"}})
        if record.body is None:
            return _Reply.json(400, {"error": {"message": "the body is not a JSON object"}})
        if self.latency_s > 0 and self._stopping.wait(self.latency_s):
            return None
        kind = fault.kind if fault is not None else None
        if fault is not None and kind == "stall" and self._stopping.wait(fault.stall_s):
            return None
        if kind == "drop":
            return None
        if fault is not None and kind == "rate_limit":
            extra = {} if fault.retry_after is None else {"Retry-After": fault.retry_after}
            error = {"message": "rate limit reached", "type": "requests", "code": "rate_limit"}
            return _Reply.json(429, {"error": error}, extra)
        if kind in ("server_error", "unavailable"):
            status = 500 if kind == "server_error" else 503
            return _Reply.json(status, {"error": {"message": f"injected {status}"}})
        if fault is not None and kind == "status":
            message = f"injected HTTP {fault.status}"
            return _Reply.json(fault.status, {"error": {"message": message}})
        if kind == "malformed_json":
            return _Reply(200, b'{"id": "chatcmpl-broken", "choices": [')
        if kind == "no_choices":
            return _Reply.json(200, {"id": "chatcmpl-empty", "object": "chat.completion"})
        return _Reply.json(200, self._completion(record))

    def _completion(self, record: RecordedRequest) -> dict[str, Any]:
        request = record.body or {}
        text = self.responder(request)
        reply: dict[str, Any] = {
            "id": f"chatcmpl-{record.index}",
            "object": "chat.completion",
            "created": 1_700_000_000 + record.index,
            "model": self.model or request.get("model", ""),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
        }
        if self.usage:
            prompt = sum(_word_count(str(m.get("content") or "")) for m in request["messages"])
            out = _word_count(text)
            reply["usage"] = {
                "prompt_tokens": prompt,
                "completion_tokens": out,
                "total_tokens": prompt + out,
            }
        return reply


@dataclass(frozen=True)
class _Reply:
    status: int
    payload: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, data: object, headers: Mapping[str, str] | None = None) -> _Reply:
        return cls(status, json.dumps(data).encode(), dict(headers or {}))


def _send_raw(
    handler: BaseHTTPRequestHandler,
    status: int,
    payload: bytes,
    headers: Mapping[str, str] | None = None,
) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(payload)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(payload)


def _drop(handler: BaseHTTPRequestHandler) -> None:
    handler.close_connection = True
    with contextlib.suppress(OSError):
        handler.connection.shutdown(socket.SHUT_RDWR)


def _make_handler(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so a stopped server answers nothing
        # on a connection kept alive by a client pool.
        protocol_version = "HTTP/1.0"

        def do_POST(self) -> None:
            # The client may have given up (timed out) before the answer.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                server._answer(self)

        def do_GET(self) -> None:
            reply = _Reply.json(404, {"error": {"message": f"no route {self.path}"}})
            _send_raw(self, reply.status, reply.payload, reply.headers)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler
