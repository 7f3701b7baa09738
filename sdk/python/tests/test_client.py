"""The Python module against the real daemon: generate, events, cancel, errors, history, threads."""

from __future__ import annotations

import _thread
import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import threedgpt
import trimesh
from PIL import Image

from conftest import EXAMPLES, ROOT

FAST = {"grid": 64, "faces": 1000, "texture_size": 256}
# Keeps the reconstruct stage busy for seconds, so there is time to cancel.
SLOW = {"grid": 2048}


def load(path: Path) -> trimesh.Trimesh:
    return trimesh.load(path, force="mesh")


def test_generate_writes_a_watertight_textured_glb_and_returns_its_record(client, tmp_path):
    output = tmp_path / "duck.glb"
    generation = client.generate(EXAMPLES / "duck.png", output, faces=2000, texture_size=512)

    assert isinstance(generation, threedgpt.Generation)
    assert generation.path == str(output) and generation.files[-1] == str(output)
    assert abs(generation.faces - 2000) <= 20
    assert generation.watertight is True
    record = generation.record
    assert record["faces"] == generation.faces and record["options"]["texture_px"] == 512
    mesh = load(output)
    assert mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0
    assert len(mesh.faces) == generation.faces
    assert generation.id is not None and client.get(generation.id).id == generation.id


def test_image_bytes_and_path_like_arguments_are_accepted(client, tmp_path):
    picture = Image.new("RGBA", (96, 96), (0, 0, 0, 0))
    picture.paste((200, 40, 40, 255), (20, 20, 76, 76))
    encoded = io.BytesIO()
    picture.save(encoded, format="PNG")

    from_bytes = client.generate(encoded.getvalue(), tmp_path / "square.glb", name="square.png", **FAST)
    from_pathlike = client.generate(EXAMPLES / "ring.jpg", os.fspath(tmp_path / "ring.stl"), **FAST)

    assert client.get(from_bytes.id).source == "square.png"
    assert load(Path(from_bytes.path)).is_watertight
    assert Path(from_pathlike.path).suffix == ".stl" and load(Path(from_pathlike.path)).is_watertight


def test_events_arrive_in_order_and_the_progress_callback_sees_each(client, tmp_path):
    seen: list[threedgpt.Event] = []
    client.generate(EXAMPLES / "duck.png", tmp_path / "duck.glb", progress=seen.append, **FAST)

    kinds = [event.kind for event in seen]
    assert kinds[0] == "queued" and kinds[1] == "started" and kinds[-1] == "finished"
    assert set(kinds[2:-1]) == {"progress"}
    fractions = [event.fraction for event in seen if event.kind == "progress"]
    assert fractions == sorted(fractions) and 0.0 <= fractions[0] and fractions[-1] <= 1.0
    stages = {event.stage for event in seen if event.kind == "progress"}
    assert {"decode", "foreground", "reconstruct", "mesh", "texture", "export"} <= stages
    assert seen[0].position == 1 and seen[1].device == "cpu"
    # No segmentation model is installed: the built-in removal finds the object.
    assert seen[1].background == "builtin"
    assert seen[-1].generation is not None and seen[-1].generation.faces > 0
    assert len({event.job_id for event in seen}) == 1


def test_submit_then_events_then_wait(client, tmp_path):
    job = client.submit(EXAMPLES / "duck.png", tmp_path / "duck.glb", **FAST)
    assert job.id.startswith("job-") and not job.done
    events = list(job.events())
    assert job.done and events[-1].kind == "finished" and job.latest.kind == "finished"
    generation = job.wait()
    assert generation.path == str(tmp_path / "duck.glb")
    assert job.wait(timeout=0).path == generation.path  # The outcome stays available.


def test_cancel_mid_stage_raises_cancelled_writes_nothing_and_the_daemon_carries_on(client, tmp_path):
    output = tmp_path / "slow.glb"
    job = client.submit(EXAMPLES / "duck.png", output, **SLOW)
    for event in job.events():
        if event.kind == "progress" and event.stage == "reconstruct":
            started = time.monotonic()
            assert job.cancel()
            break
    with pytest.raises(threedgpt.Cancelled):
        job.wait(timeout=30)
    assert time.monotonic() - started < 5
    assert job.latest.kind == "cancelled"
    assert not output.exists() and not list(tmp_path.iterdir())
    assert client.generate(EXAMPLES / "duck.png", tmp_path / "after.glb", **FAST).faces > 0


def test_wait_with_a_timeout_leaves_the_job_running(client, tmp_path):
    job = client.submit(EXAMPLES / "duck.png", tmp_path / "slow.glb", **SLOW)
    with pytest.raises(TimeoutError, match="still running"):
        job.wait(timeout=0.2)
    assert not job.done
    assert job.cancel()
    with pytest.raises(threedgpt.Cancelled):
        job.wait()


def test_ctrl_c_interrupts_a_blocking_generate_and_cancels_its_job(client, tmp_path):
    # Python's own SIGINT handler, whatever this process inherited: a background job of a shell
    # without job control starts with SIGINT ignored, and then interrupt_main() does nothing.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(1.0, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            client.generate(EXAMPLES / "duck.png", tmp_path / "slow.glb", **SLOW)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    # The interrupted call dropped its stream: the daemon cancels a job whose client went away.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        states = {job.state for job in client.jobs() if job.source.endswith("duck.png")}
        if "running" not in states and "queued" not in states:
            break
        time.sleep(0.05)
    assert "running" not in states and "cancelled" in states
    assert not (tmp_path / "slow.glb").exists()


def test_blocking_calls_release_the_gil(client, tmp_path):
    result: dict = {}
    worker = threading.Thread(
        target=lambda: result.update(generation=client.generate(EXAMPLES / "duck.png", tmp_path / "a.glb", **FAST))
    )
    ticks = 0
    worker.start()
    while worker.is_alive():
        ticks += 1
        time.sleep(0.001)
    worker.join()
    assert result["generation"].faces > 0
    assert ticks > 20, "the main thread could not run while generate() waited"


def test_errors_are_exceptions_of_the_hierarchy_with_the_daemons_sentence(client, tmp_path):
    with pytest.raises(threedgpt.InvalidInput, match="not a PNG, JPEG or WebP"):
        client.generate(b"this is not a picture", tmp_path / "x.glb")
    with pytest.raises(threedgpt.ThreeDGptError, match="missing.png"):
        client.generate(tmp_path / "missing.png", tmp_path / "x.glb")
    with pytest.raises(threedgpt.NotFound):
        client.get("gen-does-not-exist")
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        client.generate(EXAMPLES / "duck.png", tmp_path / "x.glb", colour="red")
    with pytest.raises(ValueError, match="format must be one of"):
        client.generate(EXAMPLES / "duck.png", tmp_path / "x.glb", format="fbx")
    with pytest.raises(ValueError, match='device must be "auto", "cpu" or "gpu"'):
        client.generate(EXAMPLES / "duck.png", tmp_path / "x.glb", device="tpu")
    with pytest.raises(TypeError, match="image must be a path"):
        client.generate(42, tmp_path / "x.glb")
    assert issubclass(threedgpt.NoObject, threedgpt.InvalidInput)
    assert issubclass(threedgpt.DaemonUnavailable, threedgpt.ThreeDGptError)
    assert not list(tmp_path.iterdir())
    assert client.info().pid > 0  # The daemon survived every bad request.


def test_no_daemon_and_no_autostart_raises_daemon_unavailable(daemon_binary, tmp_path):
    with pytest.raises(threedgpt.DaemonUnavailable, match="3dgpt serve"):
        threedgpt.Client(tmp_path / "nobody.sock", autostart=False)
    with pytest.raises(threedgpt.DaemonUnavailable, match="could not run"):
        threedgpt.Client(tmp_path / "nobody.sock", daemon=tmp_path / "no-such-program")


def test_history_download_export_delete_and_settings(client, tmp_path):
    generation = client.generate(EXAMPLES / "ring.jpg", tmp_path / "ring.glb", **FAST)
    assert generation.id in [entry.id for entry in client.history(limit=500)]
    entry = client.get(generation.id)
    assert entry.source.endswith("ring.jpg") and entry.faces == generation.faces and entry.created > 1.7e9

    glb = client.download(generation.id)
    assert glb[:4] == b"glTF" and glb == (tmp_path / "ring.glb").read_bytes()
    assert client.download(generation.id, "thumbnail")[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.download(generation.id, "input") == (EXAMPLES / "ring.jpg").read_bytes()
    assert client.download(generation.id, format="stl")[80:84] == len(load(tmp_path / "ring.glb").faces).to_bytes(
        4, "little"
    )
    (tmp_path / "copy").mkdir()
    files = client.export(generation.id, tmp_path / "copy" / "ring.obj")
    assert Path(files[-1]).suffix == ".obj" and all(Path(file).exists() for file in files)

    assert client.delete(generation.id) and not client.delete(generation.id)
    with pytest.raises(threedgpt.NotFound):
        client.download(generation.id)

    assert client.settings().history_enabled
    try:
        assert not client.set_history_enabled(False).history_enabled
        off = client.generate(EXAMPLES / "duck.png", tmp_path / "off.glb", **FAST)
        assert off.id is None and Path(off.path).exists()
        # No output and no history: held in memory for this client, never listed, gone once taken.
        held = client.generate(EXAMPLES / "duck.png", **FAST)
        assert held.path is None and held.id.startswith("held-")
        assert held.id not in [entry.id for entry in client.history(limit=500)]
        assert client.download(held.id)[:4] == b"glTF"
        with pytest.raises(threedgpt.NotFound):
            client.download(held.id)
    finally:
        assert client.set_history_enabled(True).history_enabled


def test_models_info_and_jobs(client):
    models = client.models()
    assert [model.name for model in models if model.installed] and all(model.kind for model in models)
    info = client.info()
    assert info.version == threedgpt.__version__ and info.api_version and "cpu" in " ".join(info.devices).lower()
    assert info.onnxruntime_status and (info.onnxruntime_version is None) == (info.onnxruntime_path is None)
    assert all(isinstance(job, threedgpt.JobInfo) for job in client.jobs())


def test_a_detached_job_can_be_watched_from_another_client(client, tmp_path):
    job = client.submit(EXAMPLES / "duck.png", tmp_path / "detached.glb", detach=True, **FAST)
    watcher = threedgpt.Client()
    generation = watcher.watch(job.id).wait(timeout=120)
    assert generation.path == str(tmp_path / "detached.glb")
    del job


def test_batch_example_turns_a_folder_of_pictures_into_assets(daemon_binary, tmp_path):
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    for name in ("duck.png", "ring.jpg"):
        (pictures / name).write_bytes((EXAMPLES / name).read_bytes())
    (pictures / "notes.txt").write_text("not a picture")
    output = tmp_path / "assets"
    script = ROOT / "sdk" / "python" / "examples" / "batch.py"

    done = subprocess.run(
        [sys.executable, str(script), str(pictures), str(output), "--faces", "1500", "--jobs", "2"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(path.name for path in output.iterdir()) == ["duck.glb", "ring.glb"]
    assert all(load(path).is_watertight for path in output.iterdir())
    assert "2 of 2 pictures made assets" in done.stdout and "[2/2]" in done.stdout

    (pictures / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    done = subprocess.run(
        [sys.executable, str(script), str(pictures), str(tmp_path / "again")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    assert "2 of 3 pictures made assets" in done.stdout and "broken.png" in done.stderr
    assert not (tmp_path / "again" / "broken.glb").exists()


def test_a_missed_face_target_is_a_warning_and_on_the_generation(client, tmp_path):
    with pytest.warns(threedgpt.ThreeDGptWarning, match="fewer than the 200000 asked for"):
        generation = client.generate(EXAMPLES / "duck.png", tmp_path / "w.glb", faces=200000, grid=64, texture_size=256)
    assert len(generation.warnings) == 1 and "raise the grid" in generation.warnings[0]
    quiet = client.generate(EXAMPLES / "duck.png", tmp_path / "q.glb", **FAST)
    assert quiet.warnings == []


def summary(option: dict) -> str:
    """An option's default and range or choices in the words the option table uses."""
    kind = option["kind"]
    if kind == "flag":
        return "off by default"
    if kind == "choice":
        names = ", ".join(name for name, _ in option["choices"])
        if option["models"]:
            names += f"{' or ' if names else ''}an installed {option['models']} model"
        return f"default {option['default'] or 'none'}; {names}"
    number = (lambda value: f"{value:g}") if kind == "float" else str
    if option.get("allowed"):
        return f"default {option['default']}; one of {', '.join(map(str, option['allowed']))}"
    return f"default {number(option['default'])}; {number(option['min'])} to {number(option['max'])}"


def test_the_cli_help_and_the_stub_say_what_the_daemon_reports_for_every_option(client, daemon_binary):
    table = client.options()
    assert table == threedgpt.default_options() | {"models": table["models"]}
    assert set(table["models"]) == {"reconstructor", "segmentation", "depth"}
    names = [option["name"] for option in table["options"]]
    assert names[:3] == ["faces", "texture_size", "foreground_ratio"] and "depth" in names

    help_text = subprocess.run(
        [str(daemon_binary), "generate", "--help"], capture_output=True, text=True, check=True
    ).stdout
    flat_help = " ".join(help_text.split())
    stub = (Path(threedgpt.__file__).parent / "_native.pyi").read_text()
    blocks = stub.split("        Options:\n")[1:]
    assert len(blocks) == 2, "generate and submit each document their options"
    for block in blocks:
        documented = {}
        lines = block.split('        """')[0].splitlines()
        for name_line, range_line in zip(lines[::2], lines[1::2], strict=True):
            name, description = name_line.strip().split(": ", 1)
            documented[name] = (description, range_line.strip())
        assert list(documented) == names
        for option in table["options"]:
            expected = summary(option)
            assert documented[option["name"]] == (f"{option['description']}.", f"{expected[0].upper()}{expected[1:]}.")
    for option in table["options"]:
        assert f"--{option['flag']}" in help_text
        assert f"{option['description']} [{summary(option)}]" in flat_help, option["name"]


def test_out_of_range_options_are_refused_in_python_terms_before_anything_is_sent(client, tmp_path):
    with pytest.raises(ValueError, match=r"texture_size=1000: 1000 is not one of 256, 512, 1024, 2048, 4096"):
        client.generate(EXAMPLES / "duck.png", tmp_path / "x.glb", texture_size=1000)
    with pytest.raises(ValueError, match=r"foreground_ratio=0\.01: 0\.01 is outside 0\.05\.\.=1"):
        client.generate(EXAMPLES / "duck.png", tmp_path / "x.glb", foreground_ratio=0.01)
    with pytest.raises(ValueError, match='shape=\'cube\': "cube" is not one of "auto", "relief", "revolve", "extrude"'):
        client.generate(EXAMPLES / "duck.png", tmp_path / "x.glb", shape="cube")
    with pytest.raises(threedgpt.NotFound, match='no segmentation model "nope" is installed'):
        client.generate(EXAMPLES / "duck.png", tmp_path / "x.glb", background="nope")
    assert not list(tmp_path.iterdir())


def test_the_wheel_is_manylinux_2_28_and_asks_for_no_newer_glibc(tmp_path):
    import zipfile

    wheels = sorted((ROOT / "target" / "wheels").glob("threedgpt-*.whl"))
    assert len(wheels) == 1, f"scripts/test.sh builds one wheel into target/wheels: {wheels}"
    assert wheels[0].name.endswith("-cp311-abi3-manylinux_2_28_x86_64.whl"), wheels[0].name
    with zipfile.ZipFile(wheels[0]) as wheel:
        library = wheel.extract("threedgpt/_native.abi3.so", tmp_path)
    symbols = subprocess.run(["objdump", "-T", library], capture_output=True, text=True, check=True).stdout
    versions = {tuple(map(int, found.split("."))) for found in re.findall(r"GLIBC_(\d+\.\d+)", symbols)}
    assert versions and max(versions) <= (2, 28), sorted(versions)


def test_models_are_installed_checked_and_removed_through_the_daemon(client, tmp_path):
    models = tmp_path / "made"
    subprocess.run([sys.executable, str(ROOT / "models" / "tools" / "make_test_models.py"), str(models)], check=True)
    installed = client.install_model(models / "tiny-depth.toml", models / "tiny-depth")
    assert (installed.name, installed.kind, installed.installed) == ("tiny-depth", "depth", True)
    assert client.options()["models"]["depth"] == ["tiny-depth"]
    assert client.verify_model("tiny-depth").size_bytes == installed.size_bytes
    folder = Path(os.environ["THREEDGPT_DATA_DIR"]) / "models" / "tiny-depth"
    damaged = next(path for path in folder.rglob("*.onnx"))
    damaged.write_bytes(damaged.read_bytes()[:-1])
    with pytest.raises(threedgpt.InvalidInput, match="not the file its manifest names"):
        client.verify_model("tiny-depth")
    client.remove_model("tiny-depth")
    assert "tiny-depth" not in [model.name for model in client.models()]
    with pytest.raises(threedgpt.NotFound):
        client.remove_model("tiny-depth")


def test_the_shape_and_origin_reach_the_engine_and_the_record(client, tmp_path):
    pawn = ROOT / "tests" / "shapes" / "images" / "pawn.front.png"
    revolved = client.generate(pawn, tmp_path / "pawn.glb", shape="revolve", origin="center", texture_size=256)
    assert revolved.record["shape"] == "revolve"
    assert (revolved.record["options"]["shape"], revolved.record["options"]["origin"]) == ("revolve", "center")
    inflated = client.generate(pawn, tmp_path / "relief.glb", shape="relief", texture_size=256)
    assert inflated.record["shape"] == "relief" and inflated.record["options"]["origin"] == "bottom"


def test_views_carve_the_shape_from_paths_or_bytes_and_bad_ones_are_refused(client, tmp_path):
    images = ROOT / "tests" / "shapes" / "images"
    cube = client.generate(
        images / "cube.front.png",
        tmp_path / "cube.glb",
        right=images / "cube.right.png",
        back=(images / "cube.back.png").read_bytes(),
        texture_size=256,
    )
    assert cube.record["views"] == ["front", "right", "back"]
    width, _, depth = cube.record["size_m"]
    assert depth == pytest.approx(width, rel=0.05)
    with pytest.raises(TypeError, match="right must be a path"):
        client.generate(images / "cube.front.png", right=3)
    with pytest.raises(threedgpt.ThreeDGptError, match="right.png"):
        client.generate(images / "cube.front.png", right=b"not a picture")
