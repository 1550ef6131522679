"""The dataset card (``README.md``): YAML front matter the Hub and ``datasets`` read, plus a human summary.

The YAML declares, per split, the files of that split and the column types, so ``datasets.load_dataset(root)``
loads every split with its three file columns as ``Video(decode=False)`` ({'path', 'bytes'}): decoding
through torchcodec needs FFmpeg shared libraries a plain pip install lacks, and the video builder only resolves
file paths for columns of its own type, so the png ``reference`` column is declared the same way; turn it into
images with ``ds.cast_column("reference", datasets.Image())`` (same storage, tested)."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..fileio import atomic_write_text
from .health import MAX_SUBJECT_SHARE, MIN_EVAL_SUBJECTS, health_warnings, subject_balance
from .paths import CARD_FILE, CHECKSUMS_FILE, FILE_COLUMNS, METADATA_FILE
from .read import find_splits, load_split
from .schema import FLOAT_COLUMNS

TASK_CATEGORIES = ["video-to-video", "image-to-video"]
TAGS = ["head-swap", "face-swap", "video-editing", "talking-head", "paired", "synthetic-driving"]


@dataclass
class DatasetInfo:
    """What the card says about how the data was made (the build fills it in)."""

    name: str = "HeadSwapBench (local build)"
    license: str = "other"
    license_note: str = ("Derived from the input videos: the licence of those videos applies. Driving clips are "
                         "synthetic edits (new heads); targets and references are real footage.")
    editor: dict = field(default_factory=dict)
    filter: dict = field(default_factory=dict)
    ingest: dict = field(default_factory=dict)
    split_seed: int = 0
    split_ratios: dict = field(default_factory=dict)  # {} = the assignment to splits is not recorded
    sources: str = ""
    toolkit_version: str = ""
    max_clips_per_subject: int = 0  # the build's cap (0 = none)
    leak_baseline: dict = field(default_factory=dict)  # split → identity_leak_baseline(...) ({} = not measured)


def dataset_stats(root: str | Path) -> dict:
    """Per-split counts (clips, subjects, clips per subject, frames, resolutions, fps) read from the metadata."""
    root = Path(root)
    stats = {}
    for name in find_splits(root):
        rows = load_split(root, name, verify="none").rows
        res = Counter(f"{r.width}x{r.height}" for r in rows)
        stats[name] = {**subject_balance(r.subject_id for r in rows),
                       "frames": sum(int(r.num_frames) for r in rows),
                       "frames_per_clip": sorted({int(r.num_frames) for r in rows}),
                       "resolution": dict(sorted(res.items())), "fps": sorted({float(r.fps) for r in rows}),
                       "editors": sorted({f"{r.editor} {r.editor_version}".strip() for r in rows})}
    return stats


def _features_yaml(root: Path, splits: list[str]) -> list:
    """Column types from the metadata itself (so extra columns load), file columns replaced by media types."""
    import pyarrow as pa
    from datasets import Features, Video

    rows = []
    for name in splits:
        with open(root / name / METADATA_FILE, encoding="utf-8") as fh:
            rows.extend(json.loads(line) for line in fh if line.strip())
    schema = pa.Table.from_pylist(rows).schema
    feats = Features.from_arrow_schema(schema)
    out = {}
    for key, feat in feats.items():
        if key in FILE_COLUMNS:
            base = key[: -len("_file_name")]
            out[base] = Video(decode=False)  # the video builder only resolves paths of its own type
        elif str(getattr(feat, "dtype", "")) == "null":
            from datasets import Value

            out[key] = Value("float64") if key in FLOAT_COLUMNS else Value("string")
        else:
            out[key] = feat
    return Features(out)._to_yaml_list()


def card_yaml(root: Path, info: DatasetInfo, stats: dict) -> dict:
    splits = list(stats)
    total_clips = sum(s["clips"] for s in stats.values())
    size = "n<1K" if total_clips < 1000 else "1K<n<10K" if total_clips < 10000 else "10K<n<100K"
    config = {
        "config_name": "default",
        "data_files": [{"split": name, "path": [f"{name}/{METADATA_FILE}", f"{name}/driving/*.mp4",
                                                 f"{name}/reference/*", f"{name}/target/*.mp4"]}
                       for name in splits],
        "features": _features_yaml(root, splits),
        "drop_labels": True,
    }
    return {
        "pretty_name": info.name,
        "license": info.license,
        **({"license_name": "input-video-licences", "license_details": info.license_note}
           if info.license == "other" else {}),
        "task_categories": TASK_CATEGORIES,
        "tags": TAGS,
        "size_categories": [size],
        "configs": [config],
        "headswapbench": {
            "statistics": stats,
            "editor": info.editor,
            "filter": info.filter,
            "ingest": info.ingest,
            "split": {"seed": info.split_seed, "ratios": info.split_ratios,
                      "by": "subject_id (sha256 of seed:subject)",
                      "max_clips_per_subject": info.max_clips_per_subject or None},
            "health": {"warnings": health_warnings(stats), "min_eval_subjects": MIN_EVAL_SUBJECTS,
                       "max_subject_share": MAX_SUBJECT_SHARE},
            "identity_leak_baseline": {name: info.leak_baseline[name] for name in splits
                                       if name in info.leak_baseline},
            "checksums": CHECKSUMS_FILE,
            "toolkit_version": info.toolkit_version,
        },
    }


def render_card(root: Path, info: DatasetInfo, stats: dict) -> str:
    import yaml

    meta = card_yaml(root, info, stats)
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    lines = [f"---\n{front}---", "", f"# {info.name}", "",
             ("Paired video head-swap triplets built with HeadSwapBench. Each row: a **driving** clip V_c (the "
              "real clip given a *new* head by a video editor, pose and expression frame-synchronised), a "
              "**reference** image I_ref of the original person taken from a different time window, and the "
              "genuine **target** clip V_a (ground truth). Splits are identity-disjoint by subject."), "",
             "| split | clips | subjects | frames | resolution | fps |", "|---|---|---|---|---|---|"]
    for name, s in stats.items():
        res = ", ".join(s["resolution"])
        fps = ", ".join(f"{f:g}" for f in s["fps"])
        lines.append(f"| {name} | {s['clips']} | {s['subjects']} | {s['frames']} | {res} | {fps} |")
    lines += ["", *health_section(stats, info.leak_baseline), "## How it was made", "",
              f"- Editor: `{json.dumps(info.editor, sort_keys=True)}`",
              f"- Filter thresholds: `{json.dumps(info.filter, sort_keys=True)}`",
              f"- Ingest: `{json.dumps(info.ingest, sort_keys=True)}`",
              (f"- Split: seed {info.split_seed}, ratios {info.split_ratios} (per-subject hash)" if info.split_ratios
               else "- Split: by subject_id (assignment not recorded)"),
              *([f"- At most {info.max_clips_per_subject} clips per subject (the best-synchronised kept)"]
                if info.max_clips_per_subject else []),
              "", "## Licence", "", info.license_note, "",
              "## Loading", "", "```python",
              "from headswapbench.split import load_split",
              "split = load_split(ROOT, 'test', verify='sha256')   # checks every file against SHA256SUMS",
              "",
              "import datasets",
              "ds = datasets.load_dataset(ROOT)   # driving/reference/target: Video(decode=False) -> {'path', 'bytes'}",
              "ds = ds.cast_column('reference', datasets.Image())   # reference as PIL images",
              "```", "",
              f"`{CHECKSUMS_FILE}` lists the sha256 of every media file and metadata.jsonl (`sha256sum -c`).", ""]
    return "\n".join(lines)


def _num(v) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def health_section(stats: dict, leak: dict) -> list[str]:
    """The card's "Split health" prose: balance per split, the identity-leak baseline beside chance, warnings."""
    lines = ["## Split health", "",
             "| split | subjects | clips | clips per subject (min / median / max) | largest subject | "
             "identity-leak top-1 | chance |", "|---|---|---|---|---|---|---|"]
    for name, s in stats.items():
        cps, top, lk = s.get("clips_per_subject"), s.get("largest_subject") or {}, leak.get(name) or {}
        spread = f"{cps['min']} / {cps['median']:g} / {cps['max']}" if cps else ""
        share = f"{top['share']:.0%}" if top else ""
        lines.append(f"| {name} | {s['subjects']} | {s['clips']} | {spread} | {share} | {_num(lk.get('top1'))} | "
                     f"{_num(lk.get('chance'))} |")
    lines += ["", ("**Identity-leak baseline**: top-1 retrieval of each driving clip V_c, unchanged, against the "
                   "split's reference gallery (one embedding per subject, the mean of its reference images), "
                   "with the build's identity backend. It is what a swapper scores on `identity_top1` by doing "
                   "nothing; chance is 1 / subjects. n/a: not measured, or one subject only."), ""]
    warnings = health_warnings(stats)
    lines += [f"- **Warning:** {w}" for w in warnings] or ["No split-health warnings."]
    return lines + [""]


def write_card(root: str | Path, info: DatasetInfo) -> Path:
    root = Path(root)
    text = render_card(root, info, dataset_stats(root))
    path = root / CARD_FILE
    atomic_write_text(path, text)
    return path


def trim_card(root: str | Path) -> None:
    """Keep only the splits present locally in the card's ``configs`` so ``datasets.load_dataset(root)`` works
    on a partial download (the card lists every split of the repo; the others were not fetched)."""
    import yaml

    card = Path(root) / CARD_FILE
    if not card.is_file():
        return
    text = card.read_text(encoding="utf-8")
    m = re.match(r"^---\n(.*?)\n---\n", text, re.DOTALL)
    try:
        meta = yaml.safe_load(m.group(1)) if m else None
    except yaml.YAMLError:
        return
    if not isinstance(meta, dict) or not isinstance(meta.get("configs"), list):
        return
    present = set(find_splits(root))
    for config in meta["configs"]:
        if isinstance(config, dict) and isinstance(config.get("data_files"), list):
            config["data_files"] = [d for d in config["data_files"]
                                    if not isinstance(d, dict) or d.get("split") in present]
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    atomic_write_text(card, f"---\n{front}---\n{text[m.end():]}")
