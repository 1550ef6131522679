"""Media helpers for the build tests: short excerpts of ../shared/data videos and deliberately bad inputs,
all written to tmp (never into the repo). The bad files are synthetic derivatives, named for what is wrong."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from headswapbench.video import read_video, write_video

# (source video, start frame, label): two windows of lp_d12 are the same person in two "videos" (subject
# grouping must join them), the others are three different people.
EXCERPTS = [
    ("lp_d12", 0, "a"),
    ("lp_d12", 120, "b"),
    ("edtalk_mouth_source", 0, "a"),
    ("vretalk_face_5", 0, "a"),
    ("lp_d18", 0, "a"),
]


def _resize(frames: np.ndarray, w: int, h: int) -> np.ndarray:
    import cv2

    return np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in frames])


def excerpt(
    videos_dir: Path, name: str, start: int, num_frames: int, side: int = 256
) -> tuple[np.ndarray, float]:
    v = read_video(videos_dir / f"{name}.mp4", start=start, num_frames=num_frames)
    h, w = v.frames.shape[1:3]
    k = side / max(h, w)
    return _resize(v.frames, int(w * k) // 2 * 2, int(h * k) // 2 * 2), v.fps


def make_raw_dir(videos_dir: Path, out: Path, num_frames: int = 40, excerpts=EXCERPTS) -> Path:
    """A RAW_DIR of short (num_frames) 256-px excerpts of real talking-head clips."""
    out.mkdir(parents=True, exist_ok=True)
    for name, start, tag in excerpts:
        frames, fps = excerpt(videos_dir, name, start, num_frames)
        write_video(out / f"{name}_{tag}.mp4", frames, fps=fps)
    return out


def write_audio_only(path: Path, seconds: float = 1.0) -> Path:
    import av

    with av.open(str(path), "w", format="mp4") as c:
        s = c.add_stream("aac", rate=16000)
        n = int(16000 * seconds)
        t = np.arange(n) / 16000
        samples = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
        for i in range(0, n, 1024):
            f = av.AudioFrame.from_ndarray(samples[:, i : i + 1024].copy(), format="fltp", layout="mono")
            f.sample_rate = 16000
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return path


def write_vfr(path: Path, frames: np.ndarray, fps: float) -> Path:
    """Same frames with irregular presentation times (alternating 0.5× and 1.5× the nominal duration)."""
    import av

    with av.open(str(path), "w", format="mp4") as c:
        s = c.add_stream("libx264", rate=Fraction(int(fps)))
        s.width, s.height, s.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        s.codec_context.time_base = Fraction(1, 1000)
        t = 0.0
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts, vf.time_base = int(round(t * 1000)), Fraction(1, 1000)
            t += (0.5 if i % 2 else 1.5) / fps
            for p in s.encode(vf):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return path


def make_bad_inputs(videos_dir: Path, out: Path, num_frames: int = 40) -> dict[str, str | None]:
    """Write one file per kind of bad (or awkward) input; returns file name → expected skip reason, or None
    for inputs that must be *kept* (portrait, variable frame rate: handled, not refused)."""
    out.mkdir(parents=True, exist_ok=True)
    a, fps = excerpt(videos_dir, "lp_d12", 0, num_frames)
    b, _ = excerpt(videos_dir, "edtalk_mouth_source", 0, num_frames)
    expected: dict[str, str | None] = {}

    (out / "zero_length.mp4").write_bytes(b"")
    expected["zero_length.mp4"] = "empty_file"
    (out / "not_a_video.mp4").write_bytes(np.random.default_rng(0).bytes(20000))
    expected["not_a_video.mp4"] = "unreadable"
    full = write_video(out / "_full.mp4", a, fps=fps).read_bytes()
    (out / "truncated.mp4").write_bytes(full[: len(full) // 3])
    (out / "_full.mp4").unlink()
    expected["truncated.mp4"] = "truncated"
    write_audio_only(out / "audio_only.mp4")
    expected["audio_only.mp4"] = "no_video_stream"
    # a person in a tall portrait frame (background padding above and below): handled, not refused
    pad = np.full((num_frames, 448, a.shape[2], 3), 90, np.uint8)
    pad[:, 96 : 96 + a.shape[1]] = a
    write_video(out / "portrait.mp4", pad, fps=fps)
    expected["portrait.mp4"] = None
    write_video(out / "odd_aspect.mp4", _resize(a, 768, 128), fps=fps)
    expected["odd_aspect.mp4"] = "odd_aspect"
    small = np.full((num_frames, 256, 256, 3), 90, np.uint8)
    small[:, 104:160, 104:160] = _resize(a, 56, 56)  # face ≈ 28 px < 0.25 × 128
    write_video(out / "tiny_face.mp4", small, fps=fps)
    expected["tiny_face.mp4"] = "face_too_small"
    write_video(out / "two_faces.mp4", np.concatenate([a, b], axis=2), fps=fps)  # side by side, 512x256
    expected["two_faces.mp4"] = "multiple_faces"
    write_video(
        out / "no_face.mp4",
        np.tile(np.linspace(0, 255, 256, dtype=np.uint8)[None, None, :, None], (num_frames, 256, 1, 3)),
        fps=fps,
    )
    expected["no_face.mp4"] = "no_face"
    write_video(out / "too_short.mp4", a[:8], fps=fps)
    expected["too_short.mp4"] = "too_short"
    big = np.zeros((2, 2880, 5120, 3), np.uint8)  # 5K (14.7 MP): above the 3840×2160 limit, refused at probe
    big[..., 1] = 120
    write_video(out / "very_large.mp4", big, fps=fps)
    expected["very_large.mp4"] = "too_large"
    write_vfr(out / "vfr.mp4", a, fps)
    expected["vfr.mp4"] = None
    return expected
