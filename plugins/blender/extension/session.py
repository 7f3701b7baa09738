"""The generation in flight, run off Blender's main thread.

A worker thread connects to the daemon, submits the job and reads its events into a snapshot; a
`bpy.app.timers` callback on the main thread copies the snapshot to the UI (progress bar, stage,
queue position), reports errors, and imports the finished asset. Blender data is only touched on
the main thread.

The worker is started by the timer, never inside the operator, and joined before the main thread
calls another operator (the report, the glTF import). Blender builds on Python 3.11 read a
`temp_override` context dictionary without the GIL while an operator runs whenever another Python
thread holds it (`PyC_IsInterpreterActive` sees that thread's state), which corrupts the
interpreter: an operator called from a script inside `temp_override` must not overlap our thread.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import bpy

TICK_SECONDS = 0.1
BUILTIN_ITEM = ("DEFAULT", "Built-in (relief)", "The built-in reconstructor: no model files, works everywhere")
NONE_ITEM = ("NONE", "None", "No learned model")
# What each role's list starts with: the choice that needs no model files.
FIRST_ITEM = {"reconstructor": BUILTIN_ITEM, "segmentation": NONE_ITEM, "depth": NONE_ITEM}


@dataclass
class Request:
    """What to generate, gathered on the main thread."""

    name: str
    image: str | bytes
    options: dict
    connect: dict
    texture_storage: str = "PACK"
    location: tuple = (0.0, 0.0, 0.0)
    scene_name: str = ""


@dataclass
class Status:
    """What the UI shows: the state of the current (or last) generation."""

    state: str = "IDLE"  # IDLE, CONNECTING, QUEUED, RUNNING, IMPORTING, FINISHED, FAILED, CANCELLED
    stage: str = ""
    fraction: float = 0.0
    position: int = 0
    message: str = ""
    job_id: str = ""
    imported: list[str] = field(default_factory=list)
    warning: str = ""  # The daemon's latest warning about the running job (e.g. moved to the CPU).

    @property
    def busy(self) -> bool:
        return self.state in {"CONNECTING", "QUEUED", "RUNNING", "IMPORTING"}

    def label(self) -> str:
        if self.state == "CONNECTING":
            return "Connecting to the daemon…"
        if self.state == "QUEUED":
            return f"Queued (position {self.position})" if self.position else "Queued"
        if self.state == "RUNNING":
            return f"{self.stage.capitalize() or 'Starting'} {self.fraction:.0%}"
        if self.state == "IMPORTING":
            return "Importing…"
        return self.message


class Session:
    """One generation at a time per Blender session, plus the cached model list and history."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._status = Status()
        self._worker: threading.Thread | None = None
        self._pending: Request | None = None  # Started by the next tick, outside any operator.
        self._job = None
        self._cancel_requested = False
        self._ended_reported = False
        self._result: tuple | None = None  # (Request, Generation, folder) waiting to be imported
        # The enum items of each role's models (Blender keeps pointers into these lists).
        self._models: dict[str, list[tuple[str, str, str]]] = {role: [item] for role, item in FIRST_ITEM.items()}
        self._table: dict | None = None  # The daemon's option table, once asked.
        self._table_new = False  # A table the main thread has not applied to the properties yet.
        self._tick = self.tick  # Timers are compared by identity: keep one bound method.
        self.reports: list[tuple[str, str]] = []
        self._warnings: list[str] = []  # From the worker, reported by the next tick.
        self.history: list = []
        self.previews = None
        # The Account sub-panel's state, read on the main thread (account.refresh).
        self.account = None
        self.sync = None
        self.settings = None

    # Main thread -------------------------------------------------------------------------------

    def status(self) -> Status:
        with self._lock:
            return Status(**{name: getattr(self._status, name) for name in Status.__dataclass_fields__})

    def model_items(self, role: str) -> list[tuple[str, str, str]]:
        return self._models[role]

    def option_table(self) -> dict:
        """The daemon's option table once a connection has asked for it, else the bundled module's."""
        import threedgpt

        with self._lock:
            table = self._table
        return table if table is not None else threedgpt.default_options()

    def apply_table(self) -> None:
        """On the main thread: the scene properties take the daemon's defaults and ranges."""
        from . import properties

        with self._lock:
            table, fresh, self._table_new = self._table, self._table_new, False
        if fresh and table is not None:
            properties.apply_table(table)

    def start(self, request: Request) -> None:
        """Starts a generation; raises RuntimeError when one is already running."""
        with self._lock:
            if self._status.busy:
                raise RuntimeError("a generation is already running: wait for it or cancel it")
            self._status = Status(state="CONNECTING")
            self._ended_reported = False
            self._cancel_requested = False
            self._job = None
            self._result = None
            self._pending = request
        if not bpy.app.timers.is_registered(self._tick):
            bpy.app.timers.register(self._tick, first_interval=0.0)

    def cancel(self) -> bool:
        """Asks the daemon to cancel the running generation; False when none runs."""
        with self._lock:
            if not self._status.busy or self._status.state == "IMPORTING":
                return False
            self._cancel_requested = True
            job = self._job
        if job is not None:
            try:
                job.cancel()
            except Exception as error:  # The worker reports the job's end either way.
                print(f"3D GPT: cancel failed: {error}")
        return True

    def tick(self):
        """The timer callback: updates the UI, and on the job's end reports or imports. Returns the
        delay to the next call, or None once the generation is over."""
        with self._lock:
            request, self._pending = self._pending, None
            if request is not None and self._cancel_requested:
                request = None
                self._status = Status(state="CANCELLED", message="Generation cancelled")
        if request is not None:
            self._worker = threading.Thread(target=self._run, args=(request,), name="3dgpt-generate", daemon=True)
            self._worker.start()
        with self._lock:
            result, self._result = self._result, None
            status = self._status
            busy = status.busy
            warnings, self._warnings = self._warnings, []
        if not busy or result is not None:
            # The worker has nothing left to do but return: let it, before any operator runs.
            self.wait_idle()
        if warnings and (not busy or result is not None):
            # The worker has returned (joined above), so reports may run now.
            for message in warnings:
                self._report("WARNING", message)
        elif warnings:
            # Reports are operators; while the worker runs they wait (see the module's note).
            with self._lock:
                self._warnings = warnings + self._warnings
        self.apply_table()
        if result is not None:
            self._import(*result)
            busy = False
        elif not busy and not self._ended_reported and status.state in {"FAILED", "CANCELLED"}:
            self._ended_reported = True
            self._report("ERROR" if status.state == "FAILED" else "INFO", status.message)
        _redraw()
        return TICK_SECONDS if busy else None

    def wait_idle(self, timeout: float | None = None) -> None:
        if self._worker is not None:
            self._worker.join(timeout)

    # Worker thread -----------------------------------------------------------------------------

    def _set(self, **changes) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(self._status, name, value)

    def _run(self, request: Request) -> None:
        import threedgpt

        folder = Path(tempfile.mkdtemp(prefix="3dgpt-blender-"))
        try:
            client = threedgpt.Client(**request.connect)
            self._refresh_models(client)
            options = dict(request.options)
            if isinstance(request.image, bytes):
                options["name"] = request.name
            job = client.submit(request.image, folder / f"{_safe_name(request.name)}.glb", **options)
            with self._lock:
                self._job = job
                cancel = self._cancel_requested
                self._status.job_id = job.id
            if cancel:
                job.cancel()
            for event in job.events():
                if event.kind == "queued":
                    self._set(state="QUEUED", position=event.position or 0)
                elif event.kind == "started":
                    self._set(state="RUNNING", stage="", fraction=0.0)
                elif event.kind == "progress":
                    self._set(state="RUNNING", stage=event.stage or "", fraction=event.fraction or 0.0)
                elif event.kind == "warning" and event.message:
                    with self._lock:
                        self._warnings.append(event.message)
                        self._status.warning = event.message
            generation = job.wait()
            with self._lock:
                # What to know about the result (not kept in the history, say): shown as warnings.
                self._warnings.extend(generation.warnings)
                self._status.state = "IMPORTING"
                self._result = (request, generation, folder)
            return
        except threedgpt.Cancelled:
            self._set(state="CANCELLED", message="Generation cancelled")
        except threedgpt.ThreeDGptError as error:
            self._set(state="FAILED", message=_sentence(error))
        except Exception as error:  # Never a traceback in the UI; the console keeps the details.
            traceback.print_exc()
            self._set(state="FAILED", message=f"Unexpected error: {error}")
        shutil.rmtree(folder, ignore_errors=True)

    def _refresh_models(self, client) -> None:
        """Asks the daemon for its option table and installed models (any thread)."""
        try:
            table = client.options()
            models = {model.name: model for model in client.models() if model.installed}
        except Exception:
            return
        for role, first in FIRST_ITEM.items():
            items = [first] + [
                (name, name, models[name].description if name in models else role)
                for name in table["models"].get(role, [])
            ]
            # Replace a list only when it changed, so Blender's pointers into it stay valid meanwhile.
            if [item[0] for item in items] != [item[0] for item in self._models[role]]:
                self._models[role] = items
        with self._lock:
            if table != self._table:
                self._table, self._table_new = table, True

    # Main thread again -------------------------------------------------------------------------

    def _import(self, request: Request, generation, folder: Path) -> None:
        from . import importer

        try:
            objects = importer.import_asset(
                Path(generation.path),
                name=request.name,
                location=request.location,
                texture_storage=request.texture_storage,
                scene_name=request.scene_name,
                report=self._report,
            )
        except Exception as error:
            traceback.print_exc()
            self._set(state="FAILED", message=f"The model was generated but could not be imported: {error}")
            self._report("ERROR", self._status.message)
            return
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        names = [obj.name for obj in objects]
        message = f"Generated {names[0] if names else request.name}: {generation.faces} faces"
        self._set(state="FINISHED", message=message, imported=names)
        self._report("INFO", message)

    def _report(self, level: str, message: str) -> None:
        """A Blender report (status bar and Info editor) from outside an operator."""
        self.reports.append((level, message))
        try:
            bpy.ops.threedgpt.report(level=level, message=message)
        except (RuntimeError, AttributeError):
            # Reports of level ERROR raise in the caller when not run from the UI; it was shown.
            pass


def _safe_name(name: str) -> str:
    cleaned = "".join(character if character.isalnum() or character in "-_." else "_" for character in name)
    return cleaned.strip("._") or "model"


def _sentence(error: Exception) -> str:
    text = str(error).strip()
    return text[:1].upper() + text[1:] if text else type(error).__name__


def _redraw() -> None:
    window_manager = getattr(bpy.context, "window_manager", None)
    for window in getattr(window_manager, "windows", []):
        for area in window.screen.areas:
            if area.type in {"VIEW_3D", "IMAGE_EDITOR"}:
                area.tag_redraw()


SESSION = Session()


def shutdown() -> None:
    """On unregister: cancel a running generation and stop the timer."""
    SESSION.cancel()
    SESSION.wait_idle(timeout=5)
    if bpy.app.timers.is_registered(SESSION._tick):
        bpy.app.timers.unregister(SESSION._tick)
    if SESSION.previews is not None:
        from bpy.utils import previews

        previews.remove(SESSION.previews)
        SESSION.previews = None
