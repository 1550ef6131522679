"""The split on disk (README "Split on disk"), end to end: one home for its row schema, safety rules,
reading, verification, checksums, writing and dataset card.

    split = load_split("out/", "test", verify="sha256")   # Split('test', 12 clips, 4 subjects, root='out')
    for row in split: ...                                 # TripletRow per clip; len(split) clips
    write_dataset("out/", {"test": [TripletRow.for_clip("c0", "s0", fps=25.0, ...)]}, files, DatasetInfo())

Modules: ``paths`` (layout and the one set of name and file-type rules), ``schema`` (``TripletRow``),
``checksums`` (``SHA256SUMS``), ``read`` (``load_split``, ``Split``), ``verify`` (``verify_split``, for
downloads and publishing), ``write`` (``write_dataset``, ``package_split``), ``card`` (``README.md``),
``health`` (subjects and clips per subject, warnings), ``leak`` (the identity-leak baseline of a split).
A split from anywhere is untrusted: nothing here opens a media file before its name has passed the rules."""

from .card import DatasetInfo, dataset_stats, render_card, trim_card, write_card
from .checksums import read_checksums, split_checksum, verify_file, write_manifest
from .health import MAX_SUBJECT_SHARE, MIN_EVAL_SUBJECTS, cap_for_share, health_warnings, subject_balance
from .leak import identity_leak_baseline, split_leak_baseline
from .paths import (
    CARD_FILE,
    CHECKSUMS_FILE,
    FILE_COLUMNS,
    IMAGE_SUFFIXES,
    MEDIA_SUFFIXES,
    METADATA_FILE,
    VIDEO_SUFFIXES,
    check_member,
    check_split_files,
    file_name_problem,
    member_problem,
    safe_relpath,
    sniff_media,
)
from .read import Split, find_splits, load_split
from .schema import FLOAT_COLUMNS, TripletRow, canonical_file_names
from .verify import verify_split
from .write import ColumnPlan, package_split, plan_columns, write_checksums, write_dataset

__all__ = [
    "CARD_FILE", "CHECKSUMS_FILE", "FILE_COLUMNS", "FLOAT_COLUMNS", "IMAGE_SUFFIXES", "MAX_SUBJECT_SHARE",
    "MEDIA_SUFFIXES", "METADATA_FILE", "MIN_EVAL_SUBJECTS", "VIDEO_SUFFIXES", "ColumnPlan", "DatasetInfo", "Split",
    "TripletRow", "canonical_file_names", "cap_for_share", "check_member", "check_split_files", "dataset_stats",
    "file_name_problem", "find_splits", "health_warnings", "identity_leak_baseline", "load_split", "member_problem",
    "package_split", "plan_columns", "read_checksums", "render_card", "safe_relpath", "sniff_media",
    "split_checksum", "split_leak_baseline", "subject_balance", "trim_card", "verify_file", "verify_split",
    "write_card", "write_checksums", "write_dataset", "write_manifest",
]
