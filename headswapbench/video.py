"""Video and image IO: probe, frame-accurate reads at a constant frame rate, browser-playable writes.

Reading honours what players honour: rotation metadata (display matrix) and non-square pixels (sample aspect
ratio) are applied, and variable-frame-rate sources are resampled to a constant rate by picking, for each
output time, the last source frame shown at that time. Decoding uses decord (fast, frame-accurate random
access) with PyAV as the fallback; PyAV (bundled FFmpeg with libx264) writes H.264 yuv420p mp4.
Every failure becomes one `VideoError` naming the file and the cause.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import struct
from dataclasses import asdict, dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import cv2  # noqa: F401  must load before decord: decord's bundled zlib otherwise breaks cv2's PNG codec
import numpy as np

from .errors import VideoError
from .fileio import atomic_path
from .reasons import Reason
from .types import Image, Video

log = logging.getLogger(__name__)

VFR_TOLERANCE = 0.1  # spread of frame durations (relative to the median) above which a stream is variable-rate
ENCODER_THREADS = "1"  # one thread: x264 gave different bytes in 1-2 of 20 two-thread encodes, never with one


@dataclass(frozen=True)
class VideoInfo:
    """What a player would show: display size is after rotation and sample-aspect correction."""

    path: str
    codec: str
    width: int  # stored (coded) width
    height: int
    display_width: int
    display_height: int
    sar: float  # sample (pixel) aspect ratio
    rotation: int  # degrees counter-clockwise to apply for display: 0, 90, 180, 270
    fps: float  # average frame rate (frames / duration)
    num_frames: int  # frames actually present in the stream
    duration: float  # seconds
    is_vfr: bool
    has_audio: bool
    timestamps: tuple[float, ...]  # presentation time of each frame, seconds from the first frame

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("timestamps")
        return d

    def cfr_num_frames(self, fps: float | None = None) -> int:
        """Frames after resampling to a constant `fps` (default: the average rate)."""
        fps = fps or self.fps
        if not self.is_vfr and abs(fps - self.fps) < 1e-6:
            return self.num_frames
        return max(1, int(round(self.duration * fps)))


def _check_file(path: Path) -> None:
    if not path.exists():
        raise VideoError(path, "file does not exist", Reason.MISSING_FILE)
    if path.is_dir():
        raise VideoError(path, "is a directory, not a video file", Reason.IS_DIRECTORY)
    if not path.is_file():  # a FIFO would block the decoder forever; a device never ends
        raise VideoError(path, "not a regular file (a FIFO, device or socket)", Reason.NOT_REGULAR_FILE)
    if path.stat().st_size == 0:
        raise VideoError(path, "file is empty (0 bytes)", Reason.EMPTY_FILE)


def _rotation(container, stream) -> int:
    """Counter-clockwise display rotation in degrees (0/90/180/270), read from the first frame's display
    matrix (PyAV exposes it there; the stream-level matrix is the same)."""
    try:
        frame = next(container.decode(stream))
        angle = float(getattr(frame, "rotation", 0) or 0)
    except Exception:
        angle = 0.0
    container.seek(0)
    return int(round(angle / 90.0)) * 90 % 360


@lru_cache(maxsize=256)
def _probe_cached(path: str, mtime: float, size: int) -> VideoInfo:
    import av

    p = Path(path)
    try:
        container = av.open(path)
    except Exception as exc:
        try:
            with open(p, "rb") as fh:
                looks_mp4 = fh.read(12)[4:8] == b"ftyp"
        except OSError:
            looks_mp4 = False
        if looks_mp4:  # an mp4/mov header but no readable index: almost always a cut-off download or copy
            raise VideoError(p, f"truncated or corrupt mp4: it starts like one but FFmpeg finds no readable index "
                                f"(moov atom) ({type(exc).__name__}: {exc})", Reason.TRUNCATED) from None
        raise VideoError(p, f"unreadable: not a video container FFmpeg can open ({type(exc).__name__}: {exc})",
                         Reason.UNREADABLE) from None
    try:
        videos = list(container.streams.video)
        has_audio = bool(container.streams.audio)
        if not videos:
            raise VideoError(p, "no video stream (audio-only file?)" if has_audio else "no video stream",
                             Reason.NO_VIDEO_STREAM)
        stream = videos[0]
        codec = stream.codec_context.name
        fmt = container.format.name or ""
        if fmt == "image2" or fmt.endswith("_pipe"):  # FFmpeg's still-image demuxers
            raise VideoError(p, f"is an image file ({codec}), not a video; this needs a video clip",
                             Reason.IMAGE_NOT_VIDEO)
        width, height = stream.codec_context.width, stream.codec_context.height
        sar = float(stream.sample_aspect_ratio or 1) or 1.0
        rotation = _rotation(container, stream)
        declared = int(stream.frames or 0)
        tb = float(stream.time_base)
        rates = [float(r) for r in (stream.average_rate, stream.guessed_rate, stream.base_rate) if r]
        pts = []
        try:
            for packet in container.demux(stream):
                if packet.pts is not None and packet.size:
                    pts.append(packet.pts)
        except Exception as exc:
            raise VideoError(p, f"truncated or corrupt stream after {len(pts)} frames ({exc})",
                             Reason.TRUNCATED) from None
    finally:
        container.close()
    if not pts or not width or not height:
        raise VideoError(p, "video stream has no frames", Reason.NO_FRAMES)
    if declared and len(pts) < declared - 1:
        raise VideoError(p, f"truncated: header declares {declared} frames but only {len(pts)} are present",
                         Reason.TRUNCATED)
    times = np.sort(np.asarray(pts, dtype=np.float64)) * tb
    times -= times[0]
    n = len(times)
    if n > 1:
        deltas = np.diff(times)
        step = float(np.median(deltas))
        duration = float(times[-1] + step)
        is_vfr = bool(step <= 0 or (deltas.max() - deltas.min()) / step > VFR_TOLERANCE)
    else:
        duration, is_vfr = 1.0 / (rates[0] if rates else 25.0), False
    fps = n / duration
    if not is_vfr:  # snap to the container's exact rational (30000/1001 ...) when it agrees with the timestamps
        fps = next((r for r in rates if abs(r - fps) / fps < 0.005), fps)
    dw, dh = int(round(width * sar)), height
    if rotation in (90, 270):
        dw, dh = dh, dw
    return VideoInfo(
        path=path, codec=codec, width=width, height=height, display_width=dw, display_height=dh, sar=sar,
        rotation=rotation, fps=fps, num_frames=n, duration=duration, is_vfr=is_vfr, has_audio=has_audio,
        timestamps=tuple(float(t) for t in times),
    )


def probe(path: str | os.PathLike) -> VideoInfo:
    """Container facts needed to read a clip correctly (demuxes the stream once; cached per file version)."""
    p = Path(path)
    _check_file(p)
    st = p.stat()
    return _probe_cached(str(p.resolve()), st.st_mtime, st.st_size)


def source_indices(info: VideoInfo, fps: float | None = None) -> np.ndarray:
    """For each output frame at constant `fps`, the source frame shown at that time."""
    out_fps = fps or info.fps
    if not info.is_vfr and abs(out_fps - info.fps) < 1e-6:
        return np.arange(info.num_frames)
    n_out = info.cfr_num_frames(out_fps)
    t = np.arange(n_out) / out_fps + 1e-6
    idx = np.searchsorted(np.asarray(info.timestamps), t, side="right") - 1
    return np.clip(idx, 0, info.num_frames - 1)


def _display(frames: np.ndarray, info: VideoInfo, rotated: bool) -> np.ndarray:
    """Rotate (unless the decoder already did: decord applies the display matrix, PyAV does not) and
    stretch non-square pixels, so frames look as a player shows them."""

    if info.rotation and not rotated:
        frames = np.ascontiguousarray(np.rot90(frames, k=info.rotation // 90, axes=(1, 2)))
    # bicubic both ways, as FFmpeg's default scaler stretches them for display
    return resize_frames(frames, (info.display_width, info.display_height), cv2.INTER_CUBIC)


def _open_decord(path: str):
    import decord  # only ever imported here, after cv2 (see the import at the top)

    return decord.VideoReader(path, ctx=decord.cpu(0), num_threads=0)


def _decode_decord(path: str, indices: np.ndarray, vr=None) -> np.ndarray:
    """Frames at `indices` (presentation order). Contiguous ascending runs decode sequentially (~2x faster than
    get_batch) straight into one preallocated array; anything else goes through get_batch."""
    vr = vr if vr is not None else _open_decord(path)
    if len(vr) < int(indices.max()) + 1:
        raise RuntimeError(f"decord sees {len(vr)} frames, need index {int(indices.max())}")
    if len(indices) > 1 and np.all(np.diff(indices) == 1):
        vr.seek_accurate(int(indices[0]))
        first = vr.next().asnumpy()
        out = np.empty((len(indices), *first.shape), first.dtype)
        out[0] = first
        for k in range(1, len(indices)):
            out[k] = vr.next().asnumpy()
    else:
        uniq, inverse = np.unique(indices, return_inverse=True)
        out = vr.get_batch(uniq.tolist()).asnumpy()
        if len(uniq) != len(indices) or np.any(uniq != indices):
            out = out[inverse]
    if out.ndim != 4 or out.shape[-1] != 3:  # decord mis-strides some very narrow videos
        raise RuntimeError(f"decord returned frames of shape {out.shape}")
    return out


def _decode_pyav(path: str, indices: np.ndarray) -> np.ndarray:
    """Sequential decode (slower, but copes with files decord rejects); decoders emit presentation order."""
    import av

    wanted = set(int(i) for i in indices)
    last = int(indices.max())
    got: dict[int, np.ndarray] = {}
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for i, frame in enumerate(container.decode(stream)):
            if i in wanted:
                got[i] = frame.to_ndarray(format="rgb24")
            if i >= last:
                break
    missing = wanted - set(got)
    if missing:
        raise VideoError(path, f"truncated: frames {sorted(missing)[:5]} could not be decoded", Reason.TRUNCATED)
    return np.stack([got[int(i)] for i in indices])


Size = int | tuple[int, int]  # a square side, or (width, height) as OpenCV orders it


def _wh(size: Size) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def resize_image(image: np.ndarray, size: Size, interpolation: int | None = None) -> np.ndarray:
    """One image [H, W] or [H, W, C] resized to ``size`` (unchanged when it already has that size).

    The one resize policy of the toolkit, unless ``interpolation`` says otherwise: ``INTER_AREA`` when the
    image shrinks along either axis (it averages the covered pixels, so no aliasing), ``INTER_CUBIC`` when it
    only grows. Resize a landmark ``p`` with it as ``(p + 0.5) * (w / W) - 0.5`` (pixel centres)."""
    w, h = _wh(size)
    if image.shape[:2] == (h, w):
        return image
    if interpolation is None:
        interpolation = cv2.INTER_AREA if w < image.shape[1] or h < image.shape[0] else cv2.INTER_CUBIC
    return cv2.resize(np.ascontiguousarray(image), (w, h), interpolation=interpolation)


def resize_frames(frames: np.ndarray, size: Size | None, interpolation: int | None = None) -> np.ndarray:
    """Frames [N, H, W(, C)] resized to ``size`` with `resize_image` (``None``: unchanged)."""
    if size is None:
        return frames
    w, h = _wh(size)
    if frames.shape[1:3] == (h, w):
        return frames
    return np.stack([resize_image(f, (w, h), interpolation) for f in frames])


def read_frames(path: str | os.PathLike, indices: Sequence[int], info: VideoInfo | None = None,
                _reader=None) -> np.ndarray:
    """Frame-accurate random access by *source* frame index (presentation order) → uint8 [N, H, W, 3]."""
    info = info or probe(path)
    idx = np.asarray(list(indices), dtype=np.int64)
    if idx.size == 0:
        return np.zeros((0, info.display_height, info.display_width, 3), np.uint8)
    if idx.min() < 0 or idx.max() >= info.num_frames:
        raise VideoError(path, f"frame index out of range 0..{info.num_frames - 1}: {int(idx.min())}..{int(idx.max())}",
                         Reason.FRAME_RANGE)
    try:
        frames, rotated = _decode_decord(str(path), idx, _reader), True
    except Exception as exc:
        log.debug("decord failed on %s (%s); falling back to PyAV", path, exc)
        try:
            frames, rotated = _decode_pyav(str(path), idx), False
        except VideoError:
            raise
        except Exception as exc2:
            raise VideoError(path, f"cannot decode frames ({type(exc2).__name__}: {exc2})", Reason.UNREADABLE) from None
    return _display(frames, info, rotated)


def read_video(
    path: str | os.PathLike,
    *,
    fps: float | None = None,
    start: int = 0,
    num_frames: int | None = None,
    size: int | tuple[int, int] | None = None,
) -> Video:
    """Decode a clip at a constant frame rate (default: the source's average rate).

    ``start``/``num_frames`` count output frames; ``size`` resizes to ``(w, h)`` (or a square)."""
    info = probe(path)
    src = source_indices(info, fps)
    end = len(src) if num_frames is None else start + num_frames
    if start < 0 or start >= len(src) or end > len(src):
        raise VideoError(path, f"requested frames {start}..{end - 1} but the clip has {len(src)} at "
                               f"{fps or info.fps:.3f} fps", Reason.FRAME_RANGE)
    frames = read_frames(path, src[start:end], info)
    return Video(frames=resize_frames(frames, size), fps=float(fps or info.fps))


def iter_video(
    path: str | os.PathLike, chunk: int = 64, fps: float | None = None, size: int | tuple[int, int] | None = None
) -> Iterator[np.ndarray]:
    """Stream a long video in chunks of output frames (one open reader), so memory stays flat whatever its
    length."""
    info = probe(path)
    src = source_indices(info, fps)
    try:
        reader = _open_decord(str(path))
    except Exception:
        reader = None  # read_frames falls back to PyAV per chunk
    for s in range(0, len(src), chunk):
        yield resize_frames(read_frames(path, src[s:s + chunk], info, _reader=reader), size)


def _as_frames(video: Video | np.ndarray, fps: float | None) -> tuple[np.ndarray, float]:
    if isinstance(video, Video):
        return video.frames, float(fps or video.fps)
    frames = np.asarray(video)
    if fps is None:
        raise ValueError("write_video needs fps when given a bare frame array")
    return frames, float(fps)


def write_video(path: str | os.PathLike, video: Video | np.ndarray, fps: float | None = None, crf: int = 18,
                preset: str = "fast") -> Path:
    """Write H.264 yuv420p mp4 (plays in browsers), atomically. Width and height must be even."""

    frames, rate = _as_frames(video, fps)
    return write_video_chunks(path, [frames], rate, crf=crf, preset=preset)


def write_video_chunks(path: str | os.PathLike, chunks: Iterable[np.ndarray], fps: float, crf: int = 18,
                       preset: str = "fast") -> Path:
    """`write_video` from an iterable of uint8 [t,H,W,3] chunks, so memory stays flat whatever the clip length
    (pair it with `iter_video`). Atomic: a failure midway leaves no file."""
    import av

    path = Path(path)
    with atomic_path(path) as tmp, contextlib.ExitStack() as stack:
        container = stream = None
        for frames in chunks:
            frames = np.asarray(frames)
            if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
                raise VideoError(path, f"need uint8 [T,H,W,3] frames to write, got {frames.dtype} {frames.shape}",
                                 Reason.BAD_FRAMES)
            if stream is None and len(frames):
                h, w = frames.shape[1:3]
                if h % 2 or w % 2:
                    raise VideoError(path, f"H.264 yuv420p needs even width and height, got {w}x{h}", Reason.ODD_SIZE)
                container = stack.enter_context(
                    av.open(str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"}))
                stream = container.add_stream("libx264", rate=Fraction(float(fps)).limit_denominator(1001))
                stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
                stream.options = {"crf": str(crf), "preset": preset, "threads": ENCODER_THREADS}
                stream.codec_context.color_range = 1  # limited (tv) range, what browsers expect
            elif stream is not None and frames.shape[1:3] != (stream.height, stream.width):
                raise VideoError(path, f"frame size changed mid-clip: {frames.shape[2]}x{frames.shape[1]}, "
                                       f"first frames were {stream.width}x{stream.height}", Reason.BAD_FRAMES)
            for f in frames:
                container.mux(stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        if stream is None:
            raise VideoError(path, "need non-empty uint8 [T,H,W,3] frames to write, got no frames", Reason.BAD_FRAMES)
        container.mux(stream.encode(None))
    return path


# Largest image read_image decodes: 100 megapixels (a 10000×10000 scan; phone photos are ≤ 50 MP). An image
# is 3 bytes a pixel once decoded, so this also bounds the memory one reference photo can take (300 MB).
MAX_IMAGE_PIXELS = 100_000_000
ALPHA_BACKGROUND = (255, 255, 255)  # transparent pixels are shown on white, as image viewers and browsers do


def _image_error(path: Path, cause: str, code: str) -> VideoError:
    return VideoError(path, cause, Reason(code))


def _upright(im, path: Path):
    """EXIF orientation applied; an unreadable EXIF block leaves the image as stored (and says so)."""
    from PIL import ImageOps

    try:
        return ImageOps.exif_transpose(im)
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types on malformed EXIF
        log.warning("%s: EXIF orientation unreadable (%s); the image is used as stored", path, exc)
        return im


def to_rgb8(im) -> np.ndarray:
    """A decoded PIL image as uint8 RGB [H, W, 3], for every mode Pillow opens:

    - 16-bit grey (``I;16*``, 16-bit PNG/TIFF) keeps its top 8 bits (``v >> 8``, as Pillow itself reduces
      16-bit RGB PNGs), so a 16-bit copy of an 8-bit image decodes to exactly the 8-bit image; 32-bit ``I``
      is read as 16-bit data when it exceeds 255; float ``F`` as [0, 1] when its maximum is ≤ 1, else [0, 255];
    - grey (``1``, ``L``) is repeated into three channels;
    - alpha (``LA``, ``RGBA``, premultiplied ``La``/``RGBa``, palette with transparency) is composited over
      `ALPHA_BACKGROUND`, not dropped: a transparent pixel's stored colour is arbitrary (often black);
    - palette images are expanded; CMYK goes through its embedded ICC profile to sRGB when it has one
      (Pillow's plain conversion otherwise); any other mode (YCbCr, HSV, LAB ...) through Pillow's converter.
    """
    mode = im.mode
    if mode.startswith("I;16") or mode == "I":
        a = np.asarray(im).astype(np.int64)
        if mode == "I" and a.max(initial=0) <= 255:
            gray = np.clip(a, 0, 255).astype(np.uint8)
        else:
            gray = (np.clip(a, 0, 65535) >> 8).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if mode == "F":
        a = np.nan_to_num(np.asarray(im, np.float64))
        a = a * 255.0 if a.max(initial=0) <= 1.0 else a
        return np.repeat(np.clip(np.round(a), 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    if mode == "P" and "transparency" in im.info or mode in ("PA", "LA", "La", "RGBA", "RGBa"):
        rgba = np.asarray(im.convert("RGBA"), np.float64)
        alpha = rgba[..., 3:] / 255.0
        out = rgba[..., :3] * alpha + np.asarray(ALPHA_BACKGROUND, np.float64) * (1.0 - alpha)
        return np.clip(np.round(out), 0, 255).astype(np.uint8)
    if mode == "CMYK" and im.info.get("icc_profile"):
        try:
            import io

            from PIL import ImageCms

            src = ImageCms.ImageCmsProfile(io.BytesIO(im.info["icc_profile"]))
            im = ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"), outputMode="RGB")
        except Exception as exc:  # noqa: BLE001 - a broken profile: fall back to the plain conversion
            log.warning("CMYK image with an unusable ICC profile (%s); converted without it", exc)
    return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def read_image(path: str | os.PathLike) -> Image:
    """Any common image as uint8 RGB (see `to_rgb8` for 16-bit, grey, alpha, palette and CMYK), EXIF
    orientation applied. An image above `MAX_IMAGE_PIXELS` is refused from its header, before decoding
    (``Reason.TOO_MANY_PIXELS``); a file Pillow cannot decode is ``Reason.UNREADABLE``."""
    import warnings

    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    p = Path(path)
    _check_file(p)

    def too_big(size: str, pixels: int) -> VideoError:
        return _image_error(p, f"image is {size}{pixels / 1e6:.0f} megapixels, above the {MAX_IMAGE_PIXELS / 1e6:.0f}-"
                               "megapixel cap (a decompression bomb, or far larger than any face photo needs); "
                               "downscale it", "too_many_pixels")

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            im = PILImage.open(p)  # reads the header only
        with im:
            if im.width * im.height > MAX_IMAGE_PIXELS:
                raise too_big(f"{im.width}x{im.height} = ", im.width * im.height)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
                im.load()
            return to_rgb8(_upright(im, p))
    except PILImage.DecompressionBombError as exc:  # Pillow's own cap (2 × 89 MP) fires inside open()
        found = re.search(r"\((\d+) pixels\)", str(exc))
        raise too_big("", int(found.group(1)) if found else MAX_IMAGE_PIXELS + 1) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, struct.error) as exc:
        raise _image_error(p, f"unreadable image ({type(exc).__name__}: {exc})", "unreadable") from None


def write_image(path: str | os.PathLike, image: Image) -> Path:
    """Write an image atomically; the format follows the suffix (.png lossless)."""
    from PIL import Image as PILImage

    path = Path(path)
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
        raise VideoError(path, f"need a uint8 [H,W,3] image, got {arr.dtype} {arr.shape}", Reason.BAD_FRAMES)
    with atomic_path(path) as tmp:
        PILImage.fromarray(arr).save(tmp, format={".jpg": "JPEG", ".jpeg": "JPEG"}.get(path.suffix.lower(), "PNG"))
    return path
