"""The record/replay cache: modes, files, concurrency, keys, and replay without a server."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import os
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brigade.agents.cache import CachedChat
from brigade.agents.limits import RetryPolicy
from brigade.agents.openai_chat import OpenAIChat
from brigade.chat import ChatRequest, Completion, Message, SamplingParams
from brigade.errors import CacheMissError, ConfigError, ServerError
from tests.fakes import EchoChat, FakeClock
from tests.fakes.openai_server import FakeOpenAIServer, FaultPlan

HELLO = [Message("system", "You are a chef."), Message("user", "Where is the onion?\nthink")]


def request(text: str = "Where is the onion?", model: str = "echo", **params: Any) -> ChatRequest:
    return ChatRequest(model, (Message("user", text),), SamplingParams(**params))


# -- modes ---------------------------------------------------------------------


def test_readwrite_records_a_miss_and_replays_the_hit(tmp_path: Path) -> None:
    inner = EchoChat()
    cache = CachedChat(inner, tmp_path, "readwrite")
    first = cache.complete(HELLO, seed=3)
    second = cache.complete(HELLO, seed=3)
    assert inner.call_count == 1
    assert not first.cached and second.cached
    assert (second.text, second.usage) == (first.text, first.usage)
    assert dataclasses.replace(second, cached=False) == first
    assert cache.stats.hits == 1 and cache.stats.misses == 1 and cache.stats.writes == 1


def test_entries_are_one_json_file_per_request_under_the_key_prefix(tmp_path: Path) -> None:
    cache = CachedChat(EchoChat(), tmp_path, "readwrite")
    req = request(seed=1)
    completion = cache.complete_request(req)
    key = req.key()
    path = tmp_path / key[:2] / f"{key}.json"
    assert cache.path_for(key) == path
    entry = json.loads(path.read_text())
    assert entry["key"] == key
    assert entry["request"] == json.loads(req.canonical())
    assert entry["completion"]["text"] == completion.text
    assert entry["completion"]["usage"]["tokens_in"] == completion.usage.tokens_in
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [f"{key}.json"]


def test_off_passes_through_and_touches_nothing(tmp_path: Path) -> None:
    inner = EchoChat()
    cache = CachedChat(inner, tmp_path / "cache", "off")
    replies = [cache.complete(HELLO) for _ in range(3)]
    assert inner.call_count == 3
    assert not any(r.cached for r in replies)
    assert not (tmp_path / "cache").exists()
    assert cache.stats.hits == cache.stats.misses == cache.stats.writes == 0


def test_replay_answers_recorded_requests_without_a_model(tmp_path: Path) -> None:
    recorded = CachedChat(EchoChat(), tmp_path, "readwrite").complete(HELLO, max_tokens=64)
    replay = CachedChat(None, tmp_path, "replay", model="echo")
    again = replay.complete(HELLO, max_tokens=64)
    assert again.cached and again.text == recorded.text and again.usage == recorded.usage
    assert replay.stats.hits == 1


def test_a_replay_miss_names_the_key_and_the_first_user_message(tmp_path: Path) -> None:
    inner = EchoChat()
    replay = CachedChat(inner, tmp_path, "replay")
    with pytest.raises(CacheMissError) as info:
        replay.complete(HELLO)
    key = ChatRequest("echo", tuple(HELLO)).key()
    assert key in str(info.value)
    assert "Where is the onion? think" in str(info.value)
    assert "--cache-mode readwrite" in str(info.value)
    assert inner.call_count == 0
    assert replay.stats.misses == 1 and replay.stats.writes == 0


def test_failures_of_the_inner_model_are_not_recorded(tmp_path: Path) -> None:
    cache = CachedChat(EchoChat(fail_with=ServerError("down")), tmp_path, "readwrite")
    with pytest.raises(ServerError, match="down"):
        cache.complete(HELLO)
    assert not list(tmp_path.rglob("*.json"))
    assert cache.stats.writes == 0


@pytest.mark.parametrize(
    ("mode", "hint"), [("raedwrite", "readwrite"), ("replay-only", "replay"), ("of", "off")]
)
def test_a_bad_mode_suggests_the_closest(tmp_path: Path, mode: str, hint: str) -> None:
    with pytest.raises(ConfigError, match=f"did you mean '{hint}'"):
        CachedChat(EchoChat(), tmp_path, mode)


def test_configurations_that_cannot_work_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="only 'replay'"):
        CachedChat(None, tmp_path, "readwrite", model="m")
    with pytest.raises(ConfigError, match="model name"):
        CachedChat(None, tmp_path, "replay")
    with pytest.raises(ConfigError, match="differs"):
        CachedChat(EchoChat("a"), tmp_path, "readwrite", model="b")


def test_describe_adds_the_cache_to_the_inner_description(tmp_path: Path) -> None:
    described = CachedChat(EchoChat(), tmp_path, "replay").describe()
    assert described["model"] == "echo"
    assert described["cache"] == {"mode": "replay", "directory": str(tmp_path)}


# -- files ---------------------------------------------------------------------


def test_an_interrupted_write_leaves_neither_entry_nor_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = CachedChat(EchoChat(), tmp_path, "readwrite")

    def crash(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        cache.complete(HELLO)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_an_unreadable_entry_is_rerecorded_in_readwrite_and_missed_in_replay(
    tmp_path: Path,
) -> None:
    req = request()
    CachedChat(EchoChat(), tmp_path, "readwrite").complete_request(req)
    path = tmp_path / req.key()[:2] / f"{req.key()}.json"
    path.write_text('{"truncated": ')
    with pytest.raises(CacheMissError):
        CachedChat(None, tmp_path, "replay", model="echo").complete_request(req)
    inner = EchoChat()
    assert not CachedChat(inner, tmp_path, "readwrite").complete_request(req).cached
    assert inner.call_count == 1
    assert json.loads(path.read_text())["key"] == req.key()


def test_an_entry_whose_request_differs_is_not_trusted(tmp_path: Path) -> None:
    req, other = request("a"), request("b")
    CachedChat(EchoChat(), tmp_path, "readwrite").complete_request(other)
    src = tmp_path / other.key()[:2] / f"{other.key()}.json"
    dst = tmp_path / req.key()[:2] / f"{req.key()}.json"
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(src.read_bytes())
    with pytest.raises(CacheMissError):
        CachedChat(None, tmp_path, "replay", model="echo").complete_request(req)


def test_concurrent_threads_ask_once_per_request(tmp_path: Path) -> None:
    inner = EchoChat()
    cache = CachedChat(inner, tmp_path, "readwrite")
    requests = [request(f"q{i % 5}") for i in range(40)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(cache.complete_request, requests))
    assert inner.call_count == 5
    assert cache.stats.writes == 5 and cache.stats.hits == 35
    for req, reply in zip(requests, replies):
        assert reply.text.startswith(req.messages[0].content)
    assert not list(tmp_path.rglob("*.tmp"))


def _record_in_process(directory: str) -> None:
    cache = CachedChat(EchoChat(), directory, "readwrite")
    for i in random.Random(os.getpid()).sample(range(20), 20):
        cache.complete_request(request(f"shared {i}"))


def test_concurrent_processes_never_leave_a_partial_file(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_record_in_process, args=(str(tmp_path),)) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    files = sorted(tmp_path.rglob("*.json"))
    assert len(files) == 20
    assert not list(tmp_path.rglob("*.tmp"))
    replay = CachedChat(None, tmp_path, "replay", model="echo")
    for i in range(20):
        expected = EchoChat().complete_request(request(f"shared {i}"))
        assert replay.complete_request(request(f"shared {i}")).text == expected.text


# -- the key ---------------------------------------------------------------------

texts = st.text(max_size=30)
messages = st.lists(
    st.builds(Message, st.sampled_from(["system", "user", "assistant"]), texts),
    min_size=1,
    max_size=4,
).map(tuple)
params = st.builds(
    SamplingParams,
    temperature=st.floats(0.0, 2.0, allow_nan=False),
    top_p=st.floats(0.0, 1.0, allow_nan=False),
    max_tokens=st.integers(1, 4096),
    stop=st.lists(texts, max_size=3).map(tuple),
    seed=st.none() | st.integers(-(2**31), 2**31),
)
requests = st.builds(ChatRequest, st.text(min_size=1, max_size=20), messages, params)

PARAM_FIELDS = ["temperature", "top_p", "max_tokens", "stop", "seed"]


@settings(max_examples=200, deadline=None)
@given(requests, st.data())
def test_the_key_changes_with_any_field_and_only_then(req: ChatRequest, data: Any) -> None:
    twin = ChatRequest(
        str(req.model),
        tuple(Message(m.role, m.content) for m in req.messages),
        dataclasses.replace(req.params),
    )
    assert twin.key() == req.key()
    field = data.draw(st.sampled_from(["model", "messages", *PARAM_FIELDS]))
    if field == "model":
        changed = dataclasses.replace(
            req, model=data.draw(st.text(min_size=1).filter(lambda m: m != req.model))
        )
    elif field == "messages":
        changed = dataclasses.replace(
            req, messages=data.draw(messages.filter(lambda ms: ms != req.messages))
        )
    else:
        strategy = {
            "temperature": st.floats(0.0, 2.0, allow_nan=False),
            "top_p": st.floats(0.0, 1.0, allow_nan=False),
            "max_tokens": st.integers(1, 4096),
            "stop": st.lists(texts, max_size=3).map(tuple),
            "seed": st.none() | st.integers(-(2**31), 2**31),
        }[field]
        old = getattr(req.params, field)
        new = data.draw(strategy.filter(lambda v: v != old))
        changed = dataclasses.replace(req, params=dataclasses.replace(req.params, **{field: new}))
    assert changed.key() != req.key()


# -- record against the fake server, replay with the server stopped ------------------


def _responder(body: dict[str, Any]) -> str:
    # Replies that depend on the whole request, like a model with a fixed seed.
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return f"NAME Alice ACTION PICK onion-{digest[:6]}\nseed={body.get('seed')}"


def _dialog(chat: CachedChat) -> list[Completion]:
    history = [Message("system", "You coordinate two chefs.")]
    replies = []
    for step in range(6):
        history.append(Message("user", f"step {step}: the pot has {step} onions"))
        reply = chat.complete(history, temperature=0.7, seed=step, stop=["\n\n"])
        history.append(Message("assistant", reply.text))
        replies.append(reply)
    # A repeated request within the same run is a hit in both modes.
    replies.append(chat.complete(history[:2], temperature=0.7, seed=0, stop=["\n\n"]))
    return replies


def test_a_recorded_run_replays_bit_identically_with_the_server_stopped(tmp_path: Path) -> None:
    faults = FaultPlan(probability=0.3, kinds=("rate_limit", "server_error", "drop"), seed=1)
    clock = FakeClock()
    retry = RetryPolicy(max_retries=8, base_s=0.01)
    with FakeOpenAIServer(_responder, faults) as server:
        url = server.base_url
        backend = OpenAIChat(
            "local-model", base_url=url, retry=retry, clock=clock.now, sleep=clock.sleep
        )
        recorded = _dialog(CachedChat(backend, tmp_path, "readwrite"))
        assert any(r.fault for r in server.requests)  # the recording saw faults and retries
    files = {p: p.read_bytes() for p in tmp_path.rglob("*.json")}
    assert len(files) == 6

    # The server is gone: any request that reached the network would fail.
    offline = OpenAIChat("local-model", base_url=url, retry=RetryPolicy(max_retries=0))
    with pytest.raises(ServerError):
        offline.complete([Message("user", "ping")])

    for replay in (
        CachedChat(offline, tmp_path, "replay"),
        CachedChat(None, tmp_path, "replay", model="local-model"),
    ):
        replayed = _dialog(replay)
        assert [r.text for r in replayed] == [r.text for r in recorded]
        assert [r.usage for r in replayed] == [r.usage for r in recorded]
        assert [dataclasses.replace(r, cached=False) for r in replayed[:6]] == recorded[:6]
        assert all(r.cached for r in replayed)
        assert replay.stats.misses == 0
        with pytest.raises(CacheMissError):
            replay.complete([Message("user", "a request never recorded")])
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.json")} == files
