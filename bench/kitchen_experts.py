"""How well the scripted kitchen experts play, for docs/kitchen.md.

For every skill-level id: success rate, environment steps (mean / worst) and the
share of the step limit the worst episode needs, over the standard start and
random starts. For ReAd's kitchen-read ids: the same at the move level. For
every layout: soups the move-level expert serves in 400 moves.

Usage: .venv/bin/python bench/kitchen_experts.py [--episodes 41]
"""

from __future__ import annotations

import argparse
import statistics
import time

from brigade import envs
from brigade.envs.kitchen import KitchenMDP, shipped_layout_names
from brigade.envs.kitchen.expert import soups_served


def play(env_id: str, seed: int, start: str) -> tuple[bool, int, int]:
    env = envs.make_task(env_id, start=start)
    env.reset(seed)
    while True:
        out = env.execute(env.expert_plan())
        if out.done:
            return out.success, env.step_count, int(out.info["moves_total"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--episodes", type=int, default=41, help="the standard start, then N-1 random starts"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    print("| id | limit | success | steps mean | steps worst | worst / limit | moves mean |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for env_id in envs.registered():
        limit = envs.make_task(env_id).step_limit
        runs = [play(env_id, k, "standard" if k == 0 else "random") for k in range(args.episodes)]
        ok = [r for r in runs if r[0]]
        steps = [r[1] for r in ok]
        print(
            f"| {env_id} | {limit} | {len(ok) / len(runs):.2f} | "
            f"{statistics.mean(steps):.1f} | {max(steps)} | {max(steps) / limit:.0%} | "
            f"{statistics.mean(r[2] for r in ok):.0f} |"
        )
    print()
    print("| layout | soups served by the move-level expert in 400 moves |")
    print("|---|---:|")
    for layout in shipped_layout_names():
        print(f"| {layout} | {soups_served(KitchenMDP.from_layout_name(layout))} |")
    print(f"\n({args.episodes} episodes per id, {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
