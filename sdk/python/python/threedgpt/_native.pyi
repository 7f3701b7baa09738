"""Type stubs for the native part of the 3D GPT module (see ``threedgpt``)."""

import os
from collections.abc import Callable, Iterator
from typing import Any, Literal, final

from threedgpt._options import OptionTable

__version__: str

StrPath = str | os.PathLike[str]
ImageInput = StrPath | bytes | bytearray
EventKind = Literal["queued", "started", "progress", "finished", "failed", "cancelled", "warning"]
StageName = Literal["decode", "foreground", "reconstruct", "mesh", "texture", "export"]
FormatName = Literal["glb", "gltf", "obj", "stl", "ply"]

class ThreeDGptError(Exception):
    """Base class of every 3D GPT error; ``str(error)`` is the daemon's sentence about it."""

class DaemonUnavailable(ThreeDGptError):
    """The daemon is not running and could not be started, or the connection to it broke."""

class InvalidInput(ThreeDGptError):
    """The request or its image was bad."""

class NoObject(InvalidInput):
    """The picture holds no object that could be separated from its background."""

class NotFound(ThreeDGptError):
    """A job, generation or file does not exist."""

class QueueFull(ThreeDGptError):
    """The daemon's queue (or its disk) is full; retry later."""

class PermissionDenied(ThreeDGptError):
    """Not allowed: a wrong token or an unwritable folder."""

class Cancelled(ThreeDGptError):
    """The job was cancelled."""

class ThreeDGptWarning(UserWarning):
    """A generation finished, but something about it should be known (e.g. it could not be kept
    in the history, or its face target was missed)."""

@final
class Generation:
    """A finished generation."""

    @property
    def id(self) -> str | None:
        """Its id in the history, or None when the history is off."""
    @property
    def job_id(self) -> str: ...
    @property
    def files(self) -> list[str]:
        """Every file written, the main file last."""
    @property
    def path(self) -> str | None:
        """The main file, or None when the asset was kept in the history only."""
    @property
    def faces(self) -> int | None: ...
    @property
    def vertices(self) -> int | None: ...
    @property
    def watertight(self) -> bool | None: ...
    @property
    def warnings(self) -> list[str]:
        """What to know about the result (not kept in the history, face target missed); each is
        also issued as a ThreeDGptWarning."""
    @property
    def record(self) -> dict[str, Any]:
        """The generation record: model, options, counts, size in metres, timings."""

@final
class Event:
    """Something that happened to a job; fields not belonging to its kind are None."""

    @property
    def kind(self) -> EventKind: ...
    @property
    def job_id(self) -> str: ...
    @property
    def position(self) -> int | None:
        """Place in the queue (queued; 1 runs next)."""
    @property
    def device(self) -> str | None:
        """Where the job runs (started), e.g. "cpu"."""
    @property
    def background(self) -> str | None:
        """What finds the object (started): a segmentation model's name, or "builtin"."""
    @property
    def stage(self) -> StageName | None: ...
    @property
    def stage_fraction(self) -> float | None: ...
    @property
    def fraction(self) -> float | None:
        """Share of the whole job done (progress), 0 to 1."""
    @property
    def eta(self) -> float | None:
        """Estimated seconds left (progress), when known."""
    @property
    def generation(self) -> Generation | None:
        """The result (finished)."""
    @property
    def code(self) -> str | None:
        """The failure's kind as a gRPC code name (failed)."""
    @property
    def message(self) -> str | None:
        """What went wrong and what to do (failed), or what to know (warning: the job carries on)."""

@final
class Events(Iterator[Event]):
    def __iter__(self) -> Events: ...
    def __next__(self) -> Event: ...

@final
class Job:
    """A generation queued or running in the daemon. Dropping the last reference to a job not
    submitted with ``detach=True`` cancels it."""

    @property
    def id(self) -> str: ...
    @property
    def done(self) -> bool: ...
    @property
    def latest(self) -> Event | None:
        """The newest event read so far."""
    def events(self) -> Events:
        """The job's events, ending after the finished, failed or cancelled one."""
    def cancel(self) -> bool:
        """Cancels the job; False when it had already ended."""
    def wait(self, timeout: float | None = None) -> Generation:
        """Waits for the result; raises Cancelled, the failure's exception, or TimeoutError."""

@final
class HistoryEntry:
    @property
    def id(self) -> str: ...
    @property
    def created(self) -> float:
        """Seconds since the Unix epoch."""
    @property
    def source(self) -> str: ...
    @property
    def faces(self) -> int | None: ...
    @property
    def device(self) -> str:
        """The device it was made on when another one signed in to the account; "" for this one."""
    @property
    def on_this_device(self) -> bool:
        """False once removed from this device only (its files download again on first use)."""
    @property
    def record(self) -> dict[str, Any]: ...

@final
class JobInfo:
    @property
    def id(self) -> str: ...
    @property
    def state(self) -> Literal["queued", "running", "finished", "failed", "cancelled"]: ...
    @property
    def source(self) -> str: ...
    @property
    def position(self) -> int | None: ...
    @property
    def fraction(self) -> float: ...
    @property
    def error(self) -> str | None: ...

def default_options() -> OptionTable:
    """The option table this module was built with (no installed models); ``Client.options()``
    asks the running daemon."""
@final
class Model:
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def installed(self) -> bool: ...
    @property
    def size_bytes(self) -> int: ...
    @property
    def provider(self) -> str: ...
    @property
    def description(self) -> str: ...

@final
class Settings:
    @property
    def history_enabled(self) -> bool: ...
    @property
    def history_available(self) -> bool: ...
    @property
    def history_status(self) -> str: ...
    @property
    def sync(self) -> bool: ...
    @property
    def telemetry(self) -> bool: ...
    @property
    def training_consent(self) -> bool: ...
    @property
    def marketing_email(self) -> bool: ...
    @property
    def scope(self) -> Literal["account", "device"]:
        """ "account" when signed in: sync, telemetry, consent and email are the account's."""
    @property
    def segmentation(self) -> str:
        """What background "auto" uses: "auto" (the best installed model), "builtin" or a model's name."""

@final
class SyncStatus:
    @property
    def state(self) -> Literal["signed_out", "off", "syncing", "idle", "paused", "offline", "error", "unavailable"]: ...
    @property
    def message(self) -> str: ...
    @property
    def last_sync(self) -> float | None:
        """Seconds since the Unix epoch; None for never."""
    @property
    def pending_uploads(self) -> int: ...
    @property
    def pending_deletes(self) -> int: ...
    @property
    def uploaded(self) -> int: ...
    @property
    def downloaded(self) -> int: ...
    @property
    def removed(self) -> int: ...

@final
class AccountStatus:
    @property
    def signed_in(self) -> bool: ...
    @property
    def server(self) -> str: ...
    @property
    def account_id(self) -> str: ...
    @property
    def email(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def tier(self) -> str: ...
    @property
    def email_verified(self) -> bool: ...
    @property
    def device_name(self) -> str: ...
    @property
    def data_key_check(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def bytes_used(self) -> int: ...
    @property
    def bytes_limit(self) -> int: ...
    @property
    def generations(self) -> int: ...
    @property
    def generations_limit(self) -> int: ...

@final
class DaemonInfo:
    @property
    def version(self) -> str: ...
    @property
    def api_version(self) -> str: ...
    @property
    def devices(self) -> list[str]: ...
    @property
    def execution_providers(self) -> list[str]: ...
    @property
    def queue_length(self) -> int: ...
    @property
    def running_jobs(self) -> int: ...
    @property
    def store_path(self) -> str: ...
    @property
    def socket_path(self) -> str: ...
    @property
    def pid(self) -> int: ...
    @property
    def onnxruntime_path(self) -> str | None:
        """ONNX Runtime's library, when loaded (neural models)."""
    @property
    def onnxruntime_version(self) -> str | None: ...
    @property
    def onnxruntime_status(self) -> str:
        """Where ONNX Runtime was loaded from, or why it is unavailable and how to install it."""

@final
class Client:
    """A connection to the 3D GPT daemon, started when none runs (unless ``autostart=False``)."""

    def __init__(
        self,
        socket: StrPath | None = None,
        *,
        tcp: str | None = None,
        token: str | None = None,
        autostart: bool = True,
        daemon: StrPath | None = None,
        start_timeout: float = 15.0,
    ) -> None: ...
    def generate(
        self,
        image: ImageInput,
        output: StrPath | None = None,
        *,
        progress: Callable[[Event], object] | None = None,
        faces: int | None = None,
        texture_size: int | None = None,
        foreground_ratio: float | None = None,
        background: Literal["auto", "keep", "builtin"] | str | None = None,
        mask: ImageInput | None = None,
        shape: Literal["auto", "relief", "revolve", "extrude"] | None = None,
        thickness: float | None = None,
        origin: Literal["bottom", "center"] | None = None,
        size: float | None = None,
        grid: int | None = None,
        model: str | None = None,
        depth: str | None = None,
        device: Literal["auto", "cpu", "gpu"] | None = None,
        format: FormatName | None = None,
        reproducible: bool = False,
        name: str | None = None,
        right: ImageInput | None = None,
        left: ImageInput | None = None,
        back: ImageInput | None = None,
        top: ImageInput | None = None,
        sheet: bool = False,
    ) -> Generation:
        """Generates an asset and blocks until it is written. None as output keeps it in the history
        only; with the history off the daemon holds it until it is downloaded once (by ``id``).
        An option left as None takes the daemon's default; ``mask`` is a mask image (path or
        bytes), ``name`` the picture's name when it is given as bytes.

        More pictures of the object carve its shape and texture the sides they see: ``right``,
        ``left``, ``back`` and ``top`` (each a path or bytes; ``right`` is taken after moving the
        camera 90 degrees to your right around the object, ``top`` from above with the front at the
        bottom of the picture). ``sheet=True`` says ``image`` is a turnaround sheet: the front,
        right, back and left views side by side.

        Options:
            faces: Target triangle count of the mesh.
                Default 20000; 100 to 5000000.
            texture_size: Side of the square texture in pixels.
                Default 1024; one of 256, 512, 1024, 2048, 4096.
            foreground_ratio: Share of the frame the object fills after cropping and recentring.
                Default 0.85; 0.05 to 1.
            background: How the object is separated from the background.
                Default auto; auto, keep, builtin or an installed segmentation model.
            shape: The solid the built-in reconstructor makes of the silhouette.
                Default auto; auto, relief, revolve, extrude.
            thickness: Depth scale of the inflated shape (1 = round cross-sections).
                Default 1; 0.05 to 10.
            origin: Where the asset's origin sits.
                Default bottom; bottom, center.
            size: Length of the asset's longest side in metres.
                Default 1; 0.001 to 10000.
            grid: Cells across the reconstruction grid; higher is finer and slower.
                Default 256; 16 to 2048.
            model: The reconstructor: the built-in one or an installed image-to-3D model.
                Default relief; relief or an installed reconstructor model.
            depth: An installed depth model that shapes the built-in reconstruction.
                Default none; an installed depth model.
            device: Where learned models run (the built-in reconstructor always uses the CPU).
                Default auto; auto, cpu, gpu.
            format: Output format; by default taken from the output file's extension, else GLB.
                Default glb; glb, gltf, obj, stl, ply.
            reproducible: Leave timings out of the files so equal inputs give byte-identical files.
                Off by default.
        """
    def submit(
        self,
        image: ImageInput,
        output: StrPath | None = None,
        *,
        detach: bool = False,
        faces: int | None = None,
        texture_size: int | None = None,
        foreground_ratio: float | None = None,
        background: Literal["auto", "keep", "builtin"] | str | None = None,
        mask: ImageInput | None = None,
        shape: Literal["auto", "relief", "revolve", "extrude"] | None = None,
        thickness: float | None = None,
        origin: Literal["bottom", "center"] | None = None,
        size: float | None = None,
        grid: int | None = None,
        model: str | None = None,
        depth: str | None = None,
        device: Literal["auto", "cpu", "gpu"] | None = None,
        format: FormatName | None = None,
        reproducible: bool = False,
        name: str | None = None,
        right: ImageInput | None = None,
        left: ImageInput | None = None,
        back: ImageInput | None = None,
        top: ImageInput | None = None,
        sheet: bool = False,
    ) -> Job:
        """Queues a generation and returns its Job at once; the options and views are ``generate``'s.

        Options:
            faces: Target triangle count of the mesh.
                Default 20000; 100 to 5000000.
            texture_size: Side of the square texture in pixels.
                Default 1024; one of 256, 512, 1024, 2048, 4096.
            foreground_ratio: Share of the frame the object fills after cropping and recentring.
                Default 0.85; 0.05 to 1.
            background: How the object is separated from the background.
                Default auto; auto, keep, builtin or an installed segmentation model.
            shape: The solid the built-in reconstructor makes of the silhouette.
                Default auto; auto, relief, revolve, extrude.
            thickness: Depth scale of the inflated shape (1 = round cross-sections).
                Default 1; 0.05 to 10.
            origin: Where the asset's origin sits.
                Default bottom; bottom, center.
            size: Length of the asset's longest side in metres.
                Default 1; 0.001 to 10000.
            grid: Cells across the reconstruction grid; higher is finer and slower.
                Default 256; 16 to 2048.
            model: The reconstructor: the built-in one or an installed image-to-3D model.
                Default relief; relief or an installed reconstructor model.
            depth: An installed depth model that shapes the built-in reconstruction.
                Default none; an installed depth model.
            device: Where learned models run (the built-in reconstructor always uses the CPU).
                Default auto; auto, cpu, gpu.
            format: Output format; by default taken from the output file's extension, else GLB.
                Default glb; glb, gltf, obj, stl, ply.
            reproducible: Leave timings out of the files so equal inputs give byte-identical files.
                Off by default.
        """
    def watch(self, job_id: str) -> Job: ...
    def cancel(self, job_id: str) -> bool: ...
    def jobs(self) -> list[JobInfo]: ...
    def history(self, limit: int = 50) -> list[HistoryEntry]: ...
    def get(self, id: str) -> HistoryEntry: ...
    def download(
        self, id: str, artifact: Literal["asset", "input", "thumbnail"] = "asset", format: FormatName = "glb"
    ) -> bytes: ...
    def export(self, id: str, path: StrPath) -> list[str]: ...
    def delete(self, id: str, *, this_device: bool = False) -> bool:
        """Deletes a generation (signed in: everywhere); ``this_device=True`` removes only this
        device's copy of one the account holds (it downloads again on first use)."""
    def delete_all(self) -> int: ...
    def settings(self) -> Settings: ...
    def set_history_enabled(self, enabled: bool) -> Settings: ...
    def update_settings(
        self,
        *,
        history_enabled: bool | None = None,
        sync: bool | None = None,
        telemetry: bool | None = None,
        training_consent: bool | None = None,
        marketing_email: bool | None = None,
        segmentation: str | None = None,
    ) -> Settings:
        """Changes the settings given; signed in, sync, telemetry, consent and email are the account's.

        segmentation: what background "auto" uses: "auto", "builtin" or a segmentation model's name.
        """
    def account_sessions(self) -> list[dict[str, Any]]:
        """Every device signed in: id, device_name, os, created_at, last_seen_at, current."""
    def account_change_password(self, current: str, new: str) -> AccountStatus:
        """A new password; every other device's session ends."""
    def account_recover(
        self, server: str, email: str, recovery_code: str, new_password: str, *, device_name: str = ""
    ) -> tuple[AccountStatus, str]:
        """Back in with the recovery code; returns the status and the new recovery code."""
    def account_export(self, path: StrPath) -> int:
        """Writes the account's export (a tar archive) to ``path``; returns its size."""
    def account_delete(self, password: str) -> int:
        """Deletes the account and everything it holds; returns how many generations went from here."""
    def sync_status(self) -> SyncStatus: ...
    def sync_now(self) -> SyncStatus:
        """Runs a sync round now (waiting for it) and says how it ended."""
    def account_sign_up(
        self,
        server: str,
        email: str,
        name: str,
        birth_date: str,
        password: str,
        *,
        device_name: str = "",
        country: str = "",
    ) -> tuple[AccountStatus, str]:
        """Creates an account (13 and older) and signs this device in; returns the status and the
        recovery code, shown this once. The password goes to the daemon only."""
    def account_log_in(self, server: str, email: str, password: str, *, device_name: str = "") -> AccountStatus:
        """Signs this device in to an account on the cloud service at ``server``."""
    def account_status(self) -> AccountStatus:
        """Who is signed in on this device (asked of the service when it answers)."""
    def account_log_out(self) -> AccountStatus:
        """Ends this device's session; the local history stays."""
    def models(self) -> list[Model]: ...
    def install_model(self, manifest: StrPath, source: StrPath | None = None) -> Model:
        """Has the daemon install the model ``manifest`` describes, from ``source`` (a folder, a
        one-file model's file, or an http(s) URL; None: the manifest's own URLs)."""
    def verify_model(self, name: str) -> Model:
        """Re-checks an installed model's files against its manifest; raises when one differs."""
    def remove_model(self, name: str) -> None:
        """Removes an installed model; refused while a job uses it."""
    def options(self) -> OptionTable:
        """Every generate option as the daemon describes it (default, range or choices), and the
        installed models of each role: what a panel offers."""
    def info(self) -> DaemonInfo: ...
    def shutdown(self) -> None: ...
