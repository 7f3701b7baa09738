"""Builds the installable Blender extension zip: the extension's source plus the `threedgpt` wheel.

    python plugins/blender/build.py                 # release wheel with maturin, zip in target/blender
    python plugins/blender/build.py --wheel W.whl   # use a wheel already built

Needs `maturin` (unless --wheel) and `bpy` (for Blender's own `blender_ext.py build`, which checks
the manifest) in the running Python. Prints the zip's path on the last line.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = Path(__file__).resolve().parent / "extension"
PLATFORMS = [
    (re.compile(r"manylinux.*_x86_64|linux_x86_64"), "linux-x64"),
    (re.compile(r"manylinux.*_aarch64|linux_aarch64"), "linux-arm64"),
    (re.compile(r"macosx.*_(arm64|universal2)"), "macos-arm64"),
    (re.compile(r"macosx.*_x86_64"), "macos-x64"),
    (re.compile(r"win_amd64"), "windows-x64"),
    (re.compile(r"win_arm64"), "windows-arm64"),
]


def build_wheel(output: Path, release: bool) -> Path:
    shutil.rmtree(output, ignore_errors=True)
    command = [sys.executable, "-m", "maturin", "build", "--quiet", "-m", str(ROOT / "sdk/python/Cargo.toml")]
    command += ["--release"] if release else []
    if sys.platform.startswith("linux"):
        # Linked with zig against glibc 2.28, so it installs on older distributions too.
        command += ["--zig", "--compatibility", "manylinux_2_28"]
    # maturin finds zig through the `python3` on the PATH: make it this interpreter's.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    subprocess.run([*command, "-o", str(output)], check=True, env={**os.environ, "PATH": path})
    wheels = sorted(output.glob("threedgpt-*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"expected one wheel in {output}, found {[wheel.name for wheel in wheels]}")
    return wheels[0]


def platform_of(wheel: Path) -> str:
    for pattern, platform in PLATFORMS:
        if pattern.search(wheel.name):
            return platform
    raise SystemExit(f"cannot tell the platform of {wheel.name}")


def stage(wheel: Path, folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(SOURCE, folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "wheels"))
    (folder / "wheels").mkdir()
    shutil.copy2(wheel, folder / "wheels" / wheel.name)
    manifest = folder / "blender_manifest.toml"
    text = manifest.read_text()
    text = re.sub(r"(?m)^wheels = .*$", f'wheels = ["./wheels/{wheel.name}"]', text)
    text = re.sub(r"(?m)^platforms = .*$", f'platforms = ["{platform_of(wheel)}"]', text)
    manifest.write_text(text)
    return folder


def blender_ext_cli() -> Path:
    import bpy

    return Path(bpy.utils.system_resource("SCRIPTS")) / "addons_core" / "bl_pkg" / "cli" / "blender_ext.py"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the 3D GPT Blender extension zip.")
    parser.add_argument("--wheel", type=Path, help="a threedgpt wheel already built (default: build one)")
    parser.add_argument("--debug", action="store_true", help="build the wheel without optimisations (faster)")
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "target" / "blender", help="output folder")
    args = parser.parse_args(argv)

    output = args.output.resolve()
    wheel = args.wheel.resolve() if args.wheel else build_wheel(output / "wheel", release=not args.debug)
    staged = stage(wheel, output / "stage" / "threedgpt")
    for old in output.glob("threedgpt-*.zip"):
        old.unlink()
    built = subprocess.run(
        [sys.executable, str(blender_ext_cli()), "build", "--source-dir", str(staged), "--output-dir", str(output)],
        capture_output=True,
        text=True,
    )
    if built.returncode != 0:
        raise SystemExit(f"blender_ext.py build failed:\n{built.stdout}{built.stderr}")
    zips = sorted(output.glob("threedgpt-*.zip"))
    if len(zips) != 1:
        raise SystemExit(f"blender_ext.py build made {[path.name for path in zips]} in {output}")
    print(zips[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
