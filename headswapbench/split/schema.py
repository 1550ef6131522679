"""One metadata.jsonl row (``TripletRow``) and the one way to make a row for a new triplet (``for_clip``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from ..errors import InvalidSplitError
from .paths import FILE_COLUMNS

REQUIRED_COLUMNS = ("clip_id", "subject_id", *FILE_COLUMNS)
FLOAT_COLUMNS = {"fps", "sync_nme", "sync_expression_dynamic", "identity_similarity_to_target"}  # float even when null/whole


def canonical_file_names(clip_id: str, reference_suffix: str = ".png") -> dict[str, str]:
    """The contract's file names of one triplet, relative to the split folder."""
    return {"driving_file_name": f"{FILE_COLUMNS['driving_file_name'][0]}/{clip_id}.mp4",
            "reference_file_name": f"{FILE_COLUMNS['reference_file_name'][0]}/{clip_id}{reference_suffix.lower()}",
            "target_file_name": f"{FILE_COLUMNS['target_file_name'][0]}/{clip_id}.mp4"}


@dataclass
class TripletRow:
    """One metadata.jsonl row: driving clip V_c (new head), reference image I_ref, genuine target V_a."""

    clip_id: str
    subject_id: str
    source_video: str
    start_frame: int
    num_frames: int
    fps: float
    width: int
    height: int
    driving_file_name: str
    reference_file_name: str
    target_file_name: str
    editor: str = ""
    editor_version: str = ""
    prompt: str = ""
    seed: int = 0
    sync_nme: float | None = None
    sync_expression_dynamic: float | None = None
    identity_similarity_to_target: float | None = None
    extra: dict = field(default_factory=dict)  # any further columns, kept verbatim

    @classmethod
    def for_clip(cls, clip_id: str, subject_id: str, *, reference_suffix: str = ".png", **columns) -> "TripletRow":
        """A row for a new triplet, with the contract's file names; columns not in the schema go to ``extra``.
        The build and the Hub adapter both make their rows here."""
        return cls.from_dict({"clip_id": clip_id, "subject_id": subject_id,
                              **canonical_file_names(clip_id, reference_suffix), **columns})

    @classmethod
    def from_dict(cls, d: dict) -> "TripletRow":
        known = {f.name for f in fields(cls)} - {"extra"}
        missing = [k for k in REQUIRED_COLUMNS if k not in d]
        if missing:
            raise InvalidSplitError(f"metadata row {d.get('clip_id', '?')!r} lacks column(s) {missing}")
        bad = [k for k in REQUIRED_COLUMNS if not isinstance(d[k], str) or not d[k]]
        if bad:
            raise InvalidSplitError(f"metadata row {d.get('clip_id', '?')!r}: column(s) {bad} must be non-empty "
                                    f"strings, got {[d[k] for k in bad]}")
        kwargs = {k: d[k] for k in known if k in d}
        kwargs.setdefault("source_video", "")
        kwargs.setdefault("start_frame", 0)
        kwargs.setdefault("num_frames", 0)
        kwargs.setdefault("fps", 0.0)
        kwargs.setdefault("width", 0)
        kwargs.setdefault("height", 0)
        return cls(**kwargs, extra={k: v for k, v in d.items() if k not in known})

    def to_dict(self) -> dict:
        d = asdict(self)
        extra = d.pop("extra")
        d.update(extra)
        return d
