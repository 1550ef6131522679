"""Wan2.1-VACE head editor: regenerate the whole head (hair included) inside a mask, the new identity from a
donor photo and/or a prompt, the clip's face geometry imposed frame by frame by a face-mesh control video.

Why VACE: one video model takes, per frame, a context frame and a mask. Outside the mask the context is the
original frame (kept as conditioning); inside it, this editor puts the clip's face-mesh drawing (the pose
control), so the regenerated head follows every blink and mouth shape of V_a — what the sync filter measures.
A reference image (the donor's head cut out on white) sets who the new head is. Clips longer than the model's
window are cut into overlapping windows: each window after the first is given the frames it shares with the
previous one as known context (VACE's temporal extension), and the overlaps are cross-faded. The generated
frames are composited back through a feathered mask, so body and background stay the original pixels.

    editor = make_editor("vace")                         # Wan-AI/Wan2.1-VACE-1.3B-diffusers, needs a GPU
    editor = make_editor("vace", model_id="tiny")        # tiny random pipeline from configs (tests, CI)
    prompt, attributes = editor.sample_prompt(seed, clip=clip)
    v_c = editor.apply(clip, prompt, seed)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import HeadSwapBenchError, MissingWeightsError
from ..options import option_flag
from ..types import Image, Video
from ..video import resize_frames
from .edit import (
    TINY,
    HeadEditor,
    WarpEditor,
    _tiny_tokenizer,
    clip_landmarks,
    head_mask,
    load_prompt_bank,
    render_landmarks,
    sample_prompt,
)

DEFAULT_MODEL = "Wan-AI/Wan2.1-VACE-1.3B-diffusers"
MODEL_14B = "Wan-AI/Wan2.1-VACE-14B-diffusers"
MODEL_ALIASES = {"1.3b": DEFAULT_MODEL, "14b": MODEL_14B}
IDENTITY_MODES = ("donor", "prompt", "both")
CONTROLS = ("facemesh", "none")
SEGMENTATIONS = ("selfie", "none")
# identity="donor": the reference photo says who; the text only asks for a clean, photographic head
DONOR_PROMPT = ("a photo of the person in the reference image, talking, same pose and expression, natural skin, "
                "natural look, high quality, sharp focus")
_SEP = " | "  # "donor:<id> | <text>": the recorded prompt says both which face and which words
_REACTIVE_GREY = 127  # fill of the masked region without a control signal (VACE's inpainting convention)


# ---------------------------------------------------------------------------------------------- head masks
def person_probability(frames: np.ndarray) -> np.ndarray:
    """[T, H, W] float32 probability of "person" per pixel (MediaPipe selfie segmentation, shipped in the
    mediapipe 0.10.14 wheel; hair, face, neck and body are all "person")."""
    from mediapipe.python.solutions.selfie_segmentation import SelfieSegmentation

    from ..face.landmarks import warm_graph

    seg = warm_graph(lambda: SelfieSegmentation(model_selection=0))
    try:
        return np.stack([np.asarray(seg.process(np.ascontiguousarray(f)).segmentation_mask, np.float32)
                         for f in frames])
    finally:
        seg.close()


def _face_frame(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Origin and rotation [2, 2] of the face's own frame (x along the eye line, y down the face)."""
    eye = pts[263, :2] - pts[33, :2]
    a = np.arctan2(eye[1], eye[0]) if np.linalg.norm(eye) > 1e-6 else 0.0
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], np.float64)
    return pts[:, :2].mean(0).astype(np.float64), rot


def head_region(landmarks: np.ndarray, height: int, width: int, side: float = 0.45, top: float = 0.8,
                bottom: float = 0.12, neck: float = 0.55) -> np.ndarray:
    """[T, H, W] bool: where the head *may* be, from the face mesh alone, in the face's rotated frame.

    A half-ellipse over the face (``top`` face heights above the mesh's top edge, for hair), ``side`` face
    widths beyond each cheek and that wide down to the jaw, then tapering to ``neck`` face widths either side
    of the centre ``bottom`` face heights under the chin: hair beside the cheeks is inside, shoulders and
    clothes are not (the segmentation then trims it to the real outline)."""
    import cv2

    out = np.zeros((len(landmarks), height, width), np.uint8)
    ang = np.linspace(np.pi, 2 * np.pi, 33)
    for t, pts in enumerate(landmarks):
        origin, rot = _face_frame(pts)
        uv = (pts[:, :2] - origin) @ rot  # face frame coordinates
        (u0, v0), (u1, v1) = uv.min(0), uv.max(0)
        fw, fh = u1 - u0, v1 - v0
        uc, vm = (u0 + u1) / 2, (v0 + v1) / 2
        a, b = (0.5 + side) * fw, vm - (v0 - top * fh)
        arc = np.stack([uc + a * np.cos(ang), vm + b * np.sin(ang)], 1)  # left → over the top → right
        jaw, low_v = v1 - 0.2 * fh, v1 + bottom * fh
        low = np.array([[uc + a, jaw], [uc + neck * fw, low_v], [uc - neck * fw, low_v], [uc - a, jaw]])
        poly = np.concatenate([arc, low]) @ rot.T + origin
        cv2.fillPoly(out[t], [np.round(poly).astype(np.int32)], 1)
    return out.astype(bool)


def _hull(pts: np.ndarray, height: int, width: int) -> np.ndarray:
    import cv2

    m = np.zeros((height, width), np.uint8)
    cv2.fillConvexPoly(m, cv2.convexHull(np.round(pts[:, :2]).astype(np.int32)), 1)
    return m.astype(bool)


def segmented_head_mask(frames: np.ndarray, landmarks: np.ndarray, segmentation: str = "selfie",
                        min_cover: float = 0.5) -> tuple[np.ndarray, dict]:
    """[T, H, W] bool mask of the whole head (hair included) and how it was made.

    ``selfie``: the person segmentation (smoothed over 3 frames) inside ``head_region``, plus the face mesh's
    hull. The segmentation follows the real hair outline, so the mask neither leaves hair behind nor eats
    background the model would have to invent. A frame where the segmentation covers less than
    ``min_cover`` of the face hull (segmentation failed) falls back to the landmark ellipse (`head_mask`).
    ``none``: the landmark ellipse on every frame."""
    T, H, W = frames.shape[:3]

    def ellipse(t: int) -> np.ndarray:
        return head_mask(landmarks[t : t + 1], H, W, feather=0.0)[0] > 0.5

    if segmentation == "none":
        return np.stack([ellipse(t) for t in range(T)]), {"segmentation": "none", "fallback_frames": T}
    if segmentation != "selfie":
        raise HeadSwapBenchError(f"vace editor: segmentation '{segmentation}' unknown; choose {SEGMENTATIONS}")
    prob = person_probability(frames)
    region = head_region(landmarks, H, W)
    masks, fallback = np.zeros((T, H, W), bool), 0
    for t in range(T):
        # a 3-frame running mean (> 0.5) steadies the outline without lagging behind head motion
        person = prob[max(t - 1, 0)] + prob[t] + prob[min(t + 1, T - 1)] > 1.5
        hull = _hull(landmarks[t], H, W)
        if np.count_nonzero(person & hull) < min_cover * max(np.count_nonzero(hull), 1):
            masks[t] = ellipse(t) | hull
            fallback += 1
        else:
            masks[t] = (person & region[t]) | hull
    return masks, {"segmentation": "selfie", "fallback_frames": fallback}


def _face_size(landmarks: np.ndarray) -> np.ndarray:
    """[T] larger side of each frame's landmark box (pixels)."""
    span = np.nanmax(landmarks[..., :2], axis=1) - np.nanmin(landmarks[..., :2], axis=1)
    return span.max(-1)


def generation_and_composite_masks(head: np.ndarray, landmarks: np.ndarray, dilate: float = 0.10,
                                   feather: float = 0.06) -> tuple[np.ndarray, np.ndarray]:
    """(generate [T, H, W] bool, composite [T, H, W] float32) from the head mask.

    The model regenerates the head grown by ``dilate`` face sizes (room for a head of another shape); the
    composite is 1 on the head, fades out over the margin (a ``feather``-wide blur) and is 0 wherever the
    model did not generate, so no pixel outside the generation mask ever changes."""
    import cv2

    T, H, W = head.shape
    gen, comp = np.zeros_like(head), np.zeros(head.shape, np.float32)
    sizes = _face_size(landmarks)
    for t in range(T):
        r = max(1.0, round(dilate * float(sizes[t])))
        m = head[t].astype(np.uint8)
        dist = cv2.distanceTransform(1 - m, cv2.DIST_L2, 5)  # pixels to the head: one pass for both growths
        gen[t] = dist <= r
        k = max(3, int(feather * float(sizes[t])) | 1)
        soft = cv2.GaussianBlur((dist <= max(1.0, r // 2)).astype(np.float32), (k, k), 0)
        comp[t] = np.where(gen[t], np.maximum(soft, m), 0.0)
    return gen, comp


# ------------------------------------------------------------------------------------------------- windows
def wan_length(n: int) -> int:
    """The smallest 4k+1 frame count ≥ n (Wan's VAE packs 4 frames per latent after the first)."""
    return 4 * max(0, -(-(int(n) - 1) // 4)) + 1


def plan_windows(num_frames: int, window: int, overlap: int) -> list[tuple[int, int]]:
    """[start, end) windows covering ``num_frames``: one window when it fits, else the fewest windows of
    exactly ``window`` frames, evenly spaced, neighbours sharing at least ``overlap`` frames."""
    if window < 5 or window % 4 != 1:
        raise HeadSwapBenchError(f"vace editor: window {window} must be 4k+1 frames (5, 9, …, 81)")
    if not 0 < overlap < window:
        raise HeadSwapBenchError(f"vace editor: overlap {overlap} must be between 1 and window-1 ({window - 1})")
    if num_frames <= window:
        return [(0, num_frames)]
    n = -(-(num_frames - overlap) // (window - overlap))
    starts = [round(i * (num_frames - window) / (n - 1)) for i in range(n)]
    return [(s, s + window) for s in starts]


# --------------------------------------------------------------------------------------------- the editor
class VaceEditor(HeadEditor):
    """Wan2.1-VACE (``diffusers.WanVACEPipeline``): masked head regeneration with a face-mesh control video
    and a donor reference photo, windowed, composited back (see the module docstring and docs/editors.md).

    ``model_id``: a Hub id, ``1.3B``/``14B``, a local pipeline folder (``save_pretrained``), or ``tiny`` (a
    tiny random pipeline built from configs: right shapes, meaningless pixels)."""

    name = "vace"
    version = "1"

    def __init__(self, model_id: str = DEFAULT_MODEL, revision: str | None = None, donors: str | Path | None = None,
                 identity: str = "donor", control: str = "facemesh", segmentation: str = "selfie",
                 steps: int = 30, guidance: float = 5.0, conditioning_scale: float = 1.0, flow_shift: float = 3.0,
                 size: int = 512, window: int = 81, overlap: int = 17, dilate: float = 0.10, feather: float = 0.06,
                 max_sequence_length: int = 512, seed: int | None = None, device: str | None = None,
                 dtype: str | None = None, cpu_offload: bool = False, progress: bool = True):
        import torch

        self.model_id = MODEL_ALIASES.get(str(model_id).lower(), str(model_id))
        self.revision = revision
        for value, allowed, what in ((identity, IDENTITY_MODES, "identity"), (control, CONTROLS, "control"),
                                     (segmentation, SEGMENTATIONS, "segmentation")):
            if value not in allowed:
                raise HeadSwapBenchError(f"vace editor: {what} '{value}' unknown; choose one of {allowed}")
        self.identity, self.control, self.segmentation = identity, control, segmentation
        self.steps, self.guidance = int(steps), float(guidance)
        self.conditioning_scale, self.flow_shift = float(conditioning_scale), float(flow_shift)
        self.size, self.window, self.overlap = int(size), int(window), int(overlap)
        self.dilate, self.feather = float(dilate), float(feather)
        self.max_sequence_length = int(max_sequence_length)
        self.seed_offset = int(seed or 0)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.dtype = dtype or ("bfloat16" if self.device.startswith("cuda") else "float32")
        self.cpu_offload = option_flag(cpu_offload, "cpu_offload", "vace editor")
        self.num_gpus = 1.0 if self.device.startswith("cuda") else 0.0
        self.progress = progress
        if self.size % 16:
            raise HeadSwapBenchError(f"vace editor: size {self.size} must be a multiple of 16")
        plan_windows(1, self.window, self.overlap)  # validates window/overlap now, not after a long ingest
        # the donor bank is the warp editor's (same photos, same look-alike screening, same records)
        self.donors = donors
        self._bank = WarpEditor(donors=donors) if identity != "prompt" else None
        self._pipe = None
        self._references: dict[str, Image] = {}

    # pipeline ------------------------------------------------------------------------------------------
    def pipeline(self):
        if self._pipe is None:
            import torch

            if self.model_id == TINY:
                pipe = build_tiny_pipeline()
                if self.dtype != "float32":  # the VAE stays float32, as on the real path
                    pipe.transformer.to(dtype=getattr(torch, self.dtype))
                    pipe.text_encoder.to(dtype=getattr(torch, self.dtype))
            else:
                pipe = self._load_pipeline()
            self.set_pipeline(pipe)
        return self._pipe

    def set_pipeline(self, pipe) -> None:
        """Use this ``WanVACEPipeline`` (e.g. a real-size one with random weights, benchmarks/bench_vace_gpu.py):
        Wan's UniPC flow scheduler with this editor's ``flow_shift``, moved to the device (or offloaded)."""
        from diffusers import UniPCMultistepScheduler

        pipe.scheduler = UniPCMultistepScheduler.from_config(  # Wan is a flow model, whatever the repo ships
            pipe.scheduler.config, prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=self.flow_shift)
        if self.cpu_offload and self.device.startswith("cuda"):
            pipe.enable_model_cpu_offload(device=self.device)
        elif self.device != "cpu":
            pipe = pipe.to(self.device)
        pipe.set_progress_bar_config(disable=not self.progress, desc=f"{self.name} denoise", leave=False)
        self._pipe = pipe

    def _load_pipeline(self):
        """From the Hugging Face cache (or a local folder); the VAE stays float32 as Wan recommends."""
        import warnings

        import torch
        from diffusers import AutoencoderKLWan, WanVACEPipeline
        from diffusers.utils import logging as diffusers_logging

        local = Path(self.model_id).expanduser()
        where: dict[str, Any] = {} if local.is_dir() else {"revision": self.revision}
        if not self.progress:
            diffusers_logging.disable_progress_bar()
        try:
            with warnings.catch_warnings():  # diffusers ≥ 0.40 renames torch_dtype; older releases need it
                warnings.filterwarnings("ignore", message=".*torch_dtype.*", category=FutureWarning)
                vae = AutoencoderKLWan.from_pretrained(self.model_id, subfolder="vae", torch_dtype=torch.float32,
                                                       **where)
                pipe = WanVACEPipeline.from_pretrained(self.model_id, vae=vae,
                                                       torch_dtype=getattr(torch, self.dtype), **where)
        except (OSError, ValueError) as exc:
            from huggingface_hub.constants import HF_HUB_CACHE

            looks_local = local.is_dir() or self.model_id.startswith((".", "/", "~"))
            raise MissingWeightsError(
                name=f"vace editor ({self.model_id})",
                filename=f"{self.model_id} ({'local pipeline folder' if looks_local else 'diffusers repository'})",
                url=str(local) if looks_local else f"https://huggingface.co/{self.model_id}", sha256=None,
                target=str(local) if looks_local else HF_HUB_CACHE,
                cause=str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__) from None
        finally:
            diffusers_logging.enable_progress_bar()
        return pipe

    # identity ------------------------------------------------------------------------------------------
    def sample_prompt(self, seed: int, clip: Video | None = None) -> tuple[str, dict]:
        """``donor:<id> | <text>`` and what it encodes: the donor the warp editor's bank picks for this clip
        (look-alikes of the clip's own person skipped) and/or a prompt-bank head description."""
        attrs: dict[str, Any] = {"identity": self.identity}
        donor = None
        if self._bank is not None:
            _, bank_attrs = self._bank.sample_prompt(seed, clip=clip)
            attrs.update(bank_attrs)
            donor = bank_attrs["donor"]
        if self.identity in ("prompt", "both"):
            text, bank_attrs = sample_prompt(seed)
            attrs.update(bank_attrs)
        else:
            text = DONOR_PROMPT
        return (f"donor:{donor}{_SEP}{text}" if donor else text), attrs

    def split_prompt(self, prompt: str, seed: int) -> tuple[str | None, str]:
        """(donor id or None, text) from a prompt made by `sample_prompt` (or a plain text prompt)."""
        donor, text = None, prompt
        if prompt.startswith("donor:"):
            head, _, rest = prompt.partition(_SEP)
            donor, text = head[len("donor:"):], rest or DONOR_PROMPT
        if self._bank is not None and donor is None:
            donor = self._bank.donor_for_seed(seed)
        return (donor if self._bank is not None else None), text

    def reference(self, donor_id: str) -> Image:
        """The donor's head (hair included) cut out on white: VACE's subject-reference convention."""
        if donor_id not in self._references:
            img, lms = self._bank._donor(donor_id)  # the bank's cached photo + landmarks
            self._references[donor_id] = head_cutout(img, lms, self.segmentation)
        return self._references[donor_id]

    # the edit ------------------------------------------------------------------------------------------
    def model_size(self, height: int, width: int) -> tuple[int, int]:
        """Long side at ``size``, both sides multiples of 16 (VAE ×8, patch ×2)."""
        scale = self.size / max(height, width)
        return (max(16, int(round(height * scale / 16)) * 16), max(16, int(round(width * scale / 16)) * 16))

    def conditioning(self, clip: Video, lms: np.ndarray) -> dict:
        """Everything the windows need, at model resolution: context frames (original outside the generation
        mask, control drawing inside), the generation mask, and the full-size composite mask."""
        T, H, W = clip.num_frames, clip.height, clip.width
        head, mask_info = segmented_head_mask(clip.frames, lms, self.segmentation)
        gen, comp = generation_and_composite_masks(head, lms, self.dilate, self.feather)
        h, w = self.model_size(H, W)
        frames = resize_frames(clip.frames, (w, h))
        if self.control == "facemesh":
            control = resize_frames(render_landmarks(lms, H, W), (w, h))
        else:
            control = np.full((T, h, w, 3), _REACTIVE_GREY, np.uint8)
        gen_m = resize_frames(gen.astype(np.uint8) * 255, (w, h)) > 127
        comp_m = resize_frames((comp * 255 + 0.5).astype(np.uint8), (w, h)).astype(np.float32) / 255
        context = np.where(gen_m[..., None], control, frames)
        return {"frames": frames, "context": context, "gen": gen_m, "comp_m": comp_m, "comp": comp,
                "size": (h, w), "mask_info": mask_info}

    def _run_window(self, context: np.ndarray, keep: np.ndarray, text: str, reference: Image | None,
                    seed: int) -> np.ndarray:
        """One pipeline call on ≤ window frames (padded to 4k+1 by repeating the last): [n, h, w, 3] in [0, 1].
        ``keep`` [n, h, w] is True where the context is known (VACE mask 0), False where to generate."""
        import torch
        from PIL import Image as PILImage

        n, h, w = keep.shape
        L = wan_length(n)
        if L > n:
            context = np.concatenate([context, np.repeat(context[-1:], L - n, 0)])
            keep = np.concatenate([keep, np.repeat(keep[-1:], L - n, 0)])
        video = [PILImage.fromarray(f) for f in context]
        mask = [PILImage.fromarray(np.where(k, 0, 255).astype(np.uint8)) for k in keep]  # mode L
        refs = None if reference is None else [PILImage.fromarray(reference)]
        pipe = self.pipeline()
        generator = torch.Generator(device="cpu").manual_seed(int(seed))
        negative = load_prompt_bank().get("negative")
        with torch.inference_mode():
            result = pipe(prompt=text, negative_prompt=negative, video=video, mask=mask, reference_images=refs,
                          conditioning_scale=self.conditioning_scale, height=h, width=w, num_frames=L,
                          num_inference_steps=self.steps, guidance_scale=self.guidance, generator=generator,
                          output_type="np", max_sequence_length=self.max_sequence_length)
        frames = np.asarray(result.frames[0], dtype=np.float32)
        if frames.shape[0] < n or frames.shape[1:3] != (h, w):
            raise HeadSwapBenchError(f"vace editor: pipeline returned {frames.shape[:3]}, expected ({L}, {h}, {w})")
        return np.clip(frames[:n], 0.0, 1.0)

    def edit(self, clip: Video, prompt: str, seed: int) -> Video:
        T, H, W = clip.num_frames, clip.height, clip.width
        donor, text = self.split_prompt(prompt, seed)
        reference = self.reference(donor) if donor is not None else None
        lms = clip_landmarks(clip)
        c = self.conditioning(clip, lms)
        comp_m = c["comp_m"][..., None]
        gen = np.zeros(c["frames"].shape, np.float32)  # generated frames at model resolution, blended
        done = 0  # gen is final on [0, done)
        for k, (s, e) in enumerate(plan_windows(T, self.window, self.overlap)):
            context, keep = c["context"][s:e].copy(), ~c["gen"][s:e]
            shared = done - s  # frames this window shares with what is already generated
            if shared > 0:  # give them as known frames: the new window continues the same head
                known = comp_m[s:done] * gen[s:done] + (1 - comp_m[s:done]) * (c["frames"][s:done] / 255.0)
                context[:shared] = (known * 255 + 0.5).astype(np.uint8)
                keep[:shared] = True
            out = self._run_window(context, keep, text, reference, int(seed) + self.seed_offset + k)
            if shared > 0:  # cross-fade the shared frames from the old window to the new one
                ramp = (np.arange(1, shared + 1, dtype=np.float32) / (shared + 1))[:, None, None, None]
                out[:shared] = (1 - ramp) * gen[s:done] + ramp * out[:shared]
            gen[s:e] = out
            done = e
        gen8 = (gen * 255 + 0.5).astype(np.uint8)
        result = clip.frames.copy()
        for t in range(T):  # frame by frame: a 121-frame 512² clip in float would be 0.4 GB per temporary
            m = c["comp"][t, ..., None]
            full = resize_frames(gen8[t : t + 1], (W, H))[0].astype(np.float32)
            result[t] = (full * m + clip.frames[t].astype(np.float32) * (1 - m) + 0.5).clip(0, 255).astype(np.uint8)
        return Video(result, clip.fps)

    def options(self) -> dict:
        opts = {"model_id": self.model_id, "revision": self.revision, "identity": self.identity,
                "control": self.control, "segmentation": self.segmentation, "steps": self.steps,
                "guidance": self.guidance, "conditioning_scale": self.conditioning_scale,
                "flow_shift": self.flow_shift, "size": self.size, "window": self.window, "overlap": self.overlap,
                "dilate": self.dilate, "feather": self.feather, "max_sequence_length": self.max_sequence_length,
                "seed_offset": self.seed_offset, "dtype": self.dtype,
                "prompt_bank_version": load_prompt_bank().get("version")}
        if self._bank is not None:
            opts["donor_bank"] = self._bank.options()
        return opts


def head_cutout(image: Image, landmarks: np.ndarray, segmentation: str = "selfie", margin: float = 0.08) -> Image:
    """The head of a photo (mask as for clips) on a white background, cropped to the head with a margin."""
    H, W = image.shape[:2]
    lms = np.asarray(landmarks, np.float32)[None]
    mask, _ = segmented_head_mask(image[None], lms, segmentation)
    _, soft = generation_and_composite_masks(mask, lms, dilate=0.02, feather=0.02)
    ys, xs = np.nonzero(mask[0])
    pad = int(margin * max(np.ptp(ys) + 1, np.ptp(xs) + 1))
    y0, y1 = max(0, ys.min() - pad), min(H, ys.max() + 1 + pad)
    x0, x1 = max(0, xs.min() - pad), min(W, xs.max() + 1 + pad)
    m = soft[0, y0:y1, x0:x1, None]
    out = image[y0:y1, x0:x1].astype(np.float32) * m + 255.0 * (1 - m)
    return (out + 0.5).clip(0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------------------- tiny pipeline
def build_tiny_pipeline(seed: int = 0):
    """The real ``WanVACEPipeline`` class with tiny random modules built from configs (offline; seconds on
    CPU): the same code path as the 1.3B model — text encoder, VAE, VACE control blocks, reference frames."""
    import tempfile

    import torch
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanVACEPipeline, WanVACETransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    torch.manual_seed(seed)
    vae = AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                           temperal_downsample=[False, True, True])
    transformer = WanVACETransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16, out_channels=16,
        text_dim=32, freq_dim=256, ffn_dim=32, num_layers=3, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32, vace_layers=[0, 2], vace_in_channels=96)  # 96 = 16 inactive + 16 reactive + 64 mask
    text_encoder = UMT5EncoderModel(UMT5Config(
        vocab_size=514, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4, relative_attention_num_buckets=8,
        pad_token_id=513, eos_token_id=513, decoder_start_token_id=0))
    tokenizer = _tiny_tokenizer(Path(tempfile.mkdtemp(prefix="hsb-tiny-vace-tok-")))
    for module in (vae, transformer, text_encoder):
        module.eval()  # built from configs = training mode (T5 dropout): eval, as from_pretrained leaves them
    return WanVACEPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer,
                           scheduler=UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
                                                             flow_shift=3.0))  # Wan's own scheduler config
