"""The Godot plugin in a real Godot 4 editor: each test opens a fresh project with the addon
enabled, runs one GDScript test inside the editor (tests/project/addons/threedgpt_tests/runner.gd)
against a real daemon, and asserts its exit status and what it printed."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

from conftest import ARTIFACTS, ROOT, Editor


def passed(result: subprocess.CompletedProcess, test: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"exit {result.returncode}\n{output[-6000:]}"
    assert f"PASS {test}" in result.stdout, output[-6000:]
    # The editor never crashed or reported a script error along the way.
    assert "SCRIPT ERROR" not in output, output[-6000:]
    assert "Parse Error" not in output, output[-6000:]
    assert "handle_crash" not in output, output[-6000:]


def test_the_editor_loads_the_plugin_and_shows_the_dock_with_the_daemons_choices(editor: Editor):
    # The editor drawn (software OpenGL on a virtual screen), so the dock's picture is kept.
    screenshot = editor.folder / "dock.png"
    result = editor.run("dock", f"--screenshot={screenshot}", drawn=True)
    passed(result, "dock")
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy2(screenshot, ARTIFACTS / "dock.png")
    version = subprocess.run(
        [str(ROOT / "scripts" / "godot"), str(editor.godot), "--headless", "--version"], capture_output=True, text=True
    )
    # Only 4.6 can be installed here; the library claims 4.2 (api-4-2 build) and loads in 4.6.
    assert version.stdout.startswith("4."), version.stdout


def test_generate_from_a_tool_script_imports_a_textured_model_with_the_faces_asked_for(editor: Editor):
    result = editor.run("generate")
    passed(result, "generate")
    generated = editor.project / "generated"
    assert (generated / "duck.glb").read_bytes()[:4] == b"glTF"
    assert (generated / "duck-2.glb").is_file()
    # The editor imported it (its import record and the imported scene).
    assert (generated / "duck.glb.import").is_file()
    # No user's path leaks into the asset.
    assert str(editor.folder).encode() not in (generated / "duck.glb").read_bytes()


def test_views_from_the_right_and_back_give_a_cube_its_depth(editor: Editor):
    passed(editor.run("views"), "views")
    assert (editor.project / "generated" / "cube_front.glb").is_file()


def test_the_dock_generates_imports_and_places_the_model_with_undo(editor: Editor):
    passed(editor.run("dock_generate"), "dock_generate")
    assert (editor.project / "generated" / "duck.glb").is_file()


def test_cancel_leaves_no_file_behind(editor: Editor):
    passed(editor.run("cancel"), "cancel")
    assert not list((editor.project / "generated").glob("*")), list((editor.project / "generated").iterdir())


def test_a_missing_daemon_gives_a_readable_failure(editor: Editor):
    passed(editor.run("missing_daemon"), "missing_daemon")


def test_the_daemon_killed_mid_job_fails_the_job_and_the_next_one_works(editor: Editor):
    result = editor.run("daemon_killed", f"--daemon-pid={editor.daemon.pid}", f"--daemon-program={editor.binary}")
    passed(result, "daemon_killed")
    editor.daemon.wait(timeout=10)
    assert editor.daemon.returncode != 0
    assert len(list((editor.project / "generated").glob("*.glb"))) == 1


def test_the_addon_says_it_loads_in_godot_4_2_and_later_and_is_built_with_api_4_2(addon: Path):
    gdextension = (addon / "addons" / "threedgpt" / "threedgpt.gdextension").read_text()
    assert re.search(r"^compatibility_minimum = 4\.2$", gdextension, re.MULTILINE)
    assert re.search(r"^reloadable = true$", gdextension, re.MULTILINE)
    assert 'entry_symbol = "gdext_rust_init"' in gdextension
    manifest = (ROOT / "plugins" / "godot" / "native" / "Cargo.toml").read_text()
    assert re.search(r'godot = \{[^}]*features = \["api-4-2"\]', manifest), manifest
    # The zip for the Asset Library holds the addon folder, the library included.
    (archive,) = addon.glob("threedgpt-godot-*.zip")
    names = zipfile.ZipFile(archive).namelist()
    for name in [
        "plugin.cfg",
        "plugin.gd",
        "dock.gd",
        "dock.tscn",
        "threedgpt.gdextension",
        "bin/libthreedgpt_godot.linux.x86_64.so",
    ]:
        assert f"addons/threedgpt/{name}" in names, names
