"""Conformance checks for PettingZoo ``ParallelEnv`` implementations.

:func:`check_parallel_env` runs PettingZoo's own ``parallel_api_test`` and
``parallel_seed_test``, then the checks PettingZoo leaves out:

- every observation lies in its declared space (type, shape, dtype, bounds),
  and so does ``state()`` in ``state_space``;
- the same seed gives the same rollout, in two fresh envs and in one env
  reset twice;
- actions outside an agent's action space are rejected, and a rejected step
  leaves the env as it was.

Every failure is an :class:`AssertionError` whose message says what went
wrong, where (agent, step), and how to fix it.

Example::

    from brigade.testing.parallel_conformance import check_parallel_env

    def test_my_env():
        check_parallel_env(lambda: MyEnv(horizon=50), num_cycles=100)
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.utils.env_checker import data_equivalence
from pettingzoo import ParallelEnv
from pettingzoo.test import parallel_api_test, parallel_seed_test

EnvFactory = Callable[[], ParallelEnv[Any, Any, Any]]
"""A callable that builds a fresh env each time it is called."""

Record = tuple[Any, ...]
"""One step of a rollout: ``(actions, observations, rewards, terminations, truncations, infos)``."""

_FIELDS = ("actions", "observations", "rewards", "terminations", "truncations", "infos")


def _require(condition: bool, message: str) -> None:
    # An explicit raise, not ``assert``: the checks must hold under ``python -O`` too.
    if not condition:
        raise AssertionError(message)


def check_parallel_env(env_factory: EnvFactory, *, num_cycles: int = 200, seed: int = 0) -> None:
    """Check that a ``ParallelEnv`` follows PettingZoo's API and brigade's stricter rules.

    Args:
        env_factory: Builds a fresh env on each call (several are built).
        num_cycles: Steps per rollout (PettingZoo's tests use the same number).
            An episode shorter than this is checked through its end.
        seed: The seed of the checked rollouts.

    Raises:
        AssertionError: A check failed; the message says how to fix it.
    """
    run_pettingzoo_tests(env_factory, num_cycles=num_cycles)
    check_spaces_declared(env_factory())
    check_observations_in_spaces(env_factory(), num_cycles=num_cycles, seed=seed)
    check_same_seed_same_rollout(env_factory, num_cycles=num_cycles, seed=seed)
    check_invalid_actions_rejected(env_factory, seed=seed)


def run_pettingzoo_tests(env_factory: EnvFactory, *, num_cycles: int = 200) -> None:
    """Run PettingZoo's ``parallel_api_test`` and ``parallel_seed_test``.

    A warning from PettingZoo's tests flags an API problem (a live agent
    without an observation, a dead agent given a reward...), so it fails the
    check here; other warnings pass through.

    Raises:
        AssertionError: PettingZoo's tests failed or warned.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parallel_api_test(env_factory(), num_cycles=num_cycles)
        parallel_seed_test(env_factory, num_cycles=num_cycles)
    problems = []
    for w in caught:
        if "pettingzoo" in w.filename.replace("\\", "/").split("/"):
            problems.append(str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    _require(
        not problems,
        "PettingZoo's parallel API test warned: "
        + "; ".join(dict.fromkeys(problems))
        + ". Each warning names a rule of the ParallelEnv API the env breaks; see "
        "https://pettingzoo.farama.org/api/parallel/ and fix the env until the test is silent.",
    )


def check_spaces_declared(env: ParallelEnv[Any, Any, Any]) -> None:
    """Every possible agent has an observation and an action space, and the state a space.

    Raises:
        AssertionError: A space is missing, or ``state()`` works without a ``state_space``.
    """
    _require(
        bool(getattr(env, "possible_agents", None)),
        "the env has no possible_agents; set env.possible_agents to the list of every agent "
        "that can ever act, in __init__",
    )
    for agent in env.possible_agents:
        for kind in ("observation_space", "action_space"):
            space = getattr(env, kind)(agent)
            _require(
                isinstance(space, spaces.Space),
                f"{kind}({agent!r}) returned {space!r}, not a gymnasium Space; return a "
                "gymnasium.spaces.Space (the same object on every call)",
            )
    env.reset(seed=0)
    if getattr(env, "state_space", None) is None:
        try:
            env.state()
        except NotImplementedError:
            return
        raise AssertionError(
            "state() returns a global state but the env declares no state_space; set "
            "env.state_space to a gymnasium Space that holds every state() value"
        )
    _require(
        isinstance(env.state_space, spaces.Space),
        f"env.state_space is {env.state_space!r}, not a gymnasium Space",
    )


def _describe_index(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def check_in_space(value: Any, space: spaces.Space[Any], what: str) -> None:
    """Check that ``value`` lies in ``space``, with a message that pinpoints why not.

    For a ``Box``, the type, shape, dtype (exactly: a value that only casts
    to the space's dtype is still a mismatch) and every bound are checked in
    turn, and the message names the first offending index. Other spaces use
    ``space.contains``.

    Args:
        value: The observation or state.
        space: Its declared space.
        what: What the value is, for the message (``"observation of 'Bob' at step 3"``).

    Raises:
        AssertionError: The value lies outside the space.
    """
    if not isinstance(space, spaces.Box):
        _require(
            bool(space.contains(value)),
            f"the {what} is {value!r}, which is not in its declared space {space}; "
            "return values of the declared space, or declare the space the values live in",
        )
        return
    _require(
        isinstance(value, np.ndarray),
        f"the {what} is a {type(value).__name__}, but its space is a Box; return a numpy array",
    )
    _require(
        value.shape == space.shape,
        f"the {what} has shape {value.shape} but its space declares {space.shape}; "
        "make the encoding and the declared shape agree",
    )
    _require(
        value.dtype == space.dtype,
        f"the {what} has dtype {value.dtype} but its space declares {space.dtype}; "
        f"return value.astype({space.dtype}) or declare dtype={value.dtype} in the Box",
    )
    if value.dtype.kind == "f":
        bad = np.argwhere(np.isnan(value))
        _require(
            bad.size == 0,
            f"the {what} holds NaN at index {_describe_index(tuple(bad[0])) if bad.size else ''}; "
            "observations must be numbers",
        )
    below = np.argwhere(value < space.low)
    if below.size:
        idx = tuple(below[0])
        raise AssertionError(
            f"the {what} is {value[idx]!r} at index {_describe_index(idx)}, below its declared "
            f"lower bound {space.low[idx]!r} ({len(below)} entries are); lower the Box's low "
            "there, or fix the observation"
        )
    above = np.argwhere(value > space.high)
    if above.size:
        idx = tuple(above[0])
        raise AssertionError(
            f"the {what} is {value[idx]!r} at index {_describe_index(idx)}, above its declared "
            f"upper bound {space.high[idx]!r} ({len(above)} entries are); declare a true upper "
            "bound for that channel (the largest value the env can produce), or fix the "
            "observation"
        )


def _check_step_values(
    env: ParallelEnv[Any, Any, Any], observations: dict[Any, Any], when: str
) -> None:
    for agent in env.agents:
        _require(
            agent in observations,
            f"no observation of live agent {agent!r} {when}; return one for every agent in "
            "env.agents",
        )
    for agent, obs in observations.items():
        if agent in env.possible_agents:
            check_in_space(obs, env.observation_space(agent), f"observation of {agent!r} {when}")
    if getattr(env, "state_space", None) is not None:
        check_in_space(env.state(), env.state_space, f"state() {when}")


def _play(
    env: ParallelEnv[Any, Any, Any],
    seed: int,
    num_cycles: int,
    *,
    check: bool = False,
) -> Iterator[Record]:
    """Yield the steps of a rollout from the env's current state, actions from seeded spaces."""
    for i, agent in enumerate(env.possible_agents):
        env.action_space(agent).seed(seed + i)
    for step in range(1, num_cycles + 1):
        if not env.agents:
            return
        actions = {agent: env.action_space(agent).sample() for agent in env.agents}
        out = env.step(actions)
        if check:
            _check_step_values(env, out[0], f"after step {step}")
        # Copied, in case the env reuses its buffers from step to step.
        yield (actions, *copy.deepcopy(out))


def _reset_record(env: ParallelEnv[Any, Any, Any], seed: int) -> Record:
    observations, infos = env.reset(seed=seed)
    return (None, copy.deepcopy(observations), None, None, None, copy.deepcopy(infos))


def check_observations_in_spaces(
    env: ParallelEnv[Any, Any, Any], *, num_cycles: int = 200, seed: int = 0
) -> None:
    """Every observation (and ``state()``) of a seeded random rollout lies in its declared space.

    Raises:
        AssertionError: A value lies outside its space; the message names the
            agent, the step and the offending index.
    """
    observations, _ = env.reset(seed=seed)
    _check_step_values(env, observations, "after reset")
    for _ in _play(env, seed, num_cycles, check=True):
        pass


def _first_difference(a: list[Record], b: list[Record]) -> str | None:
    for step, (ra, rb) in enumerate(zip(a, b, strict=False)):
        for name, va, vb in zip(_FIELDS, ra, rb, strict=True):
            if data_equivalence(va, vb, exact=True):
                continue
            where = "at reset" if step == 0 else f"at step {step}"
            if isinstance(va, dict) and isinstance(vb, dict):
                for key in dict.fromkeys([*va, *vb]):
                    if (
                        key not in va
                        or key not in vb
                        or not data_equivalence(va[key], vb[key], exact=True)
                    ):
                        return f"{name} of {key!r} {where}"
            return f"{name} {where}"
    if len(a) != len(b):
        return f"the episode length ({len(a) - 1} vs {len(b) - 1} steps)"
    return None


def check_same_seed_same_rollout(
    env_factory: EnvFactory, *, num_cycles: int = 200, seed: int = 0
) -> None:
    """The same seed gives the same rollout, in two fresh envs and in one env reset twice.

    PettingZoo's seed test compares two fresh envs only; re-seeding an env that
    has already run is what training loops do, so it is checked too.

    Raises:
        AssertionError: Two rollouts with the same seed and actions differ.
    """
    env_a, env_b = env_factory(), env_factory()
    first = [_reset_record(env_a, seed), *_play(env_a, seed, num_cycles)]
    other = [_reset_record(env_b, seed), *_play(env_b, seed, num_cycles)]
    diff = _first_difference(first, other)
    _require(
        diff is None,
        f"two envs reset with seed={seed} and given the same actions differ in {diff}; the env "
        "draws randomness outside its seeded generator (the global numpy or random state, time, "
        "set or dict iteration order...). Draw everything from one numpy.random.Generator "
        "created from the seed passed to reset().",
    )
    again = [_reset_record(env_a, seed), *_play(env_a, seed, num_cycles)]
    diff = _first_difference(first, again)
    _require(
        diff is None,
        f"resetting the same env with seed={seed} again did not repeat the episode (it differs "
        f"in {diff}); reset(seed=...) must re-create the generator from the seed and clear "
        "every piece of episode state",
    )


def _invalid_actions(space: spaces.Space[Any]) -> list[Any]:
    """Values that lie outside ``space`` (empty for spaces this check does not know)."""
    if isinstance(space, spaces.Discrete):
        start, n = int(space.start), int(space.n)
        return [start - 1, start + n, float(start) + 0.5]
    if isinstance(space, spaces.MultiDiscrete):
        return [np.asarray(space.nvec + space.start, dtype=space.dtype)]
    if isinstance(space, spaces.Box):
        bad = []
        if np.all(np.isfinite(space.high)):
            if space.dtype.kind == "f":
                bad.append((space.high + 1).astype(space.dtype))
            elif np.all(space.high < np.iinfo(space.dtype).max):
                bad.append((space.high.astype(np.int64) + 1).astype(space.dtype))
        bad.append(np.zeros((*space.shape, 2), dtype=space.dtype))  # wrong shape
        return bad
    return []


def check_invalid_actions_rejected(env_factory: EnvFactory, *, seed: int = 0) -> None:
    """``step()`` raises on an action outside the agent's space and changes nothing.

    For every agent and several out-of-space values (out of range, not an
    integer, wrong shape), ``step()`` must raise; afterwards the episode must
    go on exactly as in an env that never saw the bad actions.

    Raises:
        AssertionError: A bad action was accepted, or a rejected step changed the env.
    """
    env = env_factory()
    env.reset(seed=seed)
    agents = list(env.agents)
    tried = 0
    for agent in agents:
        for bad in _invalid_actions(env.action_space(agent)):
            actions = {a: env.action_space(a).sample() for a in agents}
            actions[agent] = bad
            try:
                env.step(actions)
            except Exception:
                tried += 1
                continue
            raise AssertionError(
                f"step() accepted the action {bad!r} for agent {agent!r}, which lies outside its "
                f"action space {env.action_space(agent)}; check every action in step() and "
                "raise an error that names the agent and the value"
            )
    if not tried:
        return
    cycles = 20
    after = list(_play(env, seed, cycles))
    fresh = env_factory()
    fresh.reset(seed=seed)
    clean = list(_play(fresh, seed, cycles))
    diff = _first_difference([(None,) * 6, *after], [(None,) * 6, *clean])
    _require(
        diff is None,
        f"a step() that raised on an invalid action still changed the env: the episode then "
        f"went on differently from one without the bad call ({diff}); check every action "
        "before changing any state",
    )
