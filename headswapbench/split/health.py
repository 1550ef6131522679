"""Split health: is a split large and balanced enough for its scores to mean something?

A score averaged over a handful of people, or over one person's many clips, says little about a method: the
card and the build report give, per split, the subjects, the clips per subject (min / median / max) and the
share of the largest subject, and warn when an evaluation split (every split but ``train``) has fewer than
``MIN_EVAL_SUBJECTS`` subjects or one subject holds more than ``MAX_SUBJECT_SHARE`` of its clips. The build's
``--max-clips-per-subject`` is the balancing knob; ``cap_for_share`` suggests a value."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

import numpy as np

MIN_EVAL_SUBJECTS = 10
MAX_SUBJECT_SHARE = 0.30
TRAIN_SPLIT = "train"


def subject_balance(subject_ids: Iterable[str]) -> dict:
    """Subjects, clips, clips per subject (min / median / max) and the largest subject of one split (one id per
    clip); ``balancing_cap``: the ``--max-clips-per-subject`` that would bring the largest share within
    ``MAX_SUBJECT_SHARE`` (None when no cap can, or none is needed)."""
    counts = Counter(subject_ids)
    if not counts:
        return {"subjects": 0, "clips": 0, "clips_per_subject": None, "largest_subject": None,
                "balancing_cap": None}
    n = np.array(sorted(counts.values()))
    top, top_n = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    share = top_n / n.sum()
    return {
        "subjects": len(counts),
        "clips": int(n.sum()),
        "clips_per_subject": {"min": int(n.min()), "median": float(np.median(n)), "max": int(n.max())},
        "largest_subject": {"subject_id": top, "clips": int(top_n), "share": round(float(share), 4)},
        "balancing_cap": cap_for_share(n) if share > MAX_SUBJECT_SHARE else None,
    }


def cap_for_share(clips_per_subject: Iterable[int], share: float = MAX_SUBJECT_SHARE) -> int | None:
    """The largest per-subject cap N under which no subject holds more than ``share`` of the clips (None when
    no cap can: too few subjects, e.g. fewer than 4 for 30 %)."""
    counts = sorted(int(c) for c in clips_per_subject if c > 0)
    for cap in range(max(counts, default=0), 0, -1):
        kept = [min(c, cap) for c in counts]
        if max(kept) <= share * sum(kept) + 1e-9:
            return cap
    return None


def health_warnings(stats: Mapping[str, dict]) -> list[str]:
    """One sentence per problem, per evaluation split. ``stats``: split → ``subject_balance`` fields (the card's
    statistics, ``dataset_stats``)."""
    out = []
    for name, s in stats.items():
        if name == TRAIN_SPLIT or not s.get("clips"):
            continue
        if s["subjects"] < MIN_EVAL_SUBJECTS:
            out.append(f"split '{name}' has {s['subjects']} subject(s), fewer than {MIN_EVAL_SUBJECTS}: its scores "
                       f"rest on few people (add videos of more people)")
        top = s.get("largest_subject") or {}
        if top.get("share", 0) > MAX_SUBJECT_SHARE:
            cap = s.get("balancing_cap")
            fix = (f"--max-clips-per-subject {cap} balances it" if cap else
                   "too few subjects for any --max-clips-per-subject to balance it")
            out.append(f"split '{name}': subject {top['subject_id']} holds {top['clips']} of {s['clips']} clips "
                       f"({top['share']:.0%} > {MAX_SUBJECT_SHARE:.0%}); {fix}")
    return out
