"""`photomgr model`: which model tags and searches, and getting CLIP's weights."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path
from typing import Any

from photomgr.cli.common import CliError, open_library, print_json
from photomgr.cli.progress import ProgressBar
from photomgr.core.library.settings import Settings
from photomgr.core.library.vectors import VectorStore
from photomgr.core.models.base import DownloadCancelled, ModelUnavailable
from photomgr.core.models.registry import DEFAULT_CLIP_MODEL
from photomgr.core.services.model_choice import ModelChoice, active_model_id

CLIP_PRETRAINED = ("laion2b_s34b_b79k", "openai")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("model", help="show or switch the model (offline default or CLIP ViT-B-32)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_status)
    msub = p.add_subparsers(dest="model_command", metavar="ACTION")

    q = msub.add_parser("use", help="switch backend; photos are re-embedded by the next index run")
    q.add_argument("backend", choices=("default", "clip"))
    q.add_argument("--pretrained", choices=CLIP_PRETRAINED, default=None,
                   help="CLIP weights tag (default laion2b_s34b_b79k)")
    q.add_argument("--weights", type=Path, help="a local CLIP checkpoint file (.safetensors or .bin/.pt)")
    q.add_argument("--json", action="store_true")
    q.set_defaults(run=run_use)

    q = msub.add_parser("fetch", help="download CLIP weights now (progress bar; Ctrl-C cancels)")
    q.add_argument("--pretrained", choices=CLIP_PRETRAINED, default=None)
    q.add_argument("--captioner", action="store_true",
                   help="download the CLIP backend's captioner (CoCa ViT-B-32) instead")
    q.add_argument("--json", action="store_true")
    q.set_defaults(run=run_fetch)


def _clip_state(choice: ModelChoice) -> dict[str, object]:
    clip = choice.clip()
    return {"pretrained": choice.clip_pretrained, "weights": str(clip.weights) if clip.weights else None,
            "available": clip.available, "message": clip.message}


def status(args: argparse.Namespace) -> dict[str, object]:
    with open_library(args) as library:
        settings = Settings(library.conn)
        choice = ModelChoice.read(settings)
        vectors = VectorStore(library.conn)
        active = active_model_id(settings)
        return {
            "backend": choice.backend,
            "active_model": active,
            "state": "ready" if active else "no photos embedded yet",
            "vectors": vectors.models(),
            "pending": len(vectors.pending(active)) if active else None,
            "clip": _clip_state(choice),
        }


def run_status(args: argparse.Namespace) -> int:
    info = status(args)
    if args.json:
        print_json(info)
        return 0
    clip = info["clip"]
    vectors = info["vectors"]
    assert isinstance(clip, dict) and isinstance(vectors, dict)
    print(f"backend:      {info['backend']}")
    print(f"active model: {info['active_model'] or '(none yet: run photomgr index)'}")
    for model_id, count in vectors.items():
        print(f"  vectors:    {count} from {model_id}")
    print(f"CLIP ViT-B-32 ({clip['pretrained']}): "
          f"{'available at ' + str(clip['weights']) if clip['available'] else clip['message']}")
    return 0


def run_use(args: argparse.Namespace) -> int:
    if args.weights is not None and not args.weights.is_file():
        raise CliError(f"{args.weights}: no such file")
    with open_library(args) as library:
        settings = Settings(library.conn)
        old = ModelChoice.read(settings)
        choice = ModelChoice(
            args.backend,
            args.pretrained or old.clip_pretrained,
            args.weights.resolve() if args.weights
            else (old.clip_weights if args.pretrained is None else None),
        )
        if choice.backend == "clip":
            clip = choice.clip()
            if not clip.available or clip.weights is None:  # exit 4, as the README's table says
                raise ModelUnavailable(clip.message)
            # Checked now, not at the next index: a wrong file must not become the library's model
            from photomgr.core.models.clip_backend import check_clip_weights

            try:
                check_clip_weights(clip.weights, DEFAULT_CLIP_MODEL, choice.clip_pretrained)
            except ModelUnavailable as exc:
                raise CliError(f"{exc}; the library still uses {old.backend}") from exc
            # The text tower's weights extracted now, so the first `search` runs it without torch
            from photomgr.core.models.text_numpy.clip_text import prepare_text_extract

            prepare_text_extract(DEFAULT_CLIP_MODEL, choice.clip_pretrained, clip.weights)
        choice.write(settings)
    message = (f"now using {choice.backend}"
               + (f" ({choice.clip_pretrained})" if choice.backend == "clip" else "")
               + "; run `photomgr index` to embed your photos with it. Tags and search keep "
                 "using the previous vectors until that is complete.")
    if args.json:
        print_json({"backend": choice.backend, "clip_pretrained": choice.clip_pretrained,
                    "weights": str(choice.clip_weights) if choice.clip_weights else None})
    else:
        print(message)
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    with open_library(args) as library:
        choice = ModelChoice.read(Settings(library.conn))
    pretrained = args.pretrained or choice.clip_pretrained
    from photomgr.core.models.captioning import COCA_PRETRAINED, fetch_coca
    from photomgr.core.models.clip_weights import resolve_clip_weights

    if args.captioner:
        pretrained = COCA_PRETRAINED
    what = "the CoCa captioner" if args.captioner else "CLIP ViT-B-32"
    bar = ProgressBar(f"Downloading {what} {pretrained}", unit="B", unit_scale=True)
    cancel = threading.Event()
    try:
        if args.captioner:
            path = fetch_coca(lambda done, total: bar.update(done, total), cancel)
        else:
            path = resolve_clip_weights(DEFAULT_CLIP_MODEL, pretrained, allow_download=True,
                                        progress=lambda done, total: bar.update(done, total), cancel=cancel)
    except KeyboardInterrupt:
        cancel.set()
        raise
    except DownloadCancelled as exc:
        raise CliError("download cancelled; nothing was kept") from exc
    # ModelUnavailable (offline, the server says no) goes on to main: exit 4, "the model
    # cannot be loaded (for example CLIP weights missing offline)"; it was 2, a bad argument.
    finally:
        bar.close()
    if args.json:
        print_json({"pretrained": pretrained, "weights": str(path)})
    elif args.captioner:
        print(f"CoCa captioner weights ready at {path}; the CLIP model now writes descriptions")
    else:
        print(f"CLIP weights ready at {path}; switch with `photomgr model use clip`")
    return 0
