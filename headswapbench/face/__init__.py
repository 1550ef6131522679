"""Face analysis engine: landmarks with main-subject tracking, head pose, expression, identity.

    from headswapbench.face import analyze_video, analyze_image
    a = analyze_video("clip.mp4")        # ClipAnalysis: landmarks [T,478,3], pose [T,3], ...
    a.save("out/"); ClipAnalysis.load("out/")
"""

from .analysis import ClipAnalysis, ImageAnalysis, analyze_image, analyze_video, identity_sample
from .identity import IDENTITY_MODELS, IdentityModel, get_identity_model
from .landmarks import LANDMARK_MODELS, FaceResult, LandmarkModel, get_landmark_model

__all__ = [
    "IDENTITY_MODELS",
    "LANDMARK_MODELS",
    "ClipAnalysis",
    "FaceResult",
    "IdentityModel",
    "ImageAnalysis",
    "LandmarkModel",
    "analyze_image",
    "analyze_video",
    "get_identity_model",
    "get_landmark_model",
    "identity_sample",
]
