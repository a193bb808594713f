"""Descriptions on held-out captioned photos, through the app's own code path.

    python bench/eval_captions.py [--data /work/data/flickr8k] [--split test] [--json OUT]
        [--reference-decoding]
        [--examples 12 --sheet docs/descriptions_sheet.png] [--caltech ../shared/photos/caltech101-dev]

Loads the model the way indexing does (`load_chosen(..., describe=True)`), decodes each photo
with `decode_photo` and `embedder.preprocess` (pipeline/embedding.py) and describes batches with
`embed_images`, the call the index pipeline makes. Scores the sentences of the 1,000 test
photos (never used in training or to fit a constant; photomgr/training/data.py) against their
5 reference captions with pycocoevalcap's BLEU and CIDEr (training/caption_metrics.py);
prints `--examples` photos drawn with a fixed seed (Markdown) and draws them on a contact sheet.
With --caltech, the share of those photos that get a non-empty description.
Skips with a message when the captioned photos are not on this machine.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import textwrap
import time
from pathlib import Path
from typing import cast

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import reference_caption_decoding  # noqa: E402
from photomgr.core.imaging.decode import decode_photo  # noqa: E402
from photomgr.core.imaging.errors import ImageError  # noqa: E402
from photomgr.core.models.base import Embedder, describer_status  # noqa: E402
from photomgr.core.services.model_choice import ModelChoice, load_chosen  # noqa: E402
from photomgr.training.caption_metrics import caption_scores  # noqa: E402
from photomgr.training.data import DataMissing, data_dir, read_captions, split  # noqa: E402

BATCH = 32
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")


def describe_files(embedder: Embedder, paths: list[Path],
                   batch: int = BATCH) -> tuple[dict[Path, str], list[str], str | None]:
    """Each decodable photo's description, one line per photo that could not be decoded, and
    the descriptions' model id."""
    import torch

    out: dict[Path, str] = {}
    failures: list[str] = []
    model: str | None = None
    for start in range(0, len(paths), batch):
        ok, tensors = [], []
        for path in paths[start:start + batch]:
            try:
                decoded = decode_photo(path, min_side=embedder.input_size)
            except ImageError as exc:
                failures.append(f"{path}: {exc}")
                continue
            ok.append(path)
            tensors.append(embedder.preprocess(decoded.image))
        if not tensors:
            continue
        got = embedder.embed_images(torch.stack(tensors))
        if got.descriptions is None:
            raise SystemExit(f"the model wrote no descriptions: {describer_status(embedder)}")
        out.update(zip(ok, got.descriptions, strict=True))
        model = got.description_model
    return out, failures, model


def contact_sheet(rows: list[tuple[Path, str]], dest: Path, *, columns: int = 4, thumb: int = 180) -> None:
    """Photos with their generated sentence underneath, as a small palette PNG."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=12)
    line_h, lines = 15, 4
    cell_w, cell_h = thumb + 12, thumb + 12 + line_h * lines
    sheet = Image.new("RGB", (columns * cell_w, -(-len(rows) // columns) * cell_h), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (path, sentence) in enumerate(rows):
        x, y = (i % columns) * cell_w + 6, (i // columns) * cell_h + 6
        with Image.open(path) as opened:
            im = opened.convert("RGB")
        im.thumbnail((thumb, thumb))
        sheet.paste(im, (x + (thumb - im.width) // 2, y))
        for j, text in enumerate(textwrap.wrap(sentence, 30)[:lines]):
            draw.text((x, y + thumb + 4 + j * line_h), text, fill="black", font=font)
    dest.parent.mkdir(parents=True, exist_ok=True)
    sheet.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(dest, optimize=True)


def caltech_coverage(embedder: Embedder, root: Path) -> dict[str, int | float | list[str]]:
    # every photo file counts: one that fails to decode counts as undescribed
    paths = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
    t0 = time.perf_counter()
    got, failures, _ = describe_files(embedder, paths)
    non_empty = sum(1 for s in got.values() if s.strip())
    return {"photos": len(paths), "decoded": len(got), "non_empty": non_empty,
            "share_non_empty": non_empty / max(1, len(paths)), "decode_failures": failures[:10],
            "seconds": round(time.perf_counter() - t0, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path)
    ap.add_argument("--split", choices=("test", "val"), default="test")
    ap.add_argument("--backend", default="default")
    ap.add_argument("--examples", type=int, default=12)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--sheet", type=Path, help="write a contact sheet PNG of the examples here")
    ap.add_argument("--caltech", type=Path, help="also measure non-empty descriptions on this folder")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--threads", type=int, help="torch threads (speed only; 1 wastes less on a busy machine)")
    ap.add_argument("--limit", type=int, help="only the first N photos of the split (a quick check)")
    ap.add_argument("--skip-flickr", action="store_true", help="only the --caltech coverage")
    ap.add_argument("--reference-decoding", action="store_true",
                    help="then the same photos decoded by the training module in float32 (the decoding "
                         "before caption_infer.FastGreedy): its scores and how many sentences are the same")
    args = ap.parse_args(argv)
    root: Path | None = None
    if not args.skip_flickr:
        try:
            root = data_dir(args.data)
        except DataMissing as exc:
            print(f"SKIPPED held-out captions: {exc}")
    if root is None and not (args.caltech and args.caltech.is_dir()):
        print("SKIPPED: nothing to evaluate on this machine")
        return 0
    embedder = load_chosen(ModelChoice(backend=args.backend), describe=True).embedder
    if describer_status(embedder) is not None:
        print(f"SKIPPED: {describer_status(embedder)}")
        return 0
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    report: dict[str, object] = {}
    if root is not None:
        report = flickr_report(embedder, root, args)
        sentences = cast(dict[str, str], report.pop("sentences"))
        if args.reference_decoding:
            args.sheet = None
            reference = flickr_report(reference_caption_decoding(embedder), root, args)
            theirs = cast(dict[str, str], reference.pop("sentences"))
            same = sum(sentences[name] == s for name, s in theirs.items())
            report["reference_decoding"], report["same_as_reference"] = reference, same
            print(f"\n{same} / {len(sentences)} sentences the same as the reference decoding's")
    if args.caltech:
        if not args.caltech.is_dir():
            print(f"SKIPPED Caltech coverage: {args.caltech} not found")
        else:
            cov = caltech_coverage(embedder, args.caltech)
            report["caltech"] = cov
            share = 100 * float(cov["share_non_empty"])  # type: ignore[arg-type]
            print(f"\n{args.caltech}: {cov['non_empty']}/{cov['photos']} photos ({share:.1f}%) got a "
                  f"non-empty description ({cov['seconds']} s)")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


def flickr_report(embedder: Embedder, root: Path, args: argparse.Namespace) -> dict[str, object]:
    captions = read_captions(root / "images", root / "captions.txt")
    names = getattr(split(captions.images), args.split)[:args.limit]
    t0 = time.perf_counter()
    got, failures, model = describe_files(embedder, [root / "images" / n for n in names])
    seconds = time.perf_counter() - t0
    generated = {p.name: s for p, s in got.items()}
    scores = caption_scores(generated, captions.captions)
    lengths = [len(s.split()) for s in generated.values()]
    vocab = {w.strip(".").lower() for s in generated.values() for w in s.split()}
    report: dict[str, object] = {
        "model": model, "split": args.split, "photos": len(names), "described": len(generated),
        "decode_failures": failures,
        **{k: round(v, 4) for k, v in scores.items()},
        "mean_words": round(sum(lengths) / max(1, len(lengths)), 2), "distinct_words": len(vocab),
        "distinct_sentences": len(set(generated.values())), "seconds": round(seconds, 1),
        "sentences": generated,  # taken out by main before --json writes the report
    }
    print(f"{model}: {args.split} split, {len(generated)} photos, 5 references each: "
          f"BLEU-1 {scores['bleu1']:.4f}, BLEU-4 {scores['bleu4']:.4f}, CIDEr {scores['cider']:.4f}; "
          f"{report['mean_words']} words per sentence, {len(vocab)} distinct words, "
          f"{report['distinct_sentences']} distinct sentences; {seconds:.0f} s")
    picks = random.Random(args.seed).sample(sorted(generated), min(args.examples, len(generated)))
    examples = [{"image": n, "generated": generated[n], "references": captions.captions[n]} for n in picks]
    report["examples"] = examples
    print("\n| photo | generated | references |\n| --- | --- | --- |")
    for e in examples:
        refs = "<br>".join(str(r) for r in e["references"])  # type: ignore[union-attr]
        print(f"| {e['image']} | **{e['generated']}** | {refs} |")
    if args.sheet:
        contact_sheet([(root / "images" / n, generated[n]) for n in picks], args.sheet)
        print(f"\ncontact sheet: {args.sheet} ({args.sheet.stat().st_size // 1024} KB)")
    return report


if __name__ == "__main__":
    raise SystemExit(main())
