"""Videos browsers play, and PNGs, from RGB frames."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from brigade.errors import InputError
from brigade.media import VideoWriter, save_png, write_video

av = pytest.importorskip("av")


def frames(n: int, h: int = 48, w: int = 64) -> list[np.ndarray]:
    """Frames with a moving square, so the encoder has something to do."""
    out = []
    for i in range(n):
        f = np.full((h, w, 3), (30, 40, 60), np.uint8)
        x = (4 * i) % (w - 10)
        f[10:20, x : x + 10] = (240, 200, 40)
        out.append(f)
    return out


def top_level_atoms(path: Path) -> list[str]:
    """The types of an MP4 file's top-level boxes, in file order."""
    data = path.read_bytes()
    atoms, pos = [], 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if size == 1:  # a 64-bit size follows the type
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
        elif size == 0:  # the box runs to the end of the file
            size = len(data) - pos
        atoms.append(kind.decode("latin-1"))
        pos += size
    return atoms


def probe(path: Path) -> tuple[str, str, int, int, int, float]:
    """(codec, pix_fmt, width, height, decoded frames, fps) of a video."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        count = sum(1 for _ in container.decode(stream))
        return ctx.name, ctx.pix_fmt, stream.width, stream.height, count, float(stream.average_rate)


def test_a_video_is_h264_yuv420p_with_every_frame(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    with VideoWriter(path, fps=10) as video:
        for f in frames(25):
            video.write(f)
    assert video.frames_written == 25
    assert probe(path) == ("h264", "yuv420p", 64, 48, 25, 10.0)


def test_the_moov_atom_comes_before_mdat(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    write_video(path, frames(30), fps=15)
    atoms = top_level_atoms(path)
    assert "moov" in atoms and "mdat" in atoms
    assert atoms.index("moov") < atoms.index("mdat"), atoms


def test_decoded_frames_look_like_the_input(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    src = frames(5)
    write_video(path, src, fps=5, crf=0)
    with av.open(str(path)) as container:
        out = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(out) == len(src)
    for a, b in zip(src, out, strict=True):
        assert np.abs(a.astype(int) - b.astype(int)).mean() < 4  # colour survives yuv420p


def test_odd_sizes_are_padded_to_even(tmp_path: Path) -> None:
    path = tmp_path / "odd.mp4"
    assert write_video(path, frames(4, h=33, w=41), fps=4) == 4
    _, pix_fmt, w, h, n, _ = probe(path)
    assert (w, h, n, pix_fmt) == (42, 34, 4, "yuv420p")


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.zeros((8, 8, 3), np.float32), "uint8"),
        (np.zeros((8, 8), np.uint8), "shape"),
        (np.zeros((8, 8, 4), np.uint8), "shape"),
        (np.zeros((0, 8, 3), np.uint8), "empty"),
        ([[0, 0, 0]], "numpy array"),
    ],
)
def test_bad_frames_raise_input_error(tmp_path: Path, bad: object, match: str) -> None:
    with pytest.raises(InputError, match=match), VideoWriter(tmp_path / "bad.mp4") as video:
        video.write(bad)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=match):
        save_png(tmp_path / "bad.png", bad)  # type: ignore[arg-type]


def test_a_size_change_is_an_error_and_earlier_frames_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    with pytest.raises(InputError, match="differs"), VideoWriter(path, fps=10) as video:
        for f in frames(6):
            video.write(f)
        video.write(frames(1, h=50)[0])
    assert probe(path)[4] == 6


def test_no_frames_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no frames"):
        write_video(tmp_path / "empty.mp4", [], fps=10)
    assert not (tmp_path / "empty.mp4").exists()


def test_bad_settings_are_reported(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="fps"):
        VideoWriter(tmp_path / "x.mp4", fps=0)
    with pytest.raises(InputError, match="crf"):
        VideoWriter(tmp_path / "x.mp4", crf=60)


def test_writing_after_close_fails(tmp_path: Path) -> None:
    video = VideoWriter(tmp_path / "x.mp4")
    video.write(frames(1)[0])
    video.close()
    video.close()  # closing twice is harmless
    with pytest.raises(RuntimeError, match="closed"):
        video.write(frames(1)[0])


def test_fractional_frame_rates(tmp_path: Path) -> None:
    path = tmp_path / "ntsc.mp4"
    write_video(path, frames(10), fps=30000 / 1001)
    assert probe(path)[5] == pytest.approx(29.97, abs=0.01)


def test_save_png_round_trips_rgb(tmp_path: Path) -> None:
    frame = frames(1)[0]
    frame[0, 0] = (255, 0, 0)  # pure red, to catch a channel swap
    path = tmp_path / "frame.png"
    save_png(path, frame)
    back = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    assert np.array_equal(back, frame)


def test_importing_brigade_does_not_load_av() -> None:
    code = "import sys, brigade, brigade.media; print('av' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
