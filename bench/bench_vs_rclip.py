"""photomgr against rclip, the CLIP photo-search CLI from PyPI, side by side in one run.

    python -m bench.bench_vs_rclip [--runs 2] [--small 600] [--camera 250] [--rclip PATH]

Both tools run as their own command-line programs on fresh copies of the same photos, each
index on a fresh library/database, timed from process start to exit (start-up included), with
the peak memory (max RSS) of the process. Both use randomly initialised ViT-B-32 models (the
real weights cannot be downloaded here; speed does not depend on the weight values):

- rclip: open_clip's ViT-B-32-256 (the architecture of rclip's own ViT-B-32-256 datacomp model,
  256 px input) with seed-0 random weights, exported to ONNX as `visual.onnx`/`textual.onnx` in
  rclip's data folder layout (RCLIP_DATADIR), plus open_clip's BPE vocabulary: rclip then finds
  every file it needs and never downloads (HF_HUB_OFFLINE=1 as well).
- photomgr CLIP: open_clip ViT-B-32 (224 px) with seed-0 random weights saved as safetensors and
  chosen with `photomgr model use clip --weights FILE`.
- photomgr default: the offline default model (EfficientNet-Lite0 + MiniLM).

"Model only" is photomgr's forward pass alone on the same photos (already decoded and
preprocessed, batch 32, median of 3 passes, in this process); for rclip its ONNX session on its
own preprocessed inputs (batch 8, rclip's default), in rclip's Python. "End to end / model" is
the command's photos/s (start-up included) over that rate.

rclip is not a photomgr dependency: it pins older numpy/Pillow, so install it in a venv of its
own and point this script at it (exporting the towers needs the `onnx` package in photomgr's
venv, the `bench` extra):

    python -m venv /tmp/rclip-venv && /tmp/rclip-venv/bin/pip install rclip
    PHOTOMGR_RCLIP=/tmp/rclip-venv/bin/rclip python -m bench.bench_vs_rclip

Without rclip (or onnx) the script prints SKIP with the reason and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import REPO, large_jpegs, machine, shared_photos

RCLIP_MODEL_SUBDIR = "ViT-B-32-256-datacomp_s34b_b86k"  # rclip.model_download.MODEL_SUBDIR
RCLIP_VOCAB = "tokenizer/bpe_simple_vocab_16e6.txt.gz"  # rclip.model_download.TOKENIZER_VOCAB
RCLIP_BATCH = 8  # rclip's default --indexing-batch-size
QUERY = "a dog on the grass"


def cache_root() -> Path:
    root = Path(os.environ.get("PHOTOMGR_BENCH_CACHE", Path.home() / ".cache" / "photomgr-bench"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def find_rclip(explicit: str | None) -> tuple[Path | None, str]:
    """rclip's executable, or None and why not."""
    candidate = explicit or os.environ.get("PHOTOMGR_RCLIP") or shutil.which("rclip")
    if not candidate:
        return None, ("rclip is not installed (pip install rclip into a venv of its own, then "
                      "set PHOTOMGR_RCLIP=/that/venv/bin/rclip or pass --rclip)")
    path = Path(candidate)
    if not path.is_file():
        return None, f"rclip not found at {path}"
    return path, ""


def rclip_python(rclip: Path) -> str:
    """The interpreter of rclip's venv (from the script's #! line) for the model-only pass."""
    first = rclip.read_text(errors="replace").splitlines()[0]
    return first[2:].strip() if first.startswith("#!") else sys.executable


# ---------------------------------------------------------------- models (cached, seed 0)

def rclip_model_dir() -> Path:
    """RCLIP_DATADIR-shaped folder holding random ViT-B-32-256 ONNX towers; made once."""
    root = cache_root() / "rclip-vit-b-32-256-random"
    model_dir = root / RCLIP_MODEL_SUBDIR
    if (model_dir / "visual.onnx").is_file() and (model_dir / "textual.onnx").is_file() \
            and (root / RCLIP_VOCAB).is_file():
        return root
    import open_clip
    import torch

    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32-256", pretrained=None).eval()

    class Tower(torch.nn.Module):  # the model as a submodule: its weights export as weights
        def __init__(self, clip: torch.nn.Module, text: bool) -> None:
            super().__init__()
            self.clip, self.text = clip, text

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.clip.encode_text(x) if self.text else self.clip.encode_image(x)

    model_dir.mkdir(parents=True, exist_ok=True)
    axes = {"input": {0: "n"}, "output": {0: "n"}}
    for name, module, example in (
        ("visual.onnx", Tower(model, False), torch.zeros(1, 3, 256, 256)),
        ("textual.onnx", Tower(model, True), torch.zeros(1, 77, dtype=torch.long)),
    ):
        tmp = model_dir / f".{name}.tmp"
        torch.onnx.export(module, (example,), str(tmp), input_names=["input"],
                          output_names=["output"], dynamic_axes=axes, opset_version=17,
                          dynamo=False)
        tmp.replace(model_dir / name)
    vocab = Path(open_clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz"
    (root / RCLIP_VOCAB).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(vocab, root / RCLIP_VOCAB)
    return root


def photomgr_clip_weights() -> Path:
    path = cache_root() / "vit-b-32-random-seed0.safetensors"
    if path.is_file():
        return path
    import open_clip
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32", pretrained=None)
    tmp = path.with_suffix(".tmp")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp))
    tmp.replace(path)
    return path


# ---------------------------------------------------------------- photo sets

def caltech_photos(n: int) -> list[Path]:
    root = shared_photos() / "caltech101-dev"
    if not root.is_dir():
        return []
    photos = sorted(root.rglob("*.jpg"))
    random.Random(0).shuffle(photos)
    return photos[:n]


def camera_sources() -> list[Path]:
    """Distinct camera-sized JPEGs (>= 1 MP): Debian's mate-backgrounds and the EXIF samples."""
    from PIL import Image

    found = []
    candidates = [*large_jpegs(all_sizes=True),
                  *sorted((shared_photos() / "exif" / "exif-samples" / "jpg").rglob("*.jpg"))]
    for p in candidates:
        try:
            with Image.open(p) as im:
                if im.format == "JPEG" and im.width * im.height >= 1_000_000:
                    im.draft("RGB", (64, 64))
                    im.load()  # decodes: broken samples are left out
                    found.append(p)
        except Exception:
            continue
    return found


def stage(files: list[Path], folder: Path, total: int) -> int:
    """Copy `total` files into `folder`, cycling through `files`; every copy gets a distinct
    trailer after the JPEG data, so each has its own content hash in both tools (rclip reuses
    the vector of identical content) while decoding exactly as the original."""
    folder.mkdir(parents=True)
    for i in range(total):
        src = files[i % len(files)]
        data = src.read_bytes()
        if i >= len(files):
            data += f"copy-{i}".encode()
        (folder / f"{i:05d}{src.suffix.lower()}").write_bytes(data)
    return total


# ---------------------------------------------------------------- running the tools

@dataclass
class Run:
    seconds: float
    max_rss_mb: float
    out: str


def _peak_rss_mb(pid: int) -> float:
    """VmHWM of a running process (its own high-water mark since exec), 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def run_timed(cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> Run:
    """Wall time from start to exit, and the child's peak RSS.

    The peak is VmHWM polled every 10 ms, not wait4's ru_maxrss: Linux carries the parent's
    high-water mark across fork+exec, so a child of this (torch-loaded) process would report
    this process's size."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0.0
    stop = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _peak_rss_mb(proc.pid))
            stop.wait(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    stop.set()
    watcher.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err.decode()[-2000:]}")
    return Run(seconds, peak, out.decode(errors="replace"))


def rclip_env(datadir: Path) -> dict[str, str]:
    env = dict(os.environ, RCLIP_DATADIR=str(datadir), HF_HUB_OFFLINE="1")
    env.pop("PYTHONPATH", None)
    return env


def fresh_rclip_datadir(models: Path, where: Path) -> Path:
    """A data folder with the model files linked in and no database yet."""
    where.mkdir(parents=True)
    (where / RCLIP_MODEL_SUBDIR).symlink_to(models / RCLIP_MODEL_SUBDIR)
    (where / "tokenizer").symlink_to(models / "tokenizer")
    return where


def photomgr_cmd(library: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "photomgr", "--library", str(library), *args]


def photomgr_env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1")


def new_photomgr_library(where: Path, backend: str, weights: Path) -> Path:
    where.mkdir(parents=True)
    if backend == "clip":
        run_timed(photomgr_cmd(where, "model", "use", "clip", "--weights", str(weights)),
                  env=photomgr_env())
    return where


# ---------------------------------------------------------------- model-only rates

RCLIP_MODEL_ONLY = r"""
import sys, time, statistics, pathlib
import numpy as np
from rclip import model_download
from rclip.utils.preprocess import preprocess
from rclip.utils import helpers
files = sorted(pathlib.Path(sys.argv[1]).iterdir())
batch = int(sys.argv[2])
arrays = [preprocess(helpers.read_image(str(p))) for p in files]
batches = [np.stack(arrays[i:i + batch]) for i in range(0, len(arrays), batch)]
session = model_download.load_visual_query_session()
session.run(None, {"input": batches[0]})
rates = []
for _ in range(3):
    t = time.perf_counter()
    for b in batches:
        session.run(None, {"input": b})
    rates.append(len(arrays) / (time.perf_counter() - t))
print(statistics.median(rates))
"""


def rclip_model_only(rclip: Path, models: Path, folder: Path, tmp: Path) -> float:
    datadir = fresh_rclip_datadir(models, tmp / f"rclip-model-only-{time.monotonic_ns()}")
    out = run_timed([rclip_python(rclip), "-c", RCLIP_MODEL_ONLY, str(folder), str(RCLIP_BATCH)],
                    env=rclip_env(datadir)).out
    return float(out.strip().splitlines()[-1])


def photomgr_model_only(backend: str, weights: Path, folder: Path) -> float:
    from bench.bench_indexing import model_only_rate
    from photomgr.core.models.registry import load_embedder

    embedder = load_embedder(backend, clip_weights=weights if backend == "clip" else None,
                             device="cpu")
    return model_only_rate(embedder, sorted(folder.iterdir()))


# ---------------------------------------------------------------- the run

@dataclass
class SetResult:
    name: str
    n: int
    folder: Path
    index: dict[str, list[Run]]
    model_only: dict[str, float]


def index_rclip(rclip: Path, models: Path, folder: Path, tmp: Path) -> tuple[Run, Path]:
    datadir = fresh_rclip_datadir(models, tmp / f"rclip-{time.monotonic_ns()}")
    run = run_timed([str(rclip), "-f", QUERY], cwd=folder, env=rclip_env(datadir))
    return run, datadir


def index_photomgr(backend: str, weights: Path, folder: Path, tmp: Path) -> tuple[Run, Path]:
    library = new_photomgr_library(tmp / f"lib-{backend}-{time.monotonic_ns()}", backend, weights)
    run = run_timed(photomgr_cmd(library, "index", "--json", str(folder)), env=photomgr_env())
    result = json.loads(run.out)
    expected = len(list(folder.iterdir()))
    if result["embedded"] != expected:
        raise RuntimeError(f"photomgr {backend} embedded {result['embedded']} of {expected}")
    return run, library


def fmt_rate(n: int, runs: list[Run]) -> str:
    rates = sorted(n / r.seconds for r in runs)
    return " / ".join(f"{r:.1f}" for r in rates)


def median_rate(n: int, runs: list[Run]) -> float:
    return statistics.median(n / r.seconds for r in runs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=2, help="index runs per tool and set (default 2)")
    ap.add_argument("--small", type=int, default=600, help="Caltech photos (default 600)")
    ap.add_argument("--camera", type=int, default=250, help="camera JPEGs (default 250)")
    ap.add_argument("--queries", type=int, default=3, help="runs of each query (default 3)")
    ap.add_argument("--rclip", help="rclip executable (default $PHOTOMGR_RCLIP or PATH)")
    ap.add_argument("--backends", default="clip,default", help="photomgr backends to run")
    args = ap.parse_args()

    rclip, why = find_rclip(args.rclip)
    if rclip is None:
        print(f"SKIP: {why}")
        return 0
    try:
        import onnx  # noqa: F401  (torch.onnx.export needs it)
    except ImportError:
        print("SKIP: exporting the ViT-B-32 towers for rclip needs the `onnx` package "
              "(pip install -e '.[bench]')")
        return 0
    small = caltech_photos(args.small)
    camera = camera_sources()
    if not small and not camera:
        print(f"SKIP: no photos (neither {shared_photos()}/caltech101-dev nor camera JPEGs)")
        return 0
    backends = [b for b in args.backends.split(",") if b]
    version = run_timed([str(rclip), "--version"], env=rclip_env(Path(tempfile.gettempdir()))).out
    models = rclip_model_dir()
    weights = photomgr_clip_weights()

    print(f"# photomgr vs {version.strip()} ({machine()})\n")
    with tempfile.TemporaryDirectory(prefix="bench-vs-rclip-") as tmp_name:
        tmp = Path(tmp_name)
        sets: list[SetResult] = []
        if small:
            n = stage(small, tmp / "small", len(small))
            sets.append(SetResult(f"{n} small Caltech JPEGs", n, tmp / "small", {}, {}))
        if camera:
            n = stage(camera, tmp / "camera", args.camera)
            sets.append(SetResult(f"{n} camera JPEGs ({len(camera)} distinct, 1-18 MP)", n,
                                  tmp / "camera", {}, {}))
        tools = ["rclip", *backends]
        last_index: dict[tuple[str, str], Path] = {}
        for run_no in range(args.runs):
            for s in sets:
                # Alternate the order so neither tool always runs on a warmer page cache.
                order = tools if run_no % 2 == 0 else tools[::-1]
                for tool in order:
                    if tool == "rclip":
                        run, where = index_rclip(rclip, models, s.folder, tmp)
                    else:
                        run, where = index_photomgr(tool, weights, s.folder, tmp)
                    s.index.setdefault(tool, []).append(run)
                    last_index[(s.name, tool)] = where
                    print(f"  run {run_no + 1} {s.name}: {tool} {run.seconds:.1f} s "
                          f"({s.n / run.seconds:.1f} photos/s, {run.max_rss_mb:.0f} MB, "
                          f"load {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)
        for s in sets:
            s.model_only["rclip"] = rclip_model_only(rclip, models, s.folder, tmp)
            for backend in backends:
                s.model_only[backend] = photomgr_model_only(backend, weights, s.folder)

        # Queries on the small set's index (the one each tool built last).
        q = sets[0]
        queries: dict[str, list[Run]] = {}
        probe = sorted(q.folder.iterdir())[0]
        for _ in range(args.queries):
            datadir = last_index[(q.name, "rclip")]
            queries.setdefault("rclip search", []).append(run_timed(
                [str(rclip), "-n", "-f", QUERY], cwd=q.folder, env=rclip_env(datadir)))
            for backend in backends:
                lib = last_index[(q.name, backend)]
                queries.setdefault(f"photomgr {backend} search", []).append(run_timed(
                    photomgr_cmd(lib, "search", QUERY), env=photomgr_env()))
                queries.setdefault(f"photomgr {backend} similar", []).append(run_timed(
                    photomgr_cmd(lib, "similar", str(probe), "-k", "10"), env=photomgr_env()))

    print(f"Index: photos/s of the whole command (start-up included), {args.runs} runs each "
          "(fresh index each run), lowest / highest; model only in parentheses; load average at "
          f"the end {os.getloadavg()[0]:.2f}.\n")
    head = ["photos", "rclip (ViT-B-32 at 256 px)", *(f"photomgr {b}" for b in backends)]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for s in sets:
        cells = [s.name]
        for tool in tools:
            label = "rclip" if tool == "rclip" else tool
            cells.append(f"{fmt_rate(s.n, s.index[tool])} (model alone "
                         f"{s.model_only[label]:.1f})")
        print("| " + " | ".join(cells) + " |")
    cells = ["text query on the indexed folder"]
    for tool in tools:
        key = "rclip search" if tool == "rclip" else f"photomgr {tool} search"
        runs = queries[key]
        cells.append(f"{statistics.median(r.seconds for r in runs):.2f} s wall, "
                     f"{max(r.max_rss_mb for r in runs):.0f} MB")
    print("| " + " | ".join(cells) + " |")
    cells = ["Find similar (photomgr similar -k 10)", "-"]
    for backend in backends:
        runs = queries[f"photomgr {backend} similar"]
        cells.append(f"{statistics.median(r.seconds for r in runs):.2f} s wall, "
                     f"{max(r.max_rss_mb for r in runs):.0f} MB")
    print("| " + " | ".join(cells) + " |")

    print("\nRatios (medians of the runs above):\n")
    print("| photos | photomgr CLIP / rclip | " +
          " | ".join(f"{b} end to end / model only" for b in backends) + " |")
    print("|---|---:|" + "---:|" * len(backends))
    for s in sets:
        ratio = (median_rate(s.n, s.index["clip"]) / median_rate(s.n, s.index["rclip"])
                 if "clip" in s.index else float("nan"))
        cells = [s.name, f"{ratio:.2f}x"]
        cells += [f"{median_rate(s.n, s.index[b]) / s.model_only[b]:.0%}" for b in backends]
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
