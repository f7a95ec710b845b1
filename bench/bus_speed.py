"""The bus against raw pyzmq on the same machine, in the same run (issue 6, section 4).

Three measurements, each with and without CURVE (the raw reference then uses CURVE
too), every server in its own process on loopback:

- **echo**: a small request/reply (a 64-byte body) through ``Client.call`` and a
  served component, against a raw DEALER/ROUTER echo of 64 bytes. Target: at most
  1.3x raw at the median and at p99.
- **frame**: a 640x480 RGB frame sent to a node that answers its shape, against a
  raw zero-copy frame answered by a short acknowledgement. Target: at most 1.3x.
- **control loop**: a 200 Hz request/reply loop through the bus held for a minute;
  a deadline is missed when a reply arrives after its 5 ms period. Target: fewer
  than 0.1% missed.

Raw and bus batches alternate within each run, so both see the same machine state;
the figures are medians over the runs (p99 is noisy on two cores).

Placement: by default (``--placement split``) the client process runs on one CPU and
both servers on another, so raw and bus meet the same placement. Left to the
scheduler (``--placement free``), the two server processes land differently next
to the client from one start to the next (the same CPU as the client, or the
other), and a round trip then differs by a factor of three: the ratios measured
placement more than the bus.

Usage: .venv/bin/python bench/bus_speed.py [--runs 5] [--calls 2000] [--loop-s 60]
       [--placement split|free]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import zmq

from brigade.bus import Client, SecurityConfig, Service, register_service, serve
from brigade.bus.security import authorize, create_keypair, load_keypair

FRAME_SHAPE = (480, 640, 3)
SMALL = b"x" * 64


class Echo:
    """The served component: answers at once, so the figures are the bus's own."""

    def echo(self, value: Any) -> Any:
        """Return ``value``."""
        return value

    def take(self, frame: np.ndarray) -> tuple[int, ...]:
        """Return the shape of ``frame``."""
        return tuple(frame.shape)


ECHO = Service(
    name="bench-echo", interface=Echo, methods={"echo", "take"}, read_only={"echo", "take"}
)


def _placement(mode: str) -> tuple[set[int] | None, set[int] | None]:
    """The CPUs of the client and of the servers (``None``: the scheduler's choice)."""
    cpus = sorted(os.sched_getaffinity(0))
    if mode == "free" or len(cpus) < 2:
        return None, None
    return {cpus[0]}, {cpus[1]}


def _bus_server(queue: Any, keys: str | None, cpus: set[int] | None) -> None:
    if cpus:  # (first: the threads made from here on, ZeroMQ's included, inherit it)
        os.sched_setaffinity(0, cpus)
    register_service(ECHO, replace=True)
    security = SecurityConfig.load("server", keys_dir=keys) if keys else None
    node = serve(Echo(), name="bench", security=security, service="bench-echo")
    node.run_forever(on_ready=lambda: queue.put(node.address))


def _raw_server(queue: Any, keys: str | None, cpus: set[int] | None) -> None:
    if cpus:
        os.sched_setaffinity(0, cpus)
    context = zmq.Context()
    socket = context.socket(zmq.ROUTER)
    socket.linger = 0
    if keys:
        pair = load_keypair("server", keys)
        socket.curve_server = True
        socket.curve_publickey, socket.curve_secretkey = pair.public, pair.secret
    socket.bind("tcp://127.0.0.1:*")
    queue.put(socket.getsockopt_string(zmq.LAST_ENDPOINT))
    while True:
        frames = socket.recv_multipart(copy=False)
        if len(frames) > 2:  # identity, header, frame: acknowledge the frame
            socket.send_multipart([frames[0], b"ok"])
        else:
            socket.send_multipart(frames)


def _start(target: Any, keys: str | None, cpus: set[int] | None = None) -> tuple[Any, str]:
    spawn = mp.get_context("spawn")
    queue = spawn.Queue()
    process = spawn.Process(target=target, args=(queue, keys, cpus), daemon=True)
    process.start()
    return process, str(queue.get(timeout=60))


def _raw_client(address: str, keys: str | None) -> zmq.Socket[Any]:
    socket = zmq.Context.instance().socket(zmq.DEALER)
    socket.linger = 0
    if keys:
        client, server = load_keypair("client", keys), load_keypair("server", keys)
        socket.curve_serverkey = server.public
        socket.curve_publickey, socket.curve_secretkey = client.public, client.secret
    socket.connect(address)
    return socket


def _times(call: Any, n: int) -> list[float]:
    """Microseconds of ``n`` calls after a short warm-up."""
    for _ in range(min(100, n)):
        call()
    out = []
    for _ in range(n):
        start = time.perf_counter_ns()
        call()
        out.append((time.perf_counter_ns() - start) / 1e3)
    return out


def _p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def compare(
    keys: str | None, runs: int, calls: int, cpus: set[int] | None = None
) -> dict[str, dict[str, float]]:
    """Echo and frame round trips, bus against raw, interleaved; medians over runs.

    ``cpus``: where both servers run (``None``: anywhere).
    """
    bus_proc, bus_address = _start(_bus_server, keys, cpus)
    raw_proc, raw_address = _start(_raw_server, keys, cpus)
    security = SecurityConfig.load("client", keys_dir=keys, server_key="server") if keys else None
    client = Client(bus_address, name="bench", security=security)
    raw = _raw_client(raw_address, keys)
    frame = np.random.default_rng(0).integers(0, 256, FRAME_SHAPE, dtype=np.uint8)

    def raw_echo() -> None:
        raw.send(SMALL)
        raw.recv()

    def raw_frame() -> None:
        raw.send_multipart([b"frame", frame], copy=False)
        raw.recv()

    cases = {
        "echo": (raw_echo, lambda: client.call("echo", SMALL)),
        "frame": (raw_frame, lambda: client.call("take", frame)),
    }
    figures: dict[str, dict[str, list[float]]] = {
        c: {k: [] for k in ("raw_median", "raw_p99", "bus_median", "bus_p99")} for c in cases
    }
    try:
        for _ in range(runs):
            for case, (raw_call, bus_call) in cases.items():
                n = calls if case == "echo" else max(calls // 4, 100)
                for who, call in (("raw", raw_call), ("bus", bus_call)):
                    times = _times(call, n)
                    figures[case][f"{who}_median"].append(_p(times, 50))
                    figures[case][f"{who}_p99"].append(_p(times, 99))
    finally:
        client.close()
        raw.close()
        for process in (bus_proc, raw_proc):
            process.terminate()
            process.join(5)
    return {c: {k: statistics.median(v) for k, v in f.items()} for c, f in figures.items()}


def control_loop(
    keys: str | None, seconds: float, hz: float = 200.0, cpus: set[int] | None = None
) -> dict[str, float]:
    """A request/reply loop at ``hz`` through the bus: the share of missed deadlines."""
    bus_proc, bus_address = _start(_bus_server, keys, cpus)
    security = SecurityConfig.load("client", keys_dir=keys, server_key="server") if keys else None
    client = Client(bus_address, name="bench-loop", security=security)
    period = 1.0 / hz
    command = {"joint_1.pos": 0.1, "joint_2.pos": -0.3, "gripper": 1.0}
    ticks = int(seconds * hz)
    missed, latencies = 0, []
    try:
        client.call("echo", command)
        start = time.perf_counter()
        for k in range(ticks):
            tick = start + k * period
            delay = tick - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            sent = time.perf_counter()
            client.call("echo", command)
            done = time.perf_counter()
            latencies.append((done - sent) * 1e6)
            missed += done > tick + period
    finally:
        client.close()
        bus_proc.terminate()
        bus_proc.join(5)
    return {
        "ticks": ticks,
        "missed": missed,
        "missed_pct": 100.0 * missed / ticks,
        "median_us": _p(latencies, 50),
        "p99_us": _p(latencies, 99),
        "max_us": max(latencies),
    }


def main() -> None:
    """Run every measurement, print the tables with their ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--loop-s", type=float, default=60.0)
    parser.add_argument("--placement", choices=("split", "free"), default="split")
    args = parser.parse_args()
    client_cpus, server_cpus = _placement(args.placement)
    if client_cpus:  # (before any ZeroMQ context: its threads inherit it)
        os.sched_setaffinity(0, client_cpus)
    where = (
        f"client on CPU {min(client_cpus)}, servers on CPU {min(server_cpus)}"
        if client_cpus and server_cpus
        else "placement left to the scheduler"
    )
    with tempfile.TemporaryDirectory() as folder:
        create_keypair("server", folder)
        create_keypair("client", folder)
        authorize(Path(folder) / "client.key", folder)
        print(
            f"{args.runs} runs of {args.calls} calls (frames: a quarter), medians over runs; "
            f"{where}"
        )
        print("| case | CURVE | raw median | bus median | ratio | raw p99 | bus p99 | ratio |")
        print("|---|---|---:|---:|---:|---:|---:|---:|")
        for keys in (None, folder):
            for case, f in compare(keys, args.runs, args.calls, server_cpus).items():
                print(
                    f"| {case} | {'yes' if keys else 'no'} "
                    f"| {f['raw_median']:.0f} us | {f['bus_median']:.0f} us "
                    f"| {f['bus_median'] / f['raw_median']:.2f} "
                    f"| {f['raw_p99']:.0f} us | {f['bus_p99']:.0f} us "
                    f"| {f['bus_p99'] / f['raw_p99']:.2f} |",
                    flush=True,
                )
        print(f"\n200 Hz control loop through the bus, {args.loop_s:.0f} s")
        print("| CURVE | ticks | missed | missed % | median | p99 | max |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for keys in (None, folder):
            r = control_loop(keys, args.loop_s, cpus=server_cpus)
            print(
                f"| {'yes' if keys else 'no'} | {r['ticks']:.0f} | {r['missed']:.0f} "
                f"| {r['missed_pct']:.3f} | {r['median_us']:.0f} us | {r['p99_us']:.0f} us "
                f"| {r['max_us']:.0f} us |",
                flush=True,
            )


if __name__ == "__main__":
    main()
