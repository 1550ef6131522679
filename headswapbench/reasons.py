"""Reason codes: the fixed, documented set of why an item was skipped, rejected or failed.

A code travels as data (``SkipItem.code``, ``VideoError.code``, a manifest record's ``code`` field, a results
file's coverage), never parsed back out of a message. The message beside it is for people; the code is for
counting, grouping and the hints that say which option would change the outcome. Adding a code is a protocol
change: add it here with its one-line meaning (and a hint where an option changes it), then document it in
docs/build.md or docs/evaluate.md.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Every reason code the toolkit records. The value is the code written to files."""

    # ---- video and image files (VideoError.code)
    MISSING_FILE = "missing_file"
    IS_DIRECTORY = "is_directory"
    NOT_REGULAR_FILE = "not_regular_file"  # a FIFO, device or socket where a file was expected
    EMPTY_FILE = "empty_file"
    UNREADABLE = "unreadable"  # not a container/image the decoder can open
    TRUNCATED = "truncated"
    NO_VIDEO_STREAM = "no_video_stream"
    IMAGE_NOT_VIDEO = "image_not_video"
    NO_FRAMES = "no_frames"
    FRAME_RANGE = "frame_range"  # asked for frames the clip does not have
    BAD_FRAMES = "bad_frames"  # frames to write have the wrong dtype/shape, or change size mid-clip
    ODD_SIZE = "odd_size"  # H.264 yuv420p needs even width and height
    TOO_MANY_PIXELS = "too_many_pixels"  # an image or frame above the decoder's pixel cap (decompression bomb)
    # ---- ingest (one raw video → clips)
    TOO_LARGE = "too_large"
    ODD_ASPECT = "odd_aspect"
    TOO_SHORT = "too_short"
    NO_FACE = "no_face"
    MULTIPLE_FACES = "multiple_faces"
    FACE_TOO_SMALL = "face_too_small"
    NO_CLEAN_WINDOW = "no_clean_window"
    HEAD_CUT_OFF = "head_cut_off"
    HEAD_MOTION = "head_motion"
    BLURRY = "blurry"
    NO_REFERENCE = "no_reference"
    # ---- edit
    NO_FACE_TO_EDIT = "no_face_to_edit"
    NO_DONOR = "no_donor"
    # ---- filter (is V_c a usable driving clip for V_a?)
    FACE_LOST = "face_lost"
    IDENTITY_UNCHANGED = "identity_unchanged"
    LANDMARK_DESYNC = "landmark_desync"
    EXPRESSION_DESYNC = "expression_desync"
    POSE_DESYNC = "pose_desync"
    TEMPORAL_JITTER = "temporal_jitter"
    EDIT_ARTIFACT = "edit_artifact"
    # ---- package
    SUBJECT_CAP = "subject_cap"  # over --max-clips-per-subject
    # ---- evaluation (per clip)
    SWAP_FAILED = "swap_failed"
    SWAP_TIMEOUT = "swap_timeout"
    NO_OUTPUT = "no_output"
    INVALID_OUTPUT = "invalid_output"
    OUTPUT_CHANGED = "output_changed"
    SCORE_FAILED = "score_failed"
    METRIC_FAILED = "metric_failed"
    METRIC_UNAVAILABLE = "metric_unavailable"
    METRIC_UNDEFINED = "metric_undefined"  # NaN on every clip (no face, too few frames/subjects): not a failure
    # ---- anything else: a bug or an unforeseen library error (the message and traceback say more)
    ERROR = "error"


DESCRIPTIONS: dict[Reason, str] = {
    Reason.MISSING_FILE: "the file does not exist",
    Reason.IS_DIRECTORY: "a folder where a file was expected",
    Reason.NOT_REGULAR_FILE: "a FIFO, device, socket or other non-regular file where a file was expected",
    Reason.EMPTY_FILE: "the file is empty (0 bytes)",
    Reason.UNREADABLE: "not a video container or image the decoder can open",
    Reason.TRUNCATED: "the file ends early or its index is missing",
    Reason.NO_VIDEO_STREAM: "the container has no video stream (audio-only?)",
    Reason.IMAGE_NOT_VIDEO: "an image file where a video was expected",
    Reason.NO_FRAMES: "the video stream has no frames",
    Reason.FRAME_RANGE: "frames were asked for that the clip does not have",
    Reason.BAD_FRAMES: "frames to write have the wrong type or shape, or change size mid-clip",
    Reason.ODD_SIZE: "H.264 yuv420p needs an even width and height",
    Reason.TOO_MANY_PIXELS: "an image or frame larger than the decoder's pixel cap",
    Reason.TOO_LARGE: "the video's frames are above the pixel limit",
    Reason.ODD_ASPECT: "the frame aspect ratio is too far from square",
    Reason.TOO_SHORT: "the video is shorter than one clip",
    Reason.NO_FACE: "no face in too many frames to cut a clip",
    Reason.MULTIPLE_FACES: "another sizeable face in too many frames to cut a clip",
    Reason.FACE_TOO_SMALL: "the face is below the minimum size in too many frames",
    Reason.NO_CLEAN_WINDOW: "no run of usable frames is as long as one clip",
    Reason.HEAD_CUT_OFF: "the head leaves the crop window",
    Reason.HEAD_MOTION: "the head moves too much for one fixed crop",
    Reason.BLURRY: "the face is too blurry",
    Reason.NO_REFERENCE: "no reference frame of the subject far enough from the clip",
    Reason.NO_FACE_TO_EDIT: "the editor found no face to edit",
    Reason.NO_DONOR: "no donor identity passed screening or differs enough from the clip's person",
    Reason.FACE_LOST: "the edited clip loses the face",
    Reason.IDENTITY_UNCHANGED: "the edited clip still shows the target's identity",
    Reason.LANDMARK_DESYNC: "the edited face's landmarks do not track the real clip's",
    Reason.EXPRESSION_DESYNC: "the edited face's expressions do not track the real clip's",
    Reason.POSE_DESYNC: "the edited head's pose does not track the real clip's",
    Reason.TEMPORAL_JITTER: "the edited face shakes from frame to frame",
    Reason.EDIT_ARTIFACT: "the edit is visibly broken (smears, holes, ghosting, blur, missing features)",
    Reason.SUBJECT_CAP: "the subject already has the maximum number of clips in its split",
    Reason.SWAP_FAILED: "the method raised or exited non-zero on this clip",
    Reason.SWAP_TIMEOUT: "the method ran past the per-clip timeout",
    Reason.NO_OUTPUT: "the method wrote no output for this clip",
    Reason.INVALID_OUTPUT: "the output does not match the driving clip (frames, size, fps) or cannot be read",
    Reason.OUTPUT_CHANGED: "the output changed since it was scored",
    Reason.SCORE_FAILED: "scoring this clip failed",
    Reason.METRIC_FAILED: "one metric failed on this clip (the others were scored)",
    Reason.METRIC_UNAVAILABLE: "a metric could not run (missing weights or backend)",
    Reason.METRIC_UNDEFINED: "the metric is undefined on every scored clip or on the set (e.g. no face found, "
                             "fewer than two frames, fewer subjects than top-k)",
    Reason.ERROR: "an unexpected error (see the message)",
}


def code_of(value: str | Reason | None) -> Reason:
    """The Reason for a stored code (unknown or missing codes read as ``Reason.ERROR``, never raise)."""
    try:
        return Reason(value)
    except ValueError:
        return Reason.ERROR


__all__ = ["DESCRIPTIONS", "Reason", "code_of"]
