@tool
extends EditorPlugin
## The 3D GPT editor plugin: the "3D GPT" dock and its Editor Settings.

## Editor Settings: name, default, type, hint, hint string.
const SETTINGS := [
	["3d_gpt/connection/socket_path", "", TYPE_STRING, PROPERTY_HINT_GLOBAL_FILE, ""],
	["3d_gpt/connection/auto_start", true, TYPE_BOOL, PROPERTY_HINT_NONE, ""],
	["3d_gpt/connection/daemon_program", "", TYPE_STRING, PROPERTY_HINT_GLOBAL_FILE, ""],
	["3d_gpt/output/folder", "res://generated", TYPE_STRING, PROPERTY_HINT_DIR, ""],
	["3d_gpt/output/history_size", 12, TYPE_INT, PROPERTY_HINT_RANGE, "1,100"],
]

var dock: Control


func _enter_tree() -> void:
	var settings := EditorInterface.get_editor_settings()
	for entry in SETTINGS:
		if not settings.has_setting(entry[0]):
			settings.set_setting(entry[0], entry[1])
		settings.set_initial_value(entry[0], entry[1], false)
		settings.add_property_info({"name": entry[0], "type": entry[2], "hint": entry[3], "hint_string": entry[4]})
	if not ClassDB.class_exists("ThreeDGpt"):
		push_error("3D GPT: the native library did not load (addons/threedgpt/bin); reinstall the addon for this platform.")
		return
	# Loaded only now: the dock's script uses the native class, which must have loaded first.
	dock = load("res://addons/threedgpt/dock.tscn").instantiate()
	dock.undo_redo = get_undo_redo()
	# Below the Inspector, a slot that is empty by default: the dock is in view once enabled.
	add_control_to_dock(DOCK_SLOT_RIGHT_BL, dock)


func _exit_tree() -> void:
	if dock != null:
		remove_control_from_docks(dock)
		dock.queue_free()
		dock = null
