from __future__ import annotations

import json
from pathlib import Path

import av
import pytest

from brigade.launch.cli import main


def test_run_leaves_video_transcript_and_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--out", str(tmp_path), "--episodes", "2", "--cell_px=32"]) == 0
    (run_dir,) = tmp_path.iterdir()
    records = [json.loads(line) for line in (run_dir / "episodes.jsonl").read_text().splitlines()]
    assert [r["success"] for r in records] == [True, True]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["env"]["env_id"] == "kitchen/cramped_room-v0"
    assert manifest["env"]["step_limit"] == 40
    transcript = (run_dir / "transcript.md").read_text()
    assert "NAME Alice ACTION" in transcript and "Episode 1: success" in transcript
    assert "success rate | 1.00" in (run_dir / "summary.md").read_text()
    with av.open(str(run_dir / "episode_000.mp4")) as video:
        stream = video.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert sum(1 for _ in video.decode(stream)) == records[0]["moves"] + 1
    assert "success rate" in capsys.readouterr().out


def test_run_accepts_task_overrides_and_rejects_typos(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["run", "--out", str(tmp_path), "--no-video", "--env", "kitchen/forced_coordination"]
    assert main([*args, "--task.step_limit=80"]) == 0
    (run_dir,) = tmp_path.iterdir()
    assert json.loads((run_dir / "manifest.json").read_text())["env"]["step_limit"] == 80
    assert not list(run_dir.glob("*.mp4"))
    assert main([*args, "--task.step_limt=80"]) == 2
    assert "did you mean 'step_limit'" in capsys.readouterr().out
    assert main(["run", "--out", str(tmp_path), "--episods=3"]) == 2
    assert "did you mean 'episodes'" in capsys.readouterr().out
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
