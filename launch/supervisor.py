"""Starting a launch file's local nodes as processes, and finding graphs that are up.

:class:`Graph` starts each local node with :mod:`brigade.launch.node_process`
(one process per node, in its own session so that a terminal's Ctrl-C reaches
the supervisor, which stops the nodes in order), waits until every node
answers, and records the live graph in ``<state root>/launch/<name>/state.json``
(addresses with their real ports, pids, logs). :func:`live_nodes` reads that
record back and checks each node still answers, so ``brigade ps`` and
``brigade run --bus`` find graphs that ``brigade up`` started.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from brigade.errors import BrigadeError, ConfigError, InfrastructureError
from brigade.launch.graph import LaunchSpec, state_root
from brigade.launch.node_process import write_atomically

__all__ = ["Graph", "LaunchError", "LiveNode", "graph_dir", "live_nodes", "read_state"]

#: How long a node may take to start (imports, loading a critic) before it is given up.
START_TIMEOUT_S = 120.0
#: How long a node may take to close after SIGTERM before it is killed.
STOP_GRACE_S = 10.0


class LaunchError(InfrastructureError):
    """A node of a launch file could not be started (its log says why)."""

    kind = "launch"


@dataclass(frozen=True)
class LiveNode:
    """A node that is up.

    Attributes:
        name: Its name in the launch file.
        component: What it serves.
        address: Its endpoint, with the real port.
        pid: Its process here, or ``None`` for a node on another host.
        log: Its log file here, or empty.
        instance: Its instance id (changes when it restarts).
    """

    name: str
    component: str
    address: str
    pid: int | None = None
    log: str = ""
    instance: str = ""


def graph_dir(name: str) -> Path:
    """The folder of graph ``name``'s live state and logs."""
    return state_root() / "launch" / name


def read_state(name: str) -> dict[str, Any] | None:
    """The recorded state of graph ``name``, or ``None`` when it is not up."""
    path = graph_dir(name) / "state.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def live_nodes(spec: LaunchSpec, *, timeout_s: float = 2.0) -> dict[str, LiveNode] | None:
    """The nodes of ``spec`` that ``brigade up`` started and that all still answer.

    Nodes on other hosts are taken at their fixed addresses (and must answer too).
    Returns ``None`` when the graph is not (wholly) up.
    """
    state = read_state(spec.name)
    if state is None:
        return None
    recorded = state.get("nodes", {})
    found: dict[str, LiveNode] = {}
    for name, node in spec.nodes.items():
        if spec.is_local(name):
            entry = recorded.get(name)
            if not isinstance(entry, dict) or not _alive(entry.get("pid")):
                return None
            found[name] = LiveNode(**{k: entry[k] for k in LiveNode.__dataclass_fields__})
        else:
            found[name] = LiveNode(name, node.component, node.address)
    for name, live in found.items():
        try:
            with spec.client(name, live.address, caller="brigade-probe", timeout_s=timeout_s) as c:
                c.ping(timeout_s)
        except BrigadeError:
            return None
    return found


class Graph:
    """The local nodes of a launch file, started as processes (a context manager).

    Args:
        spec: The launch file.
        only: Start these nodes only (default: every local node).
        overrides: The launch file overrides the nodes must see too.
        echo: Called with one line per event (started, stopped, exited).
    """

    def __init__(
        self,
        spec: LaunchSpec,
        *,
        only: Sequence[str] = (),
        overrides: Sequence[str] = (),
        echo: Callable[[str], None] | None = None,
    ):
        unknown = [n for n in only if n not in spec.nodes]
        if unknown:
            raise ConfigError(
                f"no node {unknown[0]!r} in {spec.source}; nodes: {', '.join(spec.nodes)}",
                key="only",
            )
        self.spec = spec
        self.names = [n for n in spec.nodes if (n in only if only else spec.is_local(n))]
        self.overrides = list(overrides)
        self.echo = echo or (lambda line: None)
        self.dir = graph_dir(spec.name)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.nodes: dict[str, LiveNode] = {}
        self._reported: set[str] = set()

    def start(self, timeout_s: float = START_TIMEOUT_S) -> dict[str, LiveNode]:
        """Start the nodes and wait until every one answers; record the live graph.

        Raises:
            LaunchError: The graph is up already, or a node exited or stayed silent
                (the nodes started are stopped again; the error quotes the log).
        """
        state = read_state(self.spec.name)
        if state is not None and _alive(state.get("supervisor")):
            raise LaunchError(
                f"{self.spec.name} is up already (pid {state['supervisor']}): stop it "
                "first (Ctrl-C where `brigade up` runs, or kill that pid)"
            )
        (self.dir / "logs").mkdir(parents=True, exist_ok=True)
        try:
            for name in self.names:
                self._spawn(name)
            self._wait_ready(timeout_s)
        except BaseException:
            self.stop()
            raise
        self._write_state()
        return dict(self.nodes)

    def _spawn(self, name: str) -> None:
        ready = self.dir / f"{name}.ready"
        ready.unlink(missing_ok=True)
        log_path = self.dir / "logs" / f"{name}.log"
        command = [
            sys.executable,
            "-m",
            "brigade.launch.node_process",
            self.spec.source,
            name,
            "--ready",
            str(ready),
            *(f"--set={item}" for item in self.overrides),
        ]
        with log_path.open("ab") as log:
            log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(command)}\n".encode())
            log.flush()
            self.processes[name] = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.echo(f"starting {name} ({self.spec.nodes[name].component}), log {log_path}")

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        waiting = set(self.names)
        while waiting:
            for name in sorted(waiting):
                ready = self.dir / f"{name}.ready"
                if ready.exists():
                    info = json.loads(ready.read_text())
                    ready.unlink()
                    self.nodes[name] = LiveNode(
                        name,
                        info["component"],
                        info["address"],
                        info["pid"],
                        str(self.dir / "logs" / f"{name}.log"),
                        info["instance"],
                    )
                    waiting.discard(name)
                    self.echo(f"{name} is up at {info['address']} (pid {info['pid']})")
                elif self.processes[name].poll() is not None:
                    raise LaunchError(
                        f"node {name} exited with code {self.processes[name].returncode} while "
                        f"starting:\n{self._log_tail(name)}"
                    )
            if waiting and time.monotonic() > deadline:
                raise LaunchError(
                    f"node(s) {', '.join(sorted(waiting))} did not start within {timeout_s:.0f} s; "
                    f"see {self.dir / 'logs'}"
                )
            if waiting:
                time.sleep(0.05)

    def _log_tail(self, name: str, lines: int = 15) -> str:
        path = self.dir / "logs" / f"{name}.log"
        try:
            text = path.read_text(errors="replace").splitlines()
        except OSError:
            return f"(no log at {path})"
        return "\n".join("  " + line for line in text[-lines:])

    def _write_state(self) -> None:
        state = {
            "name": self.spec.name,
            "source": self.spec.source,
            "overrides": self.overrides,
            "supervisor": os.getpid(),
            "started": time.time(),
            "nodes": {name: asdict(node) for name, node in self.nodes.items()},
        }
        write_atomically(self.dir / "state.json", json.dumps(state, indent=2))

    def exited(self) -> list[str]:
        """Nodes whose process ended since the last call (each is reported once)."""
        ended = []
        for name, process in self.processes.items():
            if name not in self._reported and process.poll() is not None:
                self._reported.add(name)
                ended.append(name)
                self.echo(
                    f"node {name} exited with code {process.returncode}; "
                    f"log {self.dir / 'logs' / (name + '.log')}"
                )
        return ended

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop the nodes (SIGTERM, in reverse order; SIGKILL after ``grace_s``)."""
        for name in reversed(list(self.processes)):
            process = self.processes[name]
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for name, process in self.processes.items():
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                self.echo(f"{name} did not stop within {grace_s:.0f} s: killed")
            else:
                if name not in self._reported:
                    self.echo(f"{name} stopped")
        state = read_state(self.spec.name)
        if state is not None and state.get("supervisor") == os.getpid():
            (self.dir / "state.json").unlink(missing_ok=True)
        self.processes.clear()

    def __enter__(self) -> Graph:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
