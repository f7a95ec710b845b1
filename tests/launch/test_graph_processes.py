"""Launch graphs with one process per node: ``brigade run --bus``, ``up``, ``ps`` and ``doctor``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from brigade.launch.cli import main
from brigade.launch.graph import load_launch
from brigade.launch.supervisor import Graph, LaunchError, graph_dir, read_state

SHIPPED = "launch/local-kitchen"


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "state"
    monkeypatch.setenv("BRIGADE_STATE_DIR", str(folder))  # the node processes inherit it
    return folder


def _records(out: Path) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    for record in records:
        record.pop("wall_s")
    return records


def _transcript(path: Path) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    for entry in entries:
        entry.pop("t")
        entry["data"].pop("latency_s", None)
    return entries


def test_a_read_j_kitchen_episode_on_three_node_processes_equals_in_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--episodes", "2", "--seed", "11", "--video", "first", "--cell_px=32"]
    assert main(["run", "--bus", SHIPPED, "--out", str(tmp_path / "bus"), *common]) == 0
    out = capsys.readouterr().out
    assert "planner is up at tcp://127.0.0.1:" in out and "planner stopped" in out
    local = ["run", "--env", "kitchen/cramped_room", "--planner", "read-j", "--out"]
    assert main([*local, str(tmp_path / "local"), *common]) == 0
    bus = _records(tmp_path / "bus")
    assert bus == _records(tmp_path / "local")
    assert [r["planner"] for r in bus] == ["read-j", "read-j"]
    assert all(r["success"] and r["llm_queries"] > 0 and r["critic"]["hash"] for r in bus)
    for record in bus:
        name = Path(record["transcript"]).with_suffix(".jsonl")
        assert _transcript(tmp_path / "bus" / name) == _transcript(tmp_path / "local" / name)
    # The frames are compared in tests/planners/test_remote.py (x264 need not encode
    # equal frames to equal bytes on a loaded machine); here the video exists.
    assert (tmp_path / "bus" / bus[0]["video"]).stat().st_size > 0
    assert read_state("local-kitchen") is None  # the nodes started for the run are gone


def _wait_for(predicate: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _brigade(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "brigade.launch.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_up_ps_doctor_reuse_and_a_clean_stop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    up = subprocess.Popen(
        [sys.executable, "-m", "brigade.launch.cli", "up", SHIPPED],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for(lambda: read_state("local-kitchen") is not None, 120, "brigade up")
        pids = {n: e["pid"] for n, e in read_state("local-kitchen")["nodes"].items()}  # type: ignore[index]
        assert sorted(pids) == ["critic", "env", "planner"]

        ps = _brigade("ps", "--json")
        assert ps.returncode == 0, ps.stdout + ps.stderr
        rows = json.loads(ps.stdout)
        assert {r["node"]: r["state"] for r in rows} == dict.fromkeys(pids, "ok")
        assert all(r["rtt_us"] > 0 and r["service"] for r in rows)

        doctor = _brigade("doctor", SHIPPED)
        assert doctor.returncode == 0, doctor.stdout
        assert "clock of planner" in doctor.stdout and "0 to fix" in doctor.stdout

        out = tmp_path / "run"
        args = ["run", "--bus", SHIPPED, "--episodes", "1", "--no-video", "--out", str(out)]
        assert main(args) == 0
        assert "using the nodes of local-kitchen" in capsys.readouterr().out
        assert _records(out)[0]["success"]
        assert all(_alive(pid) for pid in pids.values())  # reused, not restarted

        os.kill(pids["env"], signal.SIGKILL)
        _wait_for(lambda: not _alive(pids["env"]), 10, "the env node to die")
        ps = _brigade("ps", "--json")
        assert ps.returncode == 1
        assert {r["node"]: r["state"] for r in json.loads(ps.stdout)}["env"] == "down"
    finally:
        up.send_signal(signal.SIGTERM)
        text, _ = up.communicate(timeout=60)
    assert up.returncode == 0, text
    assert "node env exited with code -9" in text
    assert "planner stopped" in text and "critic stopped" in text
    assert not any(_alive(pid) for pid in pids.values())
    assert read_state("local-kitchen") is None
    assert (graph_dir("local-kitchen") / "logs" / "planner.log").read_text().count("stopped")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: its parent (brigade up) has not reaped it yet.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_a_node_that_cannot_start_stops_the_others_and_quotes_its_log(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        data = {
            "name": "clash",
            "nodes": {
                "critic": {"component": "critic"},
                "env": {"component": "env", "address": f"tcp://127.0.0.1:{port}"},
            },
        }
        path = tmp_path / "clash.yaml"
        path.write_text(yaml.safe_dump(data))
        graph = Graph(load_launch(path))
        with pytest.raises(LaunchError, match="node env exited") as caught:
            graph.start(timeout_s=120)
    assert "Address already in use" in str(caught.value)
    assert not graph.processes and read_state("clash") is None
