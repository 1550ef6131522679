"""Warp engine: piecewise-affine geometry on hand-built triangles (pixel-exact), colour transfer against
scikit-image's independent LAB conversion, blending that never touches pixels outside the mask, and the
face transfer on real photos from ../shared/data."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from headswapbench import warp as W
from headswapbench.types import Video


def _inside(shape, tri, erode=2):
    """Pixels strictly inside a triangle (eroded so edge rasterisation conventions do not matter)."""
    m = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(m, np.round(np.asarray(tri)).astype(np.int32), 1)
    return cv2.erode(m, np.ones((2 * erode + 1,) * 2, np.uint8)).astype(bool)


# -------------------------------------------------------------------------------------------- geometry
def test_integer_translation_is_pixel_exact():
    rng = np.random.default_rng(0)
    src = rng.integers(0, 256, (80, 90, 3), dtype=np.uint8)
    src_pts = np.array([[10.0, 8.0], [60.0, 12.0], [30.0, 55.0]])
    dst_pts = src_pts + [7, 4]
    out, covered = W.warp_image(src, src_pts, dst_pts, (80, 90), np.array([[0, 1, 2]]))
    sel = _inside((80, 90), dst_pts)
    ys, xs = np.nonzero(sel)
    assert sel.sum() > 500
    assert covered[sel].all()
    np.testing.assert_array_equal(out[ys, xs], src[ys - 4, xs - 7])
    # nothing is drawn outside the destination triangle
    far = ~cv2.dilate(_inside((80, 90), dst_pts, erode=0).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert not covered[far].any() and (out[far] == 0).all()


def test_scale_two_matches_bilinear_by_hand():
    # A linear ramp with even steps: bilinear sampling at half pixels is an exact integer, computed by hand.
    yy, xx = np.mgrid[0:40, 0:40]
    ramp = (4 * xx + 2 * yy).astype(np.uint8)
    src = np.repeat(ramp[..., None], 3, axis=2)
    src_pts = np.array([[2.0, 2.0], [30.0, 2.0], [2.0, 30.0]])
    dst_pts = src_pts * 2
    out, _ = W.warp_image(src, src_pts, dst_pts, (80, 80), np.array([[0, 1, 2]]))
    sel = _inside((80, 80), dst_pts)
    ys, xs = np.nonzero(sel)
    expected = 4 * (xs / 2) + 2 * (ys / 2)  # = 2x + y, exact for a linear image
    np.testing.assert_array_equal(out[ys, xs, 0], expected.astype(np.uint8))


def test_two_triangles_with_different_affines_land_landmarks_on_destination():
    """A quad split in two triangles, each with its own (non-trivial) affine map: a small blob placed at a
    source point inside each triangle must appear at the mapped destination point (sub-pixel centroid)."""
    src_pts = np.array([[20.0, 20.0], [100.0, 25.0], [95.0, 100.0], [25.0, 95.0]])
    dst_pts = np.array([[30.0, 15.0], [110.0, 40.0], [90.0, 110.0], [15.0, 85.0]])
    tris = np.array([[0, 1, 2], [0, 2, 3]])
    for k, tri in enumerate(tris):
        bary = np.array([0.5, 0.3, 0.2])
        p_src = bary @ src_pts[tri]
        p_dst = bary @ dst_pts[tri]  # affine maps preserve barycentric coordinates
        yy, xx = np.mgrid[0:128, 0:128]
        blob = np.exp(-((xx - p_src[0]) ** 2 + (yy - p_src[1]) ** 2) / (2 * 1.5**2))
        img = np.repeat((blob * 250).astype(np.uint8)[..., None], 3, axis=2)
        out, _ = W.warp_image(img, src_pts, dst_pts, (128, 128), tris)
        w = out[..., 0].astype(np.float64)
        centroid = np.array([(w * xx).sum(), (w * yy).sum()]) / w.sum()
        assert np.linalg.norm(centroid - p_dst) < 0.25, (k, centroid, p_dst)


def test_degenerate_and_offscreen_triangles_are_harmless():
    src = np.full((20, 20, 3), 200, np.uint8)
    pts = np.array([[0.0, 0.0], [10.0, 0.0], [20.0, 0.0], [5.0, 10.0]])
    out, covered = W.warp_image(src, pts, pts + 500, (20, 20), np.array([[0, 1, 2], [0, 1, 3]]))
    assert not covered.any() and not out.any()
    assert len(W.triangulate(pts)) == 2  # the collinear triple gives no triangle


# --------------------------------------------------------------------------------------------- colour
def test_colour_transfer_moves_statistics_to_the_target():
    from skimage.color import rgb2lab  # independent LAB implementation

    rng = np.random.default_rng(1)
    base = np.clip(rng.normal([150, 110, 90], [25, 18, 15], (120, 120, 3)), 0, 255).astype(np.uint8)
    target = np.clip(rng.normal([90, 120, 160], [15, 20, 22], (100, 100, 3)), 0, 255).astype(np.uint8)
    mask = np.zeros((120, 120), np.uint8)
    mask[20:100, 10:110] = 255
    tmask = np.full((100, 100), 255, np.uint8)
    out = W.match_colour(base, mask, target, tmask)
    got = rgb2lab(out)[mask > 0]
    want = rgb2lab(target).reshape(-1, 3)
    before = rgb2lab(base)[mask > 0]
    np.testing.assert_allclose(got.mean(0), want.mean(0), atol=1.0)
    np.testing.assert_allclose(got.std(0), want.std(0), rtol=0.08, atol=0.5)
    assert np.abs(before.mean(0) - want.mean(0)).max() > 10  # the test moved something


def test_pooled_statistics_equal_statistics_of_the_union():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (50, 20, 3), dtype=np.uint8)
    ma, mb = np.full(a.shape[:2], 255, np.uint8), np.full(b.shape[:2], 255, np.uint8)
    pooled = W.ColourStats.pool([W.colour_stats(a, ma), W.colour_stats(b, mb)])
    union = np.concatenate([a.reshape(-1, 1, 3), b.reshape(-1, 1, 3)])
    direct = W.colour_stats(union, np.full(union.shape[:2], 255, np.uint8))
    np.testing.assert_allclose(pooled.mean, direct.mean, atol=1e-6)
    np.testing.assert_allclose(pooled.std, direct.std, atol=1e-6)
    assert pooled.count == union.shape[0]


# ---------------------------------------------------------------------------------------------- blend
@pytest.mark.parametrize("mode", ["feather", "poisson"])
@pytest.mark.parametrize("touch_border", [False, True])
def test_blend_leaves_pixels_outside_the_mask_untouched(mode, touch_border):
    rng = np.random.default_rng(3)
    bg = rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)
    fg = rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)
    mask = np.zeros((96, 96), np.uint8)
    cv2.circle(mask, (0, 48) if touch_border else (48, 48), 30, 255, -1)
    out = W.blend(fg, bg, mask, mode=mode)
    np.testing.assert_array_equal(out[mask == 0], bg[mask == 0])
    assert (out[mask > 0] != bg[mask > 0]).any()


def test_feather_takes_the_foreground_in_the_core_and_is_soft_at_the_edge():
    bg = np.zeros((100, 100, 3), np.uint8)
    fg = np.full((100, 100, 3), 200, np.uint8)
    mask = np.zeros((100, 100), np.uint8)
    mask[20:80, 20:80] = 255
    out = W.blend(fg, bg, mask, mode="feather", feather_px=5)
    assert (out[35:65, 35:65] == 200).all()
    edge = out[50, 20:32, 0]
    assert edge[0] < 100 and np.all(np.diff(edge.astype(int)) >= 0)  # ramps up from the mask edge


def test_blend_rejects_unknown_mode():
    z = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="blend mode"):
        W.blend(z, z, np.ones((8, 8), np.uint8), mode="magic")


def test_smoothing_stays_within_runs_and_keeps_gaps():
    t = np.arange(30, dtype=np.float64)
    lms = np.repeat(t[:, None, None], 478, axis=1).repeat(3, axis=2)
    lms[5] = np.nan
    out = W.smooth_landmarks(lms, 1.0)
    assert np.isnan(out[5]).all()
    np.testing.assert_allclose(out[15, 0, 0], 15.0, atol=1e-9)  # linear ramp: centred filter, no lag
    assert out[4, 0, 0] < 4.0  # edge of a run: reflected 'nearest' padding only uses frames 0..4


# ------------------------------------------------------------------------------- faces on real photos
@pytest.fixture(scope="module")
def two_faces(shared_data):
    from headswapbench.face import analyze_image
    from headswapbench.video import read_image

    a = read_image(shared_data / "images" / "fr_biden2.jpg")
    b = read_image(shared_data / "images" / "edtalk_leijun.png")
    return (a, analyze_image(a, identity=None).landmarks), (b, analyze_image(b, identity=None).landmarks)


def test_identity_warp_of_a_real_face_reproduces_it(two_faces):
    (img, lms), _ = two_faces
    pts = W.face_points(lms)
    out, covered = W.warp_image(img, pts, pts, img.shape, W.triangulate(pts))
    assert covered.sum() > 0.1 * covered.size
    diff = np.abs(out[covered].astype(int) - img[covered].astype(int))
    assert diff.max() <= 1


def test_face_mask_covers_forehead_and_can_cut_the_mouth(two_faces):
    (img, lms), _ = two_faces
    m = W.face_mask(lms, img.shape)
    plain = W.face_mask(lms, img.shape, forehead=False)
    assert m[plain > 0].all() and m.sum() > plain.sum() * 1.08  # forehead adds area, only above
    above = np.nonzero((m > 0) & (plain == 0))[0]
    assert np.median(above) < lms[W.FOREHEAD_TOP, 1] + 5
    cut = W.face_mask(lms, img.shape, cut_mouth=True)
    assert cut.sum() <= m.sum()


def test_face_onto_frame_changes_only_the_face(two_faces):
    (frame, flms), (donor, dlms) = two_faces
    out = W.face_onto_frame(frame, flms, donor, dlms)
    mask = W.face_mask(flms, frame.shape)
    assert out.shape == frame.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[mask == 0], frame[mask == 0])
    inner = W.face_mask(flms, frame.shape, forehead=False)
    assert np.abs(out[inner > 0].astype(int) - frame[inner > 0]).mean() > 8


def test_face_onto_video_passes_faceless_frames_through(two_faces):
    (frame, flms), (donor, dlms) = two_faces
    frames = np.stack([frame] * 4)
    lms = np.stack([flms] * 4).astype(np.float32)
    lms[2] = np.nan
    out = W.face_onto_video(Video(frames, 25.0), lms, donor, dlms, progress=False)
    assert out.frames.shape == frames.shape and out.fps == 25.0
    np.testing.assert_array_equal(out.frames[2], frame)
    assert (out.frames[0] != frame).any()
    # one colour transfer per clip: identical inputs give identical frames (no per-frame flicker)
    np.testing.assert_array_equal(out.frames[0], out.frames[3])


def test_face_onto_video_validates_inputs(two_faces):
    (frame, flms), (donor, dlms) = two_faces
    video = Video(np.stack([frame] * 2), 25.0)
    with pytest.raises(ValueError, match="video_landmarks"):
        W.face_onto_video(video, np.zeros((3, 478, 3)), donor, dlms, progress=False)
    with pytest.raises(ValueError, match="donor landmarks"):
        W.face_onto_video(video, np.stack([flms] * 2), donor, np.full((478, 3), np.nan), progress=False)


def test_hair_gate_keeps_the_targets_fringe(two_faces):
    """A dark fringe painted over the target's forehead survives the paste with the hair gate (skin is only
    pasted over skin above the brows) and is covered without it; the face below the brows changes either way."""
    (frame, flms), (donor, dlms) = two_faces
    frame = frame.copy()
    pts = W.face_points(flms)
    brow_y = pts[W.UPPER_BROWS, 1].mean()
    top = pts[:, 1].min()
    fringe = (slice(int(top), int(brow_y - 0.1 * (brow_y - top))), slice(int(pts[:, 0].min()), int(pts[:, 0].max())))
    frame[fringe] = (40, 28, 20)  # dark brown hair
    gated = W.face_onto_frame(frame, flms, donor, dlms)
    plain = W.face_onto_frame(frame, flms, donor, dlms, hair_gate=False)
    inside = W.face_mask(flms, frame.shape)[fringe] > 0
    kept = np.abs(gated[fringe][inside].astype(int) - frame[fringe][inside]).mean()
    covered = np.abs(plain[fringe][inside].astype(int) - frame[fringe][inside]).mean()
    assert kept < 0.25 * covered, (kept, covered)
    cheeks = (slice(int(flms[1, 1]), int(flms[14, 1])), slice(int(flms[61, 0]), int(flms[291, 0])))
    # (by less than the raw donor would: relit, with the frame's shading, and the frame's own nostrils in the box)
    assert np.abs(gated[cheeks].astype(int) - frame[cheeks]).mean() > 5


# --------------------------------------------------------------------------------- visibility and mirror
def _turned_template(yaw_deg: float, scale: float = 100.0, centre=(200.0, 200.0)) -> np.ndarray:
    """The frontal face template turned by ``yaw_deg`` about the vertical axis, orthographic, in pixels."""
    from headswapbench.face.pose import load_template

    a = np.deg2rad(yaw_deg)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    pts = load_template().landmarks @ rot.T * scale
    pts[:, :2] += centre
    return pts


def test_triangle_visibility_sees_the_far_side_of_a_turned_face_foreshortened():
    mesh = W.canonical_mesh()
    front = _turned_template(0.0)
    vis = W.triangle_visibility(W.face_points(front), front, mesh)
    assert np.median(vis) == pytest.approx(1.0) and vis.min() > 0.5  # frontal: everything shows
    turned = _turned_template(50.0)
    vis = W.triangle_visibility(W.face_points(turned), turned, mesh)
    centre_x = W.face_points(front)[mesh.triangles].mean(axis=1)[:, 0]
    far = vis[centre_x < 200 - 40]  # the subject's right cheek turns away from the camera at +50° yaw
    near = vis[centre_x > 200 + 40]
    assert np.median(far) < 0.5 < np.median(near)
    assert (vis == 0).any()  # some triangles fold over (back-facing)


def test_mirror_landmarks_matches_a_flipped_image():
    front = _turned_template(20.0)
    flipped = W.mirror_landmarks(front, width=400)
    np.testing.assert_allclose(W.mirror_landmarks(flipped, width=400), front[:478], atol=1e-9)  # an involution
    # the flipped face turns the other way: same points as the template turned by -20°, mirrored in x
    other = _turned_template(-20.0)
    other[:, 0] = 2 * 200 - other[:, 0] - 1 + 0  # x → width-1-x about the same centre (width 400, centre 200)
    assert np.abs(flipped[:, 1] - other[:, 1]).max() < 1e-6


def test_a_donor_cheek_covered_by_hair_is_borrowed_from_the_mirror_side(two_faces):
    """Hair painted over one cheek of a frontal donor: those triangles are trusted less than their mirror
    partners, so the pasted face takes them from the other side and the hair does not reach the frame."""
    (frame, flms), (donor, dlms) = two_faces
    donor = donor.copy()
    pts = W.face_points(dlms)
    cheek = np.array([pts[234], pts[93], pts[132], pts[58], pts[205], pts[50], pts[117]])
    rng = np.random.default_rng(0)
    hair = W._fill(donor.shape, cheek) > 0
    donor[hair] = np.clip(rng.normal((60, 40, 25), 25, (int(hair.sum()), 3)), 0, 255).astype(np.uint8)
    ft = W.FaceTransfer(donor, dlms, target_stats=W.colour_stats(frame, W.stats_mask(flms, frame.shape)))
    assert ft.weights is not None
    covered = W.rasterise(pts, donor.shape[:2], ft.triangles).per_triangle(np.arange(len(ft.triangles)), -1)
    ids = np.unique(covered[hair & (covered >= 0)].astype(int))
    assert np.median(ft.weights[ids]) < 0.5  # mostly from the mirror image
    with_mirror = W.face_onto_frame(frame, flms, donor, dlms)
    without = W.face_onto_frame(frame, flms, donor, dlms, mirror=False)
    dst = W.face_points(flms)
    target_cheek = W._fill(frame.shape, dst[[234, 93, 132, 58, 205, 50, 117]]) > 0

    def dark(img):
        return float((img[target_cheek].astype(int).sum(-1) < 200).mean())

    assert dark(with_mirror) < 0.5 * dark(without), (dark(with_mirror), dark(without))


def test_a_donor_fringe_is_not_pasted_onto_the_forehead(two_faces):
    """A fringe painted over the donor's forehead: the donor's own hairline stops the paste there."""
    _, (donor, dlms) = two_faces
    donor = donor.copy()
    pts = W.face_points(dlms)
    brow_y = pts[W.UPPER_BROWS, 1].mean()
    top = pts[:, 1].min()
    rng = np.random.default_rng(1)
    y1 = int(brow_y - 0.45 * (brow_y - top))
    band = (slice(0, y1), slice(0, donor.shape[1]))
    donor[band] = np.clip(rng.normal((70, 50, 30), 30, donor[band].shape), 0, 255).astype(np.uint8)
    alpha = W.donor_forehead_alpha(donor, dlms, W.colour_stats(donor, W.stats_mask(dlms, donor.shape)))
    oval = W.face_mask(dlms, donor.shape) > 0
    fringe = oval.copy()
    fringe[y1:] = False
    assert alpha[fringe].mean() < 0.1
    clear = oval & (np.arange(donor.shape[0])[:, None] > brow_y - 0.2 * (brow_y - top))
    assert alpha[clear].mean() > 0.95


def test_frame_never_shows_through_above_the_nose(two_faces):
    """A donor whose upper face is covered on both sides (a dark bar across both eye sockets) is still pasted
    opaque there: letting the frame show through put the subject's own glasses and brows over the donor face
    as ghosts. Below the nose tip the frame may still show through (a microphone at the chin)."""
    from headswapbench.face.topology import NOSE_TIP

    (frame, flms), (donor, dlms) = two_faces
    donor = donor.copy()
    pts = W.face_points(dlms)
    y_eye = int(dlms[[33, 263], 1].mean())
    fh = W.face_height(pts)
    donor[int(y_eye - 0.06 * fh):int(y_eye + 0.12 * fh), int(pts[:, 0].min()):int(pts[:, 0].max())] = (30, 30, 30)
    chin = (slice(int(dlms[17, 1] + 0.02 * fh), int(dlms[152, 1] - 0.02 * fh)),
            slice(int(dlms[61, 0]), int(dlms[291, 0])))
    donor[chin] = (20, 20, 20)
    t = W.FaceTransfer(donor, dlms, target_stats=W.colour_stats(frame, W.stats_mask(flms, frame.shape)))
    assert t.paste is not None
    tpl = t.mesh.points
    upper = (tpl[t.triangles][..., 1] <= tpl[NOSE_TIP, 1]).any(axis=1)
    assert np.all(t.paste[upper] == 1.0)
    assert (t.paste[~upper] < 0.5).any()  # the covered chin may still let the frame through


def _blotch_field(img, lms, seed=0):
    """[H, W] in [0, 1]: smooth random blotches ≈ 5 % of the face height (freckle clusters, brown patches),
    laid over the cheeks, nose and chin (`stats_mask`) at least 8 % of the face height from the eyes,
    brows, lips and nostrils."""
    pts = W.face_points(lms)
    fh = W.face_height(pts)
    rng = np.random.default_rng(seed)
    field = cv2.GaussianBlur(rng.standard_normal(img.shape[:2]).astype(np.float32), (0, 0), 0.02 * fh)
    blotches = np.clip(field / field.std() - 0.8, 0, 1)
    where = W.stats_mask(lms, img.shape).astype(np.float32) / 255
    feats = np.zeros(img.shape[:2], np.uint8)
    for ring in (W.RIGHT_BROW_RING, W.LEFT_BROW_RING, W.RIGHT_EYE, W.LEFT_EYE, W.OUTER_LIPS):
        feats = np.maximum(feats, W._fill(img.shape, pts[ring]))
    for x, y in np.round(pts[W.NOSTRILS]).astype(int):
        cv2.circle(feats, (int(x), int(y)), int(0.02 * fh), 255, -1)
    k = 2 * int(0.08 * fh) + 1
    where[cv2.dilate(feats, np.ones((k, k), np.uint8)) > 0] = 0
    return blotches * cv2.GaussianBlur(where, (0, 0), 2.0)


def test_retouch_removes_blotches_and_keeps_features_and_shading(two_faces):
    """Synthetic brown blotches drawn on a real face: the retouch removes most of them (measured against the
    retouch of the clean photo, and by the artifact gate's independent `blotch_share`), and leaves the eyes
    and brows exactly as they were, the face's shading (σ = 8 % of the face height) but for a small uniform
    lightening (the photo's own dark spots are gone too), and part of its fine texture (not plastic)."""
    from pipelines.artifacts import align_face, blotch_share, canonical_regions

    (clean, lms), _ = two_faces
    patch = _blotch_field(clean, lms)[..., None]
    brown = np.array([0.62, 0.5, 0.4], np.float32)  # darker and warmer: freckle brown
    blotched = np.clip(np.round(clean * (1 - patch * (1 - brown))), 0, 255).astype(np.uint8)
    sel = patch[..., 0] > 0.3
    assert sel.sum() > 500
    r_clean, r_blotched = W.retouch_skin(clean, lms), W.retouch_skin(blotched, lms)
    lab = {k: W._to_lab(v) for k, v in dict(c=clean, b=blotched, rc=r_clean, rb=r_blotched).items()}
    drawn = np.linalg.norm(lab["b"] - lab["c"], axis=2)[sel].mean()
    left = np.linalg.norm(lab["rb"] - lab["rc"], axis=2)[sel].mean()
    assert drawn > 8 and left < drawn / 3, (drawn, left)
    skin = canonical_regions().skin

    def share(img):
        face = align_face(img, lms)
        return blotch_share(cv2.cvtColor(face.astype(np.float32) / 255, cv2.COLOR_RGB2LAB), skin)

    before, after = share(blotched) - share(clean), share(r_blotched) - share(r_clean)  # what the blotches add
    assert before > 0.01 and after < 0.3 * before, (before, after)
    assert share(r_clean) < 0.7 * share(clean)  # the photo's own mottle goes too
    # eyes and brows: untouched, to the pixel
    pts = W.face_points(lms)
    for ring in (W.RIGHT_BROW_RING, W.LEFT_BROW_RING, W.RIGHT_EYE, W.LEFT_EYE):
        m = W._fill(clean.shape, pts[ring]) > 0
        np.testing.assert_array_equal(r_blotched[m], blotched[m])
    # shading: the low frequencies of the plain skin stay; fine texture is reduced, not erased
    plain = W.plain_skin_weight(clean, lms) > 0.9
    sigma = 0.08 * W.face_height(pts)
    low = [cv2.GaussianBlur(lab[k][..., 0], (0, 0), sigma) for k in ("c", "rc")]
    d = (low[1] - low[0])[plain]
    assert abs(d.mean()) < 4.0  # removing dark spots lightens the skin a little, uniformly ...
    assert np.abs(d - d.mean()).mean() < 0.15 * low[0][plain].std()  # ... and leaves the shading's pattern
    fine = [lab[k][..., 0] - cv2.GaussianBlur(lab[k][..., 0], (0, 0), 1.0) for k in ("c", "rc")]
    ratio = fine[1][plain].std() / fine[0][plain].std()
    assert 0.35 < ratio < 0.9, ratio


def _halves(img, lms):
    """Mean CIE-LAB lightness of the inner face (`stats_mask`) left and right of the nose."""
    lab = W._to_lab(img)[..., 0]
    inner = W.stats_mask(lms, img.shape) > 0
    left = np.arange(img.shape[1])[None, :] < lms[1, 0]
    return float(lab[inner & left].mean()), float(lab[inner & ~left].mean())


def test_relight_gives_the_pasted_face_the_frames_light_and_keeps_the_donors_features(two_faces):
    """A donor lit from one side (its left half darkened to 55 %, SYNTHETIC shadow) pasted without relighting
    carries that shadow onto the frame; relit, the face's left/right balance is the frame's, while the
    pasted detail (band-pass) is still the donor's."""
    (frame, flms), (donor, dlms) = two_faces
    nose_x = dlms[1, 0]
    shade = np.where(np.arange(donor.shape[1]) < nose_x, 0.55, 1.0).astype(np.float32)
    shade = cv2.GaussianBlur(np.repeat(shade[None], donor.shape[0], 0), (0, 0), 0.03 * W.face_height(dlms))
    shadowed = np.clip(donor * shade[..., None], 0, 255).astype(np.uint8)
    # mirror off: it would borrow the shadowed side's skin from the lit one and hide what is tested
    flat = W.face_onto_frame(frame, flms, shadowed, dlms, relight=False, mirror=False)
    relit = W.face_onto_frame(frame, flms, shadowed, dlms, mirror=False)
    balance = lambda img: np.subtract(*_halves(img, flms))  # noqa: E731
    assert abs(balance(flat) - balance(frame)) > 5  # the donor's shadow came along (partly evened out by the colour transfer)
    assert abs(balance(relit) - balance(frame)) < 0.25 * abs(balance(flat) - balance(frame))
    inner = W.stats_mask(flms, frame.shape) > 0
    detail = lambda img: (img.astype(np.float32) - cv2.GaussianBlur(img.astype(np.float32), (0, 0), 2.0)).mean(-1)  # noqa: E731
    a, b, f = detail(relit)[inner], detail(flat)[inner], detail(frame)[inner]
    assert np.corrcoef(a, b)[0, 1] > 0.8 > np.corrcoef(a, f)[0, 1] + 0.3


def test_the_clips_own_eyes_stay_inside_the_lids(two_faces):
    """``keep_target_openings``: inside the frame's lid margins the output is the frame's own eyes, bit for bit;
    with it off the donor's eyes are pasted there."""
    (frame, flms), (donor, dlms) = two_faces
    eyes = np.maximum(W._fill(frame.shape, flms[W.RIGHT_EYE, :2]), W._fill(frame.shape, flms[W.LEFT_EYE, :2]))
    inside = cv2.erode(eyes, np.ones((3, 3), np.uint8)) > 0
    assert inside.sum() > 50
    kept = W.face_onto_frame(frame, flms, donor, dlms)
    pasted = W.face_onto_frame(frame, flms, donor, dlms, keep_target_openings=False)
    assert np.array_equal(kept[inside], frame[inside])
    assert np.abs(pasted[inside].astype(int) - frame[inside]).mean() > 10
