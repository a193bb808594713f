"""Wall time and peak memory of everyday CLI commands on an indexed library.

    python -m bench.bench_commands [--photos 200] [--repeat 5] [--against /path/to/other/checkout]

Each command runs as a fresh `python -m photomgr ...` process, as a user would type it, so the
time includes interpreter start, imports and any model load. Peak RSS is that process's own
(`os.wait4`). The library is built once with `photomgr index` from a subset of
../shared/photos/caltech101-dev (the first N photos of every class, in name order), with the
default model; the script prints SKIP when the photos are absent.

`--against DIR` also times the same commands with the photomgr code of another checkout (for
before/after numbers measured in one run, interleaved command by command). Each checkout gets
its own library built by its own code from the same photos (an older photomgr refuses a library
a newer one migrated).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import REPO, machine, shared_photos


@dataclass
class Timing:
    wall_s: list[float]
    rss_mib: list[float]
    failed: str | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.wall_s)

    @property
    def peak(self) -> float:
        return max(self.rss_mib)


def run_cli(code: Path, library: Path, argv: list[str]) -> tuple[float, float, int, str]:
    """(wall seconds, peak RSS MiB, exit status, stderr) of one `python -m photomgr` process."""
    env = {**os.environ, "PYTHONPATH": str(code), "PHOTOMGR_LIBRARY": str(library)}
    started = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, "-m", "photomgr", *argv], cwd=code, env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        message = err.read().decode(errors="replace")
    return wall, usage.ru_maxrss / 1024, proc.returncode, message


def pick_photos(root: Path, per_class: int) -> list[Path]:
    out = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "BACKGROUND_Google"):
        out += sorted(folder.glob("*.jpg"))[:per_class]
    return out


def copy_photos(photos: list[Path], tree: Path) -> None:
    for p in photos:
        target = tree / p.parent.name / p.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, target)  # not a symlink: the library stores resolved paths


def build_library(code: Path, library: Path, tree: Path) -> None:
    for argv in (["index", str(tree)], ["labels", "add", "dog"], ["labels", "add", "airplane"]):
        wall, _, status, err = run_cli(code, library, argv)
        if status != 0:
            raise SystemExit(f"building the library failed: photomgr {' '.join(argv)}: {err}")
        print(f"  photomgr {' '.join(argv)}: {wall:.1f} s", file=sys.stderr)


def commands(tree: Path) -> list[tuple[str, list[str], list[list[str]]]]:
    """(name, argv, argv run after each timed call to undo it, untimed)."""
    photo = str(next(tree.glob("dalmatian/*.jpg")))
    return [
        ("labels list", ["labels", "list"], []),
        ("tags PHOTO", ["tags", photo], []),
        ("model", ["model"], []),
        ("tag PHOTO dog --confirm", ["tag", photo, "dog", "--confirm"], [["tag", photo, "dog", "--clear"]]),
        ("labels add beach", ["labels", "add", "beach"], [["labels", "remove", "beach"]]),
        ("labels add beach car tree", ["labels", "add", "beach", "car", "tree"],
         [["labels", "remove", n] for n in ("beach", "car", "tree")]),
        ("search \"a dog on grass\"", ["search", "a dog on grass"], []),
        ("similar PHOTO", ["similar", photo], []),
    ]


def measure(code: Path, library: Path, argv: list[str], undo: list[list[str]], repeat: int) -> Timing:
    timing = Timing([], [])
    for i in range(repeat + 1):  # the first run warms the disk cache and is not counted
        wall, rss, status, err = run_cli(code, library, argv)
        for u in undo:
            run_cli(code, library, u)
        if status != 0:
            timing.failed = err.strip().splitlines()[-1] if err.strip() else f"exit {status}"
            return timing
        if i:
            timing.wall_s.append(wall)
            timing.rss_mib.append(rss)
    return timing


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-class", type=int, default=3, help="photos per Caltech class (default 3)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--against", type=Path, help="another checkout to time the same commands with")
    args = ap.parse_args()
    caltech = shared_photos() / "caltech101-dev"
    if not caltech.is_dir():
        print(f"SKIP: test photos not found at {caltech} (set PHOTOMGR_SHARED_PHOTOS)")
        return 0
    codes = [("this", REPO)] + ([("against", args.against.resolve())] if args.against else [])
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "photos"
        photos = pick_photos(caltech, args.per_class)
        copy_photos(photos, tree)
        libraries = {label: Path(tmp) / f"lib-{label}" for label, _ in codes}
        for label, code in codes:
            print(f"building a {len(photos)}-photo library with {code}...", file=sys.stderr)
            build_library(code, libraries[label], tree)
        results: dict[str, dict[str, Timing]] = {}
        for name, argv, undo in commands(tree):
            results[name] = {}
            for label, code in codes:
                results[name][label] = measure(code, libraries[label], argv, undo, args.repeat)
                t = results[name][label]
                print(f"  {label:8} {name}: "
                      + (t.failed or f"{t.median:.2f} s, {t.peak:.0f} MiB"), file=sys.stderr)
        shutil.rmtree(tree)
    print(f"# CLI commands, {len(photos)}-photo library, default model ({machine()})\n")
    print(f"Median wall time of {args.repeat} runs (after one warm-up), peak RSS of the process.\n")
    head = "| command | wall s | peak RSS MiB |"
    rule = "|---|---:|---:|"
    if args.against:
        head += " before: wall s | before: RSS MiB | speed-up |"
        rule += "---:|---:|---:|"
    print(head)
    print(rule)
    for name, by_code in results.items():
        row = [name]
        for label, _ in codes:
            t = by_code[label]
            row += ["failed: " + t.failed, "—"] if t.failed else [f"{t.median:.2f}", f"{t.peak:.0f}"]
        if args.against:
            now, before = by_code["this"], by_code["against"]
            row.append("—" if now.failed or before.failed else f"{before.median / now.median:.1f}×")
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
