"""The fewest moves ReAd's Overcooked tasks allow, against the scripted expert.

For each `kitchen-read/` task, from the standard start and from the random
starts of the evaluation seeds, an exhaustive search
(`brigade.envs.kitchen.optimal.fewest_moves`) gives the fewest joint moves to a
delivery: no planner can use fewer. Beside it, the scripted expert's steps (the
simulated LLM's right answers come from it) and the step limit. docs/results.md
uses these to say which step targets are reachable.

Usage: .venv/bin/python bench/kitchen_read_optimum.py [--seeds 20] [--workers 2]
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

from kitchen_experts import play  # bench/ beside this script: the expert's own episode

from brigade import envs
from brigade.envs.kitchen.optimal import fewest_moves
from brigade.envs.kitchen.task_env import KitchenTaskEnv

TASKS = ("kitchen-read/cramped_room", "kitchen-read/forced_coordination")


def measure(env_id: str, start: str, seed: int) -> tuple[int | None, int, int]:
    """(fewest moves, the expert's steps, states searched) for one start."""
    env = envs.make_task(env_id, start=start)
    assert isinstance(env, KitchenTaskEnv)
    env.reset(seed)
    found = fewest_moves(env.mdp, env.state, max_moves=env.step_limit)
    return found.moves, play(env_id, seed, start)[1], found.states


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="random starts: seeds 0..N-1")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tasks", default=",".join(TASKS))
    args = parser.parse_args()
    started = time.perf_counter()
    jobs = [
        (env_id, start, seed)
        for env_id in args.tasks.split(",")
        for start, seeds in (("standard", [0]), ("random", range(args.seeds)))
        for seed in seeds
    ]
    results: dict[tuple[str, str, int], tuple[int | None, int, int]] = {}
    with ProcessPoolExecutor(args.workers) as pool:
        futures = {job: pool.submit(measure, *job) for job in jobs}
        for k, (job, future) in enumerate(futures.items(), 1):
            results[job] = future.result()
            moves, expert, states = results[job]
            print(
                f"[{k}/{len(jobs)} {time.perf_counter() - started:.0f} s] {job[0]} {job[1]} "
                f"seed {job[2]}: fewest {moves}, expert {expert} ({states} states)",
                flush=True,
            )
    print()
    print("| task | start | seeds | limit | fewest moves: mean (range) | scripted expert: mean |")
    print("|---|---|---:|---:|---:|---:|")
    for env_id in args.tasks.split(","):
        limit = envs.make_task(env_id).step_limit
        for start in ("standard", "random"):
            rows = [r for job, r in results.items() if job[0] == env_id and job[1] == start]
            best = [r[0] if r[0] is not None else limit + 1 for r in rows]
            print(
                f"| `{env_id}` | {start} | {len(rows)} | {limit} | "
                f"{statistics.mean(best):.1f} ({min(best)}-{max(best)}) | "
                f"{statistics.mean(r[1] for r in rows):.1f} |"
            )
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
