"""`3dgpt generate` end to end: the real binary on the example images, checked by the Khronos
glTF validator and loaded independently with trimesh."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import trimesh

from conftest import EXAMPLES, run_cli


def load_mesh(path: Path) -> trimesh.Trimesh:
    loaded = trimesh.load(str(path), force="mesh", process=True)
    assert isinstance(loaded, trimesh.Trimesh), f"{path} did not load as one mesh"
    return loaded


def assert_closed_solid(mesh: trimesh.Trimesh, genus: int) -> None:
    assert mesh.is_watertight, "mesh has holes"
    assert mesh.is_winding_consistent, "mesh winding is inconsistent"
    assert mesh.volume > 0, "mesh is inside out"
    assert mesh.euler_number == 2 - 2 * genus, f"euler number {mesh.euler_number}"
    assert max(mesh.extents) == pytest.approx(1.0, abs=1e-4), "longest side should be 1 m"
    centre = mesh.bounds.mean(axis=0)
    assert np.allclose(centre[[0, 2]], 0.0, atol=1e-4), "not centred across"
    assert mesh.bounds[0][1] == pytest.approx(0.0, abs=1e-4), "the base is not at the origin"


@pytest.mark.parametrize(("example", "genus"), [("duck.png", 0), ("ring.jpg", 1)])
def test_examples_give_valid_watertight_glbs(binary, validate, tmp_path, example, genus):
    output = tmp_path / "asset.glb"
    result = run_cli(binary, "generate", str(EXAMPLES / example), "-o", str(output), "--json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)["record"]
    assert record["faces"] == pytest.approx(20_000, rel=0.01)
    assert record["genus"] == genus and record["watertight"] is True

    (report,) = validate(output)
    assert (report["errors"], report["warnings"]) == (0, 0), report["messages"]

    mesh = load_mesh(output)
    assert_closed_solid(mesh, genus)
    assert len(mesh.faces) == record["faces"]

    scene = trimesh.load(str(output), process=False)
    geometry = next(iter(scene.geometry.values()))
    material = geometry.visual.material
    assert material.baseColorTexture is not None and material.baseColorTexture.size == (1024, 1024)
    assert material.metallicFactor == 0

    document = json.loads(read_glb_json(output))
    assert document["asset"]["generator"].startswith("3D GPT ")
    extras = document["scenes"][0]["extras"]
    assert extras["model"] == "relief"
    assert set(extras["timings_ms"]) >= {"decode", "foreground", "reconstruct", "mesh", "texture"}
    assert extras["vertices"] == len(geometry.vertices) and extras["faces"] == len(geometry.faces)


def read_glb_json(path: Path) -> bytes:
    data = path.read_bytes()
    length = int.from_bytes(data[12:16], "little")
    return data[20 : 20 + length]


@pytest.mark.parametrize("fmt", ["gltf", "obj", "stl", "ply"])
def test_every_format_loads_as_a_closed_solid(binary, validate, tmp_path, fmt):
    output = tmp_path / f"duck.{fmt}"
    result = run_cli(binary, "generate", str(EXAMPLES / "duck.png"), "-o", str(output), "--faces", "5000")
    assert result.returncode == 0, result.stderr
    if fmt == "gltf":
        (report,) = validate(output)
        assert (report["errors"], report["warnings"]) == (0, 0), report["messages"]
        assert (tmp_path / "duck.bin").exists() and (tmp_path / "duck_texture.png").exists()
    if fmt == "obj":
        assert (tmp_path / "duck.mtl").exists() and (tmp_path / "duck_texture.png").exists()
    mesh = load_mesh(output)
    assert_closed_solid(mesh, 0)
    assert len(mesh.faces) == pytest.approx(5000, rel=0.01)
    assert not list(tmp_path.glob(".*partial")), "temporary files were left behind"


def test_format_option_and_extension_must_agree(binary, tmp_path):
    result = run_cli(binary, "generate", str(EXAMPLES / "duck.png"), "-o", str(tmp_path / "a.glb"), "--format", "obj")
    assert result.returncode == 2
    assert "names the glb format but --format is obj" in result.stderr
    result = run_cli(binary, "generate", str(EXAMPLES / "duck.png"), "-o", str(tmp_path / "plain"), "--format", "stl")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "plain.stl").exists()


def test_a_batch_goes_on_past_a_bad_image(binary, validate, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("duck.png", "ring.jpg"):
        (inputs / name).write_bytes((EXAMPLES / name).read_bytes())
    (inputs / "broken.png").write_bytes((EXAMPLES / "duck.png").read_bytes()[:500])
    (inputs / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    result = run_cli(binary, "generate", str(inputs), "-o", str(out), "--json", "--faces", "3000")
    assert result.returncode == 1, "some images failed, so the exit code must say so"
    records = {Path(r["input"]).name: r for r in map(json.loads, result.stdout.splitlines())}
    assert set(records) == {"broken.png", "duck.png", "ring.jpg"}
    assert records["broken.png"]["ok"] is False
    assert "broken.png" in records["broken.png"]["error"] and "corrupt or truncated" in records["broken.png"]["error"]
    assert sorted(p.name for p in out.iterdir()) == ["duck.glb", "ring.glb"]
    reports = validate(out / "duck.glb", out / "ring.glb")
    assert all((r["errors"], r["warnings"]) == (0, 0) for r in reports), reports


def test_errors_are_clear_and_name_the_file(binary, tmp_path):
    result = run_cli(binary, "generate", str(tmp_path / "missing.png"), "-o", str(tmp_path / "x.glb"))
    assert result.returncode == 1
    assert "missing.png" in result.stderr and "could not read" in result.stderr
    blank = tmp_path / "blank.png"
    blank.write_bytes(plain_png(64, 64))
    result = run_cli(binary, "generate", str(blank), "-o", str(tmp_path / "x.glb"))
    assert result.returncode == 1
    assert "no object found" in result.stderr and "--keep-background" in result.stderr
    assert not (tmp_path / "x.glb").exists()
    result = run_cli(binary, "generate", str(EXAMPLES / "duck.png"), "--texture-size", "1000")
    assert result.returncode == 2 and "--texture-size" in result.stderr


def plain_png(width: int, height: int) -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (width, height), (250, 250, 250)).save(buffer, "PNG")
    return buffer.getvalue()


def test_reproducible_output_is_byte_identical(binary, tmp_path):
    paths = [tmp_path / "a.glb", tmp_path / "b.glb"]
    for path in paths:
        result = run_cli(binary, "generate", str(EXAMPLES / "ring.jpg"), "-o", str(path), "--reproducible")
        assert result.returncode == 0, result.stderr
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_keep_background_and_mask_options(binary, tmp_path):
    result = run_cli(
        binary, "generate", str(EXAMPLES / "ring.jpg"), "-o", str(tmp_path / "k.glb"), "--keep-background", "--json"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["record"]["mask"] == "whole_image"
    from PIL import Image

    mask = Image.new("L", (800, 600), 0)
    mask.paste(255, (100, 100, 300, 500))
    mask.save(tmp_path / "mask.png")
    result = run_cli(
        binary,
        "generate",
        str(EXAMPLES / "ring.jpg"),
        "-o",
        str(tmp_path / "m.glb"),
        "--mask",
        str(tmp_path / "mask.png"),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)["record"]
    assert record["mask"] == "mask_image" and record["genus"] == 0
    # The mask is a 200 x 400 px bar: the asset is twice as tall as wide.
    width, height, _ = record["size_m"]
    assert height == pytest.approx(1.0) and width == pytest.approx(0.5, abs=0.02)


def test_help_documents_every_option(binary):
    result = run_cli(binary, "generate", "--help")
    assert result.returncode == 0
    for option in (
        "--output",
        "--faces",
        "--texture-size",
        "--foreground-ratio",
        "--keep-background",
        "--mask",
        "--format",
        "--json",
        "--thickness",
        "--size",
        "--reproducible",
    ):
        assert option in result.stdout, f"{option} missing from --help"


def test_history_commands_list_export_and_clear(binary, tmp_path):
    output = tmp_path / "duck.glb"
    result = run_cli(binary, "generate", str(EXAMPLES / "duck.png"), "-o", str(output), "--reproducible")
    assert result.returncode == 0, result.stderr
    listing = json.loads(run_cli(binary, "history", "list", "--json").stdout)
    assert listing["total"] >= 1
    newest = listing["generations"][0]
    assert newest["source"].endswith("duck.png")
    exported = tmp_path / "exported.glb"
    result = run_cli(binary, "history", "export", newest["id"], "-o", str(exported))
    assert result.returncode == 0, result.stderr
    assert exported.read_bytes() == output.read_bytes()
    thumbnail = tmp_path / "thumb.png"
    assert (
        run_cli(binary, "history", "download", newest["id"], "--what", "thumbnail", "-o", str(thumbnail)).returncode
        == 0
    )
    from PIL import Image

    assert Image.open(thumbnail).size == (256, 256)
    result = run_cli(binary, "history", "clear")
    assert result.returncode == 2 and "--yes" in result.stderr, "clearing must ask first"
    result = run_cli(binary, "history", "clear", "--yes")
    assert result.returncode == 0, result.stderr
    assert json.loads(run_cli(binary, "history", "list", "--json").stdout)["total"] == 0


def test_daemon_commands(binary):
    status = json.loads(run_cli(binary, "daemon", "status", "--json").stdout)
    assert status["running"] is True and status["api_version"] == "v1"
    models = json.loads(run_cli(binary, "models", "list", "--json").stdout)
    assert [model["name"] for model in models if model["installed"]] == ["relief"]
    # The catalog's models, to install by name.
    catalog = [model for model in models if not model["installed"]]
    assert [model["name"] for model in catalog] == ["modnet", "u2net", "u2netp"]
    assert all(model["in_catalog"] and model["license"] == "Apache-2.0" for model in catalog)
    settings = json.loads(run_cli(binary, "settings", "--json").stdout)
    assert settings["history"] is True and settings["history_available"] is True


def test_history_exports_every_format_from_the_stored_asset(binary, tmp_path):
    result = run_cli(
        binary, "generate", str(EXAMPLES / "ring.jpg"), "-o", str(tmp_path / "ring.glb"), "--faces", "4000"
    )
    assert result.returncode == 0, result.stderr
    newest = json.loads(run_cli(binary, "history", "list", "--json").stdout)["generations"][0]["id"]
    for extension in ("obj", "stl", "ply", "gltf"):
        target = tmp_path / f"again.{extension}"
        result = run_cli(binary, "history", "export", newest, "-o", str(target))
        assert result.returncode == 0, result.stderr
        mesh = trimesh.load(str(target), force="mesh", process=True)
        assert mesh.is_watertight and mesh.euler_number == 0, extension
        assert len(mesh.faces) == pytest.approx(4000, rel=0.01)


def test_a_closed_output_pipe_ends_a_command_quietly(binary, tmp_path):
    result = run_cli(binary, "generate", str(EXAMPLES / "duck.png"), "-o", str(tmp_path / "d.glb"), "--faces", "2000")
    assert result.returncode == 0, result.stderr
    for args in (["history", "list"], ["jobs", "list"], ["daemon", "status"], ["models", "list"]):
        # The reader goes away before the command writes anything, as `| head -0` would.
        process = subprocess.Popen([str(binary), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        process.stdout.close()
        stderr = process.stderr.read().decode()
        assert process.wait(timeout=60) in (0, 141), (args, process.returncode, stderr)
        assert "panicked" not in stderr and "Broken pipe" not in stderr, stderr


@pytest.mark.parametrize("fmt", ["glb", "gltf", "obj", "stl", "ply"])
def test_no_exported_file_carries_the_users_folders(binary, tmp_path, fmt):
    folder = tmp_path / "home-of-ada-7c1f" / "photos"
    folder.mkdir(parents=True)
    (folder / "duck.png").write_bytes((EXAMPLES / "duck.png").read_bytes())
    out = tmp_path / "out"
    out.mkdir()
    result = run_cli(binary, "generate", str(folder / "duck.png"), "-o", str(out / f"duck.{fmt}"), "--faces", "2000")
    assert result.returncode == 0, result.stderr
    for path in out.iterdir():
        assert b"home-of-ada-7c1f" not in path.read_bytes(), f"{path.name} names the input's folder"
    if fmt == "glb":
        assert json.loads(read_glb_json(out / "duck.glb"))["scenes"][0]["extras"]["source"] == "duck.png"


def test_a_pawn_revolves_and_the_shape_and_origin_reach_the_record(binary, tmp_path):
    pawn = EXAMPLES.parent / "tests" / "shapes" / "images" / "pawn.front.png"
    output = tmp_path / "pawn.glb"
    result = run_cli(binary, "generate", str(pawn), "-o", str(output), "--json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)["record"]
    assert record["shape"] == "revolve"
    assert (record["options"]["shape"], record["options"]["origin"]) == ("auto", "bottom")
    mesh = load_mesh(output)
    # A solid of revolution is as deep as it is wide.
    assert mesh.extents[2] == pytest.approx(mesh.extents[0], rel=0.03)

    result = run_cli(
        binary, "generate", str(pawn), "-o", str(output), "--json", "--shape", "relief", "--origin", "center"
    )
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)["record"]
    assert record["shape"] == "relief" and record["options"]["origin"] == "center"
    assert np.allclose(load_mesh(output).bounds.mean(axis=0), 0.0, atol=1e-4)

    refused = run_cli(binary, "generate", str(pawn), "-o", str(output), "--shape", "cube")
    assert refused.returncode == 2
    assert "auto, relief, revolve or extrude" in refused.stderr


def test_a_right_view_gives_a_box_its_depth_and_a_sheet_is_split_into_views(binary, validate, tmp_path):
    images = EXAMPLES.parent / "tests" / "shapes" / "images"
    output = tmp_path / "cube.glb"
    # Seen square-on, one picture cannot tell a cube from a tile; its right side can.
    alone = run_cli(binary, "generate", str(images / "cube.front.png"), "-o", str(output), "--json")
    assert alone.returncode == 0, alone.stderr
    flat = load_mesh(output).extents
    assert flat[2] < 0.3 * flat[0]
    result = run_cli(
        binary,
        "generate",
        str(images / "cube.front.png"),
        "--right",
        str(images / "cube.right.png"),
        "--back",
        str(images / "cube.back.png"),
        "-o",
        str(output),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)["record"]
    assert record["views"] == ["front", "right", "back"] and record["watertight"]
    assert record["faces"] == pytest.approx(20_000, rel=0.01)
    (report,) = validate(output)
    assert (report["errors"], report["warnings"]) == (0, 0), report["messages"]
    # Vertices are split where texture charts meet; welded by position the mesh is closed.
    mesh = load_mesh(output)
    mesh.merge_vertices(merge_tex=True, merge_norm=True)
    assert_closed_solid(mesh, 0)
    extents = mesh.extents
    assert extents[2] == pytest.approx(extents[0], rel=0.05)

    # A turnaround sheet: front, right, back side by side on white.
    from PIL import Image

    panels = [Image.open(images / f"pawn.{view}.png").convert("RGBA") for view in ("front", "right", "back")]
    sheet = Image.new("RGBA", (sum(panel.width for panel in panels), panels[0].height), (255, 255, 255, 255))
    for index, panel in enumerate(panels):
        sheet.alpha_composite(panel, (index * panel.width, 0))
    sheet.convert("RGB").save(tmp_path / "sheet.png")
    result = run_cli(
        binary, "generate", "--views", str(tmp_path / "sheet.png"), "-o", str(tmp_path / "pawn.glb"), "--json"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["record"]["views"] == ["front", "right", "back"]
    extents = load_mesh(tmp_path / "pawn.glb").extents
    assert extents[2] == pytest.approx(extents[0], rel=0.05)

    missing = run_cli(binary, "generate", str(images / "cube.front.png"), "--right", str(tmp_path / "none.png"))
    assert missing.returncode == 1
    assert "none.png" in missing.stderr
    both = run_cli(binary, "generate", str(images / "cube.front.png"), "--views", str(tmp_path / "sheet.png"))
    assert both.returncode == 2 and "--views" in both.stderr
