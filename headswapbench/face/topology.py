"""MediaPipe FaceMesh topology: the 478 landmarks (468 mesh points + 10 iris points) as named index sets.

**Left and right are always the subject's own**, here and in every module that uses these names. In an
unmirrored photo of a person facing the camera the subject's right eye appears on the image's *left*:

    33  RIGHT_EYE_OUTER  subject's right eye, outer corner (image left)      263 LEFT_EYE_OUTER  (image right)
    133 RIGHT_EYE_INNER  subject's right eye, inner corner                   362 LEFT_EYE_INNER
    468 RIGHT_IRIS_CENTRE                                                    473 LEFT_IRIS_CENTRE
    61  mouth corner on the subject's right (MOUTH_CORNERS[0])               291 on the subject's left

This is also MediaPipe's own naming (its ``FACEMESH_RIGHT_EYE`` holds 33), and tests/test_face_topology.py
checks it on a real frontal face. Rings (eyes, lips, face oval) are ordered polygons walked along
mediapipe's ``FACEMESH_*`` connection sets, and the tests compare every set and ring with those sets edge
by edge; the other names are single points, or arcs of those rings.

The sets are plain lists so that ``landmarks[FACE_OVAL]`` indexes points with numpy (a tuple would index
axes) and ``LIPS + RIGHT_EYE`` concatenates. Treat them as constants."""

from __future__ import annotations

NUM_LANDMARKS = 478  # FaceMesh with refine_landmarks=True (MediaPipe Tasks' FaceLandmarker gives the same)
NUM_MESH_POINTS = 468  # without the iris points

# --- single points ---------------------------------------------------------------------------------------
RIGHT_EYE_OUTER, RIGHT_EYE_INNER = 33, 133
LEFT_EYE_OUTER, LEFT_EYE_INNER = 263, 362
RIGHT_IRIS_CENTRE, LEFT_IRIS_CENTRE = 468, 473
NOSE_TIP = 1
FOREHEAD_TOP, CHIN = 10, 152  # top and bottom of the face oval
RIGHT_FACE_SIDE, LEFT_FACE_SIDE = 234, 454  # the oval's widest points, about eye level
UPPER_LIP_MID, LOWER_LIP_MID = 13, 14  # inner lip contour, on the midline: their gap is the mouth opening
RIGHT_UPPER_LID_MID, RIGHT_LOWER_LID_MID = 159, 145  # their gap is the eye opening
LEFT_UPPER_LID_MID, LEFT_LOWER_LID_MID = 386, 374

# --- pairs, (subject's right, subject's left) ----------------------------------------------------------------
INTER_OCULAR = [RIGHT_EYE_OUTER, LEFT_EYE_OUTER]  # the NME normaliser (300-W / WFLW outer-corner convention)
MOUTH_CORNERS = [61, 291]  # outer lip contour
INNER_MOUTH_CORNERS = [78, 308]  # inner lip contour
RIGHT_EYE_CORNERS = [RIGHT_EYE_OUTER, RIGHT_EYE_INNER]
LEFT_EYE_CORNERS = [LEFT_EYE_OUTER, LEFT_EYE_INNER]

# --- rings (ordered polygons, along FACEMESH_* edges) -----------------------------------------------------------
# From the forehead top towards the subject's left, round by the chin and up the subject's right side.
FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
             148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109]
# Each lip ring starts at the corner on the subject's right and runs along the upper lip first.
OUTER_LIPS = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146]
INNER_LIPS = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95]
# Each eye ring starts at the outer corner and runs along the upper lid first (inner corner at position 8).
RIGHT_EYE = [33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7]
LEFT_EYE = [263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249]
# Centre first, then the four points of FACEMESH_*_IRIS in ring order.
RIGHT_IRIS = [468, 469, 470, 471, 472]
LEFT_IRIS = [473, 474, 475, 476, 477]

# --- arcs and unions of the above ----------------------------------------------------------------------------------
# The oval's upper half: from the subject's right side (234) over the forehead top (10) to the left side (454).
UPPER_FACE_OVAL = FACE_OVAL[FACE_OVAL.index(RIGHT_FACE_SIDE):] + FACE_OVAL[: FACE_OVAL.index(LEFT_FACE_SIDE) + 1]
# Lids and lips between (without) their corners.
RIGHT_EYE_UPPER_LID, RIGHT_EYE_LOWER_LID = RIGHT_EYE[1:8], RIGHT_EYE[9:]
LEFT_EYE_UPPER_LID, LEFT_EYE_LOWER_LID = LEFT_EYE[1:8], LEFT_EYE[9:]
UPPER_LIP = OUTER_LIPS[1:10] + INNER_LIPS[1:10]
LOWER_LIP = OUTER_LIPS[11:] + INNER_LIPS[11:]
# Brows (FACEMESH_*_EYEBROW): an upper and a lower edge each, from the outer end to the inner end.
RIGHT_BROW_UPPER, RIGHT_BROW_LOWER = [70, 63, 105, 66, 107], [46, 53, 52, 65, 55]
LEFT_BROW_UPPER, LEFT_BROW_LOWER = [300, 293, 334, 296, 336], [276, 283, 282, 295, 285]
RIGHT_BROW = sorted(RIGHT_BROW_UPPER + RIGHT_BROW_LOWER)
LEFT_BROW = sorted(LEFT_BROW_UPPER + LEFT_BROW_LOWER)
LIPS = sorted(OUTER_LIPS + INNER_LIPS)  # FACEMESH_LIPS
IRISES = RIGHT_IRIS + LEFT_IRIS  # 468-477
NOSE = [1, 2, 4, 5, 6, 19, 45, 48, 64, 94, 97, 98, 115, 168, 195, 197, 220, 275, 278, 294, 326, 327, 344, 440]
# The lip, eye and brow contours: the points that move with expression (92).
EXPRESSIVE = sorted(LIPS + RIGHT_EYE + LEFT_EYE + RIGHT_BROW + LEFT_BROW)
# ArcFace / insightface 5-point alignment order: the eye on the image's left first (the subject's right),
# then the other eye, the nose tip, the mouth corner on the image's left, the other one.
ALIGNMENT_5 = [RIGHT_IRIS_CENTRE, LEFT_IRIS_CENTRE, NOSE_TIP, *MOUTH_CORNERS]
