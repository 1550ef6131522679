"""FaceMesh topology: every named set against mediapipe's own FACEMESH_* connection sets, and the stated
left/right convention on a real frontal face from ../shared/data."""

from __future__ import annotations

import numpy as np
import pytest
from mediapipe.python.solutions import face_mesh_connections as fmc

from headswapbench.face import topology as T


def _points(edges) -> list[int]:
    return sorted({i for e in edges for i in e})


def _ring_edges(ring: list[int]) -> set[frozenset]:
    return {frozenset((a, b)) for a, b in zip(ring, ring[1:] + ring[:1])}


def _path_edges(path: list[int]) -> set[frozenset]:
    return {frozenset((a, b)) for a, b in zip(path, path[1:])}


def _undirected(edges) -> set[frozenset]:
    return {frozenset(e) for e in edges}


@pytest.mark.parametrize(
    "ring, connections",
    [
        (T.FACE_OVAL, fmc.FACEMESH_FACE_OVAL),
        (T.RIGHT_EYE, fmc.FACEMESH_RIGHT_EYE),
        (T.LEFT_EYE, fmc.FACEMESH_LEFT_EYE),
        (T.RIGHT_IRIS[1:], fmc.FACEMESH_RIGHT_IRIS),
        (T.LEFT_IRIS[1:], fmc.FACEMESH_LEFT_IRIS),
    ],
)
def test_rings_walk_mediapipe_connections_exactly(ring, connections):
    assert len(set(ring)) == len(ring)
    assert _ring_edges(ring) == _undirected(connections)


def test_lips_and_brows_are_mediapipe_sets():
    assert _ring_edges(T.OUTER_LIPS) | _ring_edges(T.INNER_LIPS) == _undirected(fmc.FACEMESH_LIPS)
    assert T.LIPS == _points(fmc.FACEMESH_LIPS)
    for upper, lower, conn in [(T.RIGHT_BROW_UPPER, T.RIGHT_BROW_LOWER, fmc.FACEMESH_RIGHT_EYEBROW),
                               (T.LEFT_BROW_UPPER, T.LEFT_BROW_LOWER, fmc.FACEMESH_LEFT_EYEBROW)]:
        assert _path_edges(upper) | _path_edges(lower) == _undirected(conn)
    assert T.RIGHT_BROW == _points(fmc.FACEMESH_RIGHT_EYEBROW)
    assert T.LEFT_BROW == _points(fmc.FACEMESH_LEFT_EYEBROW)
    assert T.NOSE == _points(fmc.FACEMESH_NOSE)
    assert T.IRISES == list(range(468, 478)) and set(_points(fmc.FACEMESH_IRISES)) < set(T.IRISES)
    assert len(T.EXPRESSIVE) == 92


def test_arcs_and_named_points_sit_on_their_rings():
    assert T.UPPER_FACE_OVAL[0] == T.RIGHT_FACE_SIDE and T.UPPER_FACE_OVAL[-1] == T.LEFT_FACE_SIDE
    assert T.FOREHEAD_TOP in T.UPPER_FACE_OVAL and T.CHIN not in T.UPPER_FACE_OVAL
    assert T.RIGHT_EYE[0] == T.RIGHT_EYE_OUTER and T.RIGHT_EYE[8] == T.RIGHT_EYE_INNER
    assert T.LEFT_EYE[0] == T.LEFT_EYE_OUTER and T.LEFT_EYE[8] == T.LEFT_EYE_INNER
    assert T.RIGHT_UPPER_LID_MID in T.RIGHT_EYE_UPPER_LID and T.RIGHT_LOWER_LID_MID in T.RIGHT_EYE_LOWER_LID
    assert T.LEFT_UPPER_LID_MID in T.LEFT_EYE_UPPER_LID and T.LEFT_LOWER_LID_MID in T.LEFT_EYE_LOWER_LID
    assert [T.OUTER_LIPS[0], T.OUTER_LIPS[10]] == T.MOUTH_CORNERS
    assert [T.INNER_LIPS[0], T.INNER_LIPS[10]] == T.INNER_MOUTH_CORNERS
    assert T.UPPER_LIP_MID in T.UPPER_LIP and T.LOWER_LIP_MID in T.LOWER_LIP
    assert sorted(T.UPPER_LIP + T.LOWER_LIP + T.MOUTH_CORNERS + T.INNER_MOUTH_CORNERS) == T.LIPS


@pytest.fixture(scope="module")
def frontal_face(shared_data):
    """Landmarks of a real, unmirrored, near-frontal photo (fr_biden2.jpg: yaw ≈ 2°, roll ≈ −3°)."""
    from headswapbench.face import analyze_image
    from headswapbench.video import read_image

    a = analyze_image(read_image(shared_data / "images" / "fr_biden2.jpg"), identity=None)
    assert np.abs(a.pose).max() < 10, a.pose  # the checks below assume a face looking into the camera
    return a.landmarks[:, :2]


def test_subjects_right_is_the_images_left_on_a_real_frontal_face(frontal_face):
    x, y = frontal_face[:, 0], frontal_face[:, 1]
    # image left → right: subject's right eye (outer, inner corner), nose tip, subject's left eye
    order = [T.RIGHT_EYE_OUTER, T.RIGHT_EYE_INNER, T.NOSE_TIP, T.LEFT_EYE_INNER, T.LEFT_EYE_OUTER]
    assert np.all(np.diff(x[order]) > 0), x[order]
    assert x[T.RIGHT_EYE_OUTER] < x[T.RIGHT_IRIS_CENTRE] < x[T.RIGHT_EYE_INNER]
    assert x[T.LEFT_EYE_INNER] < x[T.LEFT_IRIS_CENTRE] < x[T.LEFT_EYE_OUTER]
    assert x[T.MOUTH_CORNERS[0]] < x[T.MOUTH_CORNERS[1]] and x[T.RIGHT_FACE_SIDE] < x[T.LEFT_FACE_SIDE]
    assert x[T.RIGHT_BROW].mean() < x[T.NOSE_TIP] < x[T.LEFT_BROW].mean()
    # the oval leaves the forehead top towards the subject's left (the image's right)
    assert x[T.FACE_OVAL[1]] > x[T.FOREHEAD_TOP]
    # vertical order: brows above lids, upper lid above lower lid, upper lip above lower lip, forehead above chin
    for upper, lower in [(T.RIGHT_BROW_UPPER, T.RIGHT_EYE_UPPER_LID), (T.LEFT_BROW_UPPER, T.LEFT_EYE_UPPER_LID),
                         (T.RIGHT_BROW_UPPER, T.RIGHT_BROW_LOWER), (T.LEFT_BROW_UPPER, T.LEFT_BROW_LOWER),
                         ([T.RIGHT_UPPER_LID_MID], [T.RIGHT_LOWER_LID_MID]),
                         ([T.LEFT_UPPER_LID_MID], [T.LEFT_LOWER_LID_MID]),
                         (T.OUTER_LIPS[1:10], T.OUTER_LIPS[11:]), ([T.UPPER_LIP_MID], [T.LOWER_LIP_MID]),
                         ([T.FOREHEAD_TOP], [T.CHIN])]:
        assert y[upper].mean() < y[lower].mean(), (upper, lower)
    # brows run from the outer end (near the outer eye corner) to the inner end
    for brow, outer, inner in [(T.RIGHT_BROW_UPPER, T.RIGHT_EYE_OUTER, T.RIGHT_EYE_INNER),
                               (T.LEFT_BROW_UPPER, T.LEFT_EYE_OUTER, T.LEFT_EYE_INNER)]:
        assert abs(x[brow[0]] - x[outer]) < abs(x[brow[0]] - x[inner])
        assert abs(x[brow[-1]] - x[inner]) < abs(x[brow[-1]] - x[outer])
