"""The Blender extension in real Blender against the real daemon: generate, cancel, errors, history,
texture storage, the Image Editor entry, and a clean unregister."""

from __future__ import annotations

import importlib
import os
import threading
import time
from pathlib import Path

import bmesh
import bpy
import pytest

from conftest import EXAMPLES, drive

MODULE = "bl_ext.user_default.threedgpt"


@pytest.fixture
def session(extension):
    """An empty scene, default preferences, and the extension's session idle."""
    session = extension.session.SESSION
    session.wait_idle(timeout=60)
    drive(extension)
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj)
    for collection in (bpy.data.meshes, bpy.data.materials, bpy.data.images):
        for block in list(collection):
            collection.remove(block)
    prefs = bpy.context.preferences.addons[MODULE].preferences
    prefs.connection = "AUTO"
    prefs.autostart = True
    prefs.daemon_path = ""
    prefs.texture_storage = "PACK"
    options = bpy.context.scene.threedgpt
    options.source = "FILE"
    options.filepath = str(EXAMPLES / "duck.png")
    options.faces = 3000
    options.texture_size = "512"
    options.property_unset("detail")
    for name in ("sheet", "view_right", "view_back", "view_left", "view_top"):
        options.property_unset(name)
    bpy.context.scene.cursor.location = (0.0, 0.0, 0.0)
    session.reports.clear()
    return session


def generate(extension, **kwargs) -> None:
    assert bpy.ops.threedgpt.generate(**kwargs) == {"FINISHED"}
    drive(extension)


def only_mesh() -> bpy.types.Object:
    meshes = [obj for obj in bpy.data.objects if obj.type == "MESH"]
    assert len(meshes) == 1, [obj.name for obj in bpy.data.objects]
    return meshes[0]


def base_colour_image(obj: bpy.types.Object) -> bpy.types.Image:
    material = obj.active_material
    assert material is not None and material.use_nodes
    principled = next(node for node in material.node_tree.nodes if node.type == "BSDF_PRINCIPLED")
    link = principled.inputs["Base Color"].links[0]
    assert link.from_node.type == "TEX_IMAGE" and link.from_node.image is not None
    return link.from_node.image


def is_watertight(mesh: bpy.types.Mesh) -> bool:
    bm = bmesh.new()
    try:
        bm.from_mesh(mesh)
        return all(edge.is_manifold for edge in bm.edges) and all(len(edge.link_faces) == 2 for edge in bm.edges)
    finally:
        bm.free()


def test_generate_imports_one_textured_watertight_mesh_at_the_cursor(extension, session):
    bpy.context.scene.cursor.location = (1.0, 2.0, 3.0)
    assert bpy.ops.threedgpt.generate() == {"FINISHED"}
    assert session.status().busy
    assert not bpy.ops.threedgpt.generate.poll(), "a second generation waits for the first"
    drive(extension)

    status = session.status()
    assert status.state == "FINISHED", status
    obj = only_mesh()
    assert obj.name == "duck" and status.imported == ["duck"]
    assert tuple(obj.location) == pytest.approx((1.0, 2.0, 3.0))
    assert abs(len(obj.data.polygons) - 3000) <= 30
    assert obj.select_get() and bpy.context.view_layer.objects.active == obj
    image = base_colour_image(obj)
    assert image.packed_file is not None and tuple(image.size) == (512, 512)
    assert is_watertight(obj.data)
    assert all(polygon.use_smooth for polygon in obj.data.polygons), "imported shaded smooth"
    # The origin is at the base: the duck stands on the cursor instead of sinking into it.
    lowest = min((obj.matrix_world @ vertex.co).z for vertex in obj.data.vertices)
    assert lowest == pytest.approx(3.0, abs=1e-3)
    assert session.reports[-1] == ("INFO", status.message) and "faces" in status.message


def test_more_views_give_a_cube_its_depth_and_a_missing_one_is_named(extension, session):
    images = EXAMPLES.parent / "tests" / "shapes" / "images"
    options = bpy.context.scene.threedgpt
    options.filepath = str(images / "cube.front.png")
    options.view_right = str(images / "cube.right.png")
    options.view_back = str(images / "cube.back.png")
    generate(extension)
    assert session.status().state == "FINISHED", session.status()
    obj = only_mesh()
    # Blender is +Z up: the picture's depth is the object's y.
    width, depth, _ = obj.dimensions
    assert depth == pytest.approx(width, rel=0.05)

    options.view_left = str(images / "no-such-picture.png")
    # The operator reports the error, which bpy raises here.
    with pytest.raises(RuntimeError, match="The left picture .*no-such-picture.png does not exist"):
        bpy.ops.threedgpt.generate()
    assert len(bpy.data.objects) == 1 and not session.status().busy


def test_the_bundled_module_is_the_one_in_use(extension):
    import threedgpt

    assert "extensions" in Path(threedgpt.__file__).parts, threedgpt.__file__


def test_an_image_open_in_blender_packed_or_from_the_image_editor(extension, session):
    image = bpy.data.images.load(str(EXAMPLES / "ring.jpg"))
    image.pack()
    options = bpy.context.scene.threedgpt
    options.source = "IMAGE"
    options.image = image
    generate(extension)
    assert session.status().state == "FINISHED", session.status()
    assert only_mesh().name == "ring"

    bpy.data.objects.remove(only_mesh())
    options.source = "FILE"
    generated = bpy.data.images.new("painted", 128, 128, alpha=True)
    pixels = [0.0] * (128 * 128 * 4)
    for y in range(32, 96):
        for x in range(32, 96):
            pixels[(y * 128 + x) * 4 : (y * 128 + x) * 4 + 4] = [0.8, 0.2, 0.1, 1.0]
    generated.pixels = pixels
    # Blender on Python 3.11 reads a temp_override dictionary without the GIL while an operator
    # runs; another Python thread holding the GIL then corrupts the interpreter (a segfault in CI).
    # So the worker must not exist during the operator, nor during the import operator.
    importer = importlib.import_module(f"{extension.__name__}.importer")
    import_asset = importer.import_asset
    overlapping = []

    def checked_import(*args, **kwargs):
        overlapping.extend(thread.name for thread in threading.enumerate() if thread.name == "3dgpt-generate")
        return import_asset(*args, **kwargs)

    importer.import_asset = checked_import
    try:
        with bpy.context.temp_override(edit_image=generated):
            assert bpy.ops.threedgpt.generate(use_active_image=True) == {"FINISHED"}
            assert not any(thread.name == "3dgpt-generate" for thread in threading.enumerate())
            drive(extension)
    finally:
        importer.import_asset = import_asset
    assert overlapping == []
    assert session.status().state == "FINISHED", session.status()
    assert only_mesh().name == "painted"


def test_cancel_mid_generation_leaves_the_scene_unchanged_and_the_daemon_healthy(extension, session):
    bpy.context.scene.threedgpt.detail = 2048  # Seconds of reconstruction: time to cancel.
    assert bpy.ops.threedgpt.generate() == {"FINISHED"}
    deadline = time.monotonic() + 60
    while session.status().stage != "reconstruct":
        assert time.monotonic() < deadline, session.status()
        session.tick()
        time.sleep(0.02)
    assert session.status().label().startswith("Reconstruct")
    assert bpy.ops.threedgpt.cancel() == {"FINISHED"}
    drive(extension, timeout=10)

    assert session.status().state == "CANCELLED"
    assert not bpy.data.objects and not bpy.data.meshes
    import threedgpt

    assert threedgpt.Client().info().running_jobs == 0
    bpy.context.scene.threedgpt.property_unset("detail")
    generate(extension)
    assert session.status().state == "FINISHED"


def test_a_queued_generation_shows_its_position_and_can_be_cancelled(extension, session, tmp_path):
    import threedgpt

    client = threedgpt.Client()
    blocker = client.submit(EXAMPLES / "duck.png", tmp_path / "blocker.glb", grid=2048)
    try:
        assert bpy.ops.threedgpt.generate() == {"FINISHED"}
        deadline = time.monotonic() + 30
        while session.status().state != "QUEUED":
            assert time.monotonic() < deadline, session.status()
            session.tick()
            time.sleep(0.02)
        assert session.status().label() == "Queued (position 1)"
        assert bpy.ops.threedgpt.cancel() == {"FINISHED"}
        drive(extension, timeout=10)
        assert session.status().state == "CANCELLED" and not bpy.data.objects
    finally:
        blocker.cancel()


def test_a_corrupt_image_gives_an_error_report_not_an_exception(extension, session, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    bpy.context.scene.threedgpt.filepath = str(broken)
    generate(extension)

    status = session.status()
    assert status.state == "FAILED"
    assert "could not decode the image" in status.message and "Traceback" not in status.message
    assert session.reports[-1] == ("ERROR", status.message)
    assert not bpy.data.objects


def test_a_missing_picture_is_refused_by_the_operator_with_a_report(extension, session, tmp_path):
    bpy.context.scene.threedgpt.filepath = str(tmp_path / "nowhere.png")
    # An operator's error report reaches a Python caller as RuntimeError("Error: ...").
    with pytest.raises(RuntimeError, match=r"Error: The picture .*nowhere.png does not exist"):
        bpy.ops.threedgpt.generate()
    assert not session.status().busy


def test_a_stopped_daemon_gives_an_error_report(extension, session, tmp_path):
    prefs = bpy.context.preferences.addons[MODULE].preferences
    prefs.connection = "SOCKET"
    prefs.socket_path = str(tmp_path / "stopped.sock")
    prefs.autostart = False
    generate(extension)
    status = session.status()
    assert status.state == "FAILED" and "not running" in status.message and "3dgpt serve" in status.message
    assert session.reports[-1] == ("ERROR", status.message)

    prefs.autostart = True
    prefs.daemon_path = str(tmp_path / "no-such-3dgpt")
    generate(extension)
    assert session.status().state == "FAILED" and "could not run" in session.status().message
    assert not bpy.data.objects


def test_history_lists_the_generation_and_reimports_and_deletes_it(extension, session):
    generate(extension)
    assert session.status().state == "FINISHED"
    first = only_mesh()
    faces = len(first.data.polygons)

    assert bpy.ops.threedgpt.history_refresh() == {"FINISHED"}
    entry = session.history[0]
    assert Path(entry.source).name == "duck.png" and entry.faces == faces
    assert session.previews is not None and entry.id in session.previews

    bpy.context.scene.cursor.location = (5.0, 0.0, 0.0)
    assert bpy.ops.threedgpt.history_import(id=entry.id) == {"FINISHED"}
    again = [obj for obj in bpy.data.objects if obj != first]
    assert len(again) == 1 and again[0].name.startswith("duck") and len(again[0].data.polygons) == faces
    assert tuple(again[0].location) == pytest.approx((5.0, 0.0, 0.0))

    assert bpy.ops.threedgpt.history_delete(id=entry.id) == {"FINISHED"}
    assert entry.id not in [item.id for item in session.history]
    with pytest.raises(RuntimeError, match="Error:"):
        bpy.ops.threedgpt.history_import(id=entry.id)


def test_history_thumbnails_stay_in_memory_and_nothing_decrypted_is_left_on_disk(
    extension, session, tmp_path, monkeypatch
):
    import tempfile

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    generate(extension)
    assert session.status().state == "FINISHED"
    assert bpy.ops.threedgpt.history_refresh() == {"FINISHED"}
    entry = session.history[0]
    preview = session.previews[entry.id]
    assert tuple(preview.image_size) == (256, 256)
    pixels = list(preview.image_pixels_float)
    assert len(pixels) == 256 * 256 * 4 and max(pixels) > 0.1, "the thumbnail's pixels did not arrive"
    assert bpy.ops.threedgpt.history_import(id=entry.id) == {"FINISHED"}
    left = [str(path) for path in scratch.rglob("*")]
    assert left == [], f"decrypted copies left on disk: {left}"
    assert not [image.name for image in bpy.data.images if image.name.startswith(".3dgpt-thumbnail")]


def test_a_missed_face_target_is_reported_as_a_warning(extension, session):
    options = bpy.context.scene.threedgpt
    options.faces = 200000
    options.detail = 64
    generate(extension)
    assert session.status().state == "FINISHED"
    warnings = [message for level, message in session.reports if level == "WARNING"]
    assert any("fewer than the 200000 asked for" in message for message in warnings), session.reports


def test_textures_can_be_saved_beside_the_blend(extension, session, tmp_path):
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "scene.blend"))
    bpy.context.preferences.addons[MODULE].preferences.texture_storage = "SAVE"
    generate(extension)
    image = base_colour_image(only_mesh())
    assert image.packed_file is None and image.filepath.startswith("//textures")
    assert Path(bpy.path.abspath(image.filepath)).is_file()


def test_loopback_tcp_with_the_token_file(extension, session):
    prefs = bpy.context.preferences.addons[MODULE].preferences
    prefs.connection = "TCP"
    prefs.tcp_address = (Path(os.environ["THREEDGPT_RUNTIME_DIR"]) / "tcp-address").read_text().strip()
    prefs.tcp_token = ""  # Read from the daemon's tcp-token file.
    generate(extension)
    assert session.status().state == "FINISHED", session.status()

    bpy.data.objects.remove(only_mesh())
    prefs.tcp_token = "not-the-token"
    generate(extension)
    assert session.status().state == "FAILED" and not bpy.data.objects


def test_new_scenes_take_the_default_options_from_the_preferences(extension, session):
    prefs = bpy.context.preferences.addons[MODULE].preferences
    prefs.default_faces = 4321
    prefs.default_texture_size = "2048"
    prefs.default_remove_background = False
    scene = bpy.data.scenes.new("fresh")
    try:
        extension.properties.apply_defaults(scene)
        options = scene.threedgpt
        assert (options.faces, options.texture_size, options.remove_background) == (4321, "2048", False)
        options.faces = 777
        extension.properties.apply_defaults(scene)
        assert options.faces == 777, "defaults apply once; the user's choice stays"
    finally:
        bpy.data.scenes.remove(scene)
        prefs.default_faces, prefs.default_texture_size, prefs.default_remove_background = 20000, "1024", True


class RecordingLayout:
    """Stands in for `UILayout` (which only exists in a window) and checks what panels draw: every
    property exists on its data, every operator is registered, and progress bars are fractions."""

    def __init__(self, calls: list) -> None:
        self.calls = calls
        self.use_property_split = False
        self.use_property_decorate = True

    def _child(self, *args, **kwargs):
        return RecordingLayout(self.calls)

    row = column = box = split = _child

    def prop(self, data, name, **kwargs):
        assert name in data.bl_rna.properties.keys(), f"{type(data).__name__} has no property {name!r}"
        self.calls.append(("prop", name))

    def operator(self, idname, **kwargs):
        category, name = idname.split(".")
        assert name in dir(getattr(bpy.ops, category)), f"no operator {idname}"
        self.calls.append(("operator", idname))
        return _Properties()

    def progress(self, *, factor, type, text):
        assert 0.0 <= factor <= 1.0 and text
        self.calls.append(("progress", text))

    def label(self, *, text="", icon="NONE"):
        self.calls.append(("label", text))

    def template_ID(self, data, name, **kwargs):
        assert name in data.bl_rna.properties.keys()
        self.calls.append(("template_ID", name))

    def template_icon(self, *, icon_value, scale):
        self.calls.append(("icon", icon_value))

    def separator(self):
        pass


class _Properties:
    """Accepts the operator properties a panel sets on its buttons."""

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)


class _PanelStandIn:
    def __init__(self, calls):
        self.layout = RecordingLayout(calls)


def draw(panel_class) -> list:
    """What a panel's draw method asks of its layout."""
    calls: list = []
    panel_class.draw(_PanelStandIn(calls), bpy.context)
    return calls


def test_the_panels_draw_in_every_state(extension, session, tmp_path):
    panels = extension.panels
    idle = draw(panels.VIEW3D_PT_threedgpt)
    assert ("operator", "threedgpt.generate") in idle and ("prop", "filepath") in idle
    assert ("prop", "faces") in idle and ("prop", "model") in idle
    assert {("prop", "detail"), ("prop", "device"), ("prop", "texture_storage")} <= set(
        draw(panels.VIEW3D_PT_threedgpt_advanced)
    )
    bpy.context.scene.threedgpt.source = "IMAGE"
    assert ("template_ID", "image") in draw(panels.VIEW3D_PT_threedgpt)
    bpy.context.scene.threedgpt.source = "FILE"

    bpy.context.scene.threedgpt.detail = 2048
    assert bpy.ops.threedgpt.generate() == {"FINISHED"}
    deadline = time.monotonic() + 60
    while session.status().state != "RUNNING":
        assert time.monotonic() < deadline, session.status()
        session.tick()
        time.sleep(0.02)
    busy = draw(panels.VIEW3D_PT_threedgpt)
    assert ("operator", "threedgpt.cancel") in busy and any(call[0] == "progress" for call in busy)
    bpy.ops.threedgpt.cancel()
    drive(extension)
    bpy.context.scene.threedgpt.property_unset("detail")

    bpy.context.scene.threedgpt.filepath = str(tmp_path / "gone.png")
    (tmp_path / "gone.png").write_bytes(b"no picture")
    generate(extension)
    failed = draw(panels.VIEW3D_PT_threedgpt)
    assert any(call[0] == "label" and "PNG" in call[1] for call in failed), failed

    bpy.context.scene.threedgpt.filepath = str(EXAMPLES / "duck.png")
    generate(extension)
    bpy.ops.threedgpt.history_refresh()
    history = draw(panels.VIEW3D_PT_threedgpt_history)
    assert ("operator", "threedgpt.history_import") in history and ("label", "duck.png") in history


def test_the_extension_unregisters_and_registers_cleanly(extension, session):
    import addon_utils

    addon_utils.disable(MODULE, default_set=True, handle_error=_raise)
    assert not hasattr(bpy.types, "VIEW3D_PT_threedgpt") and not hasattr(bpy.types.Scene, "threedgpt")
    assert not hasattr(bpy.ops.threedgpt, "generate") or "threedgpt.generate" not in dir(bpy.ops.threedgpt)
    addon_utils.enable(MODULE, default_set=True, handle_error=_raise)
    assert hasattr(bpy.types, "VIEW3D_PT_threedgpt") and bpy.context.scene.threedgpt is not None


def _raise(error):
    raise error


def test_the_device_goes_with_a_learned_model_only(extension):
    from types import SimpleNamespace

    operators = importlib.import_module(f"{extension.__name__}.operators")
    chosen = SimpleNamespace(
        faces=3000,
        texture_size="512",
        remove_background=True,
        foreground_ratio=0.85,
        model="tiny-depth",
        device="GPU",
        detail=0,
        thickness=0.0,
        shape="AUTO",
        origin="BOTTOM",
    )
    assert operators.generation_options(chosen)["device"] == "gpu"
    chosen.model = "DEFAULT"
    assert "device" not in operators.generation_options(chosen)
    assert bpy.context.scene.threedgpt.device == "AUTO"
    # A shape or origin other than the daemon's default is sent in the option table's spelling.
    assert "shape" not in operators.generation_options(chosen)
    chosen.shape, chosen.origin = "REVOLVE", "CENTER"
    sent = operators.generation_options(chosen)
    assert (sent["shape"], sent["origin"]) == ("revolve", "center")


def test_the_panel_offers_the_defaults_and_ranges_the_daemon_reports(extension, session):
    import copy

    import threedgpt

    assert bpy.ops.threedgpt.refresh_models() == {"FINISHED"}
    table = threedgpt.Client().options()
    rna = bpy.context.scene.threedgpt.bl_rna.properties

    def assert_matches(table: dict) -> None:
        for prop, name in extension.properties.OPTION_OF.items():
            option = extension.properties.spec(table, name)
            if name == "texture_size":
                assert [item.identifier for item in rna[prop].enum_items] == [str(size) for size in option["allowed"]]
                assert rna[prop].default == str(option["default"])
                continue
            if option["kind"] == "choice":
                assert [item.identifier for item in rna[prop].enum_items] == [
                    name.upper() for name, _ in option["choices"]
                ], prop
                assert rna[prop].default == option["default"].upper(), prop
                continue
            assert rna[prop].hard_min == pytest.approx(option["min"]), prop
            assert rna[prop].hard_max == pytest.approx(option["max"]), prop
            assert rna[prop].default == pytest.approx(option["default"]), prop

    assert_matches(table)
    # The three disagreements, settled by the daemon's table.
    assert [item.identifier for item in rna["texture_size"].enum_items][0] == "256"
    assert rna["foreground_ratio"].hard_min == pytest.approx(0.05)
    assert rna["detail"].default == 256 and rna["detail"].hard_min > 0
    # The panel follows whatever the daemon says, not a copy of its own.
    changed = copy.deepcopy(table)
    extension.properties.spec(changed, "faces")["max"] = 12345
    assert extension.properties.apply_table(changed)
    assert rna["faces"].hard_max == 12345
    assert extension.properties.apply_table(table)
    assert_matches(table)
    # Each learned model is offered where its role is.
    roles = {"model": "reconstructor", "segmentation": "segmentation", "depth": "depth"}
    for prop, role in roles.items():
        offered = [item[0] for item in extension.session.SESSION.model_items(role)]
        assert offered[1:] == table["models"][role], prop


@pytest.fixture
def two_devices(tmp_path):
    """A real `3dgpt-cloud` and two daemons of their own with key files: A driven by the CLI, B by
    the extension (over its socket)."""
    import subprocess
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests" / "cloud"))
    from cloudclient import Server

    binary = Path(os.environ["THREEDGPT_DAEMON"])
    cloud = Server(tmp_path / "cloud")
    daemons, envs = [], {}
    for name in ("a", "b"):
        runtime, data = tmp_path / f"{name}-runtime", tmp_path / f"{name}-data"
        runtime.mkdir(mode=0o700)
        env = {**os.environ, "THREEDGPT_RUNTIME_DIR": str(runtime), "THREEDGPT_DATA_DIR": str(data)}
        daemons.append(
            subprocess.Popen(
                [str(binary), "serve", "--idle-timeout", "0", "--sync-interval", "3600", "--key-file",
                 str(data / "history.key")],
                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        )  # fmt: skip
        envs[name] = env
        deadline = time.monotonic() + 30
        while not (runtime / "daemon.sock").exists():
            assert time.monotonic() < deadline, "the daemon did not start"
            time.sleep(0.05)

    def cli(name: str, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run(
            [str(binary), *args], env=envs[name], input=stdin, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    yield cloud, cli, Path(envs["b"]["THREEDGPT_RUNTIME_DIR"]) / "daemon.sock"
    for daemon in daemons:
        daemon.terminate()
        daemon.wait(timeout=30)
    cloud.stop()


def test_the_account_panel_signs_in_shows_sync_and_other_devices_and_deletes_the_account(
    extension, session, two_devices, tmp_path
):
    cloud, cli, socket = two_devices
    password = "correct horse battery staple"
    cli("a", "account", "signup", "--server", cloud.base, "--email", "ada@example.com", "--name", "Ada",
        "--birth-date", "1990-05-17", "--password-stdin", "--device-name", "Ada's laptop",
        stdin=password + "\n")  # fmt: skip
    cli("a", "generate", str(EXAMPLES / "duck.png"), "-o", str(tmp_path / "a.glb"), "--faces", "1000", "--grid", "64")
    cli("a", "sync", "now")

    prefs = bpy.context.preferences.addons[MODULE].preferences
    prefs.connection, prefs.socket_path, prefs.autostart = "SOCKET", str(socket), False
    account_panel = extension.account.VIEW3D_PT_threedgpt_account
    assert ("operator", "threedgpt.account_refresh") in draw(account_panel)
    assert bpy.ops.threedgpt.account_refresh() == {"FINISHED"}
    signed_out = draw(account_panel)
    assert {("prop", "account_server"), ("prop", "account_email"), ("operator", "threedgpt.account_sign_in")} <= set(
        signed_out
    )
    prefs.account_server, prefs.account_email = cloud.base, "ada@example.com"
    with pytest.raises(RuntimeError, match="not right"):
        bpy.ops.threedgpt.account_sign_in(password="wrong password!")
    assert bpy.ops.threedgpt.account_sign_in(password=password) == {"FINISHED"}
    assert session.account.signed_in and session.account.email == "ada@example.com"
    # The password is kept nowhere: not on the operator, not in the preferences.
    last = bpy.context.window_manager.operator_properties_last("threedgpt.account_sign_in")
    assert last.password == ""
    assert password not in repr({key: getattr(prefs, key) for key in prefs.bl_rna.properties.keys()})

    assert bpy.ops.threedgpt.account_sync_now() == {"FINISHED"}
    assert session.sync.state == "idle" and session.sync.downloaded == 1
    signed_in = draw(account_panel)
    assert ("label", "Ada <ada@example.com>") in signed_in and ("label", "Free: 1 of 100 generations") in signed_in
    assert {("operator", "threedgpt.account_sync_now"), ("operator", "threedgpt.account_delete")} <= set(signed_in)
    # A generation made on another device lists with its device's name.
    assert bpy.ops.threedgpt.history_refresh() == {"FINISHED"}
    assert session.history[0].device == "Ada's laptop"
    assert ("label", "from Ada's laptop") in draw(extension.panels.VIEW3D_PT_threedgpt_history)

    # A privacy toggle is the account's: A sees it too.
    assert not session.settings.telemetry
    assert bpy.ops.threedgpt.account_setting(name="telemetry", value=True) == {"FINISHED"}
    assert session.settings.telemetry and session.settings.scope == "account"
    cli("a", "sync", "now")
    assert '"telemetry":true' in cli("a", "settings", "--json").replace(" ", "")

    # Deleting asks twice; the second question wants DELETE and the password.
    with pytest.raises(RuntimeError, match="Type DELETE"):
        bpy.ops.threedgpt.account_delete_confirm(password=password, confirm="delete")
    assert session.account.signed_in
    assert bpy.ops.threedgpt.account_delete_confirm(password=password, confirm="DELETE") == {"FINISHED"}
    assert not session.account.signed_in
    assert bpy.ops.threedgpt.history_refresh() == {"FINISHED"} and session.history == []
    prefs.connection, prefs.socket_path, prefs.autostart = "AUTO", "", True
