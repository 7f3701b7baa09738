"""3D GPT for Python: one picture in, a textured 3D asset out.

Every call goes to the user's 3D GPT daemon (``3dgpt serve``), which is started when none runs::

    import threedgpt

    client = threedgpt.Client()
    generation = client.generate("chair.png", "chair.glb", faces=20000)
    print(generation.path, generation.faces)

For progress and cancel, submit a job and read its events::

    job = client.submit("chair.png", "chair.glb")
    for event in job.events():
        if event.kind == "progress":
            print(f"{event.stage}: {event.fraction:.0%}")
    generation = job.wait()
"""

from threedgpt._native import (
    AccountStatus,
    Cancelled,
    Client,
    DaemonInfo,
    DaemonUnavailable,
    Event,
    Events,
    Generation,
    HistoryEntry,
    InvalidInput,
    Job,
    JobInfo,
    Model,
    NoObject,
    NotFound,
    PermissionDenied,
    QueueFull,
    Settings,
    SyncStatus,
    ThreeDGptError,
    ThreeDGptWarning,
    __version__,
    default_options,
)
from threedgpt._options import OptionSpec, OptionTable

__all__ = [
    "AccountStatus",
    "Cancelled",
    "Client",
    "DaemonInfo",
    "DaemonUnavailable",
    "Event",
    "Events",
    "Generation",
    "HistoryEntry",
    "InvalidInput",
    "Job",
    "JobInfo",
    "Model",
    "NoObject",
    "NotFound",
    "OptionSpec",
    "OptionTable",
    "PermissionDenied",
    "QueueFull",
    "Settings",
    "SyncStatus",
    "ThreeDGptError",
    "ThreeDGptWarning",
    "__version__",
    "default_options",
]
