@tool
extends EditorScript
## A tool script over the ThreeDGpt class: a model for every picture in a folder, one after the
## other. Open it in the Script editor and press File > Run (Ctrl+Shift+X); the models go to
## res://generated and the editor imports them.

signal ended(outcome: String)

const PICTURES := "res://pictures"
const OPTIONS := {"faces": 5000, "texture_size": 1024}


func _run() -> void:
	var generator := ThreeDGpt.new()
	generator.progress.connect(func(stage, fraction, _queue): print("  %s, %d%%" % [stage, fraction * 100]))
	generator.finished.connect(func(path, _id): ended.emit(path))
	generator.failed.connect(func(message): ended.emit("failed: " + message))
	generator.cancelled.connect(func(): ended.emit("cancelled"))
	for name in DirAccess.get_files_at(PICTURES):
		if not name.get_extension().to_lower() in ["png", "jpg", "jpeg", "webp"]:
			continue
		print("3D GPT: generating from ", name)
		if not generator.generate(PICTURES.path_join(name), OPTIONS):
			continue
		print("3D GPT: ", await ended)
	EditorInterface.get_resource_filesystem().scan()
