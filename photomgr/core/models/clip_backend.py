"""CLIP (open_clip) backend: one shared space for photos and label texts.

The image vector is also the label-space vector (stored once), and a label's score is the
cosine between the photo and the mean of its normalised prompt embeddings. Weights are found by
clip_weights.resolve_clip_weights and loaded safely: safetensors, or torch.load with
weights_only=True (open_clip's loader), never an arbitrary pickle.

`ClipTextEncoder` is the text tower alone, for commands that only embed label texts and search
queries; `check_clip_weights` tells whether a file holds the tensors a model expects, by names
and shapes, without loading the model.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from photomgr.core.models.base import EmbeddingBatch, ModelInfo, ModelUnavailable, cpu_threads, l2_normalise
from photomgr.core.models.captioning import NOT_ASKED, load_coca_captioner
from photomgr.core.models.cpu_inference import image_tower_dtype

# The prompt templates and how a label or query becomes sentences: torch-free, shared with the
# numpy text tower (text_numpy/clip_text.py)
from photomgr.core.models.prompts import PromptedText as _PromptedText

if TYPE_CHECKING:
    from PIL import Image

def _preprocess_config(model_name: str, pretrained: str) -> dict[str, Any]:
    """Mean/std/interpolation and QuickGELU of a pretrained tag, as open_clip would apply them
    had it downloaded the weights itself (a file path alone does not carry them)."""
    from open_clip.pretrained import get_pretrained_cfg

    cfg = get_pretrained_cfg(model_name, pretrained)
    out: dict[str, Any] = {"force_quick_gelu": bool(cfg.get("quick_gelu", False))}
    for key, arg in (("mean", "image_mean"), ("std", "image_std"), ("interpolation", "image_interpolation"),
                     ("resize_mode", "image_resize_mode")):
        if cfg.get(key) is not None:
            out[arg] = cfg[key]
    return out


class ClipEmbedder(_PromptedText):
    """open_clip model + its eval transform + tokenizer."""

    def __init__(self, model_name: str, pretrained: str, weights: Path, *, device: str = "cpu",
                 describe: bool = False) -> None:
        """describe=True: embed_images also writes descriptions with CoCa (captioning.py) when its
        weights are on this machine; `describer_status` says why not otherwise."""
        import open_clip

        self.device = device
        if device == "cpu":
            cpu_threads()
        self.captioner, self.describer_status = (load_coca_captioner(device) if describe
                                                 else (None, NOT_ASKED))
        try:
            built = _build_on_meta(model_name, pretrained, Path(weights))
            if built is None:  # an architecture or checkpoint layout only open_clip knows how to load
                model, _, transform = open_clip.create_model_and_transforms(
                    model_name, pretrained=str(weights), device=device, weights_only=True,
                    **_preprocess_config(model_name, pretrained))
            else:
                model, transform = built
                model = model.to(device)
        except Exception as exc:
            raise ModelUnavailable(f"could not load CLIP {model_name} weights from {weights}: {exc}") from exc
        self.model = model.eval()
        # The image tower in bfloat16 where the CPU computes it natively (about 2x, cosine
        # >= 0.999 to float32: see cpu_inference.py); the text tower stays float32.
        self.image_dtype = image_tower_dtype(device)
        if self.image_dtype != torch.float32:
            self.model.visual.to(self.image_dtype)
        self._transform: Callable[[Image.Image], torch.Tensor] = transform  # type: ignore[assignment]
        self._tokenizer = open_clip.get_tokenizer(model_name)
        self._text_lock = threading.Lock()  # the tokenizer keeps a cache dict: one caller at a time
        self.input_size = int(_image_size(model))
        dim = int(model.text_projection.shape[1]) if hasattr(model, "text_projection") and \
            model.text_projection is not None else int(self._probe_dim())
        self.info = ModelInfo(f"clip:{model_name}:{pretrained}", "clip", image_dim=dim, label_dim=dim,
                              shared_space=True)

    def _probe_dim(self) -> int:
        with torch.inference_mode():
            return int(self.model.encode_text(self._tokenizer(["a"]).to(self.device)).shape[-1])

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        # torchvision's PIL transforms keep no state between calls: safe from many threads
        if image.mode != "RGB":
            image = image.convert("RGB")
        return self._transform(image).float()

    def embed_images(self, batch: torch.Tensor) -> EmbeddingBatch:
        with torch.inference_mode():
            vectors = self.model.encode_image(batch.to(self.device, self.image_dtype), normalize=True)
        image = l2_normalise(vectors.float().cpu().numpy())
        if self.captioner is None:
            return EmbeddingBatch(image=image, label=image)
        # CoCa ViT-B-32 takes CLIP ViT-B-32's input (224 px, the same mean/std): the same batch
        return EmbeddingBatch(image=image, label=image, descriptions=self.captioner.describe(batch),
                              description_model=self.captioner.model_id)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) unit text embeddings of exactly these sentences."""
        with self._text_lock:
            tokens = self._tokenizer(list(texts))
            with torch.inference_mode():
                vectors = self.model.encode_text(tokens.to(self.device), normalize=True)
        return l2_normalise(vectors.float().cpu().numpy())



def _build_on_meta(model_name: str, pretrained: str,
                   weights: Path) -> tuple[torch.nn.Module, Callable[[Image.Image], torch.Tensor]] | None:
    """The CLIP model with the checkpoint's tensors, and its eval transform, without the random
    initialisation open_clip's `create_model` does first (ViT-B-32: 9 s of a 2-core CPU under
    load, against 0.2 s here): the model is built on the meta device and given the file's
    tensors (`assign=True`). None when the file's tensors are not exactly the model's (an
    older or third-party layout): open_clip's own loader converts those.
    """
    from dataclasses import asdict

    from open_clip.model import CLIP, set_model_preprocess_cfg
    from open_clip.transform import PreprocessCfg, image_transform_v2, merge_preprocess_dict

    cfg = _model_config(model_name, pretrained)
    vision_cfg, text_cfg = cfg.get("vision_cfg", {}), cfg.get("text_cfg", {})
    if cfg.get("custom_text") or cfg.get("multimodal_cfg") or "timm_model_name" in vision_cfg \
            or "hf_model_name" in text_cfg or weights.suffix in (".npz", ".npy"):
        return None
    with torch.device("meta"):
        model = CLIP(**cfg)
    names = model.state_dict().keys()
    try:
        state = read_state_dict(weights)
    except ValueError:
        return None
    if set(state) != set(names) or any(
            tuple(state[k].shape) != tuple(v.shape) for k, v in model.state_dict().items()):
        return None
    model.load_state_dict(state, strict=True, assign=True)
    # A half-precision checkpoint would make a half-precision model: the towers run in float32
    # (the image tower is cast below where bfloat16 pays).
    model = model.float()
    model.attn_mask = torch.full((model.context_length, model.context_length), float("-inf")).triu_(1)
    if any(t.is_meta for t in (*model.parameters(), *model.buffers())):
        return None
    extra = _preprocess_config(model_name, pretrained)
    pp = merge_preprocess_dict(asdict(PreprocessCfg()), {
        "mean": extra.get("image_mean"), "std": extra.get("image_std"),
        "interpolation": extra.get("image_interpolation"), "resize_mode": extra.get("image_resize_mode")})
    pp["size"] = model.visual.image_size
    set_model_preprocess_cfg(model, pp)
    return model, image_transform_v2(PreprocessCfg(**pp), is_train=False)


def _image_size(model: torch.nn.Module) -> int:
    size = getattr(getattr(model, "visual", None), "image_size", 224)
    return int(size[0] if isinstance(size, (tuple, list)) else size)


# -- the text tower alone ---------------------------------------------------------------------------

_SAFETENSORS_MAX_HEADER = 100 << 20  # a real header is a few hundred KiB


def is_safetensors(path: Path) -> bool:
    """By content, not by name: 8-byte little-endian header size, then a JSON object."""
    with path.open("rb") as fh:
        head = fh.read(9)
    return (len(head) == 9 and head[8:9] == b"{"
            and 0 < int.from_bytes(head[:8], "little") <= _SAFETENSORS_MAX_HEADER)


def _unwrap(checkpoint: object) -> dict[str, Any]:
    """open_clip's conventions: {"state_dict": ...} wrappers and DataParallel's "module." prefix."""
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get("state_dict"), dict):
        checkpoint = checkpoint["state_dict"]
    if not isinstance(checkpoint, dict) or not checkpoint:
        raise ValueError("the file holds no tensors by name")
    state = {str(k): v for k, v in checkpoint.items()}
    if all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def read_state_dict(path: Path, keys: Iterable[str] | None = None) -> dict[str, Any]:
    """Tensors of a checkpoint (all, or just `keys`), loaded safely.

    safetensors reads only the tensors asked for; a torch pickle goes through
    torch.load(weights_only=True), memory-mapped when its format allows it, so the tensors not
    asked for are never read. Raises ValueError for a file that is neither.
    """
    wanted = None if keys is None else set(keys)
    try:
        if is_safetensors(path):
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as fh:
                names = list(fh.keys())
                prefix = "module." if names and all(n.startswith("module.") for n in names) else ""
                return {n[len(prefix):]: fh.get_tensor(n) for n in names
                        if wanted is None or n[len(prefix):] in wanted}
        try:
            loaded = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:  # the legacy (non-zip) format cannot be memory-mapped
            loaded = torch.load(path, map_location="cpu", weights_only=True)
        state = _unwrap(loaded)
    except ValueError:
        raise
    except Exception as exc:  # safetensors' and pickle's own errors: the file is not weights
        first_line = (str(exc).strip().splitlines() or [""])[0][:200]
        raise ValueError(f"not a safetensors or PyTorch weights file ({type(exc).__name__}: {first_line})") \
            from exc
    return state if wanted is None else {k: v for k, v in state.items() if k in wanted}


def _model_config(model_name: str, pretrained: str) -> dict[str, Any]:
    import open_clip

    cfg = open_clip.get_model_config(model_name)
    if cfg is None:
        raise ModelUnavailable(f"unknown CLIP architecture {model_name!r}")
    cfg = dict(cfg)
    if _preprocess_config(model_name, pretrained)["force_quick_gelu"]:
        cfg["quick_gelu"] = True
    return cfg


class ClipTextEncoder(_PromptedText):
    """CLIP's text tower alone (ViT-B-32: 63 M of its 151 M parameters), same vectors as
    `ClipEmbedder.embed_label` / `embed_query` from the same weights."""

    def __init__(self, model_name: str, pretrained: str, weights: Path, *, device: str = "cpu") -> None:
        import open_clip
        from open_clip.model import _build_text_tower

        self.device = device
        if device == "cpu":
            cpu_threads()
        cfg = _model_config(model_name, pretrained)
        text_cfg = cfg.get("text_cfg", {})
        if cfg.get("custom_text") or (isinstance(text_cfg, dict) and text_cfg.get("hf_model_name")):
            raise ModelUnavailable(f"CLIP {model_name} has no separate text tower photomgr can load")
        # Built on the meta device (no memory, no random init), then given the checkpoint's tensors
        with torch.device("meta"):
            text = _build_text_tower(cfg["embed_dim"], text_cfg, quick_gelu=bool(cfg.get("quick_gelu")))
        try:
            state = read_state_dict(Path(weights), text.state_dict().keys())
            text.load_state_dict(state, strict=True, assign=True)
        except (ValueError, RuntimeError) as exc:
            raise ModelUnavailable(f"could not load CLIP {model_name} weights from {weights}: {exc}") from exc
        if getattr(text, "attn_mask", None) is not None:  # a non-persistent buffer: still on meta
            text.attn_mask = text.build_causal_mask()
        self.model = text.to(device).eval()
        self._tokenizer = open_clip.get_tokenizer(model_name)
        self._text_lock = threading.Lock()
        dim = int(cfg["embed_dim"])
        self.info = ModelInfo(f"clip:{model_name}:{pretrained}", "clip", image_dim=dim, label_dim=dim,
                              shared_space=True)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        with self._text_lock:
            tokens = self._tokenizer(list(texts))
            with torch.inference_mode():
                vectors = torch.nn.functional.normalize(self.model(tokens.to(self.device)), dim=-1)
        return l2_normalise(vectors.float().cpu().numpy())



# -- checking a weights file --------------------------------------------------------------------------


def expected_shapes(model_name: str, pretrained: str) -> dict[str, tuple[int, ...]]:
    """Every tensor name and shape of the model's state dict; the model is built on the meta
    device, so this allocates nothing and takes milliseconds."""
    from open_clip.model import CLIP

    cfg = _model_config(model_name, pretrained)
    if cfg.get("custom_text") or cfg.get("multimodal_cfg"):
        raise ModelUnavailable(f"photomgr does not check weights of CLIP {model_name}")
    with torch.device("meta"):
        model = CLIP(**cfg)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _file_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    if is_safetensors(path):  # only the header is read
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as fh:
                names = list(fh.keys())
                prefix = "module." if names and all(n.startswith("module.") for n in names) else ""
                return {n[len(prefix):]: tuple(fh.get_slice(n).get_shape()) for n in names}
        except Exception as exc:
            raise ValueError(f"a damaged safetensors file ({exc})") from exc
    return {k: tuple(v.shape) for k, v in read_state_dict(path).items() if hasattr(v, "shape")}


def check_clip_weights(path: Path, model_name: str = "ViT-B-32",
                       pretrained: str = "laion2b_s34b_b79k") -> None:
    """Raise ModelUnavailable unless `path` holds exactly the tensors of CLIP `model_name`
    (names and shapes); nothing but names and shapes is compared, so this takes well under a
    second even for a 600 MB file."""
    try:
        got = _file_shapes(Path(path))
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"{path} is not usable CLIP weights: {exc}") from exc
    want = expected_shapes(model_name, pretrained)
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    wrong = sorted(k for k in set(want) & set(got) if want[k] != got[k])
    problems = []
    if missing:
        problems.append(f"{len(missing)} of its {len(want)} tensors missing (e.g. {missing[0]})")
    if extra:
        problems.append(f"{len(extra)} unknown tensors (e.g. {extra[0]})")
    if wrong:
        k = wrong[0]
        problems.append(f"{len(wrong)} tensors of the wrong shape (e.g. {k}: {got[k]}, expected {want[k]})")
    if problems:
        raise ModelUnavailable(f"{path} does not hold CLIP {model_name} weights: " + "; ".join(problems))
