"""Remote proxies: the interfaces over the bus give what the local components give."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from brigade import envs
from brigade.bus.node import Node, serve
from brigade.bus.proxies import (
    RemoteArm,
    RemoteCritic,
    RemoteEnv,
    RemotePolicy,
    RemoteProgressModel,
)
from brigade.critic import CriticState
from brigade.critics.registry import learned_critic
from brigade.errors import ConfigError, PlanError
from brigade.plan import JointPlan
from brigade.policy import Observation
from brigade.task_env import PlannerView, TaskEnv
from brigade.testing import check_task_env
from tests.bus.procs import CountingPolicy, DistanceProgress, ToyArm

FAST: dict[str, Any] = {"liveness_s": 1.0, "heartbeat_s": 0.05, "retries": 1, "backoff_s": 0.01}
ENV = "kitchen/cramped_room"


@pytest.fixture
def nodes() -> Iterator[list[Node]]:
    served: list[Node] = []
    yield served
    for node in served:
        node.close()


def remote_env(nodes: list[Node], env: TaskEnv | None = None) -> RemoteEnv:
    node = serve(env or envs.make_task(ENV), name="env", heartbeat_s=0.05)
    nodes.append(node)
    return RemoteEnv(node.address, **FAST)


def test_a_remote_env_passes_the_env_conformance_checks(nodes: list[Node]) -> None:
    proxies: list[RemoteEnv] = []

    def factory() -> TaskEnv:
        proxies.append(remote_env(nodes))
        return proxies[-1]

    try:
        check_task_env(factory)
    finally:
        for proxy in proxies:
            proxy.close()


def test_a_remote_episode_equals_the_local_one(nodes: list[Node]) -> None:
    local = envs.make_task(ENV)
    with remote_env(nodes) as remote:
        assert remote.env_id == local.env_id and remote.agents == local.agents
        assert remote.metadata() == local.metadata() and remote.step_limit == local.step_limit
        for env in (local, remote):
            env.reset(7)
        for _ in range(12):
            assert remote.describe() == local.describe()
            assert np.array_equal(remote.features(), local.features())
            assert remote.agent_snippets() == local.agent_snippets()
            plan = JointPlan(tuple(local.legal_actions(a)[0] for a in local.agents))
            assert remote.verify(plan) == local.verify(plan)
            a, b = local.execute(plan), remote.execute(plan)
            assert a == b and remote.step_count == local.step_count
            assert remote.progress() == local.progress()
            if a.done:
                break
        assert np.array_equal(remote.render(), local.render())
        snapshot = remote.snapshot()
        assert snapshot == local.snapshot()
        remote.execute(JointPlan(tuple(local.legal_actions(a)[-1] for a in local.agents)))
        remote.restore(snapshot)
        assert remote.step_count == local.step_count and remote.describe() == local.describe()


def test_a_planner_view_of_a_remote_env_hides_the_ground_truth(nodes: list[Node]) -> None:
    with remote_env(nodes) as remote:
        remote.reset(0)
        view = remote.planner_view()
        assert isinstance(view, PlannerView) and view.agents == remote.agents
        assert not hasattr(view, "progress") and view.describe() == remote.describe()


def test_immutable_values_are_asked_once(nodes: list[Node]) -> None:
    with remote_env(nodes) as remote:
        assert remote.agents == ("Alice", "Bob")
        before = nodes[0].stats().requests
        for _ in range(5):
            assert remote.agents == ("Alice", "Bob")
        assert nodes[0].stats().requests == before


def test_a_remote_critic_scores_bit_for_bit(nodes: list[Node]) -> None:
    env = envs.make_task(f"{ENV}-v0")
    env.reset(3)
    critic = learned_critic("", env.env_id)
    state = CriticState.from_view(env.planner_view())
    node = serve(critic, name="critic")
    nodes.append(node)
    with RemoteCritic(node.address, **FAST) as remote:
        assert remote.kind == "learned" and remote.describe() == critic.describe()
        first, second = env.agents
        before = [env.legal_actions(first)[0]]
        candidates = env.legal_actions(second)
        local_s = critic.score_sequential(state, before, candidates)
        remote_s = remote.score_sequential(state, before, candidates)
        plans = [JointPlan((a, b)) for a in env.legal_actions(first)[:3] for b in candidates[:3]]
        local_j, remote_j = critic.score_joint(state, plans), remote.score_joint(state, plans)
        for here, there in ((local_s, remote_s), (local_j, remote_j)):
            assert here.advantage.dtype == there.advantage.dtype
            assert here.advantage.tobytes() == there.advantage.tobytes()
            assert (here.uncertainty is None) == (there.uncertainty is None)
            if here.uncertainty is not None and there.uncertainty is not None:
                assert here.uncertainty.tobytes() == there.uncertainty.tobytes()
            assert here.info == there.info
        # The critic's own refusal arrives as the same class, with its attributes.
        wrong = CriticState(state.agents, np.zeros(3, dtype=np.float32), state.snippets)
        with pytest.raises(ConfigError, match=r"takes \d+ features") as caught:
            remote.score_joint(wrong, plans)
        assert caught.value.key == "critic"


def test_a_remote_policy_keeps_its_session(nodes: list[Node]) -> None:
    policy = CountingPolicy()
    node = serve(policy, name="policy")
    nodes.append(node)
    with RemotePolicy(node.address, **FAST) as remote:
        remote.reset(5)
        observation: Observation = {
            "state": np.array([1.0, 2.0], dtype=np.float32),
            "task": "stack",
        }
        chunk = remote.act(observation)
        again = remote.act(observation)
        assert chunk.horizon == 4 and chunk.dt_s == 0.05 and dict(chunk.info) == {"task": "stack"}
        assert np.array_equal(again.actions, np.tile([3.0, 4.0], (4, 1)))
        assert policy.seeds == [5] and remote.describe() == {"type": "CountingPolicy"}


def test_a_remote_progress_model(nodes: list[Node]) -> None:
    model = DistanceProgress()
    node = serve(model, name="progress")
    nodes.append(node)
    with RemoteProgressModel(node.address, **FAST) as remote:
        a, b = {"state": np.array([3.0, 4.0])}, {"state": np.array([0.0, 2.5])}
        assert remote.compare(a, b, "reach") == model.compare(a, b, "reach")
        assert remote.compare(a, {"state": np.zeros(2)}, "reach").done


def test_a_remote_arm_connects_clips_and_disconnects(nodes: list[Node]) -> None:
    arm = ToyArm()
    node = serve(arm, name="arm")
    nodes.append(node)
    with RemoteArm(node.address, **FAST) as remote:
        assert arm.connected and remote.is_connected and remote.name == "toy"
        assert remote.observation_features == arm.observation_features
        sent = remote.send_action({"joints.pos": np.array([0.5, 3.0], dtype=np.float32)})
        assert np.array_equal(sent["joints.pos"], [0.5, 1.0]), "what was really sent"
        assert np.array_equal(remote.get_observation()["joints.pos"], [0.5, 1.0])
    assert not arm.connected and arm.disconnects == 1
    assert remote.client.closed


def test_a_proxy_can_share_a_client(nodes: list[Node]) -> None:
    with remote_env(nodes) as remote:
        view = RemoteEnv(remote.client)
        view.reset(1)
        assert view.describe() == remote.describe()
        view.close()
        assert not remote.client.closed, "a proxy closes only the client it made"
        with pytest.raises(TypeError):
            RemoteEnv(remote.client, liveness_s=1.0)
        with pytest.raises(PlanError):
            remote.execute(JointPlan(()))
