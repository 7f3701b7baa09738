"""Turns a folder of pictures into a folder of 3D assets through the local 3D GPT daemon.

    python batch.py photos/ assets/ --format glb --faces 20000

Every picture (PNG, JPEG, WebP) becomes `<output>/<name>.<format>`. A few jobs run at a time (the
daemon queues and schedules them); a progress line shows each one. Ctrl-C cancels what is left.
The exit status is 0 when every picture made an asset, 1 when some failed (they are listed), 2 for
bad arguments.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import threedgpt

PICTURES = {".png", ".jpg", ".jpeg", ".webp"}


class Board:
    """The state of every picture, printed as one line per change (or one live line on a terminal)."""

    def __init__(self, total: int, stream=sys.stdout) -> None:
        self.total = total
        self.stream = stream
        self.live = stream.isatty()
        self.lock = threading.Lock()
        self.done = 0
        self.made = 0
        self.failed: dict[str, str] = {}
        self.running: dict[str, str] = {}

    def progress(self, name: str, event: threedgpt.Event) -> None:
        with self.lock:
            if event.kind == "queued":
                self.running[name] = f"queued #{event.position}"
            elif event.kind == "progress":
                self.running[name] = f"{event.stage} {event.fraction:.0%}"
            else:
                return
            if self.live:
                self._redraw()

    def finish(self, name: str, outcome: str, error: str | None = None) -> None:
        with self.lock:
            self.running.pop(name, None)
            self.done += 1
            if error is None:
                self.made += 1
            else:
                self.failed[name] = error
            if self.live:
                self.stream.write("\r\033[K")
            self.stream.write(f"[{self.done}/{self.total}] {name}: {outcome}\n")
            if self.live:
                self._redraw()
            self.stream.flush()

    def _redraw(self) -> None:
        busy = ", ".join(f"{name} {state}" for name, state in sorted(self.running.items()))
        self.stream.write(f"\r\033[K{self.done}/{self.total} done  {busy}"[:200])
        self.stream.flush()


def convert(client: threedgpt.Client, picture: Path, output: Path, options: dict, board: Board, jobs: set) -> None:
    name = picture.name
    try:
        job = client.submit(picture, output, **options)
    except threedgpt.ThreeDGptError as error:
        board.finish(name, f"failed: {error}", str(error))
        return
    jobs.add(job)
    try:
        for event in job.events():
            board.progress(name, event)
        generation = job.wait()
        board.finish(name, f"{generation.path} ({generation.faces} faces)")
    except threedgpt.Cancelled:
        board.finish(name, "cancelled", "cancelled")
    except threedgpt.ThreeDGptError as error:
        board.finish(name, f"failed: {error}", str(error))
    finally:
        jobs.discard(job)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Turn a folder of pictures into 3D assets.")
    parser.add_argument("input", type=Path, help="folder of pictures (PNG, JPEG, WebP)")
    parser.add_argument("output", type=Path, help="folder for the assets (created if missing)")
    parser.add_argument("--format", default="glb", choices=["glb", "gltf", "obj", "stl", "ply"])
    parser.add_argument("--faces", type=int, help="target triangle count")
    parser.add_argument("--texture-size", type=int, help="texture side in pixels")
    parser.add_argument("--jobs", type=int, default=4, help="pictures in flight at once (default 4)")
    args = parser.parse_args(argv)

    if not args.input.is_dir():
        print(f"error: {args.input} is not a folder of pictures", file=sys.stderr)
        return 2
    pictures = sorted(path for path in args.input.iterdir() if path.suffix.lower() in PICTURES)
    if not pictures:
        print(f"error: {args.input} holds no PNG, JPEG or WebP pictures", file=sys.stderr)
        return 2
    args.output.mkdir(parents=True, exist_ok=True)
    options = {"faces": args.faces, "texture_size": args.texture_size}

    try:
        client = threedgpt.Client()
    except threedgpt.DaemonUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    board = Board(len(pictures))
    jobs: set[threedgpt.Job] = set()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [
            pool.submit(convert, client, picture, args.output / f"{picture.stem}.{args.format}", options, board, jobs)
            for picture in pictures
        ]
        try:
            while not all(future.done() for future in futures):
                time.sleep(0.1)
        except KeyboardInterrupt:
            print("\ncancelling…", file=sys.stderr)
            for future in futures:
                future.cancel()
            for job in list(jobs):
                job.cancel()
    print(f"{board.made} of {len(pictures)} pictures made assets in {time.monotonic() - started:.1f} s")
    for name, error in sorted(board.failed.items()):
        print(f"  {name}: {error}", file=sys.stderr)
    return 0 if board.made == len(pictures) else 1


if __name__ == "__main__":
    sys.exit(main())
