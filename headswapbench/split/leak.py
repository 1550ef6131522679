"""Identity-leak baseline of a split: how often the driving clip V_c alone retrieves the right subject.

A head editor that changes only part of the head leaves hair, ears and head shape to identify the person, so a
swapper that returns V_c unchanged already "retrieves" the target subject more often than chance. This is that
number, measured the way the ``identity_retrieval`` metric measures a swapper's outputs
(``headswapbench.face.retrieval``): query = each V_c's clip identity, gallery = one embedding per subject (the
re-normalised mean of its clips' reference-image embeddings), top-1 beside chance = 1 / subjects. A split
whose baseline is far above chance rewards doing nothing on identity metrics.

    identity_leak_baseline([(subject_id, driving_path, reference_path), ...], identity="dlib")
    split_leak_baseline(load_split(root, "test"))
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..errors import FaceNotFoundError, VideoError
from ..face.retrieval import own_subject_ranks, subject_gallery, top_k_rate
from .read import Split


def identity_leak_baseline(entries: Iterable[tuple[str, str | Path, str | Path]], *, identity: str = "dlib",
                           identity_every: int | str | None = None, progress: bool = False) -> dict:
    """Top-1 retrieval of each driving clip against the per-subject reference gallery, beside chance.

    ``entries``: (subject_id, driving clip, reference image) per clip. ``identity_every`` is passed to
    ``analyze_video`` (the build passes the filter's stride, so V_c's cached analysis is reused). ``top1`` is
    None when undefined (one subject, or no clip with a face)."""
    from tqdm.auto import tqdm

    from ..face import analyze_image, analyze_video
    from ..video import read_image

    entries = list(entries)
    subjects, queries, gallery = [], [], {}
    ref_cache: dict[str, np.ndarray | None] = {}
    no_ref = 0
    for subject, driving, reference in tqdm(entries, desc="identity-leak baseline", unit="clip",
                                            disable=not progress, leave=False):
        a = analyze_video(driving, identity=identity, identity_every=identity_every, progress=False)
        queries.append(a.mean_identity())
        subjects.append(subject)
        key = str(Path(reference).resolve())
        if key not in ref_cache:
            try:
                ref_cache[key] = analyze_image(read_image(reference), identity=identity).identity
            except (FaceNotFoundError, VideoError):
                ref_cache[key] = None
        if ref_cache[key] is None:
            no_ref += 1
        else:
            gallery.setdefault(subject, []).append(ref_cache[key])
    names, g = subject_gallery(gallery)
    ranks = own_subject_ranks(names, g, subjects, queries)
    top1 = top_k_rate(ranks, 1, len(names))
    n_subjects = len(set(subjects))
    return {
        "top1": None if not np.isfinite(top1) else round(top1, 4),
        "chance": round(1.0 / n_subjects, 4) if n_subjects else None,
        "subjects": n_subjects,
        "clips": len(entries),
        "clips_scored": int(np.isfinite(ranks).sum()),
        "clips_without_face": int(sum(q is None for q in queries)),
        "references_without_face": no_ref,
        "identity_backend": identity,
    }


def split_leak_baseline(split: Split, **kwargs) -> dict:
    """``identity_leak_baseline`` over a loaded split's rows (its driving clips and reference images)."""
    return identity_leak_baseline(((r.subject_id, split.driving_path(r), split.reference_path(r)) for r in split),
                                  **kwargs)
