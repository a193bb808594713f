"""Help ▸ Keyboard Shortcuts and About, and a launch without Qt's X11 libraries that says what to
install instead of Qt's misleading message."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import qVersion

from photomgr import __version__
from photomgr.gui import app as gui_app
from photomgr.gui import platform_check
from photomgr.gui.window.main_window import MainWindow


def test_help_menu_shows_shortcuts_and_about(window: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: window.host.model.state != "loading", timeout=10_000)
    menus = {a.text(): a for a in window.menuBar().actions()}
    assert "&Help" in menus
    actions = window.menu_actions
    assert actions.shortcuts is not None and actions.about is not None
    actions.shortcuts.trigger()
    from PySide6.QtWidgets import QDialog

    shown = [d for d in window.findChildren(QDialog) if d.isVisible()]
    assert shown and "Next / previous photo" in shown[-1].text.text()  # type: ignore[attr-defined]
    assert "Ctrl+plus" in shown[-1].text.text()  # type: ignore[attr-defined]
    actions.about.trigger()
    about = [d for d in window.findChildren(QDialog) if d.isVisible() and d.windowTitle() == "About photomgr"]
    text = about[0].text.text()  # type: ignore[attr-defined]
    assert f"photomgr {__version__}" in text and str(window.paths.root) in text
    assert f"Qt {qVersion()}" in text and "Model: CLIP fake-colour (v1)" in text


def _present(libraries: set[str]) -> Callable[[str], str | None]:
    """A stand-in loader: None for a library that loads, else the file that did not."""
    return lambda lib: None if lib in libraries else lib


def test_missing_qt_libraries_are_named_with_the_install_line(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    everything = set(platform_check.GUI_LIBRARIES) | set(platform_check.XCB_LIBRARIES)
    present = everything - {"libxcb-icccm.so.4", "libxcb-keysyms.so.1"}
    x11 = {"DISPLAY": ":0"}
    fonts = {"/etc/fonts/fonts.conf"}.__contains__
    assert platform_check.missing_qt_libraries(_present(present), x11, fonts) == \
        ["libxcb-icccm4", "libxcb-keysyms1"]
    assert platform_check.missing_qt_libraries(_present(everything), x11, fonts) == []
    # The desktop bundle carries libfontconfig but a bare machine has no fontconfig set-up (and no
    # font): every letter a box. FONTCONFIG_FILE, when set, is where fontconfig looks instead.
    assert platform_check.missing_qt_libraries(_present(everything), x11, lambda path: False) == \
        ["fontconfig-config"]
    own = {**x11, "FONTCONFIG_FILE": "/opt/fonts.conf"}
    own_fonts = {"/opt/fonts.conf"}.__contains__
    assert platform_check.missing_qt_libraries(_present(everything), own, own_fonts) == []
    # Without X11 only the libraries every Qt GUI links are needed, each package named once.
    gui_only = ["libglib2.0-0", "libgl1", "libegl1", "libfontconfig1", "libfreetype6", "libx11-6",
                "libxkbcommon0", "libdbus-1-3"]
    offscreen = {"QT_QPA_PLATFORM": "offscreen"}
    assert platform_check.missing_qt_libraries(_present(set()), offscreen, fonts) == gui_only
    wayland = {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}
    assert platform_check.missing_qt_libraries(_present(set()), wayland, fonts) == gui_only
    # At launch: no QApplication yet, the libraries missing -> the exact line, and exit status 1.
    monkeypatch.setattr(gui_app.QApplication, "instance", staticmethod(lambda: None))
    monkeypatch.setattr(gui_app, "missing_qt_libraries", lambda: ["libxcb-icccm4", "libxcb-keysyms1"])
    assert gui_app.run_gui(tmp_path / "library") == 1
    err = capsys.readouterr().err
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1\n" in err
    assert "libxcb-icccm4, libxcb-keysyms1" in err and "xcb-cursor0 is needed" not in err


def test_a_library_that_fails_for_a_missing_dependency_names_the_dependency() -> None:
    """The bundle carries libX11 and the xcb-util libraries but not libxcb.so.1: on a bare Debian
    each failed to load for that one file, and the line asked for 15 packages instead of libxcb1."""
    bundled = {"libX11.so.6", "libX11-xcb.so.1", "libxkbcommon-x11.so.0"} | {
        lib for lib in platform_check.XCB_LIBRARIES if lib.startswith("libxcb-")}
    system = set(platform_check.GUI_LIBRARIES) - {"libX11.so.6"}

    def unloadable(lib: str) -> str | None:
        if lib in bundled:
            return "libxcb.so.1"  # what dlerror() names: the dependency, not the library asked for
        return None if lib in system else lib

    fonts = {"/etc/fonts/fonts.conf"}.__contains__
    assert platform_check.missing_qt_libraries(unloadable, {"DISPLAY": ":0"}, fonts) == ["libxcb1"]


def test_the_real_loader_names_the_missing_file(tmp_path: Path) -> None:
    assert platform_check._unloadable("libc.so.6") is None
    assert platform_check._unloadable("libphotomgr-nonexistent.so.1") == "libphotomgr-nonexistent.so.1"
    broken = tmp_path / "libbroken.so"  # not an ELF file: the library itself is what failed
    broken.write_bytes(b"not a library")
    assert platform_check._unloadable(str(broken)) == str(broken)


def test_the_loader_reads_the_cause_under_pyinstaller(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The bundle's ctypes.CDLL re-raises dlerror's message as the __cause__ of its own."""
    def frozen_cdll(name: str) -> None:
        try:
            raise OSError("libxcb.so.1: cannot open shared object file: No such file or directory")
        except OSError as base_error:
            raise OSError(f"Failed to load dynlib/dll {name!r}. Most likely ...") from base_error

    monkeypatch.setattr(platform_check.ctypes, "CDLL", frozen_cdll)
    assert platform_check._unloadable("libX11.so.6") == "libxcb.so.1"


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler to build the libraries")
def test_the_real_loader_names_a_missing_dependency(tmp_path: Path) -> None:
    """libfoo needs libbar, which is gone: the answer is libbar (what glibc's dlerror names)."""
    (tmp_path / "bar.c").write_text("int bar(void) { return 1; }\n")
    (tmp_path / "foo.c").write_text("int bar(void);\nint foo(void) { return bar(); }\n")
    cc = ["cc", "-shared", "-fPIC"]
    subprocess.run([*cc, "-o", "libbar.so.1", "-Wl,-soname,libbar.so.1", "bar.c"], cwd=tmp_path, check=True)
    subprocess.run([*cc, "-o", "libfoo.so.1", "foo.c", "-L.", "-l:libbar.so.1"], cwd=tmp_path, check=True)
    (tmp_path / "libbar.so.1").unlink()
    assert platform_check._unloadable(str(tmp_path / "libfoo.so.1")) == "libbar.so.1"


def test_the_cli_names_missing_libraries_before_pyside6_is_imported(tmp_path: Path) -> None:
    """On a bare machine PySide6's import itself fails (libEGL.so.1, libglib...): the check must
    run first. The child process cannot import PySide6 at all and lacks libEGL; it must get the
    install line, not a traceback."""
    code = (
        "import sys; sys.modules['PySide6'] = None\n"  # any `import PySide6...` now raises
        "from photomgr.gui import platform_check\n"
        "real = platform_check._unloadable\n"
        "platform_check._unloadable = lambda lib: lib if lib == 'libEGL.so.1' else real(lib)\n"
        "from photomgr.cli.main import main\n"
        "sys.exit(main(['--library', sys.argv[1]]))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["DISPLAY"] = ":0"
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "library")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "Qt needs system libraries that are not installed (libegl1" in done.stderr
    assert "    sudo apt-get install libegl1" in done.stderr


@pytest.mark.parametrize("library", ["libxcb-cursor.so.0", "libxcb-icccm.so.4"])
def test_the_real_loader_answers_for_each_library(library: str) -> None:
    assert platform_check._unloadable(library) in (None, library, "libxcb.so.1")
