"""Calibrating the simulated LLM: baseline success rates over a grid of error rates.

For each candidate error model, plays every baseline on the calibration tasks
(ReAd's Overcooked setting, `kitchen-read/cramped_room` and
`kitchen-read/forced_coordination`, where GPT-4-class baselines succeed 0% of
the time) and prints SR, ES and NQ. The chosen point is frozen as
`SimConfig`'s defaults (docs/simulated_llm.md).

Usage: .venv/bin/python bench/calibrate_sim.py --grid base_error=0.1,0.2 --episodes 20
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time

from brigade.planners.registry import BASELINES
from brigade.planners.runner import RunConfig, Runner

TASKS = ("kitchen-read/cramped_room", "kitchen-read/forced_coordination")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", action="append", default=[], help="key=v1,v2 (repeatable)")
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--planners", default=",".join(BASELINES))
    args = parser.parse_args()
    axes = []
    for item in args.grid:
        key, values = item.split("=", 1)
        axes.append([(key, float(v)) for v in values.split(",")])
    points = [dict(p) for p in itertools.product(*axes)] if axes else [{}]
    print("| error model | task | planner | SR | ES | NQ |")
    print("|---|---|---|---|---|---|")
    for point in points:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as out:
            config = RunConfig(
                env=args.tasks,
                planner=args.planners,
                episodes=args.episodes,
                out=out,
                video="none",
                llm_options=point,
            )
            result = Runner(config).run()
        label = ", ".join(f"{k}={v:g}" for k, v in point.items()) or "defaults"
        for s in result.summaries:
            print(
                f"| {label} | {s.env} | {s.planner} | {s.success.text()} | "
                f"{s.env_steps.text(1)} | {s.llm_queries.text(1)} |",
                flush=True,
            )
        print(f"<!-- {label}: {time.perf_counter() - started:.0f} s -->", flush=True)


if __name__ == "__main__":
    main()
