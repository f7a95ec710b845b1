"""``brigade up``, ``brigade ps`` and ``brigade doctor``: launch graphs from the command line.

- ``brigade up FILE [--only NODE,...]``: start the file's local nodes as
  processes (logs under ``<state>/launch/<name>/logs``), wait until each
  answers, print where they are, and keep them up until Ctrl-C or SIGTERM,
  which stops them cleanly.
- ``brigade ps [FILE]``: the live nodes (of every graph that is up, or of
  FILE) with their latency, clock offset and health.
- ``brigade doctor FILE``: check addresses, ports, keys and clocks; say what to fix.

Launch-file overrides go after the file as dotted options
(``--nodes.env.address=tcp://127.0.0.1:7000``).
"""

from __future__ import annotations

import argparse
import json
import signal
import time
from types import FrameType
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from brigade.launch.graph import LaunchSpec


def add_graph_parsers(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add ``up``, ``ps`` and ``doctor`` to the ``brigade`` parser."""
    up = subparsers.add_parser(
        "up",
        help="start a launch file's local nodes and keep them up until Ctrl-C",
        description="Start the local nodes of a launch file (configs/launch/local-kitchen.yaml) "
        "as processes, each with its log, and keep them up until Ctrl-C or SIGTERM. Extra "
        "options override the file (--nodes.env.address=tcp://127.0.0.1:7000).",
    )
    up.add_argument("file", help="launch file, or a shipped one such as launch/local-kitchen")
    up.add_argument("--only", help="start only these nodes (comma-separated), e.g. on their host")
    up.add_argument("--timeout", type=float, default=120.0, help="seconds a node may take to start")
    up.set_defaults(func=cmd_up)
    ps = subparsers.add_parser("ps", help="list live nodes with their latency and health")
    ps.add_argument("file", nargs="?", help="a launch file (default: every graph that is up)")
    ps.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ps.set_defaults(func=cmd_ps)
    doctor = subparsers.add_parser(
        "doctor", help="check a launch file's addresses, ports, keys and clocks"
    )
    doctor.add_argument("file", help="launch file")
    doctor.set_defaults(func=cmd_doctor)


def _overrides(extra: list[str]) -> list[str]:
    return [item[2:] if item.startswith("--") else item for item in extra]


def cmd_up(args: argparse.Namespace, extra: list[str], console: Console) -> int:
    """Start the nodes and wait for Ctrl-C or SIGTERM."""
    from brigade.launch.graph import load_launch
    from brigade.launch.supervisor import Graph

    overrides = _overrides(extra)
    spec = load_launch(args.file, overrides)
    only = [n.strip() for n in (args.only or "").split(",") if n.strip()]
    graph = Graph(
        spec, only=only, overrides=overrides, echo=lambda line: console.print(escape(line))
    )
    elsewhere = [n for n in spec.nodes if n not in graph.names]
    if not graph.names:
        console.print(f"{spec.name}: no node runs on this host; nothing to start")
        return 1

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        nodes = graph.start(args.timeout)
        table = Table(title=f"{spec.name} is up (Ctrl-C stops it)")
        for column in ("node", "component", "address", "pid", "log"):
            table.add_column(column, no_wrap=column != "log")
        for node in nodes.values():
            table.add_row(node.name, node.component, node.address, str(node.pid), node.log)
        console.print(table)
        for name in elsewhere:
            node_spec = spec.nodes[name]
            console.print(
                f"{name} runs on {node_spec.host} at {node_spec.address}: start it there with "
                f"`brigade up {args.file} --only {name}`"
            )
        while True:
            graph.exited()
            if all(p.poll() is not None for p in graph.processes.values()):
                console.print("[red]every node has exited[/red]")
                return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        console.print("stopping")
        return 0
    finally:
        graph.stop()
        signal.signal(signal.SIGTERM, previous)


def _probe(spec: LaunchSpec, name: str, address: str) -> dict[str, Any]:
    from brigade.errors import BrigadeError

    try:
        with spec.client(name, address, caller="brigade-ps") as client:
            for _ in range(4):  # a few exchanges steady the clock estimate
                client.ping(2.0)
            health = client.health()
    except BrigadeError as exc:
        return {"state": "down", "error": str(exc).splitlines()[0]}
    return {
        "state": health.state,
        "service": health.service,
        "instance": health.instance,
        "rtt_us": health.rtt_us,
        "offset_us": health.offset_us,
    }


def cmd_ps(args: argparse.Namespace, extra: list[str], console: Console) -> int:
    """List the live nodes with their health."""
    from brigade.launch.graph import load_launch, state_root
    from brigade.launch.supervisor import read_state

    specs: list[LaunchSpec] = []
    if args.file:
        specs.append(load_launch(args.file, _overrides(extra)))
    else:
        for path in sorted((state_root() / "launch").glob("*/state.json")):
            state = read_state(path.parent.name) or {}
            try:
                specs.append(load_launch(str(state.get("source")), state.get("overrides", [])))
            except Exception as exc:  # a stale record must not hide the others
                console.print(f"[yellow]{path}: {escape(str(exc))}[/yellow]")
    rows: list[dict[str, Any]] = []
    for spec in specs:
        state = read_state(spec.name) or {}
        recorded = state.get("nodes", {})
        for name, node in spec.nodes.items():
            entry = recorded.get(name) if spec.is_local(name) else None
            address = entry["address"] if entry else node.address
            row: dict[str, Any] = {
                "graph": spec.name,
                "node": name,
                "component": node.component,
                "address": address,
                "pid": entry.get("pid") if entry else None,
            }
            if spec.is_local(name) and entry is None:
                row.update(state="not started")
            else:
                row.update(_probe(spec, name, address))
            rows.append(row)
    healthy = 0 if all(r["state"] == "ok" for r in rows) else 1
    if args.json:
        print(json.dumps(rows, indent=2))
        return healthy
    if not rows:
        console.print("no graph is up (start one with `brigade up FILE`)")
        return 0
    table = Table(title="live nodes")
    for column in ("graph", "node", "component", "address", "pid", "state", "rtt", "clock"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        state = row["state"]
        color = "green" if state == "ok" else "red" if state in ("down", "lost") else "yellow"
        rtt = f"{row['rtt_us']:.0f} us" if row.get("rtt_us") is not None else "-"
        clock = f"{row['offset_us'] / 1e3:+.2f} ms" if row.get("offset_us") is not None else "-"
        table.add_row(
            row["graph"],
            row["node"],
            row["component"],
            row["address"],
            str(row["pid"] or "-"),
            f"[{color}]{state}[/{color}]",
            rtt,
            clock,
        )
    console.print(table)
    return healthy


def cmd_doctor(args: argparse.Namespace, extra: list[str], console: Console) -> int:
    """Print every finding; exit 1 when one fails."""
    from brigade.launch.doctor import diagnose

    findings = diagnose(args.file, _overrides(extra))
    marks = {"ok": "[green]✓[/green]", "warn": "[yellow]![/yellow]", "fail": "[red]✗[/red]"}
    for finding in findings:
        console.print(
            f"{marks[finding.status]} {escape(finding.subject)}: {escape(finding.detail)}",
            highlight=False,
            soft_wrap=True,
        )
        if finding.fix:
            console.print(f"    fix: {escape(finding.fix)}", highlight=False, soft_wrap=True)
    failed = sum(f.status == "fail" for f in findings)
    warned = sum(f.status == "warn" for f in findings)
    console.print(f"{failed} to fix, {warned} to look at, {len(findings) - failed - warned} fine")
    return 1 if failed else 0
