from __future__ import annotations

import json
from pathlib import Path

import av
import pytest

from brigade.launch.cli import main


def test_run_leaves_records_videos_transcripts_and_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["run", "--out", str(tmp_path), "--planner", "expert", "--episodes", "2", "--cell_px=32"]
    args += ["--env", "kitchen/cramped_room"]
    assert main(args) == 0
    records = [json.loads(line) for line in (tmp_path / "episodes.jsonl").read_text().splitlines()]
    assert [r["success"] for r in records] == [True, True]
    assert {r["planner"] for r in records} == {"expert"}
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["config"]["env"] == "kitchen/cramped_room"
    video = tmp_path / records[0]["video"]
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert sum(1 for _ in container.decode(stream)) == records[0]["moves"] + 1
    assert records[1]["video"] is None  # --video first
    assert "NAME Alice ACTION" in (tmp_path / records[0]["transcript"]).read_text()
    assert "| kitchen/cramped_room-v0 | expert | 2 | 1.00" in (tmp_path / "summary.md").read_text()
    assert "Run folder" in capsys.readouterr().out


def test_run_plays_llm_planners_with_the_simulated_llm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["run", "--out", str(tmp_path), "--planner", "central,roco", "--no-video"]
    assert main([*args, "--env", "kitchen-read/cramped_room", "--planner.max_replans=1"]) == 0
    records = [json.loads(line) for line in (tmp_path / "episodes.jsonl").read_text().splitlines()]
    assert {r["planner"] for r in records} == {"central", "roco"}
    assert all(r["llm"].startswith("brigade-sim-llm@") and r["llm_queries"] > 0 for r in records)
    out = capsys.readouterr().out
    assert "not a real model" in out


def test_run_rejects_typos_with_suggestions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["run", "--out", str(tmp_path), "--no-video", "--env", "kitchen/forced_coordination"]
    args += ["--planner", "expert", "--episodes", "1"]
    assert main([*args, "--task.step_limit=80"]) == 0
    assert json.loads((tmp_path / "episodes.jsonl").read_text())["step_limit"] == 80
    assert main([*args, "--task.step_limt=80", "--overwrite"]) == 2
    assert "did you mean 'step_limit'" in capsys.readouterr().out
    assert main(["run", "--out", str(tmp_path), "--episods=3"]) == 2
    assert "did you mean 'episodes'" in capsys.readouterr().out
    assert main(["run", "--out", str(tmp_path), "--planner", "centrl"]) == 2
    assert "did you mean 'central'" in capsys.readouterr().out
    assert main(["run", "--out", str(tmp_path), "--env", "kitchen/nowhere"]) == 2


def test_envs_describe_and_layout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["envs"]) == 0
    assert "kitchen-read/forced_coordination-v0" in capsys.readouterr().out
    assert main(["describe", "kitchen/cramped_room", "--agent", "Bob"]) == 0
    assert capsys.readouterr().out.startswith("You are Bob")
    bad = tmp_path / "bad.layout"
    bad.write_text('{"grid": "XXPXX\\nO  2O\\nX1 QX\\nXDXSX"}')
    assert main(["layout", "check", str(bad)]) == 1
    assert "grid row 3, column 4" in capsys.readouterr().out
    png = tmp_path / "room.png"
    assert main(["layout", "show", "cramped_room", "--png", str(png)]) == 0
    assert png.stat().st_size > 1000


def test_collect_train_critic_run_and_report_chain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, ckpt, run = tmp_path / "data", tmp_path / "ckpt", tmp_path / "run"
    env = ["--env", "kitchen-read/cramped_room"]
    assert main(["collect", *env, "--episodes", "4", "--out", str(data), "--perturb_steps=2"]) == 0
    assert "Collected 4 episodes" in capsys.readouterr().out
    assert (
        main(
            [
                "train-critic",
                "--data",
                str(data),
                "--out",
                str(ckpt),
                "--epochs",
                "1",
                "--hidden=16",
                "--ensemble=1",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "held-out report" in out and "Checkpoint" in out
    assert (
        main(
            [
                "run",
                *env,
                "--planner",
                "read-j,read-s",
                "--critic",
                str(ckpt),
                "--episodes",
                "1",
                "--no-video",
                "--out",
                str(run),
            ]
        )
        == 0
    )
    records = [json.loads(line) for line in (run / "episodes.jsonl").read_text().splitlines()]
    digest = json.loads((ckpt / "critic.json").read_text())["hash"]
    assert all(r["critic"]["hash"] == digest for r in records)
    assert (
        json.loads((run / "manifest.json").read_text())["critics"]["kitchen-read/cramped_room-v0"][
            "hash"
        ]
        == digest
    )
    capsys.readouterr()
    png, md = tmp_path / "cmp.png", tmp_path / "cmp.md"
    assert main(["report", str(run), "--plot", str(png), "--markdown", str(md)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert "| read-j |" in md.read_text() and "standard start" in md.read_text()


def test_collect_and_train_critic_name_bad_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["collect", "--seed", "5"]) == 2
    assert "evaluation seeds" in capsys.readouterr().out
    assert main(["train-critic", "--hedd=mse"]) == 2
    assert "did you mean 'head'" in capsys.readouterr().out


def test_the_main_job_compares_read_j_with_the_baselines() -> None:
    from brigade.config import load_config
    from brigade.planners.registry import BASELINES
    from brigade.planners.runner import RunConfig, Runner

    config = load_config(RunConfig, preset="run/default")
    assert config.planners == ["read-j", *BASELINES]
    assert config.llm == "sim" and config.critic == ""
    runner = Runner(config)  # every task has a shipped critic, and it fits
    assert set(runner.critics) == set(config.env_ids)
    assert all(c["kind"] == "learned" for c in runner.critics.values())
