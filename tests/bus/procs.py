"""Nodes and clients in other processes, and small components, for the bus tests.

Run as ``python -m tests.bus.procs node KIND [options]`` it serves one component
until SIGTERM (``run_forever``) and prints ``READY <address> <instance>``; as
``python -m tests.bus.procs call ADDRESS METHOD`` it calls one method and prints
``CALLING`` first (the fault tests kill it mid-call). :func:`start_node` and
:func:`start_caller` start them and wait, bounded, for that line.
"""

from __future__ import annotations

import argparse
import logging
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from brigade.action import Action
from brigade.arm import Arm, ArmData, Feature
from brigade.plan import JointPlan, Outcome
from brigade.policy import ActionChunk, Observation, Policy
from brigade.progress import ProgressEstimate, ProgressModel
from brigade.task_env import TaskEnv

ROOT = Path(__file__).resolve().parents[2]
START_S = 30.0  # a bound on a process's start on a loaded machine

# --------------------------------------------------------------------- components


class SlowEnv(TaskEnv):
    """A real kitchen environment whose ``reset`` and ``execute`` take ``delay_s`` longer."""

    def __init__(self, env_id: str = "kitchen/cramped_room", delay_s: float = 0.0):
        from brigade import envs

        self.inner = envs.make_task(env_id)
        self.env_id = self.inner.env_id
        self.delay_s = delay_s
        self.executed = 0

    @property
    def agents(self) -> tuple[str, ...]:
        return self.inner.agents

    def reset(self, seed: int | None = None) -> None:
        if self.delay_s:
            time.sleep(self.delay_s)
        self.inner.reset(seed)

    def describe(self, agent: str | None = None) -> str:
        return self.inner.describe(agent)

    def legal_actions(self, agent: str) -> list[Action]:
        return self.inner.legal_actions(agent)

    def features(self) -> np.ndarray:
        return self.inner.features()

    def agent_snippets(self) -> dict[str, str]:
        return self.inner.agent_snippets()

    def verify(self, plan: JointPlan) -> list[str]:
        return self.inner.verify(plan)

    def execute(self, plan: JointPlan) -> Outcome:
        self.executed += 1
        if self.delay_s:
            time.sleep(self.delay_s)
        return self.inner.execute(plan)

    def progress(self) -> float:
        return self.inner.progress()

    def snapshot(self) -> bytes:
        return self.inner.snapshot()

    def restore(self, snapshot: bytes) -> None:
        self.inner.restore(snapshot)

    def render(self) -> np.ndarray:
        return self.inner.render()

    @property
    def step_count(self) -> int:
        return self.inner.step_count

    @property
    def step_limit(self) -> int | None:
        return self.inner.step_limit

    def metadata(self) -> dict[str, Any]:
        return self.inner.metadata()


class ToyArm(Arm):
    """A two-joint arm in memory: positions clipped to [-1, 1] rad."""

    name = "toy"

    def __init__(self) -> None:
        self.connected = False
        self.position = np.zeros(2, dtype=np.float32)
        self.disconnects = 0

    def connect(self) -> None:
        self.connected = True

    def disconnect(self) -> None:
        self.connected = False
        self.disconnects += 1

    @property
    def is_connected(self) -> bool:
        return self.connected

    @property
    def observation_features(self) -> dict[str, Feature]:
        return {"joints.pos": Feature("float32", (2,), "rad")}

    @property
    def action_features(self) -> dict[str, Feature]:
        return {"joints.pos": Feature("float32", (2,), "rad")}

    def get_observation(self) -> dict[str, Any]:
        return {"joints.pos": self.position.copy()}

    def send_action(self, action: ArmData) -> dict[str, Any]:
        if not self.connected:
            raise RuntimeError("the arm is not connected")
        target = np.asarray(action["joints.pos"], dtype=np.float32)
        self.position = np.clip(target, -1.0, 1.0)
        return {"joints.pos": self.position.copy()}


@dataclass
class CountingPolicy(Policy):
    """A policy with history: its chunk is the observed state plus the steps since reset."""

    horizon: int = 4
    steps: int = 0
    seeds: list[int | None] = field(default_factory=list)

    def reset(self, seed: int | None = None) -> None:
        self.steps = 0
        self.seeds.append(seed)

    def act(self, observation: Observation) -> ActionChunk:
        self.steps += 1
        state = np.asarray(observation["state"], dtype=np.float32)
        actions = np.tile(state + self.steps, (self.horizon, 1))
        return ActionChunk(actions, 0.05, (), {"task": str(observation.get("task", ""))})


class DistanceProgress(ProgressModel):
    """Progress as the fraction of the distance to zero that ``state`` covered."""

    def compare(
        self, observation_a: Observation, observation_b: Observation, goal: str
    ) -> ProgressEstimate:
        a = float(np.linalg.norm(np.asarray(observation_a["state"])))
        b = float(np.linalg.norm(np.asarray(observation_b["state"])))
        delta = 0.0 if a == 0 else max(-1.0, min(1.0, (a - b) / a))
        return ProgressEstimate(delta, b < 1e-6)


# --------------------------------------------------------------------- processes


@dataclass
class Proc:
    """A started helper process and what it printed on its first line."""

    proc: subprocess.Popen[bytes]
    words: list[str]

    @property
    def address(self) -> str:
        return self.words[1]

    @property
    def instance(self) -> str:
        return self.words[2]

    def kill(self) -> None:
        """SIGKILL: no goodbye, no cleanup (a crashed node)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)

    def stop(self, timeout_s: float = 10.0) -> int:
        """SIGTERM, and the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        finally:
            self.kill()

    def __enter__(self) -> Proc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _start(args: list[str], expect: str, prefix: Sequence[str] = ()) -> Proc:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [*prefix, sys.executable, "-m", "tests.bus.procs", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        bufsize=0,
    )
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + START_S
    line = b""
    # Byte by byte, so that nothing after the first line is buffered here (finish()
    # reads the rest from the file descriptor).
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(0.0, left))
        if not ready:
            proc.kill()
            proc.wait(10)
            raise AssertionError(f"{args} did not start within {START_S} s")
        byte = os.read(fd, 1)
        if not byte:
            proc.wait(10)
            raise AssertionError(f"{args} exited with {proc.returncode} before it was ready")
        line += byte
    words = line.decode().split()
    assert words and words[0] == expect, f"unexpected first line {line!r}"
    return Proc(proc, words)


def start_node(kind: str, prefix: Sequence[str] = (), **options: Any) -> Proc:
    """Start ``python -m tests.bus.procs node KIND`` and wait until it serves."""
    args = ["node", kind]
    for key, value in options.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    return _start(args, "READY", prefix)


def start_caller(address: str, method: str, *args: str, prefix: Sequence[str] = ()) -> Proc:
    """Start a process that calls ``method`` on ``address`` (prints CALLING first).

    ``args`` may end with options (``--keys DIR --key NAME``); ``prefix`` runs the
    process under another command (``ip netns exec NS``).
    """
    return _start(["call", address, method, *args], "CALLING", prefix)


def finish(proc: Proc, timeout_s: float = 20.0) -> str:
    """The rest of a helper's output once it exits (bounded)."""
    try:
        out, _ = proc.proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"the helper did not finish within {timeout_s} s") from None
    return out.decode()


def _component(kind: str, delay_s: float) -> object:
    if kind == "env":
        return SlowEnv(delay_s=delay_s)
    if kind == "critic":
        from brigade.critics.controls import ConstantCritic

        return ConstantCritic()
    if kind == "arm":
        return ToyArm()
    raise SystemExit(f"unknown kind {kind}")


def _limits(options: argparse.Namespace) -> Any:
    from brigade.bus.wire import DEFAULT_LIMITS, Limits

    if options.max_frame_bytes is None:
        return DEFAULT_LIMITS
    return Limits(
        max_frame_bytes=options.max_frame_bytes, max_message_bytes=options.max_message_bytes
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="what", required=True)
    node = sub.add_parser("node")
    node.add_argument("kind")
    node.add_argument("--address", default="tcp://127.0.0.1:0")
    node.add_argument("--delay-s", type=float, default=0.0)
    node.add_argument("--keys", default=None)
    node.add_argument("--max-frame-bytes", type=int, default=None)
    node.add_argument("--max-message-bytes", type=int, default=None)
    call = sub.add_parser("call")
    call.add_argument("address")
    call.add_argument("method")
    call.add_argument("args", nargs="*")
    call.add_argument("--keys", default=None)
    call.add_argument("--key", default=None, help="this client's key pair in --keys")
    call.add_argument("--liveness-s", type=float, default=5.0)
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    from brigade.bus.client import Client
    from brigade.bus.node import serve
    from brigade.bus.security import SecurityConfig

    if options.what == "call":
        caller = None
        if options.keys:
            caller = SecurityConfig.load(options.key, keys_dir=options.keys, server_key="server")
        print("CALLING", flush=True)
        args: list[Any] = [int(a) if a.isdigit() else a for a in options.args]
        try:
            with Client(
                options.address, name="caller", security=caller, liveness_s=options.liveness_s
            ) as client:
                print("RESULT", repr(client.call(options.method, *args)), flush=True)
        except Exception as exc:
            print("ERROR", f"{type(exc).__name__}: {exc}", flush=True)
            raise SystemExit(1) from None
        return
    security = None
    if options.keys:
        security = SecurityConfig.load("server", keys_dir=options.keys)
    served = serve(
        _component(options.kind, options.delay_s),
        name=f"{options.kind}-node",
        address=options.address,
        security=security,
        heartbeat_s=0.05,
        limits=_limits(options),
    )
    served.run_forever(on_ready=lambda: print("READY", served.address, served.instance, flush=True))


if __name__ == "__main__":
    main()


__all__ = [
    "CountingPolicy",
    "DistanceProgress",
    "Proc",
    "SlowEnv",
    "ToyArm",
    "finish",
    "start_caller",
    "start_node",
]
