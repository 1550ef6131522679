"""The classical ``warp`` swapper: the reference face warped onto every driving frame along the driving clip's
landmarks (piecewise-affine over the landmark mesh, colour matched once per clip, feathered blend).

No learning, no weights, CPU only: a floor for learned swappers. It moves the inner face (eyes, nose, mouth,
skin, forehead; the features move to the reference's proportions, `headswapbench.reshape`) but keeps the
driving clip's hair, head shape, ears, eyeballs, nostrils and mouth interior, which bounds how far identity can
move towards the reference."""

from __future__ import annotations

import numpy as np

from ..errors import FaceNotFoundError
from ..types import Image, Video
from .base import SwapContext, Swapper


class WarpSwapper(Swapper):
    name = "warp"
    version = "2"  # 2: the engine's relighting, the clip's own eyes and nostrils, the reference's proportions

    def __init__(self, blend_mode: str = "feather", smooth_sigma: float = 1.0, relight: bool = True,
                 keep_target_openings: bool = True, reshape: bool = True, progress: bool = False):
        from ..warp import engine_steps

        self.blend_mode = blend_mode
        self.smooth_sigma = smooth_sigma
        # the engine's steps (docs/warp.md), as the warp editor takes them
        self.engine = engine_steps("warp swapper", relight, keep_target_openings, reshape)
        self.progress = progress

    def swap(self, driving: Video, reference: Image, context: SwapContext | None = None) -> Video:
        from ..face import analyze_image, analyze_video
        from ..warp import face_onto_video

        where = f" ({context.reference_path})" if context is not None and context.reference_path else ""
        try:
            ref = analyze_image(np.ascontiguousarray(reference), identity=None)
        except FaceNotFoundError:
            raise FaceNotFoundError(f"warp swapper: no face found in the reference image{where}") from None
        # Landmarks only: identity embeddings of the driving clip are not needed to swap.
        analysis = analyze_video(driving, identity=None, progress=self.progress)
        if not analysis.face_found.any():  # nothing to follow: the "swap" would be the driving clip unchanged
            drv = f" ({context.driving_path})" if context is not None and context.driving_path else ""
            raise FaceNotFoundError(f"warp swapper: no face found on any of the {analysis.num_frames} driving "
                                    f"frames{drv}")
        return face_onto_video(driving, analysis.landmarks, np.ascontiguousarray(reference), ref.landmarks,
                               progress=self.progress, smooth_sigma=self.smooth_sigma, blend_mode=self.blend_mode,
                               **self.engine)

    def describe(self) -> dict:
        return {**super().describe(), "blend_mode": self.blend_mode, "smooth_sigma": self.smooth_sigma, **self.engine}
