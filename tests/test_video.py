"""Video IO on real clips from ../shared/data and on hand-made bad or unusual files."""

from __future__ import annotations

import os
import subprocess
from fractions import Fraction

import av
import numpy as np
import pytest

from headswapbench.errors import VideoError
from headswapbench.reasons import Reason
from headswapbench.types import Video
from headswapbench.video import (
    probe,
    read_frames,
    read_image,
    read_video,
    resize_frames,
    resize_image,
    write_image,
    write_video,
)


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _synthetic_frames(n=12, h=64, w=96) -> np.ndarray:
    """Synthetic test pattern: frame index encoded as a bright bar position (labelled synthetic)."""
    frames = np.zeros((n, h, w, 3), np.uint8)
    for i in range(n):
        frames[i, :, (i * 7) % w : (i * 7) % w + 6] = 255
        frames[i, : h // 2, :, 1] = (40 + 10 * i) % 256
    return frames


def test_probe_matches_sources_tsv(sources, shared_data):
    for row in sources:
        if row["kind"] != "video":
            continue
        info = probe(shared_data / row["file"])
        assert abs(info.fps - float(row["fps"])) < 0.01, row["file"]
        assert info.num_frames == int(row["frames"]), row["file"]
        assert (info.width, info.height) == (int(row["width"]), int(row["height"]))
        assert not info.is_vfr


def test_non_square_pixels_are_honoured(shared_data):
    info = probe(shared_data / "videos/lp_d9.mp4")  # stored 512x480, SAR 15:16 → displays 480x480
    assert abs(info.sar - 15 / 16) < 1e-6
    v = read_video(shared_data / "videos/lp_d9.mp4", num_frames=2)
    assert v.frames.shape[1:3] == (480, 480)


def test_frame_accurate_random_access(shared_data):
    path = shared_data / "videos/lp_d12.mp4"
    full = read_video(path).frames
    picks = [0, 97, 3, 182, 98]
    np.testing.assert_array_equal(read_frames(path, picks), full[picks])
    np.testing.assert_array_equal(read_video(path, start=97, num_frames=2).frames, full[97:99])


def test_write_roundtrip_is_h264_yuv420p_and_deterministic(tmp_path):
    frames = _synthetic_frames()
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    write_video(a, Video(frames, fps=30000 / 1001))
    write_video(b, frames, fps=30000 / 1001)
    assert a.read_bytes() == b.read_bytes()
    with av.open(str(a)) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "h264" and s.codec_context.pix_fmt == "yuv420p"
    info = probe(a)
    assert info.num_frames == len(frames) and abs(info.fps - 30000 / 1001) < 1e-6
    back = read_video(a).frames
    assert np.abs(back.astype(int) - frames).mean() < 3.0


def test_write_rejects_odd_size_and_leaves_no_file(tmp_path):
    with pytest.raises(VideoError, match="even") as exc:
        write_video(tmp_path / "odd.mp4", np.zeros((2, 15, 16, 3), np.uint8), fps=25)
    assert exc.value.code is Reason.ODD_SIZE
    assert list(tmp_path.iterdir()) == []


def test_rotation_metadata_is_applied(tmp_path, shared_data):
    src = shared_data / "videos/lp_d9.mp4"
    rotated = tmp_path / "rot.mp4"
    subprocess.run([_ffmpeg(), "-y", "-loglevel", "error", "-display_rotation", "90", "-i", str(src), "-c", "copy",
                    "-frames:v", "30", str(rotated)], check=True)
    raw = tmp_path / "ref.rgb"  # what ffmpeg itself shows (autorotate on), independent of our code
    subprocess.run([_ffmpeg(), "-y", "-loglevel", "error", "-i", str(rotated), "-frames:v", "1", "-f", "rawvideo",
                    "-pix_fmt", "rgb24", str(raw)], check=True)
    info = probe(rotated)
    assert info.rotation == 90
    ours = read_video(rotated, num_frames=1).frames[0]
    # ffmpeg rotates the stored 512x480 to 480x512 but does not stretch pixels; we also apply SAR 15:16
    ref = np.frombuffer(raw.read_bytes(), np.uint8).reshape(512, 480, 3)
    import cv2

    ref = cv2.resize(ref, (info.display_width, info.display_height), interpolation=cv2.INTER_CUBIC)
    assert ours.shape == ref.shape == (480, 480, 3)
    assert np.abs(ours.astype(int) - ref).mean() < 2.0


def _write_vfr(path, frames, times):
    with av.open(str(path), "w", format="mp4") as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        s.codec_context.time_base = Fraction(1, 1000)
        for f, t in zip(frames, times):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts, vf.time_base = int(t * 1000), Fraction(1, 1000)
            c.mux(s.encode(vf))
        c.mux(s.encode(None))


def test_variable_frame_rate_is_resampled_to_constant(tmp_path):
    frames = _synthetic_frames(n=10)
    times = [0.0, 0.1, 0.2, 0.25, 0.3, 0.5, 0.6, 0.65, 0.7, 0.8]  # irregular (synthetic VFR stream)
    path = tmp_path / "vfr.mp4"
    _write_vfr(path, frames, times)
    info = probe(path)
    assert info.is_vfr
    v = read_video(path, fps=20)
    assert v.fps == 20 and v.num_frames == int(round(info.duration * 20))
    # at t = k/20 the frame on screen is the last one with timestamp <= t
    expect = [max(i for i, ts in enumerate(times) if ts <= k / 20 + 1e-6) for k in range(v.num_frames)]
    decoded = read_frames(path, range(len(times)))
    for k, src in enumerate(expect):
        np.testing.assert_array_equal(v.frames[k], decoded[src])


def test_bad_inputs_raise_one_clear_error(tmp_path, shared_data):
    empty = tmp_path / "empty.mp4"
    empty.touch()
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 100)
    frames = _synthetic_frames(n=60, h=64, w=64)
    good = tmp_path / "good.mp4"
    write_video(good, frames, fps=25)  # faststart: index first, so a cut file keeps a readable header
    cut = tmp_path / "truncated.mp4"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size * 2 // 3])
    moov_last_cut = tmp_path / "cut_download.mp4"  # index at the end (not faststart), as most cameras write
    moov_last_cut.write_bytes((shared_data / "videos" / "lp_d12.mp4").read_bytes()[:400_000])
    audio = tmp_path / "audio_only.m4a"
    with av.open(str(audio), "w", format="mp4") as c:
        s = c.add_stream("aac", rate=16000)
        samples = np.zeros((1, 16000), np.float32)
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = 16000
        for p in s.encode(frame):
            c.mux(p)
        c.mux(s.encode(None))
    fifo = tmp_path / "fifo.mp4"
    os.mkfifo(fifo)  # opening it would block the decoder forever
    cases = {  # file → (words of the message for people, the code for counting)
        empty: ("empty", Reason.EMPTY_FILE),
        junk: ("unreadable", Reason.UNREADABLE),
        cut: ("truncated", Reason.TRUNCATED),
        audio: ("audio-only", Reason.NO_VIDEO_STREAM),
        tmp_path / "missing.mp4": ("does not exist", Reason.MISSING_FILE),
        tmp_path: ("directory", Reason.IS_DIRECTORY),
        fifo: ("not a regular file", Reason.NOT_REGULAR_FILE),  # said "file is empty (0 bytes)"
        shared_data / "images" / "lp_d9.jpg": ("image file", Reason.IMAGE_NOT_VIDEO),  # said "no frames"
        moov_last_cut: ("truncated or corrupt mp4", Reason.TRUNCATED),  # said "not a video container ..."
        shared_data / "images" / "edtalk_leijun.png": ("image file", Reason.IMAGE_NOT_VIDEO),
    }
    for path, (cause, code) in cases.items():
        with pytest.raises(VideoError, match=cause) as exc:
            read_video(path)
        assert str(path) in str(exc.value)
        assert exc.value.code is code, (path, exc.value.code)
    good_info = probe(good)
    with pytest.raises(VideoError, match="requested frames") as exc:  # asks for more than the clip has
        read_video(good, start=good_info.num_frames - 2, num_frames=5)
    assert exc.value.code is Reason.FRAME_RANGE


def test_images_roundtrip_and_bad_image(tmp_path, shared_images):
    img = read_image(shared_images[0])
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    write_image(tmp_path / "x.png", img)
    np.testing.assert_array_equal(read_image(tmp_path / "x.png"), img)
    (tmp_path / "bad.png").write_bytes(b"garbage")
    with pytest.raises(VideoError, match="unreadable image") as exc:
        read_image(tmp_path / "bad.png")
    assert exc.value.code is Reason.UNREADABLE
    with pytest.raises(VideoError, match="uint8") as exc:
        write_image(tmp_path / "y.png", img.astype(np.float32))
    assert exc.value.code is Reason.BAD_FRAMES


def test_very_narrow_video_keeps_rgb_shape(tmp_path):
    # decord mis-strides some narrow widths (16, 48 px seen); the reader must notice and fall back to PyAV
    for w in (16, 48):
        frames = _synthetic_frames(n=5, h=64, w=w)
        write_video(tmp_path / f"n{w}.mp4", frames, fps=25)
        back = read_video(tmp_path / f"n{w}.mp4").frames
        assert back.shape == frames.shape
        assert np.abs(back.astype(int) - frames).mean() < 8.0


def test_write_video_chunks_streams_and_matches_write_video(tmp_path):
    """`analyze` used to hold the whole clip twice in memory to write overlay.mp4 (2.5 GB for 7 s of 1080p);
    it now streams chunks through write_video_chunks, which must decode to the same frames as write_video."""
    from headswapbench.video import write_video_chunks

    frames = _synthetic_frames(n=20, h=64, w=96)
    whole = write_video(tmp_path / "whole.mp4", frames, fps=25)
    chunked = write_video_chunks(tmp_path / "chunked.mp4", (frames[s:s + 7] for s in range(0, 20, 7)), fps=25)
    a, b = read_video(whole), read_video(chunked)
    # not byte-equal: libx264 with 2 threads is occasionally non-deterministic under load (measured 1 in ~10)
    assert a.frames.shape == b.frames.shape and a.fps == b.fps == 25
    assert np.abs(a.frames.astype(int) - b.frames.astype(int)).mean() < 1.0
    with pytest.raises(VideoError, match="frame size changed") as exc:
        write_video_chunks(tmp_path / "bad.mp4", [frames[:5], frames[5:, :32]], fps=25)
    assert exc.value.code is Reason.BAD_FRAMES
    with pytest.raises(VideoError, match="no frames") as exc:
        write_video_chunks(tmp_path / "empty.mp4", iter(()), fps=25)
    assert exc.value.code is Reason.BAD_FRAMES
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chunked.mp4", "whole.mp4"]  # failures leave nothing


# ------------------------------------------------------------------------------ every image to 8-bit RGB
def _png(path, arr: np.ndarray, color_type: int, bit_depth: int, width: int | None = None,
         height: int | None = None) -> None:
    """A minimal PNG written by hand (16-bit data, or a header that declares any size)."""
    import struct
    import zlib

    h, w = (height, width) if width else arr.shape[:2]
    dt = ">u2" if bit_depth == 16 else "u1"
    raw = b"".join(b"\x00" + arr[y].astype(dt).tobytes() for y in range(arr.shape[0]))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw))
                     + chunk(b"IEND", b""))


def test_a_16_bit_grey_png_of_a_face_analyses_like_its_8_bit_version(tmp_path, shared_images):
    """The reported case: a 16-bit grayscale PNG decoded as 99.6 % white ('no face found'). Its 16-bit copy
    (v * 257, as image tools widen 8 to 16 bits) must decode to exactly the 8-bit image and give the same
    face analysis; 16-bit RGB likewise."""
    from headswapbench.face import analyze_image

    photo = next(p for p in shared_images if p.name == "lp_d19.jpg")
    gray8 = np.round(read_image(photo).astype(np.float64) @ [0.299, 0.587, 0.114]).astype(np.uint8)
    _png(tmp_path / "g8.png", gray8, 0, 8)
    _png(tmp_path / "g16.png", gray8.astype(np.uint16) * 257, 0, 16)
    a8, a16 = read_image(tmp_path / "g8.png"), read_image(tmp_path / "g16.png")
    assert a16.dtype == np.uint8 and a16.shape == (*gray8.shape, 3)
    np.testing.assert_array_equal(a16, a8)
    assert (a16 == 255).mean() < 0.05  # not the white page of the bug
    f8, f16 = analyze_image(a8, identity="dlib"), analyze_image(a16, identity="dlib")
    assert f8 is not None and f16 is not None
    np.testing.assert_array_equal(f16.landmarks, f8.landmarks)
    np.testing.assert_allclose(f16.identity, f8.identity, atol=1e-6)
    rgb8 = read_image(photo)
    _png(tmp_path / "rgb16.png", rgb8.astype(np.uint16) * 257, 2, 16)
    np.testing.assert_array_equal(read_image(tmp_path / "rgb16.png"), rgb8)


def test_alpha_palette_cmyk_and_exif_orientation(tmp_path):
    from PIL import Image as PILImage

    rgba = np.zeros((4, 6, 4), np.uint8)
    rgba[..., :3] = (10, 20, 30)
    rgba[:, :3, 3] = 255  # left half opaque, right half fully transparent (its stored colour is black-ish)
    PILImage.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    got = read_image(tmp_path / "a.png")
    assert (got[:, :3] == (10, 20, 30)).all() and (got[:, 3:] == 255).all()  # composited over white
    la = np.zeros((4, 4, 2), np.uint16)
    la[..., 0], la[..., 1] = 100 * 257, 32768  # 16-bit grey + half alpha
    _png(tmp_path / "la16.png", la, 4, 16)
    alpha = (32768 >> 8) / 255  # Pillow keeps the top byte of 16-bit samples
    expected = round(100 * alpha + 255 * (1 - alpha))  # 177: grey 100 half over white
    np.testing.assert_array_equal(read_image(tmp_path / "la16.png"), np.full((4, 4, 3), expected, np.uint8))
    pal = PILImage.new("P", (3, 2))
    pal.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    pal.putpixel((1, 0), 1)
    pal.save(tmp_path / "p.png")
    got = read_image(tmp_path / "p.png")
    assert got.shape == (2, 3, 3) and tuple(got[0, 0]) == (255, 0, 0) and tuple(got[0, 1]) == (0, 255, 0)
    pal.info["transparency"] = 0
    pal.save(tmp_path / "pt.png", transparency=0)
    assert tuple(read_image(tmp_path / "pt.png")[0, 0]) == (255, 255, 255)
    PILImage.new("CMYK", (5, 5), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=100)  # pure red in CMYK
    got = read_image(tmp_path / "c.jpg")
    assert got.shape == (5, 5, 3) and got[..., 0].min() > 200 and got[..., 1:].max() < 60
    wide = PILImage.fromarray(np.zeros((10, 30, 3), np.uint8))
    exif = wide.getexif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    wide.save(tmp_path / "o.jpg", exif=exif)
    assert read_image(tmp_path / "o.jpg").shape == (30, 10, 3)


def test_a_180_megapixel_png_is_refused_from_its_header(tmp_path):
    """The reported case: a 180-megapixel PNG gave a DecompressionBombError traceback. Refused in one line
    with the reason code, from the header (the file here is tiny: it only declares its size)."""
    from headswapbench.reasons import Reason
    from headswapbench.video import MAX_IMAGE_PIXELS

    for w, h in ((18_000, 10_000), (12_000, 9_000)):  # above Pillow's own limit, and between ours and Pillow's
        path = tmp_path / f"big{w}.png"
        _png(path, np.zeros((1, 1), np.uint8), 0, 8, width=w, height=h)
        with pytest.raises(VideoError, match=r"megapixels, above the 100-megapixel cap") as exc:
            read_image(path)
        assert exc.value.code == Reason.TOO_MANY_PIXELS and str(path) in str(exc.value)
        assert "\n" not in str(exc.value) and w * h > MAX_IMAGE_PIXELS
    (tmp_path / "trunc.png").write_bytes((tmp_path / "big18000.png").read_bytes()[:40])
    with pytest.raises(VideoError, match="unreadable image") as exc:
        read_image(tmp_path / "trunc.png")
    assert exc.value.code == Reason.UNREADABLE


# ---------------------------------------------------------------------------------------------------- resize
def test_resize_shrinks_by_averaging_and_keeps_w_h_order():
    img = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [20, 20, 30, 30], [20, 20, 30, 30]], np.uint8)
    assert resize_image(img, 2).tolist() == [[0, 10], [20, 30]]  # INTER_AREA: the mean of each 2x2 block
    assert resize_image(img, (4, 2)).tolist() == [[0, 0, 10, 10], [20, 20, 30, 30]]  # (w, h): rows halve
    assert resize_image(img, (2, 4)).tolist() == [[0, 10]] * 2 + [[20, 30]] * 2  # columns halve
    rgb = np.repeat(img[..., None], 3, axis=2)
    out = resize_frames(np.stack([rgb, 255 - rgb]), 2)
    assert out.shape == (2, 2, 2, 3) and out[1, :, :, 0].tolist() == [[255, 245], [235, 225]]
    assert resize_image(img, 4) is img and resize_frames(out, None) is out  # nothing to do: no copy


def test_resize_enlarges_with_bicubic_unless_told():
    import cv2

    img = np.zeros((4, 4), np.uint8)
    img[:, 2:] = 200  # a vertical edge: bicubic overshoots next to it, area (bilinear when enlarging) cannot
    up = resize_image(img, 8)
    assert np.array_equal(up, cv2.resize(img, (8, 8), interpolation=cv2.INTER_CUBIC))
    assert np.array_equal(resize_image(img, 8, cv2.INTER_AREA), cv2.resize(img, (8, 8), interpolation=cv2.INTER_AREA))
    assert not np.array_equal(up, resize_image(img, 8, cv2.INTER_AREA))
    # shrinking along one axis is enough for area (it must not alias), whatever the other axis does
    mixed = resize_image(img, (2, 8))
    assert np.array_equal(mixed, cv2.resize(img, (2, 8), interpolation=cv2.INTER_AREA))
