"""Learned models through the real binary and the real ONNX Runtime: install, generate with a
triplane model (a closed, textured, valid GLB of its sphere) and with a segmentation model."""

from __future__ import annotations

import functools
import http.server
import json
import math
import threading

import numpy as np
import trimesh

from conftest import EXAMPLES, run_cli


def install(binary, tiny_models, name: str, source: str) -> None:
    result = run_cli(
        binary, "models", "install", str(tiny_models / f"{name}.toml"), "--from", str(tiny_models / source)
    )
    assert result.returncode == 0, result.stderr


def test_a_triplane_model_makes_a_closed_textured_glb_of_its_shape(binary, tiny_models, tmp_path):
    install(binary, tiny_models, "tiny-sphere", "tiny-sphere")
    output = tmp_path / "sphere.glb"
    result = run_cli(
        binary,
        "generate",
        str(EXAMPLES / "duck.png"),
        "-o",
        str(output),
        "--model",
        "tiny-sphere",
        "--faces",
        "4000",
        "--texture-size",
        "512",
        "--grid",
        "128",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout.splitlines()[-1])["record"]
    assert record["model"] == "tiny-sphere" and record["watertight"]

    scene = trimesh.load(output, process=False)
    mesh = scene.to_geometry() if hasattr(scene, "to_geometry") else scene.dump(concatenate=True)
    # Vertices are split per triangle for the texture atlas; welded by position the surface is closed.
    assert len(mesh.vertices) == 3 * len(mesh.faces)
    welded = trimesh.Trimesh(vertices=mesh.vertices, faces=mesh.faces, process=True)
    assert welded.is_watertight and welded.is_winding_consistent
    assert math.isclose(welded.volume, 4 / 3 * math.pi * 0.5**3, rel_tol=0.03), welded.volume
    # The texture holds the decoder's colours: red grows with x (colour = position + 0.5).
    image = np.asarray(mesh.visual.material.baseColorTexture.convert("RGB"), dtype=np.float64) / 255.0
    uv = mesh.visual.uv
    texel = image[
        ((1 - uv[:, 1]) * image.shape[0]).astype(int).clip(0, image.shape[0] - 1),
        (uv[:, 0] * image.shape[1]).astype(int).clip(0, image.shape[1] - 1),
    ]
    assert np.corrcoef(texel[:, 0], mesh.vertices[:, 0])[0, 1] > 0.95


def test_a_segmentation_model_finds_the_object(binary, tiny_models, tmp_path):
    install(binary, tiny_models, "tiny-segmentation", "tiny-segmentation/model.onnx")
    output = tmp_path / "ring.glb"
    result = run_cli(
        binary, "generate", str(EXAMPLES / "ring.jpg"), "-o", str(output), "--background", "tiny-segmentation", "--json"
    )
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout.splitlines()[-1])["record"]
    assert record["mask"] == "segmentation" and record["segmentation_model"] == "tiny-segmentation"
    # The test model sees a disc; the refinement with the picture opens the ring's hole again.
    assert record["genus"] == 1
    assert trimesh.load(output, force="mesh").is_watertight


def test_a_depth_model_shapes_the_front_and_gpu_only_is_refused_without_a_gpu(binary, tiny_models, tmp_path):
    install(binary, tiny_models, "tiny-depth", "tiny-depth")
    plain, shaped = tmp_path / "plain.glb", tmp_path / "shaped.glb"
    for output, extra in [(plain, []), (shaped, ["--depth", "tiny-depth", "--device", "cpu"])]:
        result = run_cli(binary, "generate", str(EXAMPLES / "duck.png"), "-o", str(output), "--json", *extra)
        assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout.splitlines()[-1])["record"]
    assert record["model"] == "relief" and record["depth_model"] == "tiny-depth"
    meshes = [trimesh.load(path, force="mesh") for path in (plain, shaped)]
    assert all(mesh.is_watertight for mesh in meshes)

    # The test model's nearness rises to the right: the front stands out more there than on the left.
    def front_lean(mesh):
        x, z = mesh.vertices[:, 0], mesh.vertices[:, 2]
        third = (x.max() - x.min()) / 6
        return z[x > third].max() - z[x < -third].max()

    assert front_lean(meshes[1]) > front_lean(meshes[0]) + 0.05, [front_lean(mesh) for mesh in meshes]

    refused = run_cli(
        binary,
        "generate",
        str(EXAMPLES / "duck.png"),
        "-o",
        str(tmp_path / "gpu.glb"),
        "--depth",
        "tiny-depth",
        "--device",
        "gpu",
    )
    assert refused.returncode != 0 and "cannot run on the GPU here" in refused.stderr, refused.stderr
    assert not (tmp_path / "gpu.glb").exists()
    # A model is named by its role: a depth model is no reconstructor.
    misplaced = run_cli(
        binary, "generate", str(EXAMPLES / "duck.png"), "-o", str(tmp_path / "m.glb"), "--model", "tiny-depth"
    )
    assert misplaced.returncode == 1 and "tiny-depth is a depth model, not a reconstructor one" in misplaced.stderr
    assert "depth option" in misplaced.stderr and not (tmp_path / "m.glb").exists()
    wrong = run_cli(binary, "generate", str(EXAMPLES / "duck.png"), "--device", "tpu")
    assert wrong.returncode == 2 and "use auto, cpu or gpu" in wrong.stderr, wrong.stderr


def test_models_list_and_daemon_status_show_onnx_runtime(binary, tiny_models):
    install(binary, tiny_models, "tiny-depth", "tiny-depth")
    status = run_cli(binary, "daemon", "status", "--json")
    info = json.loads(status.stdout)
    assert info["onnxruntime"]["version"] == "1.31.1" and info["execution_providers"][-1] == "CPU"
    models = {model["name"]: model for model in json.loads(run_cli(binary, "models", "list", "--json").stdout)}
    assert models["tiny-depth"]["kind"] == "depth" and models["tiny-depth"]["provider"] == "CPU"


def test_models_install_downloads_from_a_url(binary, tiny_models):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tiny_models))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/tiny-segmentation/model.onnx"
        manifest = str(tiny_models / "tiny-segmentation.toml")
        result = run_cli(binary, "models", "install", manifest, "--from", url, "--json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["installed"] == "tiny-segmentation"
        missing = run_cli(binary, "models", "install", manifest, "--from", url.replace("model.onnx", "gone.onnx"))
        assert missing.returncode != 0 and "HTTP 404" in missing.stderr
    finally:
        server.shutdown()
    assert run_cli(binary, "models", "verify", "tiny-segmentation").returncode == 0
