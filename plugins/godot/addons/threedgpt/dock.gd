@tool
extends VBoxContainer
## The "3D GPT" dock: pick a picture, generate, watch the progress, cancel; the model is saved in
## the project, imported, and placed in the open scene with one click (undoable). The work runs in
## the native ThreeDGpt class off the main thread; its signals arrive here on the main thread.

## The model at `path` is generated and imported: it can be placed.
signal model_ready(path: String)

const IMAGE_EXTENSIONS := ["png", "jpg", "jpeg", "webp"]

var undo_redo: EditorUndoRedoManager
var generator: ThreeDGpt
var last_model := ""

var _image: LineEdit
var _model: OptionButton
var _background: OptionButton
var _shape: OptionButton
var _origin: OptionButton
var _faces: SpinBox
var _texture: OptionButton
## Pictures from the object's other sides, by side ("right", "back", "left", "top").
var _views := {}
var _sheet: CheckBox
var _generate: Button
var _cancel: Button
var _progress: ProgressBar
var _status: Label
var _place: Button
var _history: ItemList
var _history_entries: Array = []
var _file_dialog: EditorFileDialog


func _ready() -> void:
	generator = ThreeDGpt.new()
	generator.progress.connect(_on_progress)
	generator.warning.connect(_on_warning)
	generator.finished.connect(_on_finished)
	generator.failed.connect(_on_failed)
	generator.cancelled.connect(_on_cancelled)
	generator.options_loaded.connect(_on_options_loaded)
	generator.history_loaded.connect(_on_history_loaded)
	generator.deleted.connect(func(_id): refresh_history())
	_build()
	refresh()


func _exit_tree() -> void:
	if generator != null and generator.is_busy():
		generator.cancel()


## Asks the daemon again for its models and options, and for the history.
func refresh() -> void:
	_apply_settings()
	generator.load_options()
	refresh_history()


func refresh_history() -> void:
	_apply_settings()
	generator.load_history(int(_setting("3d_gpt/output/history_size", 12)))


## Starts a generation from the picture at `path` (or the one in the dock); false when it could not
## start (the reason is shown).
func generate(path := "") -> bool:
	if path != "":
		_image.text = path
	var image := _image.text.strip_edges()
	if image == "":
		_show_error("Choose a picture first: type its path, press \"…\", or select it in the FileSystem dock and press \"Selected\".")
		return false
	_apply_settings()
	var options := {
		"faces": int(_faces.value),
		"texture_size": _texture.get_item_id(_texture.selected) if _texture.item_count > 0 else null,
		"model": _choice(_model),
		"background": _choice(_background),
		"shape": _choice(_shape),
		"origin": _choice(_origin),
		"folder": _setting("3d_gpt/output/folder", "res://generated"),
	}
	if _sheet.button_pressed:
		options["sheet"] = true
	else:
		for side in _views:
			var view: String = _views[side].text.strip_edges()
			if view != "":
				options[side] = view
	if not generator.generate(image, options):
		return false
	last_model = ""
	_place.disabled = true
	_set_busy(true)
	_status.text = "Sending %s to the daemon…" % image.get_file()
	_progress.value = 0
	return true


func cancel() -> void:
	if generator.cancel():
		_status.text = "Cancelling…"
		_cancel.disabled = true


## Instances the model at the centre of the 3D view, as one undoable action; returns the new node.
func place_model(path := "") -> Node3D:
	if path == "":
		path = last_model
	var root := EditorInterface.get_edited_scene_root()
	if root == null:
		_show_error("Open a scene first: the model is placed in the open scene.")
		return null
	var scene := load(path) as PackedScene
	if scene == null:
		_show_error("%s is not imported as a scene; check the Import dock." % path)
		return null
	var node := scene.instantiate() as Node3D
	if node == null:
		_show_error("%s does not hold a 3D scene." % path)
		return null
	node.name = path.get_file().get_basename().validate_node_name()
	var parent: Node = root
	node.position = _view_centre()
	undo_redo.create_action("Place %s" % path.get_file(), UndoRedo.MERGE_DISABLE, root)
	undo_redo.add_do_method(parent, "add_child", node, true)
	undo_redo.add_do_method(node, "set_owner", root)
	undo_redo.add_do_reference(node)
	undo_redo.add_undo_method(parent, "remove_child", node)
	undo_redo.commit_action()
	EditorInterface.edit_node(node)
	return node


func _build() -> void:
	custom_minimum_size = Vector2(220, 0)
	add_child(_heading("Picture"))
	var picker := HBoxContainer.new()
	_image = LineEdit.new()
	_image.placeholder_text = "res://photo.png or /path/to/photo.jpg"
	_image.size_flags_horizontal = Control.SIZE_EXPAND_FILL
	_image.tooltip_text = "The picture to generate from: a res:// path or a file anywhere."
	picker.add_child(_image)
	picker.add_child(_button("…", "Choose a picture in the project or anywhere on disk.", _choose_file))
	picker.add_child(_button("Selected", "Use the picture selected in the FileSystem dock.", _use_selected))
	add_child(picker)

	var grid := GridContainer.new()
	grid.columns = 2
	_model = OptionButton.new()
	_model.tooltip_text = "The reconstructor: the built-in one, or an installed model."
	_background = OptionButton.new()
	_background.tooltip_text = "How the object is separated from its background."
	_faces = SpinBox.new()
	_faces.min_value = 100
	_faces.max_value = 5000000
	_faces.step = 100
	_faces.value = 20000
	_faces.tooltip_text = "Target triangle count of the mesh."
	_texture = OptionButton.new()
	_texture.tooltip_text = "Texture side in pixels."
	_shape = OptionButton.new()
	_shape.tooltip_text = "The solid made of the silhouette: auto (revolve a symmetric one, extrude a flat one, else relief), relief, revolve or extrude."
	_origin = OptionButton.new()
	_origin.tooltip_text = "Where the model's origin sits: bottom (it stands on the ground where it is placed) or center."
	for pair in [["Model", _model], ["Background", _background], ["Shape", _shape], ["Origin", _origin], ["Faces", _faces], ["Texture", _texture]]:
		var label := Label.new()
		label.text = pair[0]
		grid.add_child(label)
		pair[1].size_flags_horizontal = Control.SIZE_EXPAND_FILL
		grid.add_child(pair[1])
	add_child(grid)

	# FoldableContainer is Godot 4.5's; the addon loads in 4.2, so it is made by name when it exists.
	var views: Control = ClassDB.instantiate("FoldableContainer") if ClassDB.class_exists("FoldableContainer") else null
	var views_box := VBoxContainer.new()
	_sheet = CheckBox.new()
	_sheet.text = "Turnaround sheet"
	_sheet.tooltip_text = "The picture holds the front, right, back and left views side by side, in that order."
	views_box.add_child(_sheet)
	var views_grid := GridContainer.new()
	views_grid.columns = 2
	var hints := {
		"right": "A picture from the object's right: taken after moving the camera 90° to your right around it.",
		"back": "A picture from behind the object.",
		"left": "A picture from the object's left: the camera moved 90° to your left around it.",
		"top": "A picture from above, the front at the bottom of the picture.",
	}
	for side in ["right", "back", "left", "top"]:
		var label := Label.new()
		label.text = side.capitalize()
		views_grid.add_child(label)
		var field := LineEdit.new()
		field.placeholder_text = "res://%s.png (optional)" % side
		field.tooltip_text = hints[side] + " It carves the shape and textures the side it sees."
		field.size_flags_horizontal = Control.SIZE_EXPAND_FILL
		views_grid.add_child(field)
		_views[side] = field
	_sheet.toggled.connect(func(on: bool):
		for side in _views:
			_views[side].editable = not on)
	views_box.add_child(views_grid)
	if views != null:
		views.set("title", "More views")
		views.set("folded", true)
		views.add_child(views_box)
		add_child(views)
	else:
		add_child(_heading("More views"))
		add_child(views_box)

	var actions := HBoxContainer.new()
	_generate = _button("Generate", "Generate a 3D model from the picture.", func(): generate())
	_generate.size_flags_horizontal = Control.SIZE_EXPAND_FILL
	_cancel = _button("Cancel", "Stop the generation; nothing is written.", cancel)
	_cancel.disabled = true
	actions.add_child(_generate)
	actions.add_child(_cancel)
	add_child(actions)
	_progress = ProgressBar.new()
	_progress.max_value = 100
	add_child(_progress)
	_status = Label.new()
	_status.autowrap_mode = TextServer.AUTOWRAP_WORD_SMART
	_status.text = "Ready."
	add_child(_status)
	_place = _button("Place in scene", "Instance the generated model at the centre of the 3D view (undo with Ctrl+Z).", func(): place_model())
	_place.disabled = true
	add_child(_place)

	var header := HBoxContainer.new()
	var history_label := _heading("History")
	history_label.size_flags_horizontal = Control.SIZE_EXPAND_FILL
	header.add_child(history_label)
	header.add_child(_button("Refresh", "Ask the daemon for its models and the newest generations.", refresh))
	add_child(header)
	_history = ItemList.new()
	_history.custom_minimum_size = Vector2(0, 160)
	_history.size_flags_vertical = Control.SIZE_EXPAND_FILL
	_history.fixed_icon_size = Vector2i(48, 48)
	_history.max_text_lines = 2
	_history.tooltip_text = "Recent generations in the daemon's history."
	add_child(_history)
	var history_actions := HBoxContainer.new()
	history_actions.add_child(_button("Re-import", "Save the selected generation into the project again and import it.", _reimport_selected))
	history_actions.add_child(_button("Delete", "Delete the selected generation from the history (the project's files stay).", _delete_selected))
	add_child(history_actions)

	_file_dialog = EditorFileDialog.new()
	_file_dialog.file_mode = EditorFileDialog.FILE_MODE_OPEN_FILE
	_file_dialog.access = EditorFileDialog.ACCESS_FILESYSTEM
	_file_dialog.filters = PackedStringArray(["*.png, *.jpg, *.jpeg, *.webp ; Pictures"])
	_file_dialog.file_selected.connect(func(path): _image.text = ProjectSettings.localize_path(path))
	add_child(_file_dialog)


func _heading(text: String) -> Label:
	var label := Label.new()
	label.text = text
	label.add_theme_font_size_override("font_size", 15)
	return label


func _button(text: String, tooltip: String, pressed: Callable) -> Button:
	var button := Button.new()
	button.text = text
	button.tooltip_text = tooltip
	button.pressed.connect(pressed)
	return button


func _choose_file() -> void:
	_file_dialog.popup_file_dialog()


func _use_selected() -> void:
	var paths: PackedStringArray = []
	if EditorInterface.has_method("get_selected_paths"):
		paths = EditorInterface.call("get_selected_paths")
	if paths.is_empty():
		paths = [EditorInterface.get_current_path()]
	for path in paths:
		if path.get_extension().to_lower() in IMAGE_EXTENSIONS:
			_image.text = path
			return
	_show_error("Select a picture (PNG, JPEG or WebP) in the FileSystem dock first.")


func _apply_settings() -> void:
	generator.socket_path = _setting("3d_gpt/connection/socket_path", "")
	generator.auto_start = _setting("3d_gpt/connection/auto_start", true)
	generator.daemon_program = _setting("3d_gpt/connection/daemon_program", "")


func _setting(name: String, fallback: Variant) -> Variant:
	var settings := EditorInterface.get_editor_settings()
	return settings.get_setting(name) if settings.has_setting(name) else fallback


func _choice(button: OptionButton) -> Variant:
	return button.get_item_text(button.selected) if button.selected >= 0 else null


func _set_busy(busy: bool) -> void:
	_generate.disabled = busy
	_cancel.disabled = not busy


func _show_error(message: String) -> void:
	_status.text = message
	push_error("3D GPT: " + message)


func _view_centre() -> Vector3:
	var viewport := EditorInterface.get_editor_viewport_3d(0)
	var camera := viewport.get_camera_3d() if viewport != null else null
	if camera == null or not camera.is_inside_tree():
		return Vector3.ZERO
	var origin := camera.global_position
	var forward := -camera.global_transform.basis.z
	# Where the view's centre meets the ground, when it looks down at it nearby; else in front.
	if forward.y < -0.05:
		var distance := -origin.y / forward.y
		if distance > 0.0 and distance < 100.0:
			return origin + forward * distance
	return origin + forward * 3.0


func _on_progress(stage: String, fraction: float, queue_position: int) -> void:
	_progress.value = fraction * 100.0
	_status.text = stage if queue_position == 0 else "%s (place %d in the queue)" % [stage, queue_position]


func _on_warning(message: String) -> void:
	_status.text = message


func _on_failed(message: String) -> void:
	# ThreeDGpt has written it to the Output panel already.
	_set_busy(generator.is_busy())
	_status.text = message


func _on_cancelled() -> void:
	_set_busy(false)
	_progress.value = 0
	_status.text = "Cancelled; nothing was written."


func _on_finished(path: String, _generation_id: String) -> void:
	_set_busy(false)
	_progress.value = 100
	_status.text = "Importing %s…" % path
	if not path.begins_with("res://"):
		# A folder outside the project: saved, but not the editor's to import.
		_status.text = "Saved %s (outside the project, so the editor does not import it)." % path
		refresh_history()
		return
	var file_system := EditorInterface.get_resource_filesystem()
	file_system.update_file(path)
	file_system.scan()
	var deadline := Time.get_ticks_msec() + 120000
	while (file_system.is_scanning() or not ResourceLoader.exists(path)) and Time.get_ticks_msec() < deadline:
		await get_tree().process_frame
	if not ResourceLoader.exists(path):
		_show_error("%s was written but the editor did not import it; see the Output panel." % path)
		return
	last_model = path
	_place.disabled = false
	_status.text = "Generated %s. Press \"Place in scene\" to add it." % path
	print("3D GPT: generated ", path)
	refresh_history()
	model_ready.emit(path)


func _on_options_loaded(table: Dictionary) -> void:
	_fill(_model, table["models"])
	_fill(_background, table["backgrounds"])
	_fill(_shape, table["shapes"])
	_fill(_origin, table["origins"])
	var faces: Dictionary = table["faces"]
	_faces.min_value = faces["min"]
	_faces.max_value = faces["max"]
	_faces.value = faces["default"]
	_texture.clear()
	for size in table["texture_sizes"]:
		_texture.add_item("%d × %d" % [size, size], size)
	_texture.select(_texture.get_item_index(table["texture_size"]))


func _fill(button: OptionButton, names: PackedStringArray) -> void:
	var previous := _choice(button)
	button.clear()
	for name in names:
		button.add_item(name)
		if name == previous:
			button.select(button.item_count - 1)


func _on_history_loaded(entries: Array) -> void:
	_history_entries = entries
	_history.clear()
	for entry in entries:
		var icon: Texture2D = null
		var png: PackedByteArray = entry["thumbnail"]
		if not png.is_empty():
			var picture := Image.new()
			if picture.load_png_from_buffer(png) == OK:
				icon = ImageTexture.create_from_image(picture)
		var made := Time.get_datetime_string_from_unix_time(int(entry["created_unix_ms"] / 1000), true).left(16)
		var label := "%s\n%s · %d faces" % [entry["source"].get_file(), made, entry["faces"]]
		if entry.get("device", "") != "":
			label += "\nfrom %s" % entry["device"]
		var index := _history.add_item(label, icon)
		_history.set_item_tooltip(index, "%s (%s)" % [entry["source"].get_file(), entry["id"]])


func _selected_entry() -> Dictionary:
	var selected := _history.get_selected_items()
	if selected.is_empty():
		_show_error("Select a generation in the history first.")
		return {}
	return _history_entries[selected[0]]


func _reimport_selected() -> void:
	var entry := _selected_entry()
	if not entry.is_empty():
		_status.text = "Saving %s into the project…" % entry["source"].get_file()
		generator.reimport(entry["id"], entry["source"], _setting("3d_gpt/output/folder", "res://generated"))


func _delete_selected() -> void:
	var entry := _selected_entry()
	if not entry.is_empty():
		generator.delete_generation(entry["id"])
