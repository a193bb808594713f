"""The shipped default captioner: weights, vocabulary and decoding settings from one file.

resources/default_captioner.safetensors holds the decoder's tensors; its metadata holds the
network's shape (DecoderConfig), the vocabulary (a JSON list), the decoding settings fitted on
the validation split (beam width, length penalty) and the id stored with every description.
Stored as float16 (half the size), loaded with safetensors (no pickle), run in float32 on the
embedder's device; greedy decoding (what indexing runs) goes through caption_infer.FastGreedy,
in bfloat16 where the CPU computes it natively (the id then says so: "+bf16").
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from photomgr.core.models.caption_decoder import CaptionDecoder, DecoderConfig
from photomgr.core.models.caption_infer import FastGreedy
from photomgr.core.models.caption_search import beam_search
from photomgr.core.models.caption_vocab import Vocab

META_CAPTION_ID = "caption_id"
META_VOCAB = "vocab"
META_BEAM = "beam"
META_LENGTH_PENALTY = "length_penalty"
BF16_MARK = "+bf16"  # appended to the id when greedy decoding runs in bfloat16 (other sentences)


def save_captioner(path: Path, model: CaptionDecoder, vocab: Vocab, *, caption_id: str, beam: int,
                   length_penalty: float, extra: dict[str, str] | None = None) -> None:
    """Write weights + everything needed to run them (the trainer's output format)."""
    from safetensors.torch import save_file

    meta = {**model.cfg.as_metadata(), META_CAPTION_ID: caption_id, META_VOCAB: json.dumps(list(vocab.itos)),
            META_BEAM: str(beam), META_LENGTH_PENALTY: str(length_penalty), **(extra or {})}
    state = {k: stored(v).contiguous().cpu() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata=meta)


def stored(tensor: torch.Tensor) -> torch.Tensor:
    """The form a tensor ships in: float16 (half the file; the decoder runs in float32)."""
    tensor = tensor.detach()
    return tensor.to(torch.float16) if tensor.is_floating_point() else tensor


def read_metadata(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        return dict(fh.metadata() or {})


class DefaultCaptioner:
    """EfficientNet-Lite0 7x7 feature maps -> sentences (see captioning.py)."""

    def __init__(self, model: CaptionDecoder, vocab: Vocab, *, model_id: str, beam: int = 3,
                 length_penalty: float = 0.0, device: str = "cpu",
                 greedy_dtype: torch.dtype = torch.float32) -> None:
        """`greedy_dtype`: what greedy decoding (beam 1) computes in; beam search is float32.
        float32 greedy writes exactly caption_search.greedy_search's words; bfloat16 changes
        some (about 1 in 11 on Caltech photos), so the id then ends in BF16_MARK: `model_id`
        names the weights (and beam width), this adds the precision."""
        if len(vocab) != model.cfg.vocab_size:
            raise ValueError(f"vocabulary of {len(vocab)} words for a decoder of {model.cfg.vocab_size}")
        self.model = model.to(device).eval()
        self.vocab = vocab
        self.beam = beam
        self.length_penalty = length_penalty
        self.device = device
        self.greedy = FastGreedy(self.model, greedy_dtype) if beam == 1 else None
        # Marked here, where the decoding is chosen, not by each caller: one that built the
        # captioner directly in bfloat16 would store its sentences under the float32 id (only
        # from_file marked it). An id that says bf16 for float32 decoding is unmarked likewise.
        bf16 = self.greedy is not None and greedy_dtype == torch.bfloat16
        self.model_id = model_id.removesuffix(BF16_MARK) + (BF16_MARK if bf16 else "")

    @classmethod
    def from_file(cls, path: Path, *, device: str = "cpu", beam: int | None = None,
                  greedy_dtype: torch.dtype = torch.float32) -> DefaultCaptioner:
        """The shipped captioner; `beam` overrides the file's beam width and `greedy_dtype` the
        greedy decoding's precision (both mark the id, since the sentences change with them:
        the beam here, the precision in __init__)."""
        from safetensors.torch import load_file

        meta = read_metadata(path)
        try:
            cfg = DecoderConfig.from_metadata(meta)
            vocab = Vocab(tuple(json.loads(meta[META_VOCAB])))
            model_id, file_beam = meta[META_CAPTION_ID], int(meta[META_BEAM])
            penalty = float(meta[META_LENGTH_PENALTY])
        except (KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"{path.name} is not a captioner file ({exc})") from exc
        model = CaptionDecoder(cfg)
        state = {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(path)).items()}
        model.load_state_dict(state, strict=True)
        if beam is not None and beam != file_beam:
            model_id = f"{model_id}+beam{beam}"
        beam = file_beam if beam is None else beam
        return cls(model, vocab, model_id=model_id, beam=beam, length_penalty=penalty, device=device,
                   greedy_dtype=greedy_dtype)

    def describe(self, inputs: torch.Tensor) -> list[str]:
        """(N, 1280, 7, 7) feature maps of the default backbone -> one sentence each."""
        with torch.inference_mode():
            if self.greedy is not None:
                ids = self.greedy(inputs.to(self.device))
            else:
                ids = beam_search(self.model, inputs.to(self.device).float(), beam=self.beam,
                                  length_penalty=self.length_penalty)
        return [self.vocab.decode(seq) for seq in ids]
