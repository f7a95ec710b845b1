"""The ``brigade`` command line.

Subcommands:

- ``brigade run``: run episodes (default: a kitchen episode played by the
  scripted expert, saved as a video with its transcript).
- ``brigade envs``: list the registered environment ids.
- ``brigade collect``: log episodes of planners as critic training data (Parquet).
- ``brigade train-critic``: train ReAd's advantage critic on collected data.
- ``brigade report RUN...``: compare run folders (95% intervals, plots).
- ``brigade describe ENV``: print what a planner is told at the start of an episode.
- ``brigade layout check FILE...`` / ``brigade layout show NAME|FILE``: validate
  kitchen layouts, or print and draw one.
- ``brigade keys create|list|authorize|revoke``: the bus's CURVE keys
  (:mod:`brigade.launch.keys`).
- ``brigade up FILE`` / ``brigade ps`` / ``brigade doctor FILE``: launch graphs
  of bus nodes (:mod:`brigade.launch.graph_cli`); ``brigade run --bus FILE``
  plays the episodes on them.

Options of ``run`` come from its config dataclass: a preset (``--config``),
then dotted overrides such as ``--episodes=5`` or ``--task.step_limit=50``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from brigade.errors import BrigadeError, InfrastructureError
from brigade.launch.graph_cli import add_graph_parsers
from brigade.launch.keys import add_keys_parser

if TYPE_CHECKING:
    from brigade.launch.graph import LaunchSpec
    from brigade.launch.supervisor import LiveNode
    from brigade.planners.bus_run import EpisodeNodes
    from brigade.planners.runner import Runner


def _progress(console: Console) -> Progress:
    """A progress bar with a count, a status field and the elapsed time."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console,
    )


def _run_overrides(args: argparse.Namespace, extra: list[str]) -> list[str]:
    """Dotted overrides from the options and the extra ``--key=value`` arguments.

    ``--planner.max_replans=2`` sets the planners' options (``planner_options``),
    as ``planner`` itself names the planners.
    """
    named = {
        "env": args.env,
        "planner": args.planner,
        "llm": args.llm,
        "model": args.model,
        "episodes": args.episodes,
        "seed": args.seed,
        "out": args.out,
        "video": args.video,
        "cache": args.cache,
        "cache_mode": args.cache_mode,
        "workers": args.workers,
        "budget_usd": args.budget_usd,
        "critic": args.critic,
    }
    overrides = [
        "planner_options." + text[len("planner.") :] if text.startswith("planner.") else text
        for text in _dotted(extra, named)
    ]
    if args.overwrite:
        overrides.append("overwrite=true")
    if args.no_video:
        overrides.append("video=none")
    return overrides


def _cmd_run(args: argparse.Namespace, extra: list[str], console: Console) -> int:
    from brigade.config import load_config
    from brigade.planners.runner import RunConfig, Runner

    if not args.bus:
        preset = args.config or "run/default"
        config = load_config(RunConfig, preset=preset, overrides=_run_overrides(args, extra))
        return _play(Runner(config), console)
    from brigade.launch.graph import load_launch
    from brigade.launch.supervisor import Graph, live_nodes

    # --launch.KEY=VALUE overrides the launch file; the other options, its run section.
    launch_overrides = [
        text.split("launch.", 1)[1] for text in extra if text.lstrip("-").startswith("launch.")
    ]
    run_extra = [text for text in extra if not text.lstrip("-").startswith("launch.")]
    spec = load_launch(args.bus, launch_overrides)
    config = load_config(
        RunConfig, preset=args.config, values=spec.run, overrides=_run_overrides(args, run_extra)
    )
    graph = None
    nodes = live_nodes(spec)
    if nodes is not None:
        console.print(f"using the nodes of {spec.name}, which are up")
    else:
        graph = Graph(spec, overrides=launch_overrides, echo=lambda line: console.print(line))
        graph.start()
        nodes = live_nodes(spec)
        if nodes is None:
            graph.stop()
            raise InfrastructureError(f"the nodes of {spec.name} started but do not answer")
    try:
        return _play(Runner(config, bus=_episode_nodes(spec, nodes)), console)
    finally:
        if graph is not None:
            graph.stop()


def _episode_nodes(spec: LaunchSpec, nodes: dict[str, LiveNode]) -> EpisodeNodes:
    """Where a run on the bus finds its planner, environment and critic."""
    from brigade.planners.bus_run import EpisodeNodes
    from brigade.planners.remote import NodeRef

    def ref(name: str) -> NodeRef:
        return NodeRef(nodes[name].address, spec.server_key(name))

    planner = spec.role("planner")
    env = spec.role("env")
    critic = spec.role("critic", required=False)
    assert planner is not None and env is not None
    return EpisodeNodes(
        planner=ref(planner),
        env=ref(env),
        critic=ref(critic) if critic is not None else None,
        security=spec.security(spec.client_keys),
    )


def _play(runner: Runner, console: Console) -> int:
    """Run the episodes with a progress bar, then print the summary table."""
    from brigade.planners.records import EpisodeRecord

    config = runner.config
    total = len(runner.pending_jobs())
    progress = _progress(console)
    counts = {"done": 0, "success": 0}
    with progress:
        bar = progress.add_task(f"{config.planner} on {config.env}", total=total, status="")

        def report(record: EpisodeRecord) -> None:
            counts["done"] += 1
            counts["success"] += int(record.success)
            status = f"success {counts['success']}/{counts['done']}"
            progress.update(bar, advance=1, status=status)

        runner.progress = report
        result = runner.run()
    table = Table(title=f"{result.out}")
    if result.summaries:
        for column in result.summaries[0].row():
            table.add_column(column, no_wrap=column in ("env", "planner"))
        for summary in result.summaries:
            table.add_row(*(str(v) for v in summary.row().values()))
    console.print(table)
    if runner.llm is not None:
        described = runner.llm.describe()
        if described.get("note"):
            console.print(f"[dim]LLM: {described.get('model')}: {described['note']}[/dim]")
    if result.stopped:
        console.print(f"[yellow]The run stopped early: {result.stopped}[/yellow]")
    console.print(f"Run folder: [bold]{result.out}[/bold]")
    return 0


def _dotted(extra: list[str], named: dict[str, object]) -> list[str]:
    """Dotted overrides from extra ``--key=value`` arguments and the named options given."""
    overrides = [item[2:] if item.startswith("--") else item for item in extra]
    return overrides + [f"{k}={v}" for k, v in named.items() if v is not None]


def _cmd_collect(args: argparse.Namespace, extra: list[str], console: Console) -> int:
    from brigade.config import load_config
    from brigade.critics.data import EpisodeKey
    from brigade.planners.collect import CollectConfig, Collector

    named = {
        "env": args.env,
        "planner": args.planner,
        "start": args.start,
        "episodes": args.episodes,
        "seed": args.seed,
        "out": args.out,
    }
    config = load_config(CollectConfig, overrides=_dotted(extra, named))
    collector = Collector(config)
    progress = _progress(console)
    counts = {"steps": 0}
    with progress:
        bar = progress.add_task(
            f"collect {config.planner} on {config.env}", total=config.episodes, status=""
        )

        def report(key: EpisodeKey, steps: int) -> None:
            counts["steps"] += steps
            progress.update(bar, advance=1, status=f"{counts['steps']} steps")

        result = collector.run(report)
    console.print(
        f"Collected {result.collected} episodes ({result.steps} steps, {result.successes} "
        f"successes; {result.skipped} already there; ended early: {result.failures or 'none'}) "
        f"into [bold]{result.out}[/bold]"
    )
    return 0


def _cmd_train_critic(args: argparse.Namespace, extra: list[str], console: Console) -> int:
    from brigade.config import load_config
    from brigade.critics.train import TrainConfig, train

    named = {"data": args.data, "out": args.out, "encoder": args.encoder, "epochs": args.epochs}
    config = load_config(TrainConfig, overrides=_dotted(extra, named))
    progress = _progress(console)
    with progress:
        bar = progress.add_task("train critic (epochs)", total=config.epochs, status="")

        def report(epoch: int, epochs: int, metrics: dict[str, float]) -> None:
            shown = ("train_loss", "value_rmse", "sign_agreement", "expert_preferred")
            status = "  ".join(f"{k} {metrics[k]:.3f}" for k in shown if k in metrics)
            progress.update(bar, completed=epoch, status=status)

        result = train(config, report)
    table = Table(title=f"held-out report: critic {result.hash}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in result.report["held_out"].items():
        table.add_row(key, f"{value:.3f}")
    console.print(table)
    console.print(f"Checkpoint: [bold]{result.out}[/bold] (hash {result.hash})")
    return 0


def _cmd_report(args: argparse.Namespace, extra: list[str], console: Console) -> int:
    from brigade.planners.registry import BASELINES, READ_PLANNERS
    from brigade.planners.report import load_cells, markdown, plot, targets

    cells = load_cells(args.runs)
    controls = ("random", "constant", "oracle")
    known = {*READ_PLANNERS, *(f"{p} [{k}]" for p in ("read-j", "read-s") for k in controls)}
    order = [
        *READ_PLANNERS,
        *(f"read-j [{k}]" for k in ("random", "constant", "oracle")),
        *(f"read-s [{k}]" for k in ("random", "constant", "oracle")),
        *sorted(
            {c.planner for c in cells if c.planner.startswith("read") and c.planner not in known}
        ),
        *BASELINES,
        "expert",
    ]
    text = markdown(cells, order)
    if any(c.planner == "read-j" for c in cells):
        text += "\n### ReAd-J against the best baseline\n\n" + targets(cells, BASELINES)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text)
        console.print(f"saved {args.markdown}")
    if args.plot:
        console.print(f"saved {plot(cells, Path(args.plot), order)}")
    return 0


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
        help="run episodes and save records, transcripts, videos and a summary",
        description="Run episodes of planners on environments. Extra options are dotted "
        "config overrides, e.g. --task.step_limit=50 --planner.max_replans=2 "
        "--llm_options.base_error=0.1 (see configs/run/default.yaml and docs/cli.md).",
    )
    run.add_argument(
        "--config", help="preset name or YAML file (default: run/default; with --bus, none)"
    )
    run.add_argument(
        "--bus",
        metavar="LAUNCHFILE",
        help="run the planner, critic and environment as the launch file's nodes (starting "
        "them for the run unless `brigade up` has); --launch.KEY=VALUE overrides the file",
    )
    run.add_argument("--env", help="environment id(s), comma-separated, e.g. kitchen/cramped_room")
    run.add_argument(
        "--planner",
        help="planner(s), comma-separated: central, react, reflexion, mindagent, roco, "
        "read-s, read-j, read-s-single, read-j-single, expert",
    )
    run.add_argument("--llm", help="chat backend: sim (default), openai or transformers")
    run.add_argument("--model", help="model name (openai) or folder (transformers)")
    run.add_argument("--episodes", type=int, help="episodes per environment and planner")
    run.add_argument("--seed", type=int, help="seed of the first episode")
    run.add_argument("--out", help="run folder (resumed if it exists)")
    run.add_argument("--overwrite", action="store_true", help="start --out afresh")
    run.add_argument("--video", choices=("first", "all", "none"), help="which episodes to film")
    run.add_argument("--no-video", action="store_true", help="same as --video none")
    run.add_argument("--cache", help="record/replay cache folder")
    run.add_argument("--cache-mode", choices=("off", "readwrite", "replay"), help="cache mode")
    run.add_argument("--workers", type=int, help="episodes at once")
    run.add_argument("--budget-usd", type=float, help="stop the run when this is spent")
    run.add_argument(
        "--critic",
        help="ReAd's critic: a checkpoint folder, or random, constant, oracle (controls); "
        "default: the one shipped for the task",
    )
    run.set_defaults(func=_cmd_run)

    collect = sub.add_parser(
        "collect",
        help="log episodes as critic training data",
        description="Log episodes of planners (the simulated LLM's central planner with "
        "verification feedback by default) as Parquet critic data. Extra options are dotted "
        "overrides, e.g. --perturb_steps=6 --task.step_limit=30 (docs/critics.md).",
    )
    collect.add_argument("--env", help="environment id")
    collect.add_argument("--planner", help="planner(s), comma-separated (episodes cycle)")
    collect.add_argument(
        "--start", help="start modes: standard, random, perturbed (comma-separated)"
    )
    collect.add_argument("--episodes", type=int, help="episodes in all")
    collect.add_argument("--seed", type=int, help="first seed (at least 1,000,000)")
    collect.add_argument("--out", help="data folder (resumed if it exists)")
    collect.set_defaults(func=_cmd_collect)

    train_cmd = sub.add_parser(
        "train-critic",
        help="train ReAd's advantage critic",
        description="Train the critic on collected data; saves safetensors + JSON, a held-out "
        "report and TensorBoard curves. Extra options are dotted overrides, e.g. "
        "--head=hlgauss --ensemble=5 --subsets=all (docs/critics.md).",
    )
    train_cmd.add_argument("--data", help="data folder(s), comma-separated")
    train_cmd.add_argument("--out", help="checkpoint folder")
    train_cmd.add_argument("--encoder", choices=("vocab", "minilm"), help="text encoder")
    train_cmd.add_argument("--epochs", type=int, help="passes over the data")
    train_cmd.set_defaults(func=_cmd_train_critic)

    report = sub.add_parser(
        "report",
        help="compare run folders: SR, ES, NQ with 95% intervals, tables and plots",
    )
    report.add_argument("runs", nargs="+", help="run folders")
    report.add_argument("--plot", help="save bar charts with error bars (PNG)")
    report.add_argument("--markdown", help="save the tables (Markdown)")
    report.set_defaults(func=_cmd_report)

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
    add_keys_parser(sub)
    add_graph_parsers(sub)
    return parser


def _version() -> str:
    import brigade

    return f"brigade {brigade.__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``brigade`` console script."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # Outside a terminal (pipes, CI logs) rich would wrap tables at 80 columns.
    console = Console() if sys.stdout.isatty() else Console(width=160)
    if args.command is None:
        parser.print_help()
        return 0
    if extra and args.command not in ("run", "collect", "train-critic", "up", "ps", "doctor"):
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
