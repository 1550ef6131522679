"""A tiny real split for the evaluation tests, built once per session from ../shared/data.

Three subjects (real talking-head clips), four triplets of 16 frames at 160x160, 25 fps:
target = a real clip of subject A; reference = a frame of A from another time window of the same video;
driving = a real clip of ANOTHER subject (a *mismatched pairing*, labelled synthetic in metadata: it has a
different identity, like an edited V_c, but its motion is not A's). Built with the toolkit's own video IO
into the split contract layout (metadata.jsonl + SHA256SUMS), so `load_split` checks it like any split."""

from __future__ import annotations

import json
from pathlib import Path

from headswapbench.fileio import sha256_file

SIZE, FPS, T = 160, 25.0, 16
# subject → source video (all people differ; see ../shared/data/SOURCES.tsv)
SUBJECTS = {
    "klobuchar": "videos/edtalk_mouth_source.mp4",
    "mcguinness": "videos/vretalk_face_5.mp4",
    "d12man": "videos/lp_d12.mp4",
}
# clip_id, subject, target start frame, reference frame, driving subject, driving start frame
TRIPLETS = [
    ("klobuchar-000", "klobuchar", 0, 200, "mcguinness", 0),
    ("klobuchar-060", "klobuchar", 60, 200, "d12man", 0),
    ("mcguinness-040", "mcguinness", 40, 110, "d12man", 40),
    ("d12man-080", "d12man", 80, 170, "klobuchar", 100),
]


def many_triplets(n: int, frames: int = T) -> list[tuple]:
    """``n`` triplets cycling over the subjects and over time windows (for the benchmark's few/many runs)."""
    windows = {"klobuchar": ([0, 40, 80, 120, 160], 230), "mcguinness": ([0, 30, 60], 115),
               "d12man": ([0, 40, 80, 120], 175)}
    names = list(SUBJECTS)
    out = []
    for i in range(n):
        subject = names[i % len(names)]
        starts, ref = windows[subject]
        start = starts[(i // len(names)) % len(starts)]
        drv = names[(i + 1) % len(names)]
        drv_start = windows[drv][0][(i // len(names)) % len(windows[drv][0])]
        out.append((f"{subject}-{start:03d}-{i}", subject, start, ref, drv, drv_start))
    return out


def build_split(root: Path, shared_data: Path, name: str = "test", triplets: list[tuple] | None = None,
                frames: int = T, size: int = SIZE, subjects: dict[str, str] | None = None, fps: float = FPS) -> Path:
    """Write the split under ``root`` (skipped when already complete) and return ``root``. ``subjects``
    (subject → video under ``shared_data``) replaces `SUBJECTS` for triplets naming other subjects."""
    from headswapbench.video import read_video, write_image, write_video

    root = Path(root)
    if (root / "SHA256SUMS").exists():
        return root
    folder = root / name
    rows = []
    T, SIZE, FPS, sources = frames, size, fps, subjects or SUBJECTS
    for clip_id, subject, start, ref_frame, drv_subject, drv_start in triplets or TRIPLETS:
        src = shared_data / sources[subject]
        target = read_video(src, fps=FPS, start=start, num_frames=T, size=SIZE)
        reference = read_video(src, fps=FPS, start=ref_frame, num_frames=1, size=SIZE).frames[0]
        driving = read_video(shared_data / sources[drv_subject], fps=FPS, start=drv_start, num_frames=T, size=SIZE)
        write_video(folder / "target" / f"{clip_id}.mp4", target)
        write_video(folder / "driving" / f"{clip_id}.mp4", driving)
        write_image(folder / "reference" / f"{clip_id}.png", reference)
        rows.append({
            "clip_id": clip_id, "subject_id": subject, "source_video": sources[subject], "start_frame": start,
            "num_frames": T, "fps": FPS, "width": SIZE, "height": SIZE,
            "driving_file_name": f"driving/{clip_id}.mp4", "reference_file_name": f"reference/{clip_id}.png",
            "target_file_name": f"target/{clip_id}.mp4",
            "editor": "mismatched-pairing", "editor_version": "test", "prompt": "", "seed": 0,
            "synthetic": True,
            "note": f"SYNTHETIC test triplet: driving is a real clip of another subject ({drv_subject}, frames "
                    f"{drv_start}..{drv_start + T - 1}), not an edit of the target; reference is frame {ref_frame}",
        })
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    lines = [f"{sha256_file(p)}  {p.relative_to(root).as_posix()}" for p in sorted(folder.rglob("*")) if p.is_file()]
    (root / "README.md").write_text("---\nlicense: other\n---\nSynthetic test split (mismatched pairings).\n")
    (root / "SHA256SUMS").write_text("\n".join(lines) + "\n")
    return root


try:
    import pytest
except ImportError:  # pragma: no cover - benchmarks import build_split without pytest installed
    pytest = None

if pytest is not None:
    @pytest.fixture(scope="session")
    def eval_split(tmp_path_factory, shared_data) -> Path:
        """The split, in a folder whose name has a space and quotes (paths must survive every source)."""
        return build_split(tmp_path_factory.getbasetemp() / "eval split's \"root\"", shared_data)
