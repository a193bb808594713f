"""Per-backend calibration: raw similarities -> one logit scale shared by every label.

Every label of a backend goes through the same monotone maps, so the zero-shot argmax over
labels is exactly the argmax of the raw text scores, and one threshold works for all labels.
The final score is sigmoid(logit); logit 0 (score 0.5) is the default tagging threshold.

    text  = text_scale  * (f(dot(label_space, t)) - text_center)     f = log(x + eps) or identity

Fused (the default backend, `fused_classes` K > 0): the label space is [ImageNet probabilities
(K) | learned image vector | 1 | 0] and a label vector [class weights | b * learned text vector |
c | a] (core/models/default_text.py), where (a, b, c) are the constants of the label's route,
fitted by logistic regression on held-out data (photomgr/training/fusion.py):

    text  = text_scale * (a * log(P + eps) + b * cos + c - text_center)
            P = probabilities @ class weights,  b * cos + c = the rest of the dot product
    proto = proto_scale * (cos(image, mean of confirmed) / g(p) - proto_center)
            g(p) = sqrt(p / (1 + (p - 1) * proto_rho))
    w     = proto_weight_max * p / (p + shots_half)                  p = number of confirmed photos
    neg   = neg_scale * max(0, max cos(image, rejected) - max(neg_margin, cos(image, prototype)))
    logit = (1 - w) * text + w * proto - neg

g(p) is the expected growth of the cosine to a mean of p photos whose pairwise cosine is
proto_rho (a same-subject pair): averaging p photos removes noise, so every photo, right or
wrong, moves closer to the prototype as p grows. Dividing it out keeps a label's scores on
the same scale whether it has 1 or 20 confirmed photos, so one threshold serves both.

The rejected term only fires for photos closer to something the user rejected than to the
label's prototype (and close in absolute terms), so a few rejections carve out their
neighbourhood without shifting every other photo's score.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Calibration:
    text_log: bool  # log-scale the text score (probability-weighted sums are heavy-tailed)
    text_eps: float
    text_scale: float
    text_center: float
    proto_scale: float
    proto_center: float
    proto_rho: float
    shots_half: float
    proto_weight_max: float
    neg_scale: float
    neg_margin: float
    threshold: float = 0.5
    fused_classes: int = 0  # K > 0: the fused layout above, its first K columns log-scaled

    def with_(self, **changes: float | bool) -> Calibration:
        return replace(self, **changes)  # type: ignore[arg-type]


# eps of log(P + eps) in the fused text logit; the route constants are fitted with this value.
FUSED_EPS = 1e-2

# Default backend (EfficientNet-Lite0 + trained heads; the fused layout). The text constants
# live in each label vector (fitted per route); text_scale 1 and centre 0 keep them as fitted.
# The prototype / rejection constants were fitted on the Caltech-101 dev embeddings with
# bench/eval_fewshot.py.
DEFAULT = Calibration(
    text_log=True, text_eps=FUSED_EPS, text_scale=1.0, text_center=0.0, fused_classes=1000,
    proto_scale=20.0, proto_center=0.45, proto_rho=0.53, shots_half=0.5, proto_weight_max=0.9,
    neg_scale=40.0, neg_margin=0.5,
)

# CLIP ViT-B-32: NOT measured here (no CLIP weights in this environment). Constants follow the
# well-known CLIP ranges: text-image cosines of a matching caption ~0.25-0.32, non-matching
# ~0.15-0.22, and CLIP's own logit scale of 100; the centre 0.25 puts the 0.5 threshold between
# the two bands. Image-image cosines of the same subject are typically ~0.75-0.9, unrelated
# photos ~0.4-0.6, hence the prototype centre at 0.65 and proto_rho 0.8. The blend weights
# and the rejected-photo term reuse the default backend's fitted shape. Re-fit with
# bench/eval_fewshot.py once CLIP embeddings of the dev photos exist.
CLIP = Calibration(
    text_log=False, text_eps=0.0, text_scale=50.0, text_center=0.25,
    proto_scale=20.0, proto_center=0.65, proto_rho=0.8, shots_half=0.5, proto_weight_max=0.9,
    neg_scale=40.0, neg_margin=0.75,
)

BACKENDS: dict[str, Calibration] = {"default": DEFAULT, "clip": CLIP}


def calibration_for(backend: str) -> Calibration:
    try:
        return BACKENDS[backend]
    except KeyError:
        raise ValueError(f"unknown backend {backend!r}; expected one of {sorted(BACKENDS)}") from None
