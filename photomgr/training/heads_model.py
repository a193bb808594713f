"""The heads as torch modules for training; saved in the layout core/models/heads.py reads."""

from __future__ import annotations

import math

import torch
from torch import nn


class ProjectionHead(nn.Module):
    """y = Linear(x) [+ MLP(x)], L2-normalised; the same maths as heads.Head in numpy."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 0, dropout: float = 0.0) -> None:
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.linear = nn.Linear(in_dim, out_dim)
        self.mlp1 = nn.Linear(in_dim, hidden) if hidden else None
        self.mlp2 = nn.Linear(hidden, out_dim) if hidden else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop(x)
        y = self.linear(x)
        if self.mlp1 is not None and self.mlp2 is not None:
            y = y + self.mlp2(nn.functional.gelu(self.mlp1(x), approximate="tanh"))
        return nn.functional.normalize(y, dim=-1)

    def tensors(self, prefix: str) -> dict[str, torch.Tensor]:
        """Weights as (in, out) matrices, the numpy side's `x @ W` convention."""
        out = {f"{prefix}.weight": self.linear.weight.T, f"{prefix}.bias": self.linear.bias}
        if self.mlp1 is not None and self.mlp2 is not None:
            out.update({f"{prefix}.mlp1.weight": self.mlp1.weight.T, f"{prefix}.mlp1.bias": self.mlp1.bias,
                        f"{prefix}.mlp2.weight": self.mlp2.weight.T, f"{prefix}.mlp2.bias": self.mlp2.bias})
        return {k: v.detach().float().contiguous() for k, v in out.items()}


class DualHeads(nn.Module):
    def __init__(self, image_dim: int, text_dim: int, dim: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.image = ProjectionHead(image_dim, dim, hidden, dropout)
        self.text = ProjectionHead(text_dim, dim, hidden, dropout)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def loss(self, image: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """Symmetric InfoNCE (CLIP): each photo's caption is the one positive in the batch."""
        i, t = self.image(image), self.text(text)
        logits = self.logit_scale.clamp(max=math.log(100.0)).exp() * i @ t.T
        target = torch.arange(len(i))
        return 0.5 * (nn.functional.cross_entropy(logits, target)
                      + nn.functional.cross_entropy(logits.T, target))
