"""Ingest: raw talking-head videos → square head clips (V_a), reference-frame candidates, subjects.

One runner item is one raw video. Per video:

1. ``probe`` it and refuse what cannot become a clip (unreadable, no video stream, too short, odd aspect
   ratio, too many pixels) with a recorded reason;
2. stream it once at a reduced *analysis* size in chunks (memory stays flat whatever the length or the
   resolution), track the main face (``headswapbench.face.analyze_video``) and count the other faces;
3. cut non-overlapping windows of ``frames`` frames in which exactly one face is present in every frame,
   large enough in source pixels;
4. per window, one *fixed* square crop window around the whole head (see ``head_window``), read the window's
   frames at full resolution in chunks, crop, resize to ``size``, reject it when the face is blurry, write
   the clip atomically;
5. write a few reference-frame candidates (frontal, sharp frames spread over the video) as PNG head crops.

The global step ``assign_subjects_and_references`` then groups videos into subjects (a CSV, or agglomerative
clustering of mean identity embeddings) and gives each clip a reference image from a *different* time
window of the same subject.
"""

from __future__ import annotations

import csv
import ctypes
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from headswapbench.face.measures import box_iou
from headswapbench.reasons import Reason
from headswapbench.runner import SkipItem

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv", ".ts"}


@dataclass(frozen=True)
class IngestSettings:
    """Every knob of ingest; part of the build's settings hash (docs/build.md explains each default)."""

    frames: int = 121  # clip length, as the published split
    size: int = 512  # output side (square)
    analysis_size: int = 512  # longest side of the frames the face tracker sees
    min_face_frac: float = 0.25  # face side in source px must be ≥ this × size (≤ 2× upscaling of the crop)
    min_sharpness: float = 40.0  # median Laplacian variance of the 64×64 grey face crop (measured, see docs)
    head_scale: float = 2.0  # crop side = head_scale × median face side (face box = landmark extent)
    head_lift: float = 0.2  # crop centre moved up by this × face side (hair above, less neck)
    max_head_motion: float = 1.5  # a window that must grow beyond this × its base side to hold the head: skip
    second_face_frac: float = 0.3  # another face at least this × the main face size makes a frame unusable
    max_aspect: float = 2.5  # display aspect ratio (long/short side) above which a video is refused
    max_pixels: int = 3840 * 2160  # display pixels above which a video is refused (8K and up)
    max_clips_per_video: int = 0  # 0 = all non-overlapping windows
    ref_gap_s: float = 2.0  # a reference from the same video must be at least this far from the clip
    ref_candidates: int = 8  # reference candidates written per video (spread over time)
    identity_every: int = 15  # identity embedding every N frames (dlib ≈ 0.1 s/face on CPU)
    chunk_bytes: int = 96 << 20  # decoded full-resolution bytes read at once (peak ≈ 2× this: decode + copy)

    def min_face_px(self) -> float:
        return self.min_face_frac * self.size


@dataclass
class FrameTrack:
    """Per-frame facts of one video at analysis scale, converted to source pixels."""

    found: np.ndarray  # [T] bool, the main face was tracked
    boxes: np.ndarray  # [T,4] source px (nan if none)
    pose: np.ndarray  # [T,3] yaw, pitch, roll degrees
    others: np.ndarray  # [T] number of other faces at least second_face_frac × main face size
    identity: np.ndarray  # [N,E]
    identity_frames: np.ndarray  # [N]
    backends: dict = field(default_factory=dict)


def video_key(raw_dir: Path, path: Path) -> str:
    """A stable, filesystem-safe id for a raw video from its path relative to RAW_DIR."""
    rel = path.relative_to(raw_dir).as_posix()
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", rel.rsplit(".", 1)[0]).strip("-") or "video"
    if stem != rel.rsplit(".", 1)[0].replace("/", "-"):
        stem += "-" + hashlib.sha1(rel.encode()).hexdigest()[:6]  # keep ids unique after sanitising
    return stem


def scan_videos(raw_dir: str | Path, exclude: str | Path | None = None) -> list[tuple[str, Path]]:
    """(video key, path) for every file in RAW_DIR (recursively) with a video suffix, sorted; other files
    are ignored here (an audio-only .mp4 is caught by probe, a .txt is simply not a video). Hidden files and
    folders, and ``exclude`` (the build's own OUT_DIR when it lies inside RAW_DIR), are skipped."""
    raw_dir = Path(raw_dir)
    skip = Path(exclude).resolve() if exclude is not None else None
    files = []
    for p in raw_dir.rglob("*"):
        rel = p.relative_to(raw_dir).parts
        if not p.is_file() or p.suffix.lower() not in VIDEO_SUFFIXES or any(x.startswith(".") for x in rel):
            continue
        if skip is not None and (skip == p.resolve() or skip in p.resolve().parents):
            continue
        files.append(p)
    return [(video_key(raw_dir, p), p) for p in sorted(files)]


def read_subjects_csv(path: str | Path, raw_dir: str | Path) -> dict[str, str]:
    """CSV with columns ``video`` (path relative to RAW_DIR) and ``subject`` → {video key: subject}."""
    from headswapbench.errors import HeadSwapBenchError

    raw_dir = Path(raw_dir)
    out: dict[str, str] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"video", "subject"} <= set(reader.fieldnames):
            raise HeadSwapBenchError(
                f"{path}: subjects CSV needs the columns 'video' and 'subject', got {reader.fieldnames}"
            )
        for n, row in enumerate(reader, 2):
            video, subject = (row["video"] or "").strip(), (row["subject"] or "").strip()
            if not video or not subject:
                raise HeadSwapBenchError(f"{path}:{n}: empty video or subject")
            out[video_key(raw_dir, raw_dir / video)] = subject
    return out


# --------------------------------------------------------------------------------------------- geometry
def head_window(boxes: np.ndarray, frame_wh: tuple[int, int], s: IngestSettings) -> tuple[int, int, int]:
    """One fixed square crop (x0, y0, side) in source pixels for a whole clip, or SkipItem.

    Why fixed: a crop that follows the face adds camera motion that is not in the footage and jitters with
    the landmark noise; even heavy smoothing leaves slow drift the swapper would have to reproduce. A fixed
    window has zero crop jitter by construction and keeps the real head motion (as VoxCeleb/HDTF-style crops
    do). Its side is ``head_scale`` × the median face side (face box = landmark extent, brows to chin, so 2×
    reaches the hair and the neck) centred ``head_lift`` face sides above the median face centre; it grows to
    hold every frame's face box plus hair and is then shifted into the frame."""
    w, h = frame_wh
    fs = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    face = float(np.median(fs))
    cx = float(np.median((boxes[:, 0] + boxes[:, 2]) / 2))
    cy = float(np.median((boxes[:, 1] + boxes[:, 3]) / 2)) - s.head_lift * face
    base = s.head_scale * face
    # every frame's face plus a band of hair above it must lie inside the window
    need_x = np.max(np.abs(np.concatenate([boxes[:, 0], boxes[:, 2]]) - cx))
    need_y = np.max(np.abs(np.concatenate([boxes[:, 1] - 0.35 * fs, boxes[:, 3]]) - cy))
    side = max(base, 2 * need_x * 1.05, 2 * need_y * 1.05)
    if side > s.max_head_motion * base:
        raise SkipItem(
            Reason.HEAD_MOTION,
            f"holding the head needs a window {side / base:.2f}× the base one (limit {s.max_head_motion}×)",
            window_growth=round(side / base, 3),
        )
    wanted = side
    side = min(side, float(min(w, h)))
    if side < 2 * max(need_x, need_y) or side < 1.3 * face:
        raise SkipItem(
            Reason.HEAD_CUT_OFF,
            f"the head with its margin needs a {wanted:.0f} px window, the frame is {w}x{h}",
            face_px=round(face, 1),
            frame=[w, h],
        )
    x0 = min(max(cx - side / 2, 0.0), w - side)
    y0 = min(max(cy - side / 2, 0.0), h - side)
    if (
        boxes[:, 0].min() < x0
        or boxes[:, 2].max() > x0 + side
        or boxes[:, 1].min() < y0
        or boxes[:, 3].max() > y0 + side
    ):
        raise SkipItem(Reason.HEAD_CUT_OFF, "the face leaves the crop window once it is moved inside the frame")
    side_i = int(round(side))
    return int(round(x0)), int(round(y0)), min(side_i, w - int(round(x0)), h - int(round(y0)))


def crop_resize(frames: np.ndarray, window: tuple[int, int, int], size: int) -> np.ndarray:
    from headswapbench.video import resize_frames

    x0, y0, side = window
    return np.ascontiguousarray(resize_frames(frames[:, y0 : y0 + side, x0 : x0 + side], size))


def sharpness(frames: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Laplacian variance of the grey face crop resized to 64×64 (a fixed size, so it does not depend on the
    clip's resolution); boxes in the frames' pixels. Blur and heavy compression both lower it."""
    import cv2

    from headswapbench.video import resize_image

    out = np.zeros(len(frames))
    for i, (f, b) in enumerate(zip(frames, boxes)):
        x0, y0 = max(int(b[0]), 0), max(int(b[1]), 0)
        x1, y1 = min(int(np.ceil(b[2])), f.shape[1]), min(int(np.ceil(b[3])), f.shape[0])
        if x1 - x0 < 4 or y1 - y0 < 4:
            continue
        grey = cv2.cvtColor(np.ascontiguousarray(f[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
        grey = resize_image(grey, 64, cv2.INTER_AREA)  # AREA both ways: the calibrated thresholds assume it
        out[i] = cv2.Laplacian(grey, cv2.CV_64F).var()
    return out


# --------------------------------------------------------------------------------------------- analysis
class _FaceCounter:
    """Counts faces besides the tracked one (the tracker follows one subject and ignores the others by
    design; ingest must refuse frames where a second sizeable face is visible)."""

    def __init__(self):
        import mediapipe as mp

        from headswapbench.face.landmarks import warm_graph  # built quietly, like the tracker's own graphs

        self._det = warm_graph(lambda: mp.solutions.face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=0.6))

    def others(self, frame: np.ndarray, main_box: np.ndarray | None, min_frac: float) -> int:
        res = self._det.process(np.ascontiguousarray(frame))
        h, w = frame.shape[:2]
        main = (
            float(np.sqrt(max((main_box[2] - main_box[0]) * (main_box[3] - main_box[1]), 1.0)))
            if main_box is not None and np.isfinite(main_box).all()
            else 0.0
        )
        n = 0
        for det in res.detections or []:
            rb = det.location_data.relative_bounding_box
            box = np.array([rb.xmin * w, rb.ymin * h, (rb.xmin + rb.width) * w, (rb.ymin + rb.height) * h])
            size = float(np.sqrt(max(rb.width * w * rb.height * h, 0.0)))
            if main_box is not None and np.isfinite(main_box).all() and box_iou(box, main_box) > 0.2:
                continue  # the tracked face itself
            if size >= min_frac * max(main, 1.0):
                n += 1
        return n

    def close(self):
        self._det.close()


def release_memory() -> None:
    """Hand freed heap pages back to the OS. glibc keeps them, so RSS crept up ≈ 1.4 MB per face-analysis
    call (60 calls measured: 250 → 386 MB; flat at ≈ 240 MB with ``malloc_trim``). No-op off glibc."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _chunk_len(width: int, height: int, s: IngestSettings) -> int:
    return int(np.clip(s.chunk_bytes // max(width * height * 3, 1), 4, 64))


def output_fps(info) -> float:
    """The constant rate clips are cut at: the source's rate, or for variable-rate sources its average rounded
    to a whole number (read_video resamples to it, so a clip's frames are evenly spaced in time)."""
    return float(max(1, round(info.fps))) if info.is_vfr else float(info.fps)


def analyse_stream(
    path: Path, info, s: IngestSettings, count_every: int = 2, progress: bool = False
) -> FrameTrack:
    """Track the main face over the whole video at analysis size, chunk by chunk (flat memory)."""
    from headswapbench.face import analyze_video
    from headswapbench.types import Video
    from headswapbench.video import read_video

    W, H = info.display_width, info.display_height
    scale = min(1.0, s.analysis_size / max(W, H))
    aw, ah = max(2, int(round(W * scale / 2)) * 2), max(2, int(round(H * scale / 2)) * 2)
    sx, sy = W / aw, H / ah
    fps = output_fps(info)
    n = info.cfr_num_frames(fps)
    chunk = 64  # frames per analysis call (tracking restarts at each call; identity sampled within it)
    read = _chunk_len(W, H, s)  # full-resolution frames decoded at once before shrinking
    found, boxes, pose, others, ids, id_frames = [], [], [], [], [], []
    from tqdm.auto import tqdm

    counter = _FaceCounter()
    backends: dict = {}
    bar = tqdm(total=n, desc=f"track {path.name}", unit="frame", leave=False, disable=not progress)
    try:
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            clip = Video(
                np.concatenate(
                    [
                        read_video(
                            path, fps=fps, start=t, num_frames=min(read, start + m - t), size=(aw, ah)
                        ).frames
                        for t in range(start, start + m, read)
                    ]
                ),
                fps,
            )
            a = analyze_video(clip, identity_every=s.identity_every, cache=False, progress=False)
            backends = a.backends
            b = np.asarray(a.boxes, dtype=np.float64) * np.array([sx, sy, sx, sy])
            found.append(np.asarray(a.face_found, bool))
            boxes.append(b)
            pose.append(
                np.asarray(a.pose, dtype=np.float64) if a.pose is not None else np.full((m, 3), np.nan)
            )
            cnt = np.zeros(m, dtype=np.int64)
            for t in range(
                0, m, count_every
            ):  # every 2nd frame: a second face rarely flickers in for 1 frame
                c = counter.others(
                    clip.frames[t], np.asarray(a.boxes[t]) if a.face_found[t] else None, s.second_face_frac
                )
                cnt[t : t + count_every] = c
            others.append(cnt)
            if a.identity is not None and len(a.identity):
                ids.append(np.asarray(a.identity, dtype=np.float64))
                id_frames.append(np.asarray(a.identity_frames, dtype=np.int64) + start)
            del clip
            release_memory()
            bar.update(m)
    finally:
        counter.close()
        bar.close()
    E = ids[0].shape[1] if ids else 0
    return FrameTrack(
        found=np.concatenate(found),
        boxes=np.concatenate(boxes),
        pose=np.concatenate(pose),
        others=np.concatenate(others),
        identity=np.concatenate(ids) if ids else np.zeros((0, E)),
        identity_frames=np.concatenate(id_frames) if id_frames else np.zeros(0, np.int64),
        backends=backends,
    )


def usable_windows(ok: np.ndarray, frames: int, max_clips: int = 0) -> list[int]:
    """Start frames of non-overlapping runs of ``frames`` consecutive usable frames (greedy)."""
    starts, t, n = [], 0, len(ok)
    while t + frames <= n:
        bad = np.flatnonzero(~ok[t : t + frames])
        if bad.size:
            t += int(bad[-1]) + 1
            continue
        starts.append(t)
        t += frames
        if max_clips and len(starts) >= max_clips:
            break
    return starts


def _why_unusable(track: FrameTrack, big: np.ndarray, frames: int) -> tuple[Reason, str, dict]:
    """The dominant reason a video gave no clip (code, detail), with the per-criterion frame shares as scores."""
    shares = {
        Reason.NO_FACE: float(np.mean(~track.found)),
        Reason.MULTIPLE_FACES: float(np.mean(track.others > 0)),
        Reason.FACE_TOO_SMALL: float(np.mean(track.found & ~big)),
    }
    scores = {f"share_{k}": round(v, 4) for k, v in shares.items()}
    worst = max(shares, key=shares.get)
    if shares[worst] == 0:
        return Reason.NO_CLEAN_WINDOW, f"no run of {frames} usable frames", scores
    text = {
        Reason.NO_FACE: "no face found in {:.0%} of frames",
        Reason.MULTIPLE_FACES: "another face in {:.0%} of frames",
        Reason.FACE_TOO_SMALL: "face smaller than the minimum in {:.0%} of frames",
    }[worst]
    return worst, text.format(shares[worst]) + f" (no {frames}-frame window left)", scores


def _unit(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v)
    return v / norm if norm > 0 else v


def _round(a, nd: int = 5) -> list:
    return np.round(np.asarray(a, dtype=np.float64), nd).tolist()


def ingest_video(key: str, path: Path, folder: Path, s: IngestSettings, progress: bool = False) -> dict:
    """Cut one raw video into head clips + reference candidates under ``folder`` (file names in the record are
    relative to it, so a build folder can move); SkipItem with a reason if the video gives no clip."""
    from headswapbench.errors import VideoError
    from headswapbench.video import probe, read_video, write_video

    clips_dir = folder / "clips"

    try:
        info = probe(path)
    except VideoError as exc:
        raise SkipItem(exc.code, exc.cause) from None
    W, H = info.display_width, info.display_height
    facts = {"width": W, "height": H, "fps": round(output_fps(info), 4), "is_vfr": info.is_vfr}
    if W * H > s.max_pixels:
        raise SkipItem(Reason.TOO_LARGE, f"{W}x{H} is above the {s.max_pixels}-pixel limit", **facts)
    if max(W, H) / max(min(W, H), 1) > s.max_aspect:
        raise SkipItem(Reason.ODD_ASPECT, f"{W}x{H}: aspect {max(W, H) / min(W, H):.2f} > {s.max_aspect}", **facts)
    fps = output_fps(info)
    n = info.cfr_num_frames(fps)
    if n < s.frames:
        raise SkipItem(Reason.TOO_SHORT, f"{n} frames, fewer than one {s.frames}-frame clip", **facts)
    try:
        track = analyse_stream(path, info, s, progress=progress)
    except VideoError as exc:
        raise SkipItem(exc.code, exc.cause, **facts) from None

    fs = np.where(
        track.found,
        np.maximum(track.boxes[:, 2] - track.boxes[:, 0], track.boxes[:, 3] - track.boxes[:, 1]),
        0.0,
    )
    big = fs >= s.min_face_px()
    ok = track.found & (track.others == 0) & big
    starts = usable_windows(ok, s.frames, s.max_clips_per_video)
    if not starts:
        code, detail, scores = _why_unusable(track, big, s.frames)
        raise SkipItem(code, detail, **facts, **scores)

    chunk = _chunk_len(W, H, s)
    clips, rejected = [], []
    for start in starts:
        cid = f"{key}_{start:06d}"
        b = track.boxes[start : start + s.frames]
        try:
            window = head_window(b, (W, H), s)
        except SkipItem as skip:
            rejected.append({"clip_id": cid, "code": skip.code.value, "reason": skip.reason, **skip.scores})
            continue
        x0, y0, side = window
        parts = [
            crop_resize(
                read_video(path, fps=fps, start=t, num_frames=min(chunk, start + s.frames - t)).frames,
                window,
                s.size,
            )
            for t in range(start, start + s.frames, chunk)
        ]
        frames = np.concatenate(parts)
        k = s.size / side
        fb = (b - np.array([x0, y0, x0, y0])) * k
        sharp = float(np.median(sharpness(frames[::4], fb[::4])))
        if sharp < s.min_sharpness:
            rejected.append(
                {
                    "clip_id": cid,
                    "code": Reason.BLURRY.value,
                    "reason": f"face sharpness {sharp:.1f} < {s.min_sharpness}",
                    "sharpness": round(sharp, 2),
                }
            )
            continue
        emb_rows = (track.identity_frames >= start) & (track.identity_frames < start + s.frames)
        emb = _unit(track.identity[emb_rows].mean(0)) if emb_rows.any() else None
        out = clips_dir / f"{cid}.mp4"
        write_video(out, frames, fps=fps)
        clips.append(
            {
                "clip_id": cid,
                "file": f"clips/{cid}.mp4",
                "start_frame": int(start),
                "num_frames": s.frames,
                "fps": fps,
                "window": [x0, y0, side],
                "face_px": round(float(np.median(fs[start : start + s.frames])), 1),
                "sharpness": round(sharp, 2),
                "identity": _round(emb) if emb is not None else None,
            }
        )
    if not clips:
        first = rejected[0]  # every window was rejected: the video's reason is the first window's
        raise SkipItem(first["code"], first["reason"], **facts, rejected_clips=rejected)

    refs = write_reference_candidates(key, path, info, fps, track, ok, folder / "refs", s)
    all_ids = track.identity[np.isin(track.identity_frames, np.flatnonzero(ok))]
    return {
        **facts,
        "num_frames_cfr": n,
        "clips": clips,
        "rejected_clips": rejected,
        "references": refs,
        "identity": _round(_unit(all_ids.mean(0))) if len(all_ids) else None,
        "usable_share": round(float(ok.mean()), 4),
        "backends": track.backends,
    }


def write_reference_candidates(
    key: str,
    path: Path,
    info,
    fps: float,
    track: FrameTrack,
    ok: np.ndarray,
    refs_dir: Path,
    s: IngestSettings,
) -> list[dict]:
    """A few frontal, sharp head crops spread over the video (one per time segment), written as PNG."""
    from headswapbench.video import read_frames, source_indices, write_image

    src = source_indices(info, fps)
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return []
    segments = np.array_split(idx, min(s.ref_candidates, idx.size))
    out = []
    for seg in segments:
        frontal = np.abs(track.pose[seg, 0]) + np.abs(track.pose[seg, 1])
        t = int(seg[np.nanargmin(np.where(np.isfinite(frontal), frontal, np.inf))])
        b = track.boxes[t]
        try:
            window = head_window(b[None], (info.display_width, info.display_height), s)
        except SkipItem:
            continue
        frame = read_frames(path, [int(src[t])], info)
        img = crop_resize(frame, window, s.size)[0]
        x0, y0, side = window
        fb = (b - np.array([x0, y0, x0, y0])) * (s.size / side)
        sharp = float(sharpness(img[None], fb[None])[0])
        if sharp < s.min_sharpness:
            continue
        rows = np.abs(track.identity_frames - t)
        emb = track.identity[int(np.argmin(rows))] if len(rows) else None
        p = refs_dir / key / f"{t:06d}.png"
        write_image(p, img)
        out.append(
            {
                "frame": t,
                "file": f"refs/{key}/{t:06d}.png",
                "yaw": round(float(track.pose[t, 0]), 2),
                "pitch": round(float(track.pose[t, 1]), 2),
                "sharpness": round(sharp, 2),
                "identity": _round(emb) if emb is not None else None,
            }
        )
    return out


# ------------------------------------------------------------------------------- subjects and references
def cluster_subjects(embeddings: dict[str, np.ndarray], threshold: float) -> dict[str, str]:
    """Group videos whose mean identity embeddings are alike: single-linkage agglomerative clustering on
    cosine distance, cut at ``1 - threshold`` (the identity backend's same-person similarity).

    Single linkage errs toward merging (one similar pair joins two groups): two people merged into one subject
    only cost a subject, while one person split into two subjects could land in train and test and leak
    identity across splits. A subject is named after its first video (sorted), so names do not depend on
    clustering order."""
    from scipy.cluster.hierarchy import fcluster, linkage

    keys = sorted(embeddings)
    if not keys:
        return {}
    if len(keys) == 1:
        return {keys[0]: f"subj-{keys[0]}"}
    X = np.stack([_unit(np.asarray(embeddings[k], dtype=np.float64)) for k in keys])
    d = np.clip(1.0 - X @ X.T, 0.0, 2.0)
    iu = np.triu_indices(len(keys), 1)
    labels = fcluster(linkage(d[iu], method="single"), t=1.0 - threshold, criterion="distance")
    first: dict[int, str] = {}
    for k, lab in zip(keys, labels):
        first.setdefault(int(lab), k)
    return {k: f"subj-{first[int(lab)]}" for k, lab in zip(keys, labels)}


def pick_reference(
    clip: dict, video: str, subject_videos: dict[str, dict], gap_frames: dict[str, int], min_similarity: float
) -> dict | None:
    """The most frontal (then sharpest) candidate of the same subject outside the clip's time window
    (± ``ref_gap_s``) and similar enough in identity (guards against a mis-grouped video)."""
    emb = np.asarray(clip["identity"]) if clip.get("identity") is not None else None
    best, best_key = None, None
    for v, rec in sorted(subject_videos.items()):
        for ref in rec.get("references", []):
            if v == video:
                lo = clip["start_frame"] - gap_frames[v]
                hi = clip["start_frame"] + clip["num_frames"] + gap_frames[v]
                if lo <= ref["frame"] < hi:
                    continue
            if (
                emb is not None
                and ref.get("identity") is not None
                and float(emb @ _unit(np.asarray(ref["identity"]))) < min_similarity
            ):
                continue
            key = (abs(ref["yaw"]) + abs(ref["pitch"]), -ref["sharpness"], v, ref["frame"])
            if best_key is None or key < best_key:
                best, best_key = {**ref, "video": v}, key
    return best


def assign_subjects_and_references(
    videos: dict[str, dict], s: IngestSettings, mapping: dict[str, str] | None, same_threshold: float
) -> tuple[dict[str, str], dict[str, dict], dict[str, dict]]:
    """→ (video → subject, clip_id → reference candidate, clip_id → {code, reason} of clips left without one)."""
    if mapping:
        subjects = {v: mapping.get(v, f"subj-{v}") for v in videos}
    else:
        embs = {v: np.asarray(r["identity"]) for v, r in videos.items() if r.get("identity") is not None}
        subjects = cluster_subjects(embs, same_threshold)
        subjects.update({v: f"subj-{v}" for v in videos if v not in subjects})
    by_subject: dict[str, dict[str, dict]] = {}
    for v, rec in videos.items():
        by_subject.setdefault(subjects[v], {})[v] = rec
    gap = {v: int(round(s.ref_gap_s * rec["fps"])) for v, rec in videos.items()}
    refs, missing = {}, {}
    for v, rec in sorted(videos.items()):
        for clip in rec["clips"]:
            ref = pick_reference(clip, v, by_subject[subjects[v]], gap, same_threshold)
            if ref is None:
                missing[clip["clip_id"]] = {
                    "code": Reason.NO_REFERENCE.value,
                    "reason": f"no frontal, sharp frame of subject {subjects[v]} at least {s.ref_gap_s:g}s away "
                              f"from the clip",
                }
            else:
                refs[clip["clip_id"]] = ref
    return subjects, refs, missing
