"""The ``brigade`` command line.

Subcommands:

- ``brigade run``: run episodes (default: a kitchen episode played by the
  scripted expert, saved as a video with its transcript).
- ``brigade envs``: list the registered environment ids.
- ``brigade describe ENV``: print what a planner is told at the start of an episode.
- ``brigade layout check FILE...`` / ``brigade layout show NAME|FILE``: validate
  kitchen layouts, or print and draw one.

Options of ``run`` come from its config dataclass: a preset (``--config``),
then dotted overrides such as ``--episodes=5`` or ``--task.step_limit=50``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from brigade.errors import BrigadeError


def _cmd_run(args: argparse.Namespace, extra: list[str], console: Console) -> int:
    from brigade.config import load_config
    from brigade.launch.episodes import RunConfig, run_episodes

    overrides = list(extra)
    for name in ("env", "planner", "episodes", "seed", "out"):
        value = getattr(args, name)
        if value is not None:
            overrides.append(f"{name}={value}")
    if args.no_video:
        overrides.append("video=false")
    config = load_config(RunConfig, preset=args.config, overrides=overrides)
    _, records = run_episodes(config, console)
    return 0 if records else 1


def _cmd_envs(args: argparse.Namespace, extra: list[str], console: Console) -> int:
    from brigade import envs

    table = Table(title="registered environments")
    table.add_column("id", no_wrap=True)
    table.add_column("APIs", no_wrap=True)
    table.add_column("description")
    for env_id in envs.registered():
        spec = envs.spec(env_id)
        apis = ", ".join(
            name for name, f in (("task", spec.make_task), ("pettingzoo", spec.make_parallel)) if f
        )
        table.add_row(env_id, apis, spec.description)
    console.print(table)
    for failure in envs.ENVS.plugin_failures:
        console.print(f"[yellow]plug-in failed to load:[/yellow] {failure}")
    return 0


def _cmd_describe(args: argparse.Namespace, extra: list[str], console: Console) -> int:
    from brigade import envs

    env = envs.make_task(args.env)
    env.reset(args.seed)
    print(env.describe(args.agent))
    return 0


def _cmd_layout(args: argparse.Namespace, extra: list[str], console: Console) -> int:
    from brigade.envs.kitchen import KitchenMDP, load_layout, load_layout_file
    from brigade.envs.kitchen.describe import describe_kitchen
    from brigade.envs.kitchen.names import chef_names

    if args.action == "check":
        failed = 0
        for path in args.targets:
            try:
                layout = load_layout_file(path)
            except BrigadeError as exc:
                console.print(f"[red]✗[/red] {exc}", highlight=False, soft_wrap=True)
                failed += 1
            else:
                console.print(
                    f"[green]✓[/green] {path}: {layout.width}x{layout.height}, "
                    f"{layout.num_chefs} chefs",
                    highlight=False,
                    soft_wrap=True,
                )
        return 1 if failed else 0
    for target in args.targets:
        layout = load_layout_file(target) if Path(target).exists() else load_layout(target)
        mdp = KitchenMDP(layout)
        print(describe_kitchen(mdp, mdp.initial_state(), chef_names(mdp.num_chefs)))
        if args.png:
            from brigade.envs.kitchen.render import KitchenRenderer
            from brigade.media import save_png

            frame = KitchenRenderer(mdp).render(
                mdp.initial_state(), chef_names=chef_names(mdp.num_chefs)
            )
            save_png(args.png, frame)
            console.print(f"saved {args.png}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``brigade`` command."""
    parser = argparse.ArgumentParser(
        prog="brigade",
        description="brigade: a control stack for teams of embodied agents.",
        epilog="Run `brigade COMMAND --help` for a command's options.",
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run episodes and save videos, transcripts and a summary",
        description="Run episodes. Extra options are dotted config overrides, e.g. "
        "--task.step_limit=50 --fps=12 (see configs/run/default.yaml).",
    )
    run.add_argument("--config", default="run/default", help="preset name or YAML file")
    run.add_argument("--env", help="environment id, e.g. kitchen/forced_coordination")
    run.add_argument("--planner", help="who plans (for now: expert, the scripted expert)")
    run.add_argument("--episodes", type=int, help="number of episodes")
    run.add_argument("--seed", type=int, help="seed of the first episode")
    run.add_argument("--out", help="folder for run outputs (default: runs/)")
    run.add_argument("--no-video", action="store_true", help="do not save videos")
    run.set_defaults(func=_cmd_run)

    envs_cmd = sub.add_parser("envs", help="list the registered environment ids")
    envs_cmd.set_defaults(func=_cmd_envs)

    describe = sub.add_parser("describe", help="print what a planner is told at the start")
    describe.add_argument("env", help="environment id")
    describe.add_argument("--agent", help="one agent's view")
    describe.add_argument("--seed", type=int, default=0)
    describe.set_defaults(func=_cmd_describe)

    layout = sub.add_parser("layout", help="check or show kitchen layouts")
    layout.add_argument("action", choices=("check", "show"))
    layout.add_argument("targets", nargs="+", help="layout files (check) or names/files (show)")
    layout.add_argument("--png", help="with show: save a picture of the start state")
    layout.set_defaults(func=_cmd_layout)
    return parser


def _version() -> str:
    import brigade

    return f"brigade {brigade.__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``brigade`` console script."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    console = Console(stderr=False)
    if args.command is None:
        parser.print_help()
        return 0
    if extra and args.command != "run":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args.func(args, extra, console))
    except BrigadeError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/yellow]")
        return 130


if __name__ == "__main__":
    sys.exit(main())
