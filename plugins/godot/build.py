"""Builds the Godot addon: `addons/threedgpt` with the native library in `bin/`, ready to copy
into any project, and a zip of it for the Asset Library.

    python plugins/godot/build.py                        # release build with cargo, into target/godot
    python plugins/godot/build.py --library LIB.so       # use a library already built (the tests do)
    python plugins/godot/build.py --windows-library X.dll  # add the Windows library too

The addon goes to target/godot/addons/threedgpt and the zip to target/godot/threedgpt-godot-VERSION.zip
(or --output). Prints the addon folder's path on the last line.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = Path(__file__).resolve().parent / "addons" / "threedgpt"
LINUX = "libthreedgpt_godot.linux.x86_64.so"
WINDOWS = "threedgpt_godot.windows.x86_64.dll"


def version() -> str:
    manifest = (SOURCE / "plugin.cfg").read_text(encoding="utf-8")
    match = re.search(r'^version="([^"]+)"', manifest, re.MULTILINE)
    if match is None:
        raise SystemExit("plugin.cfg has no version")
    return match.group(1)


def build_release() -> Path:
    subprocess.run(["cargo", "build", "--locked", "--release", "-p", "threedgpt-godot"], check=True, cwd=ROOT)
    return ROOT / "target" / "release" / "libthreedgpt_godot.so"


def stage(output: Path, libraries: dict[str, Path]) -> Path:
    addon = output / "addons" / "threedgpt"
    shutil.rmtree(addon, ignore_errors=True)
    shutil.copytree(SOURCE, addon, ignore=shutil.ignore_patterns("bin", "*.uid", ".godot"))
    (addon / "bin").mkdir()
    for name, library in libraries.items():
        if not library.is_file():
            raise SystemExit(f"{library} does not exist: build it first (cargo build -p threedgpt-godot)")
        shutil.copy2(library, addon / "bin" / name)
    return addon


def archive(addon: Path, zip_path: Path) -> None:
    """The Asset Library's layout: the zip holds `addons/threedgpt/…`."""
    partial = zip_path.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(addon.rglob("*")):
            if path.is_file():
                bundle.write(path, path.relative_to(addon.parents[1]).as_posix())
    partial.replace(zip_path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--library", type=Path, help="the Linux library to bundle (default: a release build)")
    parser.add_argument("--windows-library", type=Path, help="the Windows library to bundle as well")
    parser.add_argument("--output", type=Path, default=ROOT / "target" / "godot")
    parser.add_argument("--no-zip", action="store_true", help="only the addon folder")
    arguments = parser.parse_args()
    libraries = {LINUX: arguments.library or build_release()}
    if arguments.windows_library:
        libraries[WINDOWS] = arguments.windows_library
    arguments.output.mkdir(parents=True, exist_ok=True)
    addon = stage(arguments.output, libraries)
    if not arguments.no_zip:
        zip_path = arguments.output / f"threedgpt-godot-{version()}.zip"
        archive(addon, zip_path)
        print(zip_path)
    print(addon)


if __name__ == "__main__":
    main()
