"""Monte-Carlo returns: the discounted sum, termination versus truncation."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from brigade.critics.data import StepData
from brigade.critics.returns import discounted_returns, step_rewards


def _data(lengths: list[int], truncated: list[bool], rewards: np.ndarray) -> StepData:
    n = sum(lengths)
    episode = np.concatenate([np.full(k, f"e{i}", dtype=object) for i, k in enumerate(lengths)])
    term = np.zeros(n, bool)
    trunc = np.zeros(n, bool)
    end = 0
    for k, cut in zip(lengths, truncated):
        end += k
        (trunc if cut else term)[end - 1] = True
    z = np.zeros(n, np.float32)
    return StepData(
        env=np.full(n, "e", dtype=object),
        episode=episode,
        seed=np.zeros(n, np.int64),
        step=np.zeros(n, np.int32),
        agents=[("a",)] * n,
        features=np.zeros((n, 1), np.float32),
        snippets=[("a",)] * n,
        actions=[("WAIT",)] * n,
        expert_actions=[()] * n,
        legal_actions=[()] * n,
        reward=rewards.astype(np.float32),
        shaped_reward=z,
        progress=np.cumsum(rewards).astype(np.float32) - rewards.astype(np.float32),
        progress_next=np.cumsum(rewards).astype(np.float32),
        next_features=np.zeros((n, 1), np.float32),
        next_snippets=[("a",)] * n,
        terminated=term,
        truncated=trunc,
        success=term.copy(),
    )


@given(
    st.lists(st.tuples(st.integers(1, 6), st.booleans()), min_size=1, max_size=5),
    st.floats(0.5, 1.0),
    st.integers(0, 10_000),
)
def test_returns_follow_the_bellman_recurrence(
    episodes: list[tuple[int, bool]], gamma: float, seed: int
) -> None:
    lengths = [k for k, _ in episodes]
    cut = [c for _, c in episodes]
    rewards = np.random.default_rng(seed).normal(size=sum(lengths))
    data = _data(lengths, cut, rewards)
    tail = np.random.default_rng(seed + 1).normal(size=len(rewards))
    g = discounted_returns(data, rewards, gamma, tail)
    for start, end in data.episode_bounds:
        last = end - 1
        after = tail[last] if data.truncated[last] else 0.0
        assert np.isclose(g[last], rewards[last] + gamma * after)
        for i in range(start, last):
            assert np.isclose(g[i], rewards[i] + gamma * g[i + 1])


def test_terminated_episodes_are_never_bootstrapped() -> None:
    rewards = np.array([1.0, 2.0, 3.0])
    data = _data([3], [False], rewards)
    g = discounted_returns(data, rewards, 0.5, np.full(3, 100.0))
    assert np.allclose(g, [1 + 0.5 * 2 + 0.25 * 3, 2 + 0.5 * 3, 3])


def test_progress_rewards_are_points_of_progress() -> None:
    rewards = np.array([0.2, 0.0, 0.8])
    data = _data([3], [False], rewards)
    assert np.allclose(step_rewards(data, "progress"), [20.0, 0.0, 80.0], atol=1e-4)
    assert np.allclose(step_rewards(data, "sparse"), rewards)
