"""Reason codes: the fixed, documented set of why an item was skipped, rejected or failed.

A code travels as data (``SkipItem.code``, ``VideoError.code``, a manifest record's ``code`` field, a results
file's coverage), never parsed back out of a message. The message beside it is for people; the code is for
counting, grouping and the hints that say which option would change the outcome. Adding a code is a protocol
change: add it here with its one-line meaning, its group (and a hint where an option changes it), then add its
row to the table in docs/build.md ("Reason codes"; tests/test_reasons.py checks that table against this file).
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
    UNREADABLE = "unreadable"  # not a container/image the decoder can open, or its frames do not decode
    TRUNCATED = "truncated"
    NO_VIDEO_STREAM = "no_video_stream"
    IMAGE_NOT_VIDEO = "image_not_video"
    NO_FRAMES = "no_frames"
    FRAME_RANGE = "frame_range"  # asked for frames the clip does not have
    BAD_FRAMES = "bad_frames"  # frames to write have the wrong dtype/shape, change size mid-clip, or are none
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
    # ---- package (subjects, references, splits)
    NO_REFERENCE = "no_reference"
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
    Reason.UNREADABLE: "not a video container or image the decoder can open, or its frames do not decode",
    Reason.TRUNCATED: "the file ends early or its index is missing",
    Reason.NO_VIDEO_STREAM: "the container has no video stream (audio-only?)",
    Reason.IMAGE_NOT_VIDEO: "an image file where a video was expected",
    Reason.NO_FRAMES: "the video stream has no frames",
    Reason.FRAME_RANGE: "frames were asked for that the clip does not have",
    Reason.BAD_FRAMES: "frames to write have the wrong type or shape, change size mid-clip, or there are none",
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


GROUPS: dict[str, tuple[Reason, ...]] = {
    "file": (Reason.MISSING_FILE, Reason.IS_DIRECTORY, Reason.NOT_REGULAR_FILE, Reason.EMPTY_FILE, Reason.UNREADABLE,
             Reason.TRUNCATED, Reason.NO_VIDEO_STREAM, Reason.IMAGE_NOT_VIDEO, Reason.NO_FRAMES, Reason.FRAME_RANGE,
             Reason.BAD_FRAMES, Reason.ODD_SIZE, Reason.TOO_MANY_PIXELS),
    "ingest": (Reason.TOO_LARGE, Reason.ODD_ASPECT, Reason.TOO_SHORT, Reason.NO_FACE, Reason.MULTIPLE_FACES,
               Reason.FACE_TOO_SMALL, Reason.NO_CLEAN_WINDOW, Reason.HEAD_CUT_OFF, Reason.HEAD_MOTION, Reason.BLURRY),
    "edit": (Reason.NO_FACE_TO_EDIT, Reason.NO_DONOR),
    "filter": (Reason.FACE_LOST, Reason.IDENTITY_UNCHANGED, Reason.LANDMARK_DESYNC, Reason.EXPRESSION_DESYNC,
               Reason.POSE_DESYNC, Reason.TEMPORAL_JITTER, Reason.EDIT_ARTIFACT),
    "package": (Reason.NO_REFERENCE, Reason.SUBJECT_CAP),
    "evaluation": (Reason.SWAP_FAILED, Reason.SWAP_TIMEOUT, Reason.NO_OUTPUT, Reason.INVALID_OUTPUT,
                   Reason.OUTPUT_CHANGED, Reason.SCORE_FAILED, Reason.METRIC_FAILED, Reason.METRIC_UNAVAILABLE,
                   Reason.METRIC_UNDEFINED),
    "any": (Reason.ERROR,),
}
"""Every code under the stage that records it (``file``: a ``VideoError``, wherever the file is read)."""

BUILD_GROUPS = ("ingest", "edit", "filter", "package")

# Which option would change the outcome, for every code the build records (docs/build.md shows them in its
# table; the build report shows them beside the counts). CLI options are spelled as flags; settings without a
# flag are named by their field (``IngestSettings.min_face_frac``). The file codes say what to do with
# the file, since no option makes an unreadable file readable.
HINTS: dict[Reason, str] = {
    Reason.MISSING_FILE: "the file vanished after the folder was scanned: rerun the build",
    Reason.NOT_REGULAR_FILE: "replace the FIFO, device or socket with a regular video file",
    Reason.EMPTY_FILE: "copy or download the file again",
    Reason.UNREADABLE: "re-encode the file with ffmpeg (ffmpeg -i IN -c:v libx264 OUT.mp4), or remove it",
    Reason.TRUNCATED: "the copy or download was cut short: fetch the file again",
    Reason.NO_VIDEO_STREAM: "nothing to change: the file holds no video (audio only?); remove it",
    Reason.IMAGE_NOT_VIDEO: "an image with a video suffix: remove it from RAW_DIR (donor photos go to --donors)",
    Reason.NO_FRAMES: "re-encode the file with ffmpeg, or remove it",
    Reason.TOO_MANY_PIXELS: "downscale the file first (ffmpeg -vf scale=-2:2160)",
    Reason.TOO_LARGE: "downscale the video first (ffmpeg -vf scale=-2:2160), or raise IngestSettings.max_pixels",
    Reason.ODD_ASPECT: "crop the video nearer to square first, or raise IngestSettings.max_aspect (2.5)",
    Reason.TOO_SHORT: "a smaller --frames (the clip length)",
    Reason.NO_FACE: "a smaller --frames finds windows between the faceless stretches; otherwise the footage "
                    "shows no trackable face",
    Reason.MULTIPLE_FACES: "a smaller --frames finds windows between the other face's appearances; raising "
                           "IngestSettings.second_face_frac (0.3) ignores larger background faces",
    Reason.FACE_TOO_SMALL: "a smaller --size (the minimum face side is IngestSettings.min_face_frac × --size, "
                           "0.25 × 512 = 128 px), or a lower min_face_frac (more upscaling)",
    Reason.NO_CLEAN_WINDOW: "a smaller --frames: the usable frames come in runs shorter than one clip",
    Reason.HEAD_CUT_OFF: "the head plus a margin needs a window larger than the frame (the detail gives both "
                         "sizes): footage with the head smaller in frame or away from the edge; a smaller "
                         "--frames drops the frames where it leaves",
    Reason.HEAD_MOTION: "a smaller --frames (a shorter window holds less motion), or raise "
                        "IngestSettings.max_head_motion (1.5)",
    Reason.BLURRY: "sharper footage, or a lower IngestSettings.min_sharpness (40; docs/build.md has the "
                   "measurements behind it)",
    Reason.NO_REFERENCE: "a smaller --ref-gap or a shorter --frames (more of the video lies outside the clip), "
                         "or more videos of the same person grouped with --subjects",
    Reason.NO_FACE_TO_EDIT: "another --editor: ingest tracked a face in this clip, the editor's detector did not",
    Reason.NO_DONOR: "--donors: a folder of photos that each show one clear face (and not the clips' people)",
    Reason.FACE_LOST: "another --editor, or --editor-option settings that keep the face (diffusers: a lower "
                      "strength); FilterSettings.min_face_ratio (0.95) is the share of frames required",
    Reason.IDENTITY_UNCHANGED: "an editor that changes the whole head (--editor diffusers, a higher "
                               "--editor-option strength) or --donors who look less like the subjects; the limit "
                               "is the identity backend's same-person threshold",
    Reason.LANDMARK_DESYNC: "--editor-option settings that follow the motion more closely (diffusers: a higher "
                            "controlnet_scale or a lower strength), or another --editor; limits "
                            "FilterSettings.max_nme (0.06) and max_nme_p95 (0.10)",
    Reason.EXPRESSION_DESYNC: "--editor-option settings that follow the motion more closely (diffusers: a higher "
                              "controlnet_scale or a lower strength); limit "
                              "FilterSettings.max_expression_dynamic (0.03)",
    Reason.POSE_DESYNC: "--editor-option settings that follow the motion more closely (diffusers: a higher "
                        "controlnet_scale); limit FilterSettings.max_pose_worst_axis (6°)",
    Reason.TEMPORAL_JITTER: "a temporally smoother editor setting (diffusers: a smaller --editor-option "
                            "context_stride, more overlap between its sliding windows); limit "
                            "FilterSettings.max_jitter_excess (0.02)",
    Reason.EDIT_ARTIFACT: "another --editor or its --editor-option settings: the edit itself is broken",
    Reason.SUBJECT_CAP: "a higher --max-clips-per-subject",
}


def code_of(value: str | Reason | None) -> Reason:
    """The Reason for a stored code (unknown or missing codes read as ``Reason.ERROR``, never raise)."""
    try:
        return Reason(value)
    except ValueError:
        return Reason.ERROR


__all__ = ["BUILD_GROUPS", "DESCRIPTIONS", "GROUPS", "HINTS", "Reason", "code_of"]
