"""Head editors: give a clip a *new* head (identity B') while keeping its motion frame-synchronised.

The edited clip V_c is the swapper's driving input; the untouched clip V_a is the ground truth. Two editors
ship: ``warp`` (offline default: a donor photo's face warped onto every frame along the clip's landmarks) and
``diffusers`` (AnimateDiff video-to-video + a face-landmark ControlNet, prompted for a new head from a
seeded prompt bank, composited back through a head mask so body and background stay pixel-identical).

Usage (what the build stage does)::

    editor = make_editor("warp", donors="photos/")
    prompt, attributes = editor.sample_prompt(seed)     # recorded in metadata (prompt + extra columns)
    v_c = editor.apply(clip, prompt, seed)               # = edit() + output checks
"""

from __future__ import annotations

import hashlib
import inspect
import json
import random
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FaceNotFoundError, HeadSwapBenchError, MissingWeightsError
from ..reasons import Reason
from ..registry import Registry
from ..types import Image, Video

PROMPT_BANK_PATH = Path(__file__).with_name("prompt_bank.json")


class HeadEditor:
    """Subclass, set ``name``/``version`` and implement ``edit``. ``edit`` must return a clip with the input's
    frame count, size and fps. ``num_gpus`` is what one worker needs (the build's editor stage asks the executor
    for it, e.g. one GPU per Ray worker)."""

    name: str = "editor"
    version: str = "0"
    num_gpus: float = 0.0

    def edit(self, clip: Video, prompt: str, seed: int) -> Video:
        raise NotImplementedError

    def sample_prompt(self, seed: int, clip: Video | None = None) -> tuple[str, dict]:
        """The prompt for one clip and the attributes it encodes (recorded in the split's metadata). ``clip``
        lets an editor avoid choices that cannot change the identity (the warp editor skips look-alike donors)."""
        return sample_prompt(seed)

    def apply(self, clip: Video, prompt: str, seed: int) -> Video:
        """``edit`` plus the contract check, so a broken plug-in fails with a clear message, not a bad split."""
        out = self.edit(clip, prompt, seed)
        if not isinstance(out, Video):
            raise HeadSwapBenchError(f"head editor '{self.name}' returned {type(out).__name__}, not a Video")
        if out.frames.shape != clip.frames.shape:
            raise HeadSwapBenchError(
                f"head editor '{self.name}' returned frames {out.frames.shape}, expected {clip.frames.shape}")
        if abs(out.fps - clip.fps) > 1e-6:
            raise HeadSwapBenchError(f"head editor '{self.name}' changed fps {clip.fps} -> {out.fps}")
        return out

    def options(self) -> dict:
        """Settings that change the output (recorded in the build report and the dataset card)."""
        return {}

    def describe(self) -> dict:
        return {"name": self.name, "version": self.version,
                "source": f"{type(self).__module__}:{type(self).__qualname__}", "options": self.options()}


EDITORS: Registry[HeadEditor] = Registry("head editor", base=HeadEditor, entry_point_group="headswapbench.editors")
EDITORS.register("warp", "headswapbench.pipelines.edit:WarpEditor")
EDITORS.register("diffusers", "headswapbench.pipelines.edit:DiffusersEditor")
EDITORS.register("vace", "headswapbench.pipelines.vace:VaceEditor")


def make_editor(name: str, **options: Any) -> HeadEditor:
    """Instantiate a registered editor (or ``module:attr``) with keyword options; ``None`` values mean default."""
    cls = EDITORS.get(name)
    options = {k: v for k, v in options.items() if v is not None}
    if not isinstance(cls, type):
        return cls
    params = inspect.signature(cls.__init__).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(options) - set(params))
        if unknown:
            allowed = sorted(k for k in params if k != "self")
            raise HeadSwapBenchError(f"head editor '{name}' has no option(s) {unknown}; options: {allowed}")
    return cls(**options)


# ---------------------------------------------------------------------------------------------- prompt bank
@lru_cache(maxsize=4)
def load_prompt_bank(path: str | None = None) -> dict:
    p = Path(path) if path else PROMPT_BANK_PATH
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise HeadSwapBenchError(f"prompt bank {p}: cannot read ({exc})") from None


def sample_prompt(seed: int, bank: dict | None = None) -> tuple[str, dict]:
    """Draw one head description per clip: the same seed always gives the same prompt (stable rebuilds).

    Attributes are drawn in a fixed order from ``random.Random(seed)``; facial hair is only drawn for the
    presentations the bank allows it for."""
    bank = bank or load_prompt_bank()
    rng = random.Random(int(seed))
    allowed_hair = set(bank.get("rules", {}).get("facial_hair_only_for", []))
    attrs: dict[str, str] = {}
    for key, values in bank["attributes"].items():
        attrs[key] = rng.choice(values)
    if allowed_hair and attrs.get("gender_presentation") not in allowed_hair:
        attrs["facial_hair"] = "no facial hair"
    prompt = bank["template"].format(**attrs)
    attrs["prompt_bank_version"] = str(bank.get("version", "0"))
    return prompt, attrs


# ------------------------------------------------------------------------------------------ landmark helpers
def clip_analysis(clip: Video):
    """The clip's face analysis without identity (cached by content, so editors may ask more than once)."""
    from ..face import analyze_video

    return analyze_video(clip, landmarks="facemesh", identity=None, progress=False)


def clip_landmarks(clip: Video) -> np.ndarray:
    """[T, 478, 3] pixel landmarks of the clip's face (nan where none); FaceNotFoundError if no frame has one."""
    lms = np.asarray(clip_analysis(clip).landmarks, dtype=np.float32)
    if not np.isfinite(lms[..., :2]).all(axis=(1, 2)).any():
        raise FaceNotFoundError("no face found in any frame of the clip to edit")
    return _fill_missing(lms)


def _fill_missing(lms: np.ndarray) -> np.ndarray:
    """Frames without a face borrow the nearest frame's landmarks (editors need a shape on every frame)."""
    ok = np.isfinite(lms[..., :2]).all(axis=(1, 2))
    if ok.all():
        return lms
    idx = np.flatnonzero(ok)
    nearest = idx[np.abs(np.arange(len(lms))[:, None] - idx[None, :]).argmin(axis=1)]
    return lms[nearest]


def head_mask(landmarks: np.ndarray, height: int, width: int, hair: float = 0.45, widen: float = 1.35,
              feather: float = 0.06) -> np.ndarray:
    """Soft [T, H, W] float mask covering the whole head (hair included) from face landmarks.

    The face mesh stops at the hairline, so the mask is an ellipse around the mesh's box, widened and
    extended upward by ``hair`` face heights; ``feather`` (fraction of the face size) softens its edge so the
    composite has no seam."""
    import cv2

    masks = np.zeros((len(landmarks), height, width), np.float32)
    for t, pts in enumerate(landmarks):
        xy = pts[:, :2]
        x0, y0 = np.nanmin(xy, axis=0)
        x1, y1 = np.nanmax(xy, axis=0)
        fw, fh = x1 - x0, y1 - y0
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 - hair * fh / 2
        axes = (int(round(fw * widen / 2)), int(round(fh * (1 + hair) * 1.08 / 2)))
        m = np.zeros((height, width), np.uint8)
        cv2.ellipse(m, (int(round(cx)), int(round(cy))), axes, 0, 0, 360, 255, -1)
        k = max(3, int(feather * max(fw, fh)) | 1)
        masks[t] = cv2.GaussianBlur(m, (k, k), 0).astype(np.float32) / 255.0
    return masks


def render_landmarks(landmarks: np.ndarray, height: int, width: int) -> np.ndarray:
    """Face-mesh drawings [T, H, W, 3] uint8 on black: the conditioning frames of a MediaPipe-face ControlNet
    (contours and irises in the colours of mediapipe's default drawing style)."""
    import cv2
    from mediapipe.python.solutions import face_mesh_connections as fmc

    groups = [
        (fmc.FACEMESH_FACE_OVAL, (224, 224, 224)), (fmc.FACEMESH_LEFT_EYE, (48, 255, 48)),
        (fmc.FACEMESH_LEFT_EYEBROW, (48, 255, 48)), (fmc.FACEMESH_RIGHT_EYE, (255, 48, 48)),
        (fmc.FACEMESH_RIGHT_EYEBROW, (255, 48, 48)), (fmc.FACEMESH_LIPS, (224, 224, 224)),
        (fmc.FACEMESH_LEFT_IRIS, (48, 255, 48)), (fmc.FACEMESH_RIGHT_IRIS, (255, 48, 48)),
    ]
    out = np.zeros((len(landmarks), height, width, 3), np.uint8)
    thick = max(1, round(min(height, width) / 256))
    for t, pts in enumerate(landmarks):
        xy = np.round(pts[:, :2]).astype(np.int32)
        for edges, colour in groups:
            for a, b in edges:
                cv2.line(out[t], tuple(xy[a]), tuple(xy[b]), colour, thick, cv2.LINE_AA)
    return out


# ----------------------------------------------------------------------------------------------- warp editor
MIRRORED = "|mirrored"  # prompt suffix: the donor photo is used flipped left-right


class WarpEditor(HeadEditor):
    """Offline default: warp a donor photo's face onto every frame along the clip's landmarks (CPU, classical).

    Donors come from ``donors`` (a folder of face photos; the donor id is the file stem) or, without one, the
    embedded sample photos, and are screened once for quality and visibility (`pipelines.donors`: pose,
    eyes, mouth, sharpness, exposure, colour, occlusion; ``donor_limits`` overrides limits by name). Per
    clip, the donor is the first screened photo in a seeded rendezvous order that is not the clip's own
    person and whose pose is within ``max_pose_gap`` degrees of the clip's (mirrored when that brings it
    closer; the closest otherwise). The prompt (``donor:<id>``, ``|mirrored`` when flipped) says which face
    each driving clip wears, and the attributes record the donor's screening scores. The donor's plain skin
    is retouched before warping (`headswapbench.warp.retouch_skin`, once per donor, kept with the editor):
    pasted enlarged, the embedded astronaut's freckles came out as mottled, blotchy skin (v3). Then the
    engine relights it to the frame (``relight``), shows the clip's own eyes and nostrils
    (``keep_target_openings``) and moves the clip's features to the donor's proportions (``reshape``); each
    can be turned off (``--editor-option reshape=false``), docs/warp.md says why each is on."""

    name = "warp"
    version = "5"  # 5: relit, the clip's own eyes and nostrils, the donor's proportions; 4: the donor skin retouched
    num_gpus = 0.0

    def __init__(self, donors: str | Path | None = None, max_pose_gap: float = 15.0,
                 donor_limits: dict | None = None, relight: bool = True, keep_target_openings: bool = True,
                 reshape: bool = True, progress: bool = False):
        from ..warp import engine_steps
        from .donors import DonorBank, DonorLimits

        self.donors = Path(donors).expanduser() if donors else None
        self.max_pose_gap = float(max_pose_gap)
        try:
            limits = DonorLimits(**(donor_limits or {}))
        except TypeError:
            raise HeadSwapBenchError(f"warp editor: unknown donor_limits {sorted(donor_limits or {})}; "
                                     f"limits: {sorted(DonorLimits.__dataclass_fields__)}") from None
        self.bank = DonorBank(self.donors, limits)
        # the engine's steps (headswapbench.warp.face_onto_video): the frame's light, the clip's own eyes and
        # nostrils, the donor's proportions
        self.engine = engine_steps("warp editor", relight, keep_target_openings, reshape)
        self.progress = progress
        self._identity_cache: dict[str, np.ndarray | None] = {}
        self._retouched: dict[str, Image] = {}

    # donors ---------------------------------------------------------------------------------------------
    def _donor_pool(self) -> dict[str, Any]:
        """donor id → photo path or sample name, sorted by id (every photo, screened or not)."""
        return dict(sorted(self.bank._sources().items()))

    def donor_order(self, seed: int) -> list[str]:
        """Rendezvous hashing: donors by descending sha256(seed:id). Adding a donor photo only reassigns the
        clips the new donor wins (about 1/(n+1) of them); every other clip keeps its face."""
        return sorted(self._donor_pool(), key=lambda d: hashlib.sha256(f"{int(seed)}:{d}".encode()).digest(),
                      reverse=True)

    def donor_for_seed(self, seed: int) -> str:
        return self.donor_order(seed)[0]

    def _donor(self, donor_id: str, mirrored: bool = False, retouched: bool = False) -> tuple[Image, np.ndarray]:
        """The donor photo and its landmarks, flipped when ``mirrored``; ``retouched``: with its plain skin
        cleaned (`retouch_skin`, once per donor and kept), as the editor pastes it. Screening and identity
        use the photo as it is."""
        screens = self.bank.screens()
        if donor_id not in screens:
            raise HeadSwapBenchError(f"unknown donor '{donor_id}'; donors: {', '.join(screens)}")
        screen = screens[donor_id]
        if not np.isfinite(screen.landmarks[:, :2]).all():
            raise FaceNotFoundError(f"donor '{donor_id}': no face found in the photo", code=Reason.NO_DONOR)
        img, lms = self.bank.image(donor_id), screen.landmarks
        if retouched:
            if donor_id not in self._retouched:
                from ..warp import retouch_skin

                self._retouched[donor_id] = retouch_skin(img, lms)
            img = self._retouched[donor_id]
        if mirrored:
            from ..warp import mirror_landmarks

            img, lms = np.ascontiguousarray(img[:, ::-1]), mirror_landmarks(lms, img.shape[1]).astype(np.float32)
        return img, lms

    @staticmethod
    def _identity(image: Image) -> np.ndarray | None:
        """dlib identity of the main face of a photo or frame; None when there is no face."""
        from ..face import analyze_image

        try:
            return analyze_image(image, identity="dlib").identity
        except FaceNotFoundError:
            return None

    def _donor_identity(self, donor_id: str) -> np.ndarray | None:
        if donor_id not in self._identity_cache:
            try:
                self._identity_cache[donor_id] = self._identity(self._donor(donor_id)[0])
            except FaceNotFoundError:  # a donor photo without a face: never chosen (it fails screening)
                self._identity_cache[donor_id] = None
        return self._identity_cache[donor_id]

    # editor API ------------------------------------------------------------------------------------------
    def sample_prompt(self, seed: int, clip: Video | None = None) -> tuple[str, dict]:
        """The first screened donor in rendezvous order who is not the clip's own person (dlib same-person
        threshold: a look-alike cannot change the identity) and whose pose suits the clip's (see the class)."""
        from ..face import get_identity_model
        from .donors import clip_pose

        order = self.donor_order(seed)
        pose, same = None, set()
        if clip is not None:
            subject = self._identity(clip.frames[len(clip.frames) // 2])
            if subject is not None:
                threshold = get_identity_model("dlib").threshold
                for d in order:
                    if not self.bank.screens()[d].passed:
                        continue
                    ident = self._donor_identity(d)
                    if ident is not None and float(np.dot(subject, ident)) >= threshold:
                        same.add(d)
            try:
                pose = clip_pose(clip_analysis(clip).pose)
            except FaceNotFoundError:
                pose = None
        choice = self.bank.choose(order, pose, self.max_pose_gap, exclude=same)
        if choice is None:  # every usable donor is this person: the filter will reject the clip as unchanged
            choice = self.bank.choose(order, pose, self.max_pose_gap)
        donor = choice.donor.donor_id
        return f"donor:{donor}{MIRRORED if choice.mirrored else ''}", {
            "donor": donor, "donor_source": str(self.donors) if self.donors else "samples",
            "donor_mirrored": choice.mirrored, "donor_pose_gap_deg": None if pose is None else round(choice.pose_gap, 2),
            "clip_pose_deg": None if pose is None else [round(v, 2) for v in pose],
            "donor_scores": dict(choice.donor.scores), "donors_skipped_same_identity": len(same)}

    def edit(self, clip: Video, prompt: str, seed: int) -> Video:
        from ..warp import face_onto_video

        spec = prompt[len("donor:"):] if prompt.startswith("donor:") else self.donor_for_seed(seed)
        mirrored = spec.endswith(MIRRORED)
        donor_id = spec[: -len(MIRRORED)] if mirrored else spec
        donor, donor_lms = self._donor(donor_id, mirrored, retouched=True)
        lms = clip_landmarks(clip)
        return face_onto_video(clip, lms, donor, donor_lms, progress=self.progress, **self.engine)

    def options(self) -> dict:
        pool = self._donor_pool()
        summary = self.bank.summary()
        self.bank.usable()  # no usable donor: a clear error now, before any clip is edited
        return {"donors": str(self.donors) if self.donors else "samples", "num_donors": len(pool),
                "donor_ids_sha256": hashlib.sha256("\n".join(pool).encode()).hexdigest(),
                "max_pose_gap": self.max_pose_gap, **self.engine, "donor_screening": summary}


# ------------------------------------------------------------------------------------------ diffusers editor
DEFAULT_BASE_MODEL = "SG161222/Realistic_Vision_V5.1_noVAE"  # SD 1.5 photo-real fine-tune
DEFAULT_VAE = "stabilityai/sd-vae-ft-mse"
DEFAULT_MOTION_ADAPTER = "guoyww/animatediff-motion-adapter-v1-5-2"
DEFAULT_CONTROLNET = "CrucibleAI/ControlNetMediaPipeFace"  # SD 1.5 ControlNet on MediaPipe face-mesh drawings
TINY = "tiny"


class DiffusersEditor(HeadEditor):
    """AnimateDiff video-to-video + a MediaPipe-face ControlNet, prompted for a new head.

    Why this pipeline: the ControlNet is conditioned on each frame's face-mesh drawing, so pose, gaze, blinks
    and mouth shapes are imposed per frame (what the sync filter measures), video-to-video at moderate
    ``strength`` keeps lighting and framing, and the motion module keeps the new head temporally coherent.
    Only the head changes: the output is composited back through a feathered head mask built from the
    landmarks, so body and background stay the original pixels. Clips longer than ``context_frames`` are
    denoised with FreeNoise sliding context windows (one pass, no seams).

    ``model_id="tiny"`` builds a tiny random pipeline from configs (offline; for tests and CI: right shapes,
    meaningless pixels)."""

    name = "diffusers"
    version = "1"

    def __init__(self, model_id: str = DEFAULT_BASE_MODEL, revision: str | None = None,
                 motion_adapter: str = DEFAULT_MOTION_ADAPTER, controlnet: str = DEFAULT_CONTROLNET,
                 vae: str | None = DEFAULT_VAE, steps: int = 25, guidance: float = 7.5, strength: float = 0.65,
                 controlnet_scale: float = 1.0, size: int = 512, context_frames: int = 16, context_stride: int = 4,
                 seed: int | None = None, device: str | None = None, dtype: str | None = None,
                 progress: bool = True):
        import torch

        self.model_id, self.revision = str(model_id), revision
        self.motion_adapter, self.controlnet, self.vae = motion_adapter, controlnet, vae
        self.steps, self.guidance, self.strength = int(steps), float(guidance), float(strength)
        self.controlnet_scale, self.size = float(controlnet_scale), int(size)
        self.context_frames, self.context_stride = int(context_frames), int(context_stride)
        self.seed_offset = int(seed or 0)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.dtype = dtype or ("float16" if self.device.startswith("cuda") else "float32")
        self.num_gpus = 1.0 if self.device.startswith("cuda") else 0.0
        self.progress = progress
        self._pipe = None
        if self.size % 8:
            raise HeadSwapBenchError(f"diffusers editor: size {self.size} must be a multiple of 8")

    # pipeline ------------------------------------------------------------------------------------------
    def pipeline(self):
        if self._pipe is None:
            import torch

            if self.model_id == TINY:
                pipe = build_tiny_pipeline()
                if self.dtype != "float32":
                    pipe = pipe.to(dtype=getattr(torch, self.dtype))
            else:
                pipe = self._load_pipeline()  # already in self.dtype
            if self.device != "cpu":
                pipe = pipe.to(self.device)
            pipe.set_progress_bar_config(disable=not self.progress, desc=f"{self.name} denoise", leave=False)
            self._pipe = pipe
        return self._pipe

    def _load_pipeline(self):
        import torch
        from diffusers import (
            AnimateDiffVideoToVideoControlNetPipeline,
            AutoencoderKL,
            ControlNetModel,
            DDIMScheduler,
            MotionAdapter,
        )

        dtype = getattr(torch, self.dtype)
        current = self.model_id
        try:
            current = self.motion_adapter
            adapter = MotionAdapter.from_pretrained(self.motion_adapter, torch_dtype=dtype)
            current = self.controlnet
            controlnet = ControlNetModel.from_pretrained(self.controlnet, torch_dtype=dtype)
            extra = {}
            if self.vae:
                current = self.vae
                extra["vae"] = AutoencoderKL.from_pretrained(self.vae, torch_dtype=dtype)
            current = self.model_id
            pipe = AnimateDiffVideoToVideoControlNetPipeline.from_pretrained(
                self.model_id, revision=self.revision, motion_adapter=adapter, controlnet=controlnet,
                torch_dtype=dtype, **extra)
        except (OSError, ValueError) as exc:
            from huggingface_hub.constants import HF_HUB_CACHE

            raise MissingWeightsError(
                name=f"diffusers editor ({current})", filename=f"{current} (diffusers repository)",
                url=f"https://huggingface.co/{current}", sha256=None, target=HF_HUB_CACHE,
                cause=str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
        pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config, beta_schedule="linear",
                                                   clip_sample=False, timestep_spacing="linspace", steps_offset=1)
        return pipe

    # editor API ------------------------------------------------------------------------------------------
    def edit(self, clip: Video, prompt: str, seed: int) -> Video:
        import torch
        from PIL import Image as PILImage

        from ..video import resize_frames

        T, H, W = clip.num_frames, clip.height, clip.width
        lms = clip_landmarks(clip)
        mask = head_mask(lms, H, W)
        control = render_landmarks(lms, H, W)
        # model resolution: the long side at `size`, both sides multiples of 8 (clips are square crops anyway)
        scale = self.size / max(H, W)
        h8, w8 = max(8, int(round(H * scale / 8)) * 8), max(8, int(round(W * scale / 8)) * 8)
        video = [PILImage.fromarray(f) for f in resize_frames(clip.frames, (w8, h8))]
        cond = [PILImage.fromarray(f) for f in resize_frames(control, (w8, h8))]
        pipe = self.pipeline()
        if T > self.context_frames:
            pipe.enable_free_noise(context_length=self.context_frames, context_stride=self.context_stride)
        elif getattr(pipe, "free_noise_enabled", False):
            pipe.disable_free_noise()
        negative = load_prompt_bank().get("negative")
        generator = torch.Generator(device="cpu").manual_seed(int(seed) + self.seed_offset)
        with torch.inference_mode():
            result = pipe(video=video, prompt=prompt, negative_prompt=negative, conditioning_frames=cond,
                          height=h8, width=w8, num_inference_steps=self.steps, guidance_scale=self.guidance,
                          strength=self.strength, controlnet_conditioning_scale=self.controlnet_scale,
                          generator=generator, output_type="np", decode_chunk_size=8)
        frames = np.asarray(result.frames[0], dtype=np.float32)  # [T, h8, w8, 3] in [0, 1]
        if frames.shape[0] != T:
            raise HeadSwapBenchError(f"diffusers editor: pipeline returned {frames.shape[0]} frames, expected {T}")
        gen = resize_frames((np.clip(frames, 0, 1) * 255 + 0.5).astype(np.uint8), (W, H)).astype(np.float32)
        m = mask[..., None]
        out = gen * m + clip.frames.astype(np.float32) * (1 - m)
        return Video((out + 0.5).clip(0, 255).astype(np.uint8), clip.fps)

    def options(self) -> dict:
        return {"model_id": self.model_id, "revision": self.revision, "motion_adapter": self.motion_adapter,
                "controlnet": self.controlnet, "vae": self.vae, "steps": self.steps, "guidance": self.guidance,
                "strength": self.strength, "controlnet_scale": self.controlnet_scale, "size": self.size,
                "context_frames": self.context_frames, "context_stride": self.context_stride,
                "seed_offset": self.seed_offset, "dtype": self.dtype,
                "prompt_bank_version": load_prompt_bank().get("version")}


def _tiny_tokenizer(folder: Path):
    """A CLIP BPE tokenizer from a local byte-level vocabulary (no download): every byte is a token."""
    from transformers import CLIPTokenizer

    # the byte → printable-character table of byte-level BPE (GPT-2 / CLIP)
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    extra = iter(range(256, 512))
    chars = [chr(b) if b in printable else chr(next(extra)) for b in range(256)]
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": len(chars) + i for i, c in enumerate(chars)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77)


def build_tiny_pipeline(seed: int = 0):
    """The real AnimateDiff V2V + ControlNet pipeline class with tiny random modules built from configs."""
    import tempfile

    import torch
    from diffusers import (
        AnimateDiffVideoToVideoControlNetPipeline,
        AutoencoderKL,
        ControlNetModel,
        DDIMScheduler,
        MotionAdapter,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    blocks, dim = (32, 64), 32
    unet = UNet2DConditionModel(
        block_out_channels=blocks, layers_per_block=1, sample_size=16, in_channels=4, out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=dim, norm_num_groups=8, attention_head_dim=8)
    controlnet = ControlNetModel(
        block_out_channels=blocks, layers_per_block=1, in_channels=4, cross_attention_dim=dim,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), conditioning_embedding_out_channels=(8, 16),
        norm_num_groups=8, attention_head_dim=8)
    adapter = MotionAdapter(block_out_channels=blocks, motion_layers_per_block=1, motion_norm_num_groups=8,
                            motion_num_attention_heads=2, motion_max_seq_length=32)
    vae = AutoencoderKL(block_out_channels=[16, 32], in_channels=3, out_channels=3, latent_channels=4,
                        down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                        norm_num_groups=8)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        hidden_size=dim, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, vocab_size=514,
        max_position_embeddings=77, bos_token_id=512, eos_token_id=513, pad_token_id=513, projection_dim=dim))
    tokenizer = _tiny_tokenizer(Path(tempfile.mkdtemp(prefix="hsb-tiny-tok-")))
    scheduler = DDIMScheduler(beta_schedule="linear", clip_sample=False, steps_offset=1)
    return AnimateDiffVideoToVideoControlNetPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, motion_adapter=adapter,
        controlnet=controlnet, scheduler=scheduler)
