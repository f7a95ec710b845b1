"""Kitchen speed: brigade against its references, measured in the same run.

Two comparisons, on one layout (default cramped_room):

(a) one kitchen's transition: ``KitchenMDP.transition`` against overcooked-ai
    1.1.0's ``OvercookedGridworld.get_state_transition``, both on the same
    pre-generated uniformly random joint actions, going back to the standard
    start state every 400 steps;
(b) the batched engine: ``KitchenBatch`` (numba, observations included, auto-
    reset at the horizon) against JaxMARL's Overcooked under ``jax.vmap`` (its
    ``step``: transition, observations and auto-reset, compiled in one
    ``lax.scan``), with 1,024 kitchens and with one.

The references run in their own virtual environments, through
``bench/reference/overcooked_ai_speed.py`` and ``bench/reference/jaxmarl_speed.py``
(interpreters from ``BRIGADE_REF_OVERCOOKED_PYTHON`` and
``BRIGADE_REF_JAXMARL_PYTHON``, by default ``.venv-ref-overcooked/bin/python`` and
``.venv-ref-jaxmarl/bin/python``); ``bash bench/reference/setup_references.sh``
creates them. Without them, brigade's own figures are still printed.

Every figure is the median over ``--repeats`` timed repeats of identical work
after an untimed warm-up (numba's and JAX's compile times are excluded).
brigade runs in this process with numba's default threads; JAX uses every core
too. Run each measurement alone on an otherwise idle machine.

Usage::

    .venv/bin/python bench/kitchen_speed.py [--layout cramped_room] [--out figures.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numba
import numpy as np

from brigade.envs.kitchen import KitchenMDP
from brigade.envs.kitchen.batch import KitchenBatch

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "bench" / "reference"
SETUP = "bash bench/reference/setup_references.sh"
HORIZON = 400
TARGET_RATIO = 2.0

# Our layout names -> JaxMARL's names for the same maps (overcooked-ai uses ours).
JAXMARL_LAYOUTS = {
    "cramped_room": "cramped_room",
    "asymmetric_advantages": "asymm_advantages",
    "coordination_ring": "coord_ring",
    "forced_coordination": "forced_coord",
    "counter_circuit_o_1order": "counter_circuit",
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layout", default="cramped_room", help="a shipped layout name")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per measurement")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random joint actions")
    parser.add_argument(
        "--scalar-steps", type=int, default=20_000, help="transitions per repeat, one kitchen"
    )
    parser.add_argument(
        "--n-envs",
        type=int,
        nargs="+",
        default=[1024, 1],
        help="batch sizes to measure (default: 1024 1)",
    )
    parser.add_argument(
        "--batch-steps",
        type=int,
        default=None,
        help="steps per repeat of every kitchen (default: 1000, or 10000 below 16 kitchens)",
    )
    parser.add_argument(
        "--no-reference", action="store_true", help="measure brigade only, skip the references"
    )
    parser.add_argument(
        "--timeout", type=float, default=900, help="seconds allowed to each reference script"
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    for name in ("repeats", "scalar_steps"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if any(n < 1 for n in args.n_envs):
        parser.error("--n-envs must be positive")
    return args


def batch_steps(args: argparse.Namespace, n_envs: int) -> int:
    """Steps per repeat, as the JaxMARL script chooses them."""
    if args.batch_steps is not None:
        return int(args.batch_steps)
    return 1_000 if n_envs >= 16 else 10_000


# --------------------------------------------------------------------------- brigade


def measure_scalar(mdp: KitchenMDP, steps: int, repeats: int, seed: int) -> dict[str, Any]:
    """``KitchenMDP.transition`` as the overcooked-ai script measures its reference."""
    rng = np.random.default_rng(seed)
    joint_actions = [tuple(a) for a in rng.integers(0, 6, size=(steps, mdp.num_chefs)).tolist()]
    initial = mdp.initial_state()

    def run(actions: Sequence[tuple[int, ...]]) -> None:
        state = initial
        transition = mdp.transition
        for i, joint in enumerate(actions):
            if i and i % HORIZON == 0:
                state = initial
            state, _ = transition(state, joint)

    run((joint_actions * (2_000 // steps + 1))[:2_000])  # warm-up, like the reference
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(joint_actions)
        seconds.append(time.perf_counter() - start)
    return {
        "impl": "brigade",
        "what": "KitchenMDP.transition",
        "n_envs": 1,
        "steps": steps,
        "seconds_per_repeat": [round(s, 6) for s in seconds],
        "steps_per_s_median": round(steps / statistics.median(seconds), 1),
    }


def measure_batch(
    mdp: KitchenMDP, n_envs: int, steps: int, repeats: int, seed: int
) -> dict[str, Any]:
    """``KitchenBatch.step`` on pre-generated random actions, observations included."""
    rng = np.random.default_rng(seed)
    # The very actions the JaxMARL script draws (same shape and dtype, same stream).
    shape = (steps, n_envs, mdp.num_chefs) if n_envs > 1 else (steps, mdp.num_chefs)
    actions = rng.integers(0, 6, size=shape, dtype=np.int32).reshape(steps, n_envs, -1)
    start = time.perf_counter()
    batch = KitchenBatch(mdp, n_envs, horizon=HORIZON)  # loads (or compiles) the kernels
    build_seconds = time.perf_counter() - start
    returns = np.zeros(n_envs)

    def run() -> None:
        batch.reset(seed=seed)
        step = batch.step
        for t in range(steps):
            returns[:] += step(actions[t]).rewards

    run()  # warm-up
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    env_steps = n_envs * steps
    return {
        "impl": "brigade",
        "what": "KitchenBatch.step",
        "n_envs": n_envs,
        "steps": steps,
        "parallel": batch.parallel,
        "threads": batch.info()["threads"],
        "threading_layer": _threading_layer() if batch.parallel else "none (serial)",
        "build_seconds": round(build_seconds, 3),
        "seconds_per_repeat": [round(s, 6) for s in seconds],
        "env_steps_per_s_median": round(env_steps / statistics.median(seconds), 1),
        "delivery_return_mean": round(float(returns.mean()) / (repeats + 1), 2),
    }


def _interpreter() -> str:
    """This interpreter, relative to the repository when it lives there."""
    python = Path(sys.executable)
    try:
        return python.relative_to(ROOT).as_posix()
    except ValueError:
        return "python"


def _threading_layer() -> str:
    try:
        return str(numba.threading_layer())
    except ValueError:  # no parallel kernel has run yet
        return "unknown"


# --------------------------------------------------------------------------- references


def reference_python(var: str, default: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else ROOT / default


def run_reference(
    var: str, default: str, script: str, options: list[str], timeout: float, what: str
) -> dict[str, Any] | None:
    """Runs one reference script; returns its JSON line, or ``None`` (and says why)."""
    python = reference_python(var, default)
    if not python.exists():
        print(
            f"[kitchen_speed] {what}: no interpreter at {python}; create it with `{SETUP}` "
            f"(or set {var} to one). Skipping it.",
            file=sys.stderr,
        )
        return None
    command = [str(python), str(REFERENCE / script), *options]
    print(f"[kitchen_speed] running {shlex.join(command)}", file=sys.stderr, flush=True)
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False
        )
    except subprocess.TimeoutExpired:
        print(f"[kitchen_speed] {what}: timed out after {timeout:.0f} s", file=sys.stderr)
        return None
    lines = [line for line in done.stdout.splitlines() if line.strip().startswith("{")]
    if done.returncode != 0 or not lines:
        tail = "\n".join(done.stderr.splitlines()[-15:])
        print(
            f"[kitchen_speed] {what} failed (exit {done.returncode}); if its venv is broken, "
            f"recreate it with `{SETUP} --force`.\n{tail}",
            file=sys.stderr,
        )
        return None
    result: dict[str, Any] = json.loads(lines[-1])
    return result


# --------------------------------------------------------------------------- report


def rate(result: dict[str, Any] | None) -> float | None:
    if result is None:
        return None
    value = result.get("env_steps_per_s_median", result.get("steps_per_s_median"))
    return float(value) if value is not None else None


def rows_of(figures: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for pair in figures["comparisons"]:
        ours, theirs = rate(pair["brigade"]), rate(pair["reference"])
        rows.append(
            {
                "what": pair["what"],
                "brigade": ours,
                "reference_name": pair["reference_name"],
                "reference": theirs,
                "ratio": (ours / theirs) if ours and theirs else None,
            }
        )
    return rows


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}x"


def print_tables(figures: dict[str, Any]) -> None:
    rows = rows_of(figures)
    header = ("measurement", "brigade /s", "reference", "reference /s", "ratio")
    table = [
        (
            r["what"],
            _num(r["brigade"]),
            r["reference_name"],
            _num(r["reference"]),
            _ratio(r["ratio"]),
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(row[k]) for row in table)) for k, h in enumerate(header)]
    print()
    print(
        f"Kitchen speed on {figures['layout']} ({figures['machine']}), medians of "
        f"{figures['repeats']} repeats; target: ratio >= {TARGET_RATIO:.0f}x"
    )
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)))

    print("\nMarkdown (for docs/benchmarks.md):\n")
    print(f"Command: `{figures['command']}`  ")
    print(
        f"Machine: {figures['machine']}. brigade runs in one process on numba's "
        f"{figures['numba_threads']} threads (serially below "
        f"{KitchenBatch.parallel_min_envs} kitchens); JAX uses every core too. "
        f"Observations included; episodes of {HORIZON} steps, reset in place.\n"
    )
    print("| measurement | brigade (steps/s) | reference | reference (steps/s) | ratio |")
    print("|---|---:|---|---:|---:|")
    for r in rows:
        print(
            f"| {r['what']} | {_num(r['brigade'])} | {r['reference_name']} | "
            f"{_num(r['reference'])} | {_ratio(r['ratio'])} |"
        )
    print()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    mdp = KitchenMDP.from_layout_name(args.layout)
    overcooked_py = ("BRIGADE_REF_OVERCOOKED_PYTHON", ".venv-ref-overcooked/bin/python")
    jaxmarl_py = ("BRIGADE_REF_JAXMARL_PYTHON", ".venv-ref-jaxmarl/bin/python")
    common = ["--repeats", str(args.repeats), "--seed", str(args.seed)]
    comparisons = []

    print("[kitchen_speed] brigade: KitchenMDP.transition", file=sys.stderr, flush=True)
    ours = measure_scalar(mdp, args.scalar_steps, args.repeats, args.seed)
    theirs = None
    if not args.no_reference:
        theirs = run_reference(
            *overcooked_py,
            "overcooked_ai_speed.py",
            ["--layout", args.layout, "--steps", str(args.scalar_steps), *common],
            args.timeout,
            "overcooked-ai",
        )
    comparisons.append(
        {
            "what": "one kitchen: transition",
            "brigade": ours,
            "reference_name": "overcooked-ai get_state_transition",
            "reference": theirs,
        }
    )

    jax_layout = JAXMARL_LAYOUTS.get(args.layout)
    for n_envs in args.n_envs:
        steps = batch_steps(args, n_envs)
        print(f"[kitchen_speed] brigade: KitchenBatch, {n_envs} kitchens", file=sys.stderr,
              flush=True)  # fmt: skip
        ours = measure_batch(mdp, n_envs, steps, args.repeats, args.seed)
        theirs = None
        if not args.no_reference and jax_layout is None:
            print(f"[kitchen_speed] JaxMARL has no {args.layout}; skipping it", file=sys.stderr)
        elif not args.no_reference:
            options = ["--layout", jax_layout, "--n-envs", str(n_envs), "--steps", str(steps)]
            theirs = run_reference(
                *jaxmarl_py, "jaxmarl_speed.py", [*options, *common], args.timeout, "JaxMARL"
            )
        comparisons.append(
            {
                "what": f"batch of {n_envs:,}: step with observations",
                "brigade": ours,
                "reference_name": "JaxMARL " + ("jit(vmap(step))" if n_envs > 1 else "jit(step)"),
                "reference": theirs,
            }
        )

    figures: dict[str, Any] = {
        "layout": args.layout,
        "repeats": args.repeats,
        "seed": args.seed,
        "command": shlex.join([_interpreter(), "bench/kitchen_speed.py", *(argv or sys.argv[1:])]),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
        "numba_threads": numba.get_num_threads(),
        "python": platform.python_version(),
        "numba": numba.__version__,
        "comparisons": comparisons,
        "summary": rows_of({"comparisons": comparisons}),
    }
    print_tables(figures)
    if args.out is not None:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"[kitchen_speed] wrote {args.out}", file=sys.stderr)
    missing = any(c["reference"] is None for c in comparisons) and not args.no_reference
    if missing:
        print(
            f"[kitchen_speed] some references did not run; `{SETUP}` creates their venvs.",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
