"""Speed of the table's skills against the raw physics engine, measured in one run.

Two figures per engine (issue 5's targets):

- **compile**: wall time of ``TableTaskEnv.verify`` on a fresh plan (IK for
  every stage, collision checks, OMPL paths, ruckig timing), over the
  scripted expert's plans of several levels; the target is a median under
  0.5 s.
- **execute**: wall time of playing the compiled plans in the engine, against
  the raw engine stepping the same number of physics steps with fixed joint
  targets (the same simulated motion's cost without brigade's control loop);
  the target is a ratio of at most 1.2.

Usage::

    .venv/bin/python bench/table_speed.py [--backend mujoco|pybullet|both] [--levels sort-3,...]
"""

from __future__ import annotations

import argparse
import statistics
import time

from rich.console import Console
from rich.progress import track
from rich.table import Table

from brigade.envs.table.task_env import TableTaskEnv

LEVELS = ("sort-3", "sort-5", "sandwich-recipe2", "sandwich-recipe4", "sweep-y1g1")


def measure(backend: str, levels: tuple[str, ...]) -> dict[str, float]:
    """Compile times and execution against the raw engine over the expert's episodes."""
    compile_s: list[float] = []
    executed = 0.0
    raw = 0.0
    for level in track(levels, description=f"{backend}: expert episodes"):
        env = TableTaskEnv(task=level, backend=backend)
        env.reset(0)
        for _ in range(env.step_limit):
            plan = env.expert_plan()
            start = time.perf_counter()
            problems = env.verify(plan)  # compiles and keeps the plan for execute()
            compile_s.append(time.perf_counter() - start)
            if problems:
                break
            before = env.world.snapshot()
            start = time.perf_counter()
            outcome = env.execute(plan)
            executed += time.perf_counter() - start
            after = env.snapshot()
            # The raw engine: as many physics steps from the same state, no control loop.
            env.world.restore(before)
            start = time.perf_counter()
            env.world.step(outcome.steps)
            raw += time.perf_counter() - start
            env.restore(after)
            if outcome.done:
                break
    return {
        "compile_median_s": statistics.median(compile_s),
        "compile_p90_s": statistics.quantiles(compile_s, n=10)[-1],
        "plans": len(compile_s),
        "execute_s": executed,
        "raw_s": raw,
        "ratio": executed / raw,
    }


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="both", choices=("mujoco", "pybullet", "both"))
    parser.add_argument("--levels", default=",".join(LEVELS))
    args = parser.parse_args()
    backends = ("mujoco", "pybullet") if args.backend == "both" else (args.backend,)
    levels = tuple(args.levels.split(","))
    table = Table(title="Table skills: compile and execute (wall time)")
    for column in (
        "engine", "plans", "compile median (s)", "compile p90 (s)", "execute (s)",
        "raw engine (s)", "ratio (target <= 1.2)",
    ):  # fmt: skip
        table.add_column(column)
    for backend in backends:
        r = measure(backend, levels)
        table.add_row(
            backend, str(r["plans"]), f"{r['compile_median_s']:.3f}", f"{r['compile_p90_s']:.3f}",
            f"{r['execute_s']:.2f}", f"{r['raw_s']:.2f}", f"{r['ratio']:.3f}",
        )  # fmt: skip
    Console().print(table)


if __name__ == "__main__":
    main()
