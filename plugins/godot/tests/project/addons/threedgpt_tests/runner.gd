@tool
extends EditorPlugin
## Runs one test of the 3D GPT plugin inside the real editor, then quits: exit status 0 when it
## passed. Asked for on the command line after `--`: `--test=NAME`, and what the test needs
## (`--daemon-pid=N`, `--daemon-program=PATH`, `--picture=res://…`, `--screenshot=PATH`).
## Each test prints what it checks; a failure prints `FAIL: reason`.

const TIMEOUT_MS := 240000

var arguments := {}
var failure := ""


func _enter_tree() -> void:
	for argument in OS.get_cmdline_user_args():
		if argument.begins_with("--") and "=" in argument:
			var pair: PackedStringArray = argument.substr(2).split("=", true, 1)
			arguments[pair[0]] = pair[1]
	if arguments.has("test"):
		_run.call_deferred(arguments["test"])


func _run(test: String) -> void:
	var file_system := EditorInterface.get_resource_filesystem()
	while file_system.is_scanning():
		await get_tree().process_frame
	print("TEST ", test)
	match test:
		"dock":
			await test_dock()
		"generate":
			await test_generate()
		"views":
			await test_views()
		"dock_generate":
			await test_dock_generate()
		"cancel":
			await test_cancel()
		"missing_daemon":
			await test_missing_daemon()
		"daemon_killed":
			await test_daemon_killed()
		_:
			failure = "no test called " + test
	if failure == "":
		print("PASS ", test)
		get_tree().quit(0)
	else:
		printerr("FAIL: ", failure)
		get_tree().quit(1)


func check(condition: bool, what: String) -> bool:
	if not condition and failure == "":
		failure = what
	elif condition:
		print("ok: ", what)
	return condition


## Waits until `signals` (on `object`) has one of its signals emitted; returns [name, arguments].
func wait_for(object: Object, signals: Array, timeout_ms := TIMEOUT_MS) -> Array:
	var caught := []
	var handlers := {}
	for name in signals:
		var handler := func(a = null, b = null, c = null):
			if caught.is_empty():
				caught.append_array([name, [a, b, c]])
		handlers[name] = handler
		object.connect(name, handler)
	var deadline := Time.get_ticks_msec() + timeout_ms
	while caught.is_empty() and Time.get_ticks_msec() < deadline:
		await get_tree().process_frame
	for name in signals:
		object.disconnect(name, handlers[name])
	if caught.is_empty():
		return ["timeout", []]
	return caught


func dock() -> Control:
	return EditorInterface.get_base_control().find_child("3D GPT", true, false) as Control


func generated_files() -> PackedStringArray:
	var found: PackedStringArray = []
	var folder := DirAccess.open("res://generated")
	if folder != null:
		for name in folder.get_files():
			if name.ends_with(".glb") or name.ends_with(".partial") or name.contains(".tmp"):
				found.append(name)
	return found


## The plugin is enabled, its native library loaded and its dock present, with the daemon's choices.
func test_dock() -> void:
	check(ClassDB.class_exists("ThreeDGpt"), "the native class ThreeDGpt is registered")
	var extensions := GDExtensionManager.get_loaded_extensions()
	check("res://addons/threedgpt/threedgpt.gdextension" in extensions, "the extension is loaded: %s" % [extensions])
	var config := ConfigFile.new()
	check(config.load("res://addons/threedgpt/threedgpt.gdextension") == OK, "the .gdextension file reads")
	check(str(config.get_value("configuration", "compatibility_minimum")) == "4.2", "compatibility_minimum = 4.2")
	check(config.get_value("configuration", "reloadable") == true, "reloadable = true")
	check(EditorInterface.is_plugin_enabled("threedgpt"), "the 3D GPT plugin is enabled")
	var panel := dock()
	if not check(panel != null, "the 3D GPT dock is in the editor"):
		return
	check(panel.is_inside_tree(), "the dock is in the editor's tree")
	check(panel.generator is ThreeDGpt, "the dock drives a ThreeDGpt")
	var settings := EditorInterface.get_editor_settings()
	for name in ["3d_gpt/connection/socket_path", "3d_gpt/connection/auto_start", "3d_gpt/output/folder"]:
		check(settings.has_setting(name), "Editor Settings has " + name)
	# The dock asked the daemon for its models when it opened.
	var deadline := Time.get_ticks_msec() + 30000
	while panel._model.item_count == 0 and Time.get_ticks_msec() < deadline:
		await get_tree().process_frame
	check(panel._model.item_count > 0 and panel._model.get_item_text(0) == "relief", "the model list comes from the daemon")
	check(panel._texture.item_count >= 4, "the texture sizes come from the daemon")
	check(panel._shape.item_count == 4 and panel._shape.get_item_text(panel._shape.selected) == "auto", "the shapes come from the daemon, auto chosen")
	check(panel._origin.item_count == 2 and panel._origin.get_item_text(panel._origin.selected) == "bottom", "the origins come from the daemon, bottom chosen")
	check(panel._views.size() == 4 and panel._views.has("right") and panel._sheet != null, "the dock takes pictures from the other sides or a sheet")
	# The picture selected in the FileSystem dock.
	EditorInterface.select_file("res://pictures/duck.png")
	await get_tree().process_frame
	panel._use_selected()
	check(panel._image.text == "res://pictures/duck.png", "Selected takes the FileSystem dock's picture: " + panel._image.text)
	if arguments.has("screenshot"):
		# The dock's tab in front, a picture chosen, and the editor done loading.
		# (Godot 4.6 wraps a dock in an EditorDock inside the slot's tabs.)
		var tab: Node = panel
		while tab.get_parent() != null and not tab.get_parent() is TabContainer:
			tab = tab.get_parent()
		if tab.has_method("make_visible"):
			tab.call("make_visible")
		elif tab.get_parent() is TabContainer:
			tab.get_parent().current_tab = tab.get_index()
		panel._image.text = "res://pictures/duck.png"
		var settle := Time.get_ticks_msec() + 3000
		while Time.get_ticks_msec() < settle:
			await get_tree().process_frame
		var picture := EditorInterface.get_base_control().get_viewport().get_texture().get_image()
		check(picture != null and picture.save_png(arguments["screenshot"]) == OK, "the editor's screenshot is saved")


## ThreeDGpt.generate from a tool script: progress, a .glb under res://generated, imported with the
## faces asked for and a textured material; a second one never overwrites the first.
func test_generate() -> void:
	var generator := ThreeDGpt.new()
	var progress := []
	generator.progress.connect(func(stage, fraction, position): progress.append([stage, fraction, position]))
	check(generator.generate(arguments.get("picture", "res://pictures/duck.png"), {"faces": 2000, "texture_size": 256}), "generate starts")
	check(generator.is_busy(), "the generator is busy")
	var outcome := await wait_for(generator, ["finished", "failed", "cancelled"])
	if not check(outcome[0] == "finished", "the generation finished: %s" % [outcome]):
		return
	var path: String = outcome[1][0]
	check(path == "res://generated/duck.glb", "the model is res://generated/duck.glb: " + path)
	check(not progress.is_empty(), "progress was reported (%d updates)" % progress.size())
	check(not generator.is_busy(), "the generator is idle again")
	await check_imported(path, 2000)

	# The same picture again: a new name, the first model untouched.
	generator.generate("res://pictures/duck.png", {"faces": 2000, "texture_size": 256})
	outcome = await wait_for(generator, ["finished", "failed"])
	check(outcome[0] == "finished" and outcome[1][0] == "res://generated/duck-2.glb", "a second model is duck-2.glb: %s" % [outcome])

	# Bad options are refused before anything is sent, with the option's name.
	var failed := []
	generator.failed.connect(func(message): failed.append(message))
	check(not generator.generate("res://pictures/duck.png", {"texture_size": 1000}), "a bad option is refused")
	check(failed.size() == 1 and failed[0].begins_with("texture_size = 1000: 1000 is not one of"), "the refusal names the option: %s" % [failed])

	# The documented example tool script (plugins/godot/examples) does the same for a folder.
	var example = load("res://tools/batch_generate.gd").new()
	await example._run()
	check(FileAccess.file_exists("res://generated/duck-3.glb"), "the example tool script wrote duck-3.glb")


func test_views() -> void:
	var generator := ThreeDGpt.new()
	var options := {"faces": 2000, "texture_size": 256, "right": "res://pictures/cube.right.png", "back": "res://pictures/cube.back.png"}
	check(generator.generate("res://pictures/cube.front.png", options), "generate with views starts")
	var outcome := await wait_for(generator, ["finished", "failed", "cancelled"])
	if not check(outcome[0] == "finished", "the generation with views finished: %s" % [outcome]):
		return
	var path: String = outcome[1][0]
	await check_imported(path, 2000)
	var root := (load(path) as PackedScene).instantiate()
	var instance: MeshInstance3D = root.find_children("*", "MeshInstance3D", true, false)[0]
	var size := instance.get_aabb().size
	check(abs(size.z - size.x) < 0.05 * size.x, "the right view gives the cube its depth: %s" % size)
	root.free()

	# A missing view is named before anything is sent to the daemon.
	var failed := []
	generator.failed.connect(func(message): failed.append(message))
	generator.generate("res://pictures/cube.front.png", {"left": "res://pictures/none.png"})
	await wait_for(generator, ["failed", "finished"])
	check(failed.size() == 1 and failed[0].begins_with("The left picture"), "the missing view is named: %s" % [failed])


## The editor imports the model: a scene with a MeshInstance3D of about `faces` triangles and a
## material with a texture.
func check_imported(path: String, faces: int) -> void:
	var file_system := EditorInterface.get_resource_filesystem()
	file_system.scan()
	var deadline := Time.get_ticks_msec() + 120000
	while (file_system.is_scanning() or not ResourceLoader.exists(path)) and Time.get_ticks_msec() < deadline:
		await get_tree().process_frame
	var scene := load(path) as PackedScene
	if not check(scene != null, "the editor imported %s as a scene" % path):
		return
	var root := scene.instantiate()
	var meshes := root.find_children("*", "MeshInstance3D", true, false)
	if check(meshes.size() == 1, "the scene holds one MeshInstance3D (%d)" % meshes.size()):
		var instance: MeshInstance3D = meshes[0]
		var mesh := instance.mesh
		var triangles := 0
		for surface in mesh.get_surface_count():
			var arrays := mesh.surface_get_arrays(surface)
			var indices = arrays[Mesh.ARRAY_INDEX]
			triangles += (indices.size() if indices != null else arrays[Mesh.ARRAY_VERTEX].size()) / 3
		check(abs(triangles - faces) <= faces / 100, "the mesh has %d triangles, within 1%% of %d" % [triangles, faces])
		var material := instance.get_active_material(0) as BaseMaterial3D
		check(material != null and material.albedo_texture != null, "its material has a texture")
	root.free()


## The dock end to end: generate, import, place in the open scene at the view's centre, undo, redo.
func test_dock_generate() -> void:
	var panel := dock()
	if not check(panel != null, "the dock is present"):
		return
	EditorInterface.open_scene_from_path("res://scenes/empty.tscn")
	await get_tree().process_frame
	var root := EditorInterface.get_edited_scene_root()
	if not check(root != null and root.name == "Level", "the test scene is open"):
		return
	panel._faces.value = 1000
	check(panel.generate("res://pictures/duck.png"), "the dock starts generating")
	check(panel._cancel.disabled == false and panel._generate.disabled, "Generate is disabled and Cancel enabled while it runs")
	var outcome := await wait_for(panel, ["model_ready"])
	if not check(outcome[0] == "model_ready", "the dock imported the model: %s (status: %s)" % [outcome, panel._status.text]):
		return
	check(not panel._place.disabled, "Place in scene is enabled")
	var node: Node3D = panel.place_model()
	if not check(node != null and node.get_parent() == root, "the model is placed in the open scene"):
		return
	check(node.owner == root, "it is owned by the scene (it is saved with it)")
	check(node.position.is_equal_approx(panel._view_centre()), "it stands at the 3D view's centre: %s" % node.position)
	check(node.find_children("*", "MeshInstance3D", true, false).size() == 1, "it holds the mesh")
	var history: UndoRedo = panel.undo_redo.get_history_undo_redo(panel.undo_redo.get_object_history_id(root))
	history.undo()
	check(not is_instance_valid(node) or node.get_parent() == null, "undo removes it")
	history.redo()
	check(is_instance_valid(node) and node.get_parent() == root, "redo puts it back")
	# The history list shows the generation with its thumbnail.
	var deadline := Time.get_ticks_msec() + 30000
	while panel._history.item_count == 0 and Time.get_ticks_msec() < deadline:
		await get_tree().process_frame
	if not check(panel._history.item_count == 1, "the history lists the generation"):
		return
	check(panel._history.get_item_icon(0) != null, "with a thumbnail")
	check(not panel._history.get_item_text(0).contains("from "), "made here: no other device named")
	# Re-import: the generation saved into the project again, under a new name, and imported.
	panel._history.select(0)
	panel._reimport_selected()
	outcome = await wait_for(panel, ["model_ready"])
	check(outcome[0] == "model_ready" and outcome[1][0] == "res://generated/duck-2.glb", "re-import saves duck-2.glb: %s" % [outcome])
	check(ResourceLoader.exists("res://generated/duck-2.glb"), "and the editor imported it")
	# Delete: gone from the history, the project's files stay.
	panel._history.select(0)
	panel._delete_selected()
	deadline = Time.get_ticks_msec() + 30000
	while panel._history.item_count != 0 and Time.get_ticks_msec() < deadline:
		await get_tree().process_frame
	check(panel._history.item_count == 0, "delete removes it from the history")
	check(FileAccess.file_exists("res://generated/duck.glb"), "the project's file stays")


## A generator running a job big enough to be stopped halfway, once its first progress came.
func start_long_job() -> ThreeDGpt:
	var generator := ThreeDGpt.new()
	var started := []
	generator.progress.connect(func(stage, fraction, position): started.append(stage))
	generator.generate("res://pictures/duck.png", {"faces": 200000, "texture_size": 4096, "grid": 512})
	var deadline := Time.get_ticks_msec() + 60000
	while started.is_empty() and Time.get_ticks_msec() < deadline:
		await get_tree().process_frame
	check(not started.is_empty(), "the job started")
	return generator


## Cancel stops the job and leaves no file behind.
func test_cancel() -> void:
	var generator: ThreeDGpt = await start_long_job()
	check(generator.cancel(), "cancel is accepted")
	var outcome := await wait_for(generator, ["finished", "failed", "cancelled"])
	check(outcome[0] == "cancelled", "the cancelled signal came: %s" % [outcome])
	check(not generator.is_busy(), "the generator is idle again")
	check(generated_files().is_empty(), "no file is left behind: %s" % [generated_files()])
	check(not generator.cancel(), "cancel with nothing running returns false")


## No daemon: a readable failure, the editor carries on.
func test_missing_daemon() -> void:
	var generator := ThreeDGpt.new()
	generator.socket_path = "/nonexistent/3dgpt/daemon.sock"
	generator.auto_start = false
	generator.generate("res://pictures/duck.png", {})
	var outcome := await wait_for(generator, ["finished", "failed"], 60000)
	check(outcome[0] == "failed", "the failed signal came: %s" % [outcome])
	if outcome[0] == "failed":
		var message: String = outcome[1][0]
		check(message.begins_with("Could not reach the 3D GPT daemon at /nonexistent/3dgpt/daemon.sock"), "it says which daemon: " + message)
		check("3dgpt serve" in message, "it says what to do: " + message)
	# Auto-start with a program that is not there says so too.
	generator.auto_start = true
	generator.daemon_program = "/nonexistent/3dgpt"
	generator.generate("res://pictures/duck.png", {})
	outcome = await wait_for(generator, ["finished", "failed"], 60000)
	check(outcome[0] == "failed" and "/nonexistent/3dgpt" in outcome[1][0], "a missing program is named: %s" % [outcome])
	check(generated_files().is_empty(), "nothing is written")


## The daemon dies mid-job: `failed`; the next generation starts a new daemon and works.
func test_daemon_killed() -> void:
	var generator: ThreeDGpt = await start_long_job()
	check(OS.kill(int(arguments["daemon-pid"])) == OK, "the daemon is killed")
	var outcome := await wait_for(generator, ["finished", "failed", "cancelled"], 60000)
	check(outcome[0] == "failed", "the failed signal came: %s" % [outcome])
	if outcome[0] == "failed":
		check("daemon" in outcome[1][0], "it says the daemon went away: " + outcome[1][0])
	check(not generator.is_busy(), "the generator is idle again")
	generator.auto_start = true
	generator.daemon_program = arguments["daemon-program"]
	generator.generate("res://pictures/duck.png", {"faces": 1000, "texture_size": 256})
	outcome = await wait_for(generator, ["finished", "failed"])
	check(outcome[0] == "finished", "the next generation works: %s" % [outcome])
