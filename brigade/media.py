"""Saving pictures and videos that people can open anywhere.

- :class:`VideoWriter` and :func:`write_video`: H.264 in MP4 through PyAV,
  ``yuv420p`` with BT.709 colour tags and the ``moov`` atom at the front
  (``+faststart``), which is what browsers need to play a video while it
  downloads. (OpenCV's own MP4 writer makes MPEG-4 Part 2, which browsers do
  not play.)
- :func:`save_png`: one RGB frame as a PNG, through OpenCV.

Frames are RGB ``uint8`` arrays of shape ``(height, width, 3)``, as the
renderers make them. ``av`` is imported only when a video is written, so
``import brigade`` stays light.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from fractions import Fraction
from types import TracebackType
from typing import Any

import numpy as np

from brigade.errors import InputError

__all__ = ["VideoWriter", "check_frame", "save_png", "write_video"]

_BT709 = 1  # AVCOL_PRI_BT709 / AVCOL_TRC_BT709 / AVCOL_SPC_BT709 in FFmpeg's enums
_LIMITED_RANGE = 1  # AVCOL_RANGE_MPEG


def check_frame(frame: Any, what: str = "frame") -> np.ndarray:
    """Check that ``frame`` is an RGB picture and return it as an array.

    Args:
        frame: The candidate frame.
        what: How to name the frame in an error (``"frame 12"``).

    Returns:
        The frame, a ``uint8`` array of shape ``(height, width, 3)``.

    Raises:
        InputError: It is not an array, not ``uint8``, not ``(height, width, 3)``
            or empty.
    """
    if not isinstance(frame, np.ndarray):
        raise InputError(f"{what}: expected a numpy array, got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise InputError(
            f"{what}: expected dtype uint8 (RGB values 0-255), got {frame.dtype}; "
            "convert with np.clip(frame, 0, 255).astype(np.uint8)"
        )
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise InputError(f"{what}: expected shape (height, width, 3) RGB, got {frame.shape}")
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise InputError(f"{what}: the frame is empty ({frame.shape})")
    return frame


def _even(frame: np.ndarray) -> np.ndarray:
    """Pad a frame to even sides (yuv420p needs them) by repeating its last row/column."""
    h, w, _ = frame.shape
    if h % 2 == 0 and w % 2 == 0:
        return frame
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


class VideoWriter:
    """Writes RGB frames to an H.264 MP4 file that browsers play.

    Use it as a context manager; the file is finished on exit, also when the
    block raises, so the frames written so far are kept::

        with VideoWriter("episode.mp4", fps=10) as video:
            for frame in frames:
                video.write(frame)

    The first frame sets the size; odd sizes are padded to even ones (H.264
    in ``yuv420p`` needs even sides) by repeating the last row or column.

    Args:
        path: The ``.mp4`` file to write (replaced if it exists).
        fps: Frames per second (an int, a float or a :class:`~fractions.Fraction`).
        crf: x264's constant rate factor: 0 lossless, 23 the default, 51 worst.

    Raises:
        InputError: ``fps`` is not positive or ``crf`` is outside 0-51.
    """

    def __init__(self, path: str | os.PathLike[str], fps: float | Fraction = 10, *, crf: int = 23):
        if isinstance(fps, bool) or not isinstance(fps, (int, float, Fraction)) or not fps > 0:
            raise InputError(f"fps must be a positive number, got {fps!r}")
        if isinstance(crf, bool) or not isinstance(crf, int) or not 0 <= crf <= 51:
            raise InputError(f"crf must be an integer from 0 to 51, got {crf!r}")
        self.path = os.fspath(path)
        self.fps = Fraction(fps).limit_denominator(1001)
        self.crf = crf
        self.frames_written = 0
        self._size: tuple[int, int] | None = None  # (height, width) of the frames given
        self._container: Any = None
        self._stream: Any = None
        self._closed = False

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(_raising=exc is not None)

    def _open(self, height: int, width: int) -> None:
        import av  # lazily: PyAV and FFmpeg load only when a video is written

        container = av.open(self.path, mode="w", container_options={"movflags": "+faststart"})
        try:
            stream = container.add_stream("libx264", rate=self.fps)
            stream.width, stream.height = width + width % 2, height + height % 2
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": str(self.crf)}
            ctx = stream.codec_context
            for name, value in (
                ("color_primaries", _BT709),
                ("color_trc", _BT709),
                ("colorspace", _BT709),
                ("color_range", _LIMITED_RANGE),
            ):
                if hasattr(ctx, name):  # older PyAV cannot tag; players then assume BT.709 anyway
                    setattr(ctx, name, value)
        except BaseException:
            container.close()
            raise
        self._container, self._stream = container, stream

    def write(self, frame: np.ndarray) -> None:
        """Append one frame.

        Args:
            frame: An RGB ``uint8`` array of shape ``(height, width, 3)``, the
                same size as the first frame.

        Raises:
            InputError: The frame is not RGB ``uint8`` or its size changed.
            RuntimeError: The writer is closed.
        """
        if self._closed:
            raise RuntimeError(f"the video writer for {self.path} is closed")
        frame = check_frame(frame, f"frame {self.frames_written}")
        h, w, _ = frame.shape
        if self._size is None:
            self._open(h, w)
            self._size = (h, w)
        elif (h, w) != self._size:
            raise InputError(
                f"frame {self.frames_written}: size {w}x{h} differs from the video's "
                f"{self._size[1]}x{self._size[0]}; every frame of a video has the same size"
            )
        import av

        picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(_even(frame)), format="rgb24")
        picture = picture.reformat(format="yuv420p", dst_colorspace="itu709")
        picture.pts = self.frames_written
        for packet in self._stream.encode(picture):
            self._container.mux(packet)
        self.frames_written += 1

    def close(self, *, allow_empty: bool = False, _raising: bool = False) -> None:
        """Finish the file (flush the encoder, write the index). Closing twice is fine.

        Args:
            allow_empty: With no frame written, create no file and raise nothing.

        Raises:
            InputError: No frame was written, so there is no video (not raised
                with ``allow_empty``, nor while an exception is already
                propagating out of a ``with`` block).
        """
        if self._closed:
            return
        self._closed = True
        if self._container is None:
            if not (_raising or allow_empty):
                raise InputError(f"no frames were written, so {self.path} was not created")
            return
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
        finally:
            self._container.close()


def write_video(
    path: str | os.PathLike[str],
    frames: Iterable[np.ndarray],
    fps: float | Fraction = 10,
    *,
    crf: int = 23,
) -> int:
    """Write frames to an H.264 MP4 file that browsers play.

    Args:
        path: The ``.mp4`` file to write.
        frames: RGB ``uint8`` arrays of shape ``(height, width, 3)``, all one size.
        fps: Frames per second.
        crf: x264's constant rate factor (23 by default; lower is better and bigger).

    Returns:
        The number of frames written.

    Raises:
        InputError: A frame is malformed or of another size, or there are no frames.
    """
    with VideoWriter(path, fps, crf=crf) as video:
        for frame in frames:
            video.write(frame)
    return video.frames_written


def save_png(path: str | os.PathLike[str], frame: np.ndarray) -> None:
    """Save an RGB frame as a PNG file.

    Raises:
        InputError: The frame is not an RGB ``uint8`` array of shape ``(height, width, 3)``.
        OSError: The file could not be written.
    """
    import cv2

    frame = check_frame(frame)
    target = os.fspath(path)
    ok, data = cv2.imencode(".png", np.ascontiguousarray(frame[..., ::-1]))  # OpenCV wants BGR
    if not ok:
        raise OSError(f"could not encode {target} as PNG")
    with open(target, "wb") as f:
        f.write(data.tobytes())
