"""The episode runner: records, transcripts, resume, budgets, failures, and a faulty server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brigade.agents.simulated import SimulatedLLM
from brigade.chat import Message
from brigade.errors import RateLimitError
from brigade.planners.records import read_records
from brigade.planners.runner import RunConfig, Runner, run

from ..fakes.openai_server import FakeOpenAIServer, FaultPlan
from ..fakes.scripted_chat import ScriptedChat

FIELDS = {
    "schema_version", "env", "planner", "llm", "seed", "success", "env_steps", "moves",
    "llm_queries", "llm_retries", "tokens_in", "tokens_out", "cost_usd", "wall_s",
    "failure_kind", "prompt_versions", "prompts_hash", "sim_config_hash",
}  # fmt: skip


def config(out: Path, **kw: object) -> RunConfig:
    base = dict(
        env="kitchen-read/cramped_room", planner="central", episodes=2, out=str(out), video="none"
    )
    base.update(kw)
    return RunConfig(**base)  # type: ignore[arg-type]


def test_records_transcripts_manifest_and_summary(tmp_path: Path) -> None:
    result = run(config(tmp_path, planner="central,expert", video="first", cell_px=16))
    lines = (tmp_path / "episodes.jsonl").read_text().splitlines()
    assert len(lines) == 4
    for line in lines:
        assert set(json.loads(line)) >= FIELDS
    central = [r for r in result.records if r.planner == "central"]
    assert all(r.llm == f"brigade-sim-llm@{r.sim_config_hash}" for r in central)
    assert all(r.llm_queries >= r.env_steps for r in central)
    assert all(
        r.llm_queries == 0 and r.llm == "none" for r in result.records if r.planner == "expert"
    )
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert (
        manifest["llm"]["backend"] == "simulated" and "not a real model" in manifest["llm"]["note"]
    )
    assert manifest["seeds"] == [0, 1] and "numpy" in manifest["packages"]
    first = next(r for r in central if r.seed == 0)
    assert first.video and (tmp_path / first.video).stat().st_size > 0
    page = (tmp_path / first.transcript).read_text()  # type: ignore[operator]
    assert "<video" in page and "NAME Alice ACTION" in page and 'Kitchen "' in page
    assert (tmp_path / "transcripts" / Path(first.transcript).with_suffix(".jsonl").name).exists()  # type: ignore[arg-type]
    assert "| kitchen-read/cramped_room-v0 | central | 2 |" in (tmp_path / "summary.md").read_text()


def test_resume_skips_recorded_episodes_and_overwrite_starts_afresh(tmp_path: Path) -> None:
    run(config(tmp_path))
    again = run(config(tmp_path, episodes=3))
    assert sorted(r.seed for r in again.records) == [0, 1, 2]  # only seed 2 was played
    assert len(read_records(tmp_path / "episodes.jsonl")) == 3
    fresh = run(config(tmp_path, episodes=1, overwrite=True))
    assert [r.seed for r in fresh.records] == [0]


def test_a_torn_last_line_from_a_crash_is_skipped_and_redone(tmp_path: Path) -> None:
    run(config(tmp_path, episodes=1))
    with (tmp_path / "episodes.jsonl").open("a") as fh:
        fh.write('{"env": "kitchen-read/cramped_room-v0", "planner": "cen')
    result = run(config(tmp_path, episodes=2))
    assert sorted(r.seed for r in result.records) == [0, 1]


def test_the_budget_ends_the_run_cleanly(tmp_path: Path) -> None:
    result = run(config(tmp_path, episodes=5, budget_tokens=30_000))
    kinds = [r.failure_kind for r in result.records]
    assert "budget" in kinds and len(result.records) < 5
    assert result.stopped and "budget" in result.stopped
    assert "stopped early" in (tmp_path / "summary.md").read_text()
    budget = result.summaries[0]
    assert budget.infrastructure["budget"] == 1 and budget.counted == len(result.records) - 1


def test_infrastructure_failures_are_counted_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = Runner(config(tmp_path, episodes=2))
    runner.llm = ScriptedChat(lambda messages: RateLimitError("429 after 4 retries"))
    result = runner.run()
    assert [r.failure_kind for r in result.records] == ["rate_limit", "rate_limit"]
    summary = result.summaries[0]
    assert summary.counted == 0 and summary.infrastructure["rate_limit"] == 2


def sim_responder(body: dict) -> str:
    messages = [Message(m["role"], m["content"]) for m in body["messages"]]
    return SimulatedLLM().complete(messages, seed=body.get("seed")).text


def test_a_faulty_server_never_crashes_a_run_and_loses_nothing(tmp_path: Path) -> None:
    faults = FaultPlan(probability=0.25, seed=3, stall_s=0.8, retry_after="0")
    with FakeOpenAIServer(sim_responder, faults) as server:
        cfg = config(
            tmp_path,
            llm="openai",
            model="sim-behind-http",
            base_url=server.url,
            episodes=3,
            planner="central,roco",
            llm_options={"timeout_s": 0.4, "max_retries": 2, "retry_base_s": 0.01},
        )
        result = run(cfg)
    assert len(result.records) == 6  # every episode is recorded, one way or another
    for record in result.records:
        assert record.failure_kind in (
            None,
            "task",
            "parse",
            "rate_limit",
            "timeout",
            "server_error",
        )
    assert sum(r.llm_retries for r in result.records) > 0  # faults were met and retried


def test_a_recorded_run_replays_bit_identically_without_the_server(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with FakeOpenAIServer(sim_responder) as server:
        recorded = run(
            config(tmp_path / "a", llm="openai", model="m", base_url=server.url, cache=str(cache),
                   cache_mode="readwrite", planner="central,react")
        )  # fmt: skip
        url = server.url
    replayed = run(
        config(tmp_path / "b", llm="openai", model="m", base_url=url, cache=str(cache),
               cache_mode="replay", planner="central,react")
    )  # fmt: skip

    def strip(records: list) -> list[dict]:
        return [{k: v for k, v in r.__dict__.items() if k != "wall_s"} for r in records]

    assert strip(sorted(recorded.records, key=lambda r: r.key)) == strip(
        sorted(replayed.records, key=lambda r: r.key)
    )
    for name in (tmp_path / "a" / "transcripts").glob("*.jsonl"):
        replies_a = [json.loads(x)["data"].get("reply") for x in name.read_text().splitlines()]
        other = tmp_path / "b" / "transcripts" / name.name
        replies_b = [json.loads(x)["data"].get("reply") for x in other.read_text().splitlines()]
        assert replies_a == replies_b


def test_a_refused_request_is_a_server_failure_and_the_rest_is_kept(tmp_path: Path) -> None:
    from brigade.errors import InputError

    calls = {"n": 0}

    def script(messages: list) -> str | Exception:
        calls["n"] += 1
        if calls["n"] == 3:
            return InputError("HTTP 400: the prompt is longer than the context")
        return "EXECUTE\nNAME Alice ACTION WAIT\nNAME Bob ACTION WAIT"

    runner = Runner(config(tmp_path, episodes=3))
    runner.llm = ScriptedChat(script)
    result = runner.run()
    kinds = sorted(str(r.failure_kind) for r in result.records)
    assert len(result.records) == 3 and kinds.count("server_error") == 1
    assert (tmp_path / "summary.md").exists() and (tmp_path / "ledger.json").exists()


def test_resume_redoes_infrastructure_failures_and_refuses_other_settings(tmp_path: Path) -> None:
    from brigade.errors import ConfigError

    runner = Runner(config(tmp_path, episodes=2))
    # The same model, down for a while: every query hits the rate limit.
    runner.llm = ScriptedChat(lambda messages: RateLimitError("429"), model=SimulatedLLM().model)
    runner.run()
    healed = run(config(tmp_path, episodes=2))  # the simulated LLM answers now
    assert {r.failure_kind for r in healed.records} <= {None, "task", "parse"}
    assert len(healed.records) == 2
    with pytest.raises(ConfigError, match=r"other settings.*llm_options"):
        Runner(config(tmp_path, episodes=2, llm_options={"base_error": 0.1})).run()
    fresh = run(config(tmp_path, episodes=1, llm_options={"base_error": 0.1}, overwrite=True))
    assert len(fresh.records) == 1
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["fingerprint"]["llm_options"] == {"base_error": 0.1}
    assert manifest["planners"]["central"]["max_replans"] == 3


def test_planner_options_are_checked_up_front_and_can_target_one_planner(tmp_path: Path) -> None:
    from brigade.errors import ConfigError

    with pytest.raises(ConfigError, match="did you mean 'max_replans'"):
        Runner(config(tmp_path, planner="central,roco", planner_options={"max_replan": 1}))
    runner = Runner(
        config(
            tmp_path,
            planner="central,roco",
            planner_options={"roco": {"max_rounds": 1}, "max_replans": 2},
        )
    )
    assert runner.planner_configs["roco"].max_rounds == 1
    assert (
        runner.planner_configs["central"].max_replans
        == 2
        == runner.planner_configs["roco"].max_replans
    )
    with pytest.raises(ConfigError, match="step_limit"):
        Runner(config(tmp_path, task={"step_limt": 3}))


def test_replay_needs_no_backend_and_sim_configs_never_share_replies(tmp_path: Path) -> None:
    from brigade.errors import ConfigError

    with pytest.raises(ConfigError, match="--cache"):
        Runner(config(tmp_path / "x", llm="openai", model="m", cache_mode="replay"))
    # No key, no server: replay builds no backend (a miss would stop the run).
    replay = Runner(
        config(
            tmp_path / "y", llm="openai", model="m", cache=str(tmp_path / "c"), cache_mode="replay"
        )
    )
    assert replay.llm is not None and replay.llm.model == "m"
    cache = str(tmp_path / "shared")
    a = run(config(tmp_path / "a", cache=cache, episodes=1))
    b = run(
        config(
            tmp_path / "b",
            cache=cache,
            episodes=1,
            llm_options={"base_error": 0.0, "per_remaining_step": 0.0},
        )
    )
    assert a.records[0].llm != b.records[0].llm  # the error model is part of the model's name
