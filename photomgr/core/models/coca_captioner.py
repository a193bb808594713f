"""The CLIP backend's captioner: open_clip's CoCa, run with its own `generate`.

CoCa ViT-B-32 fine-tuned on MS-COCO captions is a separate network from the CLIP model that
makes the vectors (its own image tower), but it takes the same input (224 px, CLIP's mean/std),
so it captions the very batch the CLIP embedder was given. Decoding is greedy (generate()'s
top-k 1): on a CPU, open_clip's default 6-beam group search costs several times as much.
"""

from __future__ import annotations

from pathlib import Path

import torch

from photomgr.core.models.base import ModelUnavailable
from photomgr.core.models.caption_vocab import MAX_WORDS

# open_clip's CLIP tokenizer: up to ~1.3 tokens per word; the sentence is cut to MAX_WORDS after
MAX_TOKENS = 40
MIN_TOKENS = 5  # generate()'s default min_seq_len
SOT_ID, EOT_ID = 49406, 49407  # CLIP tokenizer's start/end of text
DECODING = "greedy40"


def caption_id(model_name: str, pretrained: str) -> str:
    """Stored with every CoCa description; names the decoding too, since it changes sentences."""
    return f"coca:{model_name}:{pretrained}+{DECODING}"


def clean_sentence(text: str) -> str:
    """open_clip.decode's output -> "A dog runs on the beach." (special tokens, spacing removed)."""
    for special in ("<start_of_text>", "<end_of_text>"):
        text = text.replace(special, " ")
    words = text.split()[:MAX_WORDS]
    if not words:
        return ""
    sentence = " ".join(words).rstrip(" .")
    sentence = sentence.replace(" ,", ",").replace(" '", "'")
    return sentence[:1].upper() + sentence[1:] + "." if sentence else ""


class CocaCaptioner:
    def __init__(self, model_name: str, pretrained: str, weights: Path, *, device: str = "cpu") -> None:
        import open_clip

        try:
            model = open_clip.create_model(model_name, pretrained=str(weights), device=device,
                                           weights_only=True)
        except Exception as exc:
            raise ModelUnavailable(f"could not load the CoCa captioner {model_name} from {weights}: {exc}") \
                from exc
        if not hasattr(model, "generate"):
            raise ModelUnavailable(f"{model_name} is not a captioning (CoCa) model")
        self.model = model.eval()
        self.device = device
        size = getattr(model.visual, "image_size", 224)
        self.input_size = int(size[0] if isinstance(size, (tuple, list)) else size)
        self.model_id = caption_id(model_name, pretrained)

    def describe(self, inputs: torch.Tensor) -> list[str]:
        """(N, 3, S, S) CLIP-preprocessed photos -> one sentence each."""
        import open_clip

        x = inputs.to(self.device, torch.float32)
        if x.shape[-1] != self.input_size or x.shape[-2] != self.input_size:
            x = torch.nn.functional.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear",
                                                antialias=True, align_corners=False)
        with torch.inference_mode():
            rows = self.greedy(x)
        return [clean_sentence(open_clip.decode(torch.tensor(row, dtype=torch.long))) for row in rows]

    def greedy(self, x: torch.Tensor) -> list[list[int]]:
        """Greedy decoding with CoCa's own forward: token ids per photo, up to (not incl.) EOS.

        What `CoCa.generate(generation_type="top_k", top_k=1)` computes, written out because
        open_clip's generate imports classes that transformers 5 removed (BeamSearchScorer).
        The image is encoded once; each step re-reads the prefix (CoCa's decoder has no cache).
        """
        model = self.model
        image_latent, image_embs = model._encode_image(x)
        n = x.shape[0]
        tokens = torch.full((n, 1), SOT_ID, dtype=torch.long, device=x.device)
        finished = torch.zeros(n, dtype=torch.bool, device=x.device)
        for step in range(MAX_TOKENS):
            logits = model(x, tokens, image_latent=image_latent, image_embs=image_embs,
                           output_labels=False)["logits"][:, -1].float()
            if step < MIN_TOKENS:  # as generate's MinLengthLogitsProcessor: no empty captions
                logits[:, EOT_ID] = float("-inf")
            word = logits.argmax(dim=-1)
            word[finished] = EOT_ID
            tokens = torch.cat([tokens, word.unsqueeze(1)], dim=1)
            finished |= word == EOT_ID
            if bool(finished.all()):
                break
        out = []
        for row in tokens[:, 1:].tolist():
            out.append(row[:row.index(EOT_ID)] if EOT_ID in row else row)
        return out
