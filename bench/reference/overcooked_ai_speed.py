"""Transition speed of the reference simulator, the ``overcooked-ai`` package.

Run with the reference interpreter (``bash bench/reference/setup_references.sh``
creates it)::

    .venv-ref-overcooked/bin/python bench/reference/overcooked_ai_speed.py

It times ``OvercookedGridworld.get_state_transition`` on one layout, one
environment, over a pre-generated sequence of uniformly random joint actions,
going back to the layout's standard start state every ``--horizon`` steps (as
an episode of the default horizon would). The action sequence and the reset
are the same in every repeat, so the repeats do identical work.

Prints one JSON line on stdout; anything the package prints goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

N_ACTIONS = 6  # north, south, east, west, stay, interact: overcooked-ai's index order


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layout", default="cramped_room", help="overcooked-ai layout name")
    parser.add_argument("--steps", type=int, default=20_000, help="timed transitions per repeat")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats")
    parser.add_argument(
        "--warmup-steps", type=int, default=2_000, help="untimed transitions before timing"
    )
    parser.add_argument("--horizon", type=int, default=400, help="reset every this many steps")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random joint actions")
    args = parser.parse_args(argv)
    for name in ("steps", "repeats", "horizon"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.warmup_steps < 0:
        parser.error(f"--warmup-steps must be at least 0, got {args.warmup_steps}")
    return args


def run_steps(mdp: Any, joint_actions: Sequence[tuple[Any, Any]], horizon: int) -> None:
    """Steps one episode after another through ``joint_actions``."""
    state = mdp.get_standard_start_state()
    for i, joint_action in enumerate(joint_actions):
        if i and i % horizon == 0:
            state = mdp.get_standard_start_state()
        state, _info = mdp.get_state_transition(state, joint_action)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    # The package (and gym, which it imports) may print on import; keep stdout
    # for the one JSON line.
    with contextlib.redirect_stdout(sys.stderr):
        from overcooked_ai_py.mdp.overcooked_mdp import Action, OvercookedGridworld
        from overcooked_ai_py.static import LAYOUTS_DIR

        known = sorted(p.stem for p in Path(LAYOUTS_DIR).glob("*.layout"))
        if args.layout not in known:
            raise SystemExit(
                f"unknown overcooked-ai layout {args.layout!r}; it has: {', '.join(known)}"
            )
        mdp = OvercookedGridworld.from_layout_name(args.layout)

    index_to_action = Action.INDEX_TO_ACTION
    if len(index_to_action) != N_ACTIONS:
        raise RuntimeError(f"expected {N_ACTIONS} actions, the package has {index_to_action}")

    rng = np.random.default_rng(args.seed)
    indices = rng.integers(0, N_ACTIONS, size=(args.steps, 2))
    joint_actions = [(index_to_action[a], index_to_action[b]) for a, b in indices.tolist()]

    warmup = joint_actions[: args.warmup_steps]
    while len(warmup) < args.warmup_steps:
        warmup.extend(joint_actions[: args.warmup_steps - len(warmup)])
    run_steps(mdp, warmup, args.horizon)

    seconds: list[float] = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        run_steps(mdp, joint_actions, args.horizon)
        seconds.append(time.perf_counter() - start)

    median = statistics.median(seconds)
    result: dict[str, Any] = {
        "impl": "overcooked-ai",
        "version": importlib.metadata.version("overcooked_ai"),
        "layout": args.layout,
        "n_envs": 1,
        "steps": args.steps,
        "horizon": args.horizon,
        "seed": args.seed,
        "seconds_per_repeat": [round(s, 6) for s in seconds],
        "steps_per_s_median": round(args.steps / median, 1),
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
