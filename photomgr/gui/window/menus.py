"""The window's menus, toolbar and shortcuts, and the right-click menu on photos.

Kept apart from main_window.py so that file stays about wiring; every action here only calls
a MainWindow method (which sends work to the worker) or pushes an undo command.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QShortcut
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMenu, QSizePolicy, QToolBar, QWidget

from photomgr.core.fspaths import display_path
from photomgr.gui.gallery import duplicates
from photomgr.gui.gallery.duplicates import group_members
from photomgr.gui.gallery.model import IdRole, PathRole
from photomgr.gui.text import plural
from photomgr.gui.window import help_dialogs
from photomgr.gui.worker.results import CONFIRMED, ModelState

if TYPE_CHECKING:
    from photomgr.gui.window.main_window import MainWindow

CLIP_PRETRAINED_DEFAULT = "laion2b_s34b_b79k"


@dataclass
class WindowActions:
    add_folder: QAction
    rescan: QAction
    quit: QAction
    undo: QAction
    redo: QAction
    find: QAction
    add_label: QAction
    edit_labels: QAction
    duplicates: QAction
    review: QAction
    use_default: QAction
    use_clip: QAction
    clip_weights: QAction
    descriptions: QAction
    model_menu: QMenu
    shortcuts: QAction | None = None
    about: QAction | None = None


def _action(win: MainWindow, text: str, slot: object, shortcut: str | QKeySequence | None = None,
            tip: str = "") -> QAction:
    action = QAction(text, win)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setToolTip(tip)
    action.triggered.connect(slot)
    return action


def build_menus(win: MainWindow) -> WindowActions:
    stack = win.undo_stack
    undo = stack.createUndoAction(win, "&Undo")
    undo.setShortcuts([QKeySequence("Ctrl+Z")])
    redo = stack.createRedoAction(win, "&Redo")
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    group = QActionGroup(win)
    a = WindowActions(
        add_folder=_action(win, "Add Folder…", win.choose_folder, "Ctrl+O",
                           "Add a folder of photos to the library (Ctrl+O)"),
        rescan=_action(win, "Rescan", win.rescan, "F5",
                       "Look for new, changed, moved and deleted photos (F5)"),
        quit=_action(win, "Quit", win.close, "Ctrl+Q"),
        undo=undo, redo=redo,
        find=_action(win, "Find…", win.focus_search, "Ctrl+F", "Search photos by what they show"),
        add_label=_action(win, "Add Label…", lambda: ask_new_label(win), "Ctrl+Shift+L"),
        edit_labels=_action(win, "Edit Labels…", lambda: win.show_label_editor(), "Ctrl+L"),
        duplicates=_action(win, "Show Duplicates", lambda: duplicates.show_duplicates(win)),
        review=_action(win, "Review Label…", lambda: win.review_mode.start(), "Ctrl+R",
                       "Teach the selected label: its least certain photos, Y or N for each (Ctrl+R)"),
        use_default=_action(win, "Offline Default Model", lambda: win.use_model("default")),
        use_clip=_action(win, "CLIP ViT-B-32", lambda: win.use_model("clip")),
        clip_weights=_action(win, "Point to CLIP Weights…", lambda: choose_clip_weights(win)),
        descriptions=_action(win, "Write Descriptions While Indexing", lambda: None,
                             tip="A sentence per photo saying what it shows (searchable); off "
                                 "indexes faster, and the descriptions you wrote stay"),
        model_menu=QMenu("&Model", win),
    )
    for action in (a.use_default, a.use_clip):
        action.setCheckable(True)
        group.addAction(action)
    a.use_clip.setEnabled(False)
    for action in (a.add_folder, a.rescan):
        action.setEnabled(False)  # until the library is open

    bar = win.menuBar()
    menu = bar.addMenu("&File")
    for item in (a.add_folder, a.rescan, None, a.quit):
        menu.addAction(item) if item is not None else menu.addSeparator()
    menu = bar.addMenu("&Edit")
    for item in (a.undo, a.redo, None, a.find):
        menu.addAction(item) if item is not None else menu.addSeparator()
    menu = bar.addMenu("&Labels")
    for item in (a.add_label, a.edit_labels, a.review, None, a.duplicates):
        menu.addAction(item) if item is not None else menu.addSeparator()
    menu = a.model_menu
    bar.addMenu(menu)
    menu.aboutToShow.connect(win.host.check_clip)  # finding CLIP's weights takes a while: on demand
    for item in (a.use_default, a.use_clip, None, a.clip_weights, None, a.descriptions):
        menu.addAction(item) if item is not None else menu.addSeparator()
    menu = bar.addMenu("&Help")
    a.shortcuts = menu.addAction("Keyboard Shortcuts", lambda: help_dialogs.show_shortcuts(win))
    a.shortcuts.setShortcut(QKeySequence("Ctrl+/"))
    a.about = menu.addAction("About photomgr", lambda: help_dialogs.show_about(win))

    toolbar = QToolBar("Main")
    toolbar.setObjectName("main-toolbar")
    toolbar.setMovable(False)
    toolbar.setIconSize(QSize(16, 16))
    toolbar.addAction(a.add_folder)
    toolbar.addAction(a.rescan)
    toolbar.addAction(a.edit_labels)
    spacer = QWidget()
    spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    toolbar.addWidget(spacer)
    toolbar.addWidget(win.search)
    win.addToolBar(toolbar)

    win.cancel_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), win)
    win.cancel_shortcut.activated.connect(win.on_escape)
    for keys, slot in (((QKeySequence.StandardKey.ZoomIn, "Ctrl+="), win.browse_bar.bigger),
                       ((QKeySequence.StandardKey.ZoomOut,), win.browse_bar.smaller)):
        for key in keys:
            shortcut = QShortcut(QKeySequence(key), win)
            shortcut.activated.connect(slot)
    # Space on the gallery: confirm (or un-confirm) the selected photo's top tag.
    space = QShortcut(QKeySequence(Qt.Key.Key_Space), win.gallery)
    space.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    space.activated.connect(win.toggle_top_tag)
    return a


def update_model_actions(a: WindowActions, state: ModelState) -> None:
    a.use_default.setChecked(state.backend == "default")
    a.use_clip.setChecked(state.backend == "clip")
    a.use_clip.setEnabled(state.clip_available or state.backend == "clip")
    a.use_clip.setToolTip(state.clip_message or "CLIP ViT-B-32: better tags and search, bigger model")
    busy = state.state in ("loading", "embedding")
    for action in (a.use_default, a.use_clip, a.clip_weights):
        action.setEnabled(not busy and (action is not a.use_clip or a.use_clip.isEnabled()))


def ask_new_label(win: MainWindow) -> None:
    name, ok = QInputDialog.getText(win, "Add a label", "Label (what to look for, e.g. “beach”):")
    if ok and name.strip():
        taken = {s.name.casefold() for s in win.sidebar.summaries}
        if name.strip().casefold() in taken:
            win.show_error(f"A label named “{name.strip()}” already exists")
        else:
            win.label_actions.add_label(name.strip())


def guess_pretrained(path: Path) -> str:
    """Which CLIP ViT-B-32 weights a checkpoint file holds, from its name (OpenAI's or LAION's)."""
    return "openai" if "openai" in path.name.lower() else CLIP_PRETRAINED_DEFAULT


def choose_clip_weights(win: MainWindow) -> None:
    name, _ = QFileDialog.getOpenFileName(
        win, "Point to CLIP ViT-B-32 weights", str(Path.home()),
        "CLIP checkpoints (*.safetensors *.bin *.pt *.pth);;All files (*)")
    if name:
        path = Path(name)
        win.use_model("clip", guess_pretrained(path), path)


def photo_menu(win: MainWindow, index: QModelIndex) -> QMenu:
    """The right-click menu: Find similar, Show in file manager, Copy path, Tag with ▸."""
    path = str(index.data(PathRole))
    photo_id = int(index.data(IdRole))
    chosen = win.gallery.selectionModel().selectedIndexes()
    paths = [str(i.data(PathRole)) for i in chosen]
    ids = [int(i.data(IdRole)) for i in chosen]
    if path not in paths:
        paths, ids = [path], [photo_id]
    menu = QMenu(win)
    name = display_path(Path(path).name)
    similar = menu.addAction("Find similar", lambda: win.find_similar(photo_id, name))
    similar.setEnabled(win.host.model.searchable)
    if win.feed.showing.kind == "duplicates":
        others = [i for i in group_members(win.feed.showing.captions, photo_id) if i != photo_id]
        if others:
            group = win.feed.showing.captions.get(photo_id, "").split(" · ")[0]
            menu.addAction(f"Keep this one, hide the other {plural(len(others), 'photo')} of {group}",
                           lambda: duplicates.hide(win, others))
            menu.addAction(f"Keep this one, move the other {plural(len(others), 'photo')} of {group} "
                           "to the trash…", lambda: duplicates.ask_trash(win, others))
    menu.addSeparator()
    menu.addAction("Show in file manager", lambda: win.show_in_file_manager(path))
    menu.addAction("Copy path" if len(paths) == 1 else f"Copy {len(paths)} paths",
                   lambda: win.copy_paths(paths))
    menu.addSeparator()
    tag_menu = menu.addMenu("Tag with")
    labels = win.sidebar.summaries
    decide = win.label_actions.decide
    for label in labels:
        tag_menu.addAction(label.name, partial(decide, ids, label.id, label.name, CONFIRMED))
    if not labels:
        tag_menu.addAction("No labels yet").setEnabled(False)
    tag_menu.addSeparator()
    tag_menu.addAction("New Label…", lambda: ask_new_label(win))
    return menu
