"""Episodes with the planner, the critic and the environment as bus nodes (in this process).

The nodes here are served from threads, so each call still crosses ZeroMQ and
the wire format; tests/launch/test_graph_processes.py does the same with one
process per node.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from brigade import envs
from brigade.agents.ledger import Ledger, LedgerEntry
from brigade.bus import Node, serve
from brigade.critic import CriticState
from brigade.errors import ConfigError, InputError
from brigade.media import VideoWriter
from brigade.plan import JointPlan
from brigade.planners import runner as runner_module
from brigade.planners.bus_run import EpisodeNodes
from brigade.planners.hosts import CriticHost, EnvHost
from brigade.planners.remote import NodeRef, PlannerHost, RelayedChat
from brigade.planners.runner import RunConfig, Runner, RunResult
from brigade.testing import check_node
from brigade.testing.node_conformance import Call

TIMING = {"wall_s"}


@pytest.fixture
def frames(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The digest of every frame the runner films, by video file name.

    Frames are compared, not the MP4 files: x264 need not encode equal frames to
    equal bytes on a loaded machine.
    """
    seen: dict[str, list[str]] = {}

    class Recording(VideoWriter):
        def write(self, frame: np.ndarray) -> None:
            path = Path(self.path)
            digest = hashlib.sha256(np.ascontiguousarray(frame).tobytes()).hexdigest()
            seen.setdefault(f"{path.parent.parent.name}/{path.name}", []).append(digest)
            super().write(frame)

    monkeypatch.setattr(runner_module, "VideoWriter", Recording)
    return seen


@pytest.fixture
def graph() -> Iterator[EpisodeNodes]:
    nodes: list[Node] = [
        serve(EnvHost(), name="env"),
        serve(CriticHost(), name="critic"),
        serve(PlannerHost(), name="planner"),
    ]
    env, critic, planner = (n.address for n in nodes)
    try:
        yield EpisodeNodes(planner=NodeRef(planner), env=NodeRef(env), critic=NodeRef(critic))
    finally:
        for node in nodes:
            node.close()


def _run(out: Path, bus: EpisodeNodes | None = None, **settings: Any) -> RunResult:
    config = RunConfig(out=str(out), overwrite=True, **settings)
    return Runner(config, bus=bus).run()


def _records(result: RunResult) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in dataclasses.asdict(r).items() if k not in TIMING} for r in result.records
    ]


def _transcripts(out: Path) -> dict[str, list[dict[str, Any]]]:
    found = {}
    for path in sorted((out / "transcripts").glob("*.jsonl")):
        entries = [json.loads(line) for line in path.read_text().splitlines()]
        for entry in entries:
            entry.pop("t")
            entry["data"].pop("latency_s", None)  # the backend's timing
        found[path.name] = entries
    return found


def _ledger(out: Path) -> dict[str, Any]:
    totals = json.loads((out / "ledger.json").read_text())
    totals["by_run"] = list(totals["by_run"].values())  # keyed by the run folder's name
    groups = [*totals["by_episode"].values(), *totals["by_agent"].values()]
    for group in [totals["totals"], *totals["by_run"], *groups]:
        group.pop("latency_s", None)
    return totals


@pytest.mark.parametrize(
    ("env_id", "planner"),
    [("kitchen/cramped_room", "read-j"), ("kitchen-read/cramped_room", "read-s")],
)
def test_read_episodes_on_nodes_equal_the_in_process_ones(
    tmp_path: Path, graph: EpisodeNodes, frames: dict[str, list[str]], env_id: str, planner: str
) -> None:
    settings = {"env": env_id, "planner": planner, "episodes": 2, "seed": 3, "video": "first"}
    local = _run(tmp_path / "local", **settings)
    remote = _run(tmp_path / "bus", graph, **settings)
    assert _records(remote) == _records(local)
    assert all(r.llm_queries > 0 and r.critic for r in remote.records)
    assert _transcripts(tmp_path / "bus") == _transcripts(tmp_path / "local")
    assert _ledger(tmp_path / "bus") == _ledger(tmp_path / "local")
    video = remote.records[0].video
    assert video is not None
    filmed = Path(video).name
    assert frames[f"bus/{filmed}"] == frames[f"local/{filmed}"]
    assert len(frames[f"bus/{filmed}"]) == remote.records[0].moves + 1
    manifest = json.loads((tmp_path / "bus" / "manifest.json").read_text())
    assert manifest["bus"]["env"]["address"] == graph.env.address
    local_manifest = json.loads((tmp_path / "local" / "manifest.json").read_text())
    assert manifest["fingerprint"] == local_manifest["fingerprint"]


def test_planners_without_critic_and_the_expert_ceiling_play_on_nodes(
    tmp_path: Path, graph: EpisodeNodes
) -> None:
    settings = {"env": "kitchen/cramped_room", "planner": "expert,central,reflexion"}
    settings |= {"episodes": 1, "video": "none"}
    local = _run(tmp_path / "local", **settings)
    remote = _run(tmp_path / "bus", graph, **settings)
    assert _records(remote) == _records(local)
    assert [r.success for r in remote.records] == [True, True, True]
    assert [r.planner for r in remote.records] == ["expert", "central", "reflexion"]


def test_replies_recorded_on_the_planner_node_replay_in_one_process(
    tmp_path: Path, graph: EpisodeNodes
) -> None:
    cache = str(tmp_path / "cache")
    settings = {"env": "kitchen/cramped_room", "planner": "read-j", "video": "none"}
    settings |= {"episodes": 2, "seed": 5, "cache": cache}
    recorded = _run(tmp_path / "bus", graph, **settings)
    replayed = _run(tmp_path / "local", cache_mode="replay", **settings)  # no backend built
    # A replay has no simulator to hash; everything else is the same.
    unhashed = [{**r, "sim_config_hash": None} for r in _records(recorded)]
    assert _records(replayed) == unhashed
    replies = {
        name: [(e["kind"], e["data"].get("reply")) for e in entries]
        for name, entries in _transcripts(tmp_path / "bus").items()
    }
    assert replies == {
        name: [(e["kind"], e["data"].get("reply")) for e in entries]
        for name, entries in _transcripts(tmp_path / "local").items()
    }


def test_a_spent_budget_keeps_the_queries_made_before_it(
    tmp_path: Path, graph: EpisodeNodes
) -> None:
    settings = {"env": "kitchen/cramped_room", "planner": "central", "video": "none"}
    settings |= {"episodes": 2, "budget_tokens": 20_000}
    local = _run(tmp_path / "local", **settings)
    remote = _run(tmp_path / "bus", graph, **settings)
    assert remote.stopped is not None and "budget" in remote.stopped
    assert _records(remote) == _records(local)
    assert remote.records[0].failure_kind == "budget"
    assert remote.records[0].llm_queries > 0
    assert _transcripts(tmp_path / "bus") == _transcripts(tmp_path / "local")


def test_a_lost_node_ends_the_run_with_what_it_recorded(tmp_path: Path) -> None:
    nodes = [serve(EnvHost(), name="env"), serve(PlannerHost(), name="planner")]
    bus = EpisodeNodes(planner=NodeRef(nodes[1].address), env=NodeRef(nodes[0].address))
    config = RunConfig(planner="central", episodes=4, video="none", out=str(tmp_path))
    runner = Runner(config, bus=bus)
    runner.progress = lambda record: nodes[1].close()  # the planner node dies after one
    try:
        result = runner.run()
    finally:
        for node in nodes:
            node.close()
    assert [r.failure_kind for r in result.records] == [None, "node_unavailable"]
    assert result.stopped is not None and "a node is unavailable" in result.stopped
    assert "The run stopped early: a node is unavailable" in (tmp_path / "summary.md").read_text()
    transcript = tmp_path / result.records[1].transcript.replace(".html", ".jsonl")
    assert json.loads(transcript.read_text().splitlines()[-1])["kind"] == "failure"


def test_runs_the_bus_cannot_play_are_refused(tmp_path: Path, graph: EpisodeNodes) -> None:
    with pytest.raises(ConfigError, match="oracle"):
        Runner(RunConfig(planner="read-j", critic="oracle", out=str(tmp_path)), bus=graph)
    with pytest.raises(ConfigError, match="workers"):
        Runner(RunConfig(planner="read-j", workers=2, out=str(tmp_path)), bus=graph)


def test_the_hosts_say_what_to_call_first() -> None:
    with pytest.raises(InputError, match="make"):
        EnvHost().describe()
    with pytest.raises(InputError, match="use"):
        CriticHost().describe()
    with pytest.raises(ConfigError, match="oracle"):
        CriticHost().use("oracle", "kitchen/cramped_room")
    with pytest.raises(InputError, match="start"):
        PlannerHost().reset("central", {}, 0)


def test_relayed_chat_keeps_the_node_s_entries_counters_and_ledger() -> None:
    ledger = Ledger()
    chat = RelayedChat(ledger)
    chat.note("start", "hello")
    entry = LedgerEntry(7, "run", "ep", "Alice", "plan", "m", 10, 2, "estimate", 0.5, 0.1, False, 0)
    chat.absorb(
        {
            "entries": [{"kind": "query", "data": {"reply": "x"}, "t": 1.0}],
            "counters": {"queries": 1, "retries": 0, "tokens_in": 10, "tokens_out": 2},
            "ledger": [entry.to_dict()],
        }
    )
    chat.note("step", "moved")
    assert [e.kind for e in chat.entries] == ["start", "query", "step"]
    assert (chat.queries, chat.tokens_in, chat.tokens_out) == (1, 10, 2)
    assert ledger.entries[0].index == 0 and ledger.spent_tokens == 12
    with pytest.raises(ConfigError):
        chat.ask([])


def _critic_state() -> tuple[CriticState, list[JointPlan]]:
    env = envs.make_task("kitchen/cramped_room")
    env.reset(0)
    view = env.planner_view()
    plans = [
        JointPlan((a, b))
        for a, b in zip(
            view.legal_actions(view.agents[0])[:3], view.legal_actions(view.agents[1])[:3]
        )
    ]
    return CriticState.from_view(view), plans


def test_the_env_host_passes_node_conformance() -> None:
    plan_env = envs.make_task("kitchen/cramped_room")
    plan_env.reset(0)
    plan = plan_env.expert_plan()  # type: ignore[attr-defined]
    calls = [
        Call("make", ("kitchen/cramped_room",)),
        Call("reset", (0,)),
        Call("agents"),
        Call("describe"),
        Call("features"),
        Call("verify", (plan,)),
        Call("expert_plan"),
        Call("execute", (plan,)),
        Call("step_count"),
        Call("score"),
        Call("has_expert"),
        Call("make", ("kitchen/no_such_kitchen",)),
    ]
    check_node(EnvHost, calls=calls)


def test_the_critic_host_passes_node_conformance() -> None:
    state, plans = _critic_state()
    calls = [
        Call("use", ("", "kitchen/cramped_room", 0)),
        Call("kind"),
        Call("describe"),
        Call("score_joint", (state, plans)),
        Call("score_sequential", (state, [], [p.actions[0] for p in plans])),
        Call("use", ("random", "kitchen/cramped_room", 5)),
        Call("score_joint", (state, plans)),
        Call("use", ("oracle", "kitchen/cramped_room", 0)),
    ]
    check_node(CriticHost, calls=calls)


def test_critic_scores_do_not_depend_on_torch_threads() -> None:
    import torch

    from brigade.critics.registry import learned_critic

    state, plans = _critic_state()
    critic = learned_critic("", "kitchen/cramped_room-v0")
    saved = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        first = critic.score_joint(state, plans).advantage
        torch.set_num_threads(1)
        second = critic.score_joint(state, plans).advantage
        assert torch.get_num_threads() == 1  # the caller's setting is restored
    finally:
        torch.set_num_threads(saved)
    np.testing.assert_array_equal(first, second)
