"""The imaging layer against the real test photos in ../shared/photos (skipped when absent).

The sweep runs in a child process so that its peak memory is its own (the test process may
already hold models from other tests) and so that a hang is caught by a timeout.
Run this file directly (`python test_imaging_shared_photos.py ROOT`) for the sweep report alone.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

REPO = Path(__file__).resolve().parents[3]
SWEEP_TIMEOUT_S = 300
MAX_PEAK_RSS_MB = 2048
MAX_SECONDS_PER_FILE = 20.0
# Files that are plainly not images by their name; sniff_format must agree.
_TEXT_SUFFIXES = {".md", ".markdown", ".rst", ".txt", ".csv"}
_TEXT_NAMES = {"README", "LICENSE", "COPYING", ".gitignore"}


def shared_photos() -> Path:
    env = os.environ.get("PHOTOMGR_SHARED_PHOTOS")
    path = Path(env) if env else (REPO / ".." / "shared" / "photos").resolve()
    if not path.is_dir():
        pytest.skip(f"test photos not found: {path} (../shared/photos; set PHOTOMGR_SHARED_PHOTOS)")
    return path


def _thumb32(image: Image.Image) -> Image.Image:
    return image.convert("L").resize((32, 32), Image.Resampling.BOX)


def _mean_diff(a: Image.Image, b: Image.Image) -> float:
    return float(ImageStat.Stat(ImageChops.difference(a, b)).mean[0])


@pytest.mark.shared
@pytest.mark.parametrize("kind", ["Landscape", "Portrait"])
def test_orientation_folder_decodes_upright(kind: str) -> None:
    from photomgr.core.imaging.decode import decode_photo

    folder = shared_photos() / "exif" / "orientation"
    if not (folder / f"{kind}_1.jpg").is_file():
        pytest.skip(f"{folder} has no {kind}_1.jpg")
    reference = decode_photo(folder / f"{kind}_1.jpg")
    ref_small = _thumb32(reference.image)
    # The comparison must be able to tell a wrong orientation apart at all.
    mirrored = reference.image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    assert _mean_diff(_thumb32(mirrored), ref_small) > 20

    for number in range(9):  # 0 is an invalid value and must display like 1
        decoded = decode_photo(folder / f"{kind}_{number}.jpg")
        assert decoded.image.size == reference.image.size, number
        dims = (decoded.metadata.width, decoded.metadata.height)
        assert dims == (reference.metadata.width, reference.metadata.height), number
        assert _mean_diff(_thumb32(decoded.image), ref_small) < 5, number


@pytest.mark.shared
def test_sweep_every_shared_file() -> None:
    root = shared_photos()
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, str(root)],
        capture_output=True, text=True, timeout=SWEEP_TIMEOUT_S, cwd=REPO,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO),
                                                                        os.environ.get("PYTHONPATH")]))},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"\nimaging sweep of {root} in {time.perf_counter() - started:.1f} s "
          f"(peak RSS {report['peak_rss_mb']} MB, slowest {report['slowest']})")
    for folder, counts in sorted(report["folders"].items()):
        print(f"  {folder}: {counts['ok']} ok, {counts['failed']} failed ({counts['not_image']} not images)")

    assert report["other_exceptions"] == [], "decode_photo raised something other than ImageError"
    assert report["text_files_sniffed_as_images"] == []
    assert report["files"] > 0
    assert report["peak_rss_mb"] < MAX_PEAK_RSS_MB
    assert report["slowest"][0] < MAX_SECONDS_PER_FILE
    # Real photos must decode; only Pillow's deliberately broken samples may fail in numbers.
    caltech = report["folders"].get("caltech101-dev")
    if caltech:
        assert caltech["ok"] >= 2900


def _sweep(root: Path) -> dict[str, object]:
    """Decode every file under `root`; never raises for a file, reports what happened."""
    from photomgr.core.imaging.decode import decode_photo
    from photomgr.core.imaging.errors import ImageError
    from photomgr.core.imaging.formats import sniff_format

    folders: dict[str, Counter[str]] = defaultdict(Counter)
    others: list[str] = []
    text_as_image: list[str] = []
    slowest = (0.0, "")
    started = time.perf_counter()
    files = 0
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        files += 1
        parts = path.relative_to(root).parts
        folder = "/".join(parts[:2]) if parts[0] == "formats" and len(parts) > 2 else parts[0]
        folder = folder if len(parts) > 1 else "(top level)"
        t0 = time.perf_counter()
        try:
            fmt = sniff_format(path)
            if fmt is None:
                folders[folder]["not_image"] += 1
            if fmt is not None and (path.suffix.lower() in _TEXT_SUFFIXES or path.name in _TEXT_NAMES):
                text_as_image.append(str(path))
            decode_photo(path, fmt=fmt) if fmt else decode_photo(path)
            folders[folder]["ok"] += 1
        except ImageError:
            folders[folder]["failed"] += 1
        except BaseException as exc:  # the point of the sweep: report, never stop
            others.append(f"{path}: {type(exc).__name__}: {exc}")
        elapsed = time.perf_counter() - t0
        if elapsed > slowest[0]:
            slowest = (round(elapsed, 3), str(path.relative_to(root)))
    return {
        "files": files,
        "seconds": round(time.perf_counter() - started, 1),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "slowest": slowest,
        "folders": {k: {"ok": v["ok"], "failed": v["failed"], "not_image": v["not_image"]}
                    for k, v in folders.items()},
        "other_exceptions": others,
        "text_files_sniffed_as_images": text_as_image,
    }


if __name__ == "__main__":
    print(json.dumps(_sweep(Path(sys.argv[1]))))
