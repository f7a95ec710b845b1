"""Stepping speed of JaxMARL's Overcooked, compiled, on the CPU.

Run with the reference interpreter (``bash bench/reference/setup_references.sh``
creates it)::

    .venv-ref-jaxmarl/bin/python bench/reference/jaxmarl_speed.py --n-envs 1024
    .venv-ref-jaxmarl/bin/python bench/reference/jaxmarl_speed.py --n-envs 1

It runs ``env.step`` (JaxMARL's own step: the transition, the observations of
both agents, and the auto-reset it does at the end of each episode) for
``--steps`` steps inside one ``jax.lax.scan``, under ``jax.vmap`` over
``--n-envs`` environments (without ``vmap`` when ``--n-envs`` is 1), compiled
with ``jax.jit``, on JAX's CPU backend with its default threading. The joint
actions are pre-generated, uniform over the six actions, from
``numpy.random.default_rng(seed)``; the PRNG key that each step needs (for
the auto-reset) is split inside the loop, as a training loop would.

The latest observations and the summed rewards are carried through the loop
and returned, so that XLA cannot drop the observation work as dead code.

Compile time is excluded (compiled ahead of time, reported as
``compile_seconds``, then one untimed warm-up run); every timed repeat starts
from the same reset states and uses the same actions.

Prints one JSON line on stdout; anything the packages print goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

# This venv has the CPU jaxlib only; say so, so that JAX does not look for others.
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax
import jax.numpy as jnp

N_ACTIONS = 6  # up, down, right, left, stay, interact: JaxMARL's index order


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--layout", default="cramped_room", help="JaxMARL layout name (its own names)"
    )
    parser.add_argument("--n-envs", type=int, default=1024, help="environments under vmap")
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="steps T per repeat, for every env (default: 1000, or 10000 below 16 envs)",
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats")
    parser.add_argument("--seed", type=int, default=0, help="seed of actions and keys")
    parser.add_argument(
        "--driver",
        choices=("scan", "python"),
        default="scan",
        help="scan: T steps in one compiled lax.scan (default); "
        "python: one jitted step per Python call",
    )
    args = parser.parse_args(argv)
    if args.steps is None:
        args.steps = 1_000 if args.n_envs >= 16 else 10_000
    for name in ("n_envs", "steps", "repeats"):
        if getattr(args, name) < 1:
            flag = "--" + name.replace("_", "-")
            parser.error(f"{flag} must be at least 1, got {getattr(args, name)}")
    return args


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Sends file descriptor 1 to stderr for a while.

    ``contextlib.redirect_stdout`` is not enough: importing jaxmarl prints, and
    one of its modules resets ``sys.stdout`` to ``sys.__stdout__`` on the way.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def make_env(layout: str) -> Any:
    """Builds JaxMARL's Overcooked on one of its own layouts."""
    # jaxmarl prints on import, and Overcooked warns that OvercookedV2 exists.
    with stdout_to_stderr(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import jaxmarl
        from jaxmarl.environments.overcooked import overcooked_layouts

        if layout not in overcooked_layouts:
            known = ", ".join(sorted(overcooked_layouts))
            raise SystemExit(f"unknown JaxMARL layout {layout!r}; it has: {known}")
        return jaxmarl.make("overcooked", layout=overcooked_layouts[layout])


Carry = tuple[Any, Any, jax.Array, jax.Array]  # states, observations, key, returns


def make_step(env: Any, n_envs: int) -> Callable[[Carry, jax.Array], Carry]:
    """One step of ``n_envs`` envs, through JaxMARL's own ``env.step``.

    The joint actions have shape ``(n_envs, 2)``, or ``(2,)`` for one env, which
    is stepped without ``vmap``.
    """
    agents = tuple(env.agents)
    batched = n_envs > 1
    env_step = jax.vmap(env.step) if batched else env.step

    def step(carry: Carry, joint: jax.Array) -> Carry:
        state, _obs, key, returns = carry
        key, sub = jax.random.split(key)
        keys = jax.random.split(sub, n_envs) if batched else sub
        actions = {agent: joint[..., i] for i, agent in enumerate(agents)}
        obs, state, rewards, _dones, _infos = env_step(keys, state, actions)
        return state, obs, key, returns + rewards[agents[0]]

    return step


def scan_driver(step: Callable[[Carry, jax.Array], Carry]) -> Callable[..., Carry]:
    """All T steps in one compiled ``lax.scan``."""

    def rollout(carry: Carry, actions: jax.Array) -> Carry:
        final, _ = jax.lax.scan(lambda c, a: (step(c, a), None), carry, actions)
        return final

    return jax.jit(rollout)


def python_driver(step: Callable[[Carry, jax.Array], Carry]) -> Callable[..., Carry]:
    """One compiled step per Python call, as a plain Python loop drives it.

    JAX dispatches asynchronously; the caller blocks on the last result.
    """
    jitted = jax.jit(step)

    def rollout(carry: Carry, actions: Sequence[jax.Array]) -> Carry:
        for joint in actions:
            carry = jitted(carry, joint)
        return carry

    return rollout


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    env = make_env(args.layout)
    n_envs, steps = args.n_envs, args.steps

    rng = np.random.default_rng(args.seed)
    shape = (steps, n_envs, 2) if n_envs > 1 else (steps, 2)
    actions = jnp.asarray(rng.integers(0, N_ACTIONS, size=shape, dtype=np.int32))

    key = jax.random.PRNGKey(args.seed)
    key, reset_key = jax.random.split(key)
    if n_envs > 1:
        obs, state = jax.vmap(env.reset)(jax.random.split(reset_key, n_envs))
    else:
        obs, state = env.reset(reset_key)
    returns = jnp.zeros((n_envs,) if n_envs > 1 else (), dtype=jnp.float32)
    carry: Carry = (state, obs, key, returns)

    step = make_step(env, n_envs)
    xs: Any
    if args.driver == "scan":
        rollout, xs = scan_driver(step), actions
    else:
        rollout, xs = python_driver(step), list(actions)  # per-step arrays, made untimed

    start = time.perf_counter()
    jax.block_until_ready(rollout(carry, xs))  # compiles, then runs once untimed
    first_call_seconds = time.perf_counter() - start

    seconds: list[float] = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        jax.block_until_ready(rollout(carry, xs))
        seconds.append(time.perf_counter() - start)

    median = statistics.median(seconds)
    env_steps = n_envs * steps
    result: dict[str, Any] = {
        "impl": "jaxmarl",
        "version": importlib.metadata.version("jaxmarl"),
        "jax_version": jax.__version__,
        "backend": jax.default_backend(),
        "driver": args.driver,
        "layout": args.layout,
        "n_envs": n_envs,
        "steps": steps,
        "env_steps_per_repeat": env_steps,
        "horizon": int(env.max_steps),
        "seed": args.seed,
        "first_call_seconds": round(first_call_seconds, 3),
        "seconds_per_repeat": [round(s, 6) for s in seconds],
        "env_steps_per_s_median": round(env_steps / median, 1),
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
