"""A record/replay cache of chat replies, on disk, keyed on the whole request.

:class:`CachedChat` wraps any :class:`~brigade.chat.ChatModel` and is one itself.
The key is :meth:`ChatRequest.key() <brigade.chat.ChatRequest.key>`: the hash of
the model, the messages, the sampling parameters and the seed. Each request is
one JSON file, ``DIR/ab/abcdef....json``, holding the canonical request and the
completion, written atomically (a temporary file, then ``os.replace``) so that
concurrent threads and processes never see half a file.

Modes (``--cache-mode`` on the command line):

- ``off``: every call goes to the wrapped model; nothing is read or written.
- ``readwrite``: a recorded reply is returned; a new request is sent and recorded.
- ``replay``: only recorded replies; a new request raises
  :class:`~brigade.errors.CacheMissError`. This is how tests and reproductions
  run without a server (no wrapped model is needed).

The key covers the request only, not the backend's settings (base URL, guided
decoding, extra body): keep one cache directory per backend configuration.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brigade.chat import ChatModel, ChatRequest, Completion, Usage
from brigade.errors import CacheMissError, ConfigError, did_you_mean

CACHE_MODES = ("off", "readwrite", "replay")
SCHEMA_VERSION = 1

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CacheStats:
    """What a cache did so far.

    Attributes:
        hits: Requests answered from disk.
        misses: Requests not on disk (sent to the wrapped model, or refused in replay).
        writes: Replies recorded.
    """

    hits: int = 0
    misses: int = 0
    writes: int = 0


class _KeyLocks:
    """One lock per key in use, so one process asks for each request once at a time."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)


class CachedChat(ChatModel):
    """A chat model that records replies to disk and replays them.

    Args:
        inner: The model asked on a miss; may be ``None`` in ``replay`` mode.
        directory: Where the entries live (created when needed).
        mode: ``off``, ``readwrite`` or ``replay``.
        model: The model's name; needed without ``inner``, else ``inner.model``.

    Raises:
        ConfigError: An unknown mode, no ``inner`` outside replay mode, no model
            name, or a ``model`` that differs from ``inner.model``.
    """

    def __init__(
        self,
        inner: ChatModel | None,
        directory: str | os.PathLike[str],
        mode: str = "readwrite",
        *,
        model: str | None = None,
    ) -> None:
        if mode not in CACHE_MODES:
            raise ConfigError(
                f"unknown cache mode {mode!r}{did_you_mean(mode, CACHE_MODES)}; "
                f"one of {', '.join(CACHE_MODES)}",
                key="cache_mode",
            )
        if inner is None and mode != "replay":
            raise ConfigError(
                f"cache mode {mode!r} needs a chat model to ask on a miss; "
                "only 'replay' runs without one",
                key="cache_mode",
            )
        if inner is not None and model is not None and model != inner.model:
            raise ConfigError(
                f"model {model!r} differs from the wrapped model's {inner.model!r}", key="model"
            )
        name = model if model is not None else (inner.model if inner is not None else "")
        if not name:
            raise ConfigError("a replay-only cache without a chat model needs a model name")
        self.inner = inner
        self.directory = Path(directory)
        self.mode = mode
        self.model = name
        self._stats_lock = threading.Lock()
        self._hits = 0
        self._misses = 0
        self._writes = 0
        self._key_locks = _KeyLocks()

    @property
    def stats(self) -> CacheStats:
        """Hits, misses and writes so far."""
        with self._stats_lock:
            return CacheStats(self._hits, self._misses, self._writes)

    def path_for(self, key: str) -> Path:
        """The entry file of a request key."""
        return self.directory / key[:2] / f"{key}.json"

    def complete_request(self, request: ChatRequest) -> Completion:
        """Answer from disk when recorded; otherwise ask the wrapped model (and record).

        A hit returns the recorded completion as it was (text, usage, model, latency
        and retries of the recorded call) with ``cached=True``, so a replayed run
        reports what the recorded one did. Failures of the wrapped model are not
        recorded.

        Raises:
            CacheMissError: In ``replay`` mode, the request was never recorded.
            InfrastructureError: The wrapped model failed (nothing is recorded).
        """
        if self.mode == "off":
            return self._ask(request)
        key = request.key()
        with self._key_locks.hold(key):
            found = self._load(key, request)
            if found is not None:
                self._count(hits=1)
                return found
            self._count(misses=1)
            if self.mode == "replay":
                raise CacheMissError(_miss_message(self.directory, key, request))
            completion = self._ask(request)
            self._store(key, request, completion)
            self._count(writes=1)
            return completion

    def _ask(self, request: ChatRequest) -> Completion:
        if self.inner is None:  # only replay mode has no inner, and it never asks
            raise CacheMissError(_miss_message(self.directory, request.key(), request))
        return self.inner.complete_request(request)

    def _count(self, *, hits: int = 0, misses: int = 0, writes: int = 0) -> None:
        with self._stats_lock:
            self._hits += hits
            self._misses += misses
            self._writes += writes

    def _load(self, key: str, request: ChatRequest) -> Completion | None:
        path = self.path_for(key)
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            entry = json.loads(raw)
            if entry["request"] != json.loads(request.canonical()):
                raise ValueError("the stored request differs from this one")
            return _completion_from(entry["completion"])
        except (ValueError, KeyError, TypeError) as exc:
            # Entries are written atomically, so this is an edited or foreign file:
            # treat it as absent (re-recorded in readwrite mode, a miss in replay).
            log.warning("ignoring the unreadable cache entry %s: %s", path, exc)
            return None

    def _store(self, key: str, request: ChatRequest, completion: Completion) -> None:
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        entry = {
            "schema_version": SCHEMA_VERSION,
            "key": key,
            "request": json.loads(request.canonical()),
            "completion": _completion_to(completion),
        }
        payload = json.dumps(entry, ensure_ascii=False, sort_keys=True, indent=1) + "\n"
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key[:16]}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            with suppress(OSError):
                os.unlink(tmp)
            raise

    def describe(self) -> dict[str, object]:
        """The wrapped model's description (if any) with the cache's mode and directory."""
        base = self.inner.describe() if self.inner is not None else {"model": self.model}
        return {**base, "cache": {"mode": self.mode, "directory": str(self.directory)}}

    def close(self) -> None:
        """Close the wrapped model."""
        if self.inner is not None:
            self.inner.close()


def _completion_to(completion: Completion) -> dict[str, Any]:
    return {
        "text": completion.text,
        "usage": {
            "tokens_in": completion.usage.tokens_in,
            "tokens_out": completion.usage.tokens_out,
            "source": completion.usage.source,
        },
        "latency_s": completion.latency_s,
        "model": completion.model,
        "retries": completion.retries,
    }


def _completion_from(data: dict[str, Any]) -> Completion:
    usage = data["usage"]
    text = data["text"]
    if not isinstance(text, str):
        raise TypeError("the stored text is not a string")
    return Completion(
        text=text,
        usage=Usage(int(usage["tokens_in"]), int(usage["tokens_out"]), str(usage["source"])),
        latency_s=float(data["latency_s"]),
        cached=True,
        model=str(data.get("model", "")),
        retries=int(data.get("retries", 0)),
    )


def _miss_message(directory: Path, key: str, request: ChatRequest) -> str:
    first_user = next((m.content for m in request.messages if m.role == "user"), "")
    start = " ".join(first_user.split())[:80]
    return (
        f"replay-only cache {directory} has no reply for request {key} "
        f"(model {request.model!r}, first user message {start!r}); "
        "record it first with --cache-mode readwrite"
    )
