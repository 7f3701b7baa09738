"""Operators: generate (from the sidebar or the Image Editor), cancel, models, history."""

from __future__ import annotations

import os
import tempfile
from array import array
from pathlib import Path

import bpy
from bpy.props import BoolProperty, EnumProperty, StringProperty

from . import preferences
from .session import SESSION, Request

HISTORY_SHOWN = 12


class THREEDGPT_OT_generate(bpy.types.Operator):
    """Generate a textured 3D model from the picture and import it at the 3D cursor"""

    bl_idname = "threedgpt.generate"
    bl_label = "Generate from image"
    bl_options = {"REGISTER"}

    use_active_image: BoolProperty(
        name="Use the Image Editor's image",
        default=False,
        options={"HIDDEN", "SKIP_SAVE"},
    )

    @classmethod
    def poll(cls, context):
        if SESSION.status().busy:
            cls.poll_message_set("A generation is running")
            return False
        return True

    def execute(self, context):
        options = context.scene.threedgpt
        prefs = preferences.get(context)
        try:
            if self.use_active_image:
                image = getattr(context.space_data, "image", None) or getattr(context, "edit_image", None)
                if image is None:
                    raise ValueError("Open an image in the Image Editor first")
                name, source = image_source(image)
            elif options.source == "IMAGE":
                if options.image is None:
                    raise ValueError("Choose an image in the 3D GPT panel first")
                name, source = image_source(options.image)
            else:
                name, source = file_source(options.filepath)
            request = Request(
                name=name,
                image=source,
                options=generation_options(options) | view_options(options),
                connect=preferences.connect_arguments(prefs),
                texture_storage=prefs.texture_storage,
                location=tuple(context.scene.cursor.location),
                scene_name=context.scene.name,
            )
            SESSION.start(request)
        except (ValueError, RuntimeError) as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        self.report({"INFO"}, f"3D GPT: generating from {name}")
        return {"FINISHED"}


VIEW_SIDES = ("right", "back", "left", "top")


def view_options(options) -> dict:
    """The other views the user gave (by path), or that the picture is a turnaround sheet."""
    if options.sheet:
        return {"sheet": True}
    views = {}
    for side in VIEW_SIDES:
        filepath = getattr(options, f"view_{side}")
        if filepath.strip():
            path = Path(bpy.path.abspath(filepath))
            if not path.is_file():
                raise ValueError(f"The {side} picture {path} does not exist")
            views[side] = str(path)
    return views


def file_source(filepath: str) -> tuple[str, str]:
    if not filepath.strip():
        raise ValueError("Choose a picture in the 3D GPT panel first")
    path = Path(bpy.path.abspath(filepath))
    if not path.is_file():
        raise ValueError(f"The picture {path} does not exist")
    return path.name, str(path)


def image_source(image: bpy.types.Image) -> tuple[str, str | bytes]:
    """The picture behind a Blender image: its file when unchanged on disk, its packed bytes, or a
    PNG copy of its pixels."""
    name = image.name
    if image.packed_file is not None:
        return name, bytes(image.packed_file.data)
    if image.source == "FILE" and image.filepath and not image.is_dirty:
        path = Path(bpy.path.abspath(image.filepath, library=image.library))
        if path.is_file():
            return path.name, str(path)
    if not image.has_data and image.source not in {"GENERATED", "FILE"}:
        raise ValueError(f"The image {name!r} holds no pixels to generate from")
    handle, temporary = tempfile.mkstemp(prefix="3dgpt-image-", suffix=".png")
    os.close(handle)
    try:
        # The pixels as they are (no view transform), as a PNG the daemon reads.
        previous = image.file_format
        image.file_format = "PNG"
        try:
            image.save(filepath=temporary, save_copy=True)
        finally:
            image.file_format = previous
        data = Path(temporary).read_bytes()
    except RuntimeError as error:
        raise ValueError(f"Could not read the pixels of {name!r}: {error}") from error
    finally:
        Path(temporary).unlink(missing_ok=True)
    return f"{Path(name).stem}.png", data


def generation_options(options, table: dict | None = None) -> dict:
    """The options to send: only those that differ from the daemon's defaults (the daemon fills
    in the rest), and the learned models chosen."""
    from . import properties

    table = table or SESSION.option_table()
    values = {
        "faces": options.faces,
        "texture_size": int(options.texture_size),
        "foreground_ratio": options.foreground_ratio,
        "grid": options.detail,
        "thickness": options.thickness,
        "shape": options.shape.lower(),
        "origin": options.origin.lower(),
    }
    chosen = {}
    for name, value in values.items():
        default = properties.spec(table, name)["default"]
        if isinstance(value, str):
            if value != default:
                chosen[name] = value
        elif abs(value - default) > 1e-6 * max(1.0, abs(default)):
            chosen[name] = value
    models = properties.chosen_models(options)
    if "background" not in models and not options.remove_background:
        chosen["background"] = "keep"
    chosen.update(models)
    if models:
        chosen["device"] = options.device.lower()
    return chosen


class THREEDGPT_OT_cancel(bpy.types.Operator):
    """Cancel the running generation"""

    bl_idname = "threedgpt.cancel"
    bl_label = "Cancel"
    bl_options = {"INTERNAL"}

    def execute(self, context):
        if not SESSION.cancel():
            self.report({"WARNING"}, "No generation is running")
            return {"CANCELLED"}
        return {"FINISHED"}


class THREEDGPT_OT_report(bpy.types.Operator):
    """Shows a message from 3D GPT in the status bar and the Info editor"""

    bl_idname = "threedgpt.report"
    bl_label = "3D GPT message"
    bl_options = {"INTERNAL"}

    level: EnumProperty(items=[(level, level, "") for level in ("INFO", "WARNING", "ERROR")], default="INFO")
    message: StringProperty()

    def execute(self, context):
        self.report({self.level}, self.message)
        return {"FINISHED"}


def _client(context):
    import threedgpt

    return threedgpt.Client(**preferences.connect_arguments(preferences.get(context)))


class THREEDGPT_OT_refresh_models(bpy.types.Operator):
    """Ask the daemon which models are installed"""

    bl_idname = "threedgpt.refresh_models"
    bl_label = "Refresh models"
    bl_options = {"INTERNAL"}

    def execute(self, context):
        import threedgpt

        try:
            SESSION._refresh_models(_client(context))
        except threedgpt.ThreeDGptError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        SESSION.apply_table()
        return {"FINISHED"}


class THREEDGPT_OT_history_refresh(bpy.types.Operator):
    """Load the recent generations from the daemon's history"""

    bl_idname = "threedgpt.history_refresh"
    bl_label = "Refresh history"
    bl_options = {"INTERNAL"}

    def execute(self, context):
        import threedgpt

        try:
            client = _client(context)
            entries = client.history(limit=HISTORY_SHOWN)
            previews = _previews()
            for entry in entries:
                if entry.id in previews:
                    continue
                try:
                    load_preview(previews, entry.id, client.download(entry.id, "thumbnail"))
                except (threedgpt.ThreeDGptError, RuntimeError):
                    pass  # An entry without a thumbnail still lists.
        except threedgpt.ThreeDGptError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        SESSION.history = entries
        return {"FINISHED"}


def load_preview(previews, key: str, png: bytes) -> None:
    """Shows PNG bytes as the preview `key`, decoded in memory: the decrypted thumbnail never
    touches the disk. Blender decodes it as a packed image, whose pixels go into the preview;
    the image is removed again."""
    image = bpy.data.images.new(f".3dgpt-thumbnail-{key}", 1, 1)
    try:
        image.pack(data=png, data_len=len(png))
        image.source = "FILE"
        width, height = image.size
        if width == 0 or height == 0:
            raise RuntimeError("the thumbnail could not be decoded")
        pixels = array("f", bytes(4 * width * height * 4))
        image.pixels.foreach_get(pixels)
        preview = previews.new(key)
        preview.image_size = (width, height)
        preview.image_pixels_float.foreach_set(pixels)
    finally:
        bpy.data.images.remove(image)


def _previews():
    if SESSION.previews is None:
        from bpy.utils import previews

        SESSION.previews = previews.new()
    return SESSION.previews


class THREEDGPT_OT_history_import(bpy.types.Operator):
    """Import this generation again at the 3D cursor"""

    bl_idname = "threedgpt.history_import"
    bl_label = "Import"
    bl_options = {"REGISTER", "UNDO"}

    id: StringProperty(options={"HIDDEN"})

    def execute(self, context):
        import threedgpt

        from . import importer

        try:
            client = _client(context)
            entry = client.get(self.id)
            with tempfile.TemporaryDirectory(prefix="3dgpt-history-") as folder:
                path = Path(folder) / "model.glb"
                path.write_bytes(client.download(self.id))
                objects = importer.import_asset(
                    path,
                    name=Path(entry.source).name,
                    location=tuple(context.scene.cursor.location),
                    texture_storage=preferences.get(context).texture_storage,
                    scene_name=context.scene.name,
                    report=lambda level, message: self.report({level}, message),
                )
        except (threedgpt.ThreeDGptError, RuntimeError) as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Imported {objects[0].name}")
        return {"FINISHED"}


class THREEDGPT_OT_history_delete(bpy.types.Operator):
    """Delete this generation and its files from the history"""

    bl_idname = "threedgpt.history_delete"
    bl_label = "Delete"
    bl_options = {"INTERNAL"}

    id: StringProperty(options={"HIDDEN"})

    def invoke(self, context, event):
        return context.window_manager.invoke_confirm(self, event)

    def execute(self, context):
        import threedgpt

        try:
            _client(context).delete(self.id)
        except threedgpt.ThreeDGptError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        SESSION.history = [entry for entry in SESSION.history if entry.id != self.id]
        return {"FINISHED"}


classes = (
    THREEDGPT_OT_generate,
    THREEDGPT_OT_cancel,
    THREEDGPT_OT_report,
    THREEDGPT_OT_refresh_models,
    THREEDGPT_OT_history_refresh,
    THREEDGPT_OT_history_import,
    THREEDGPT_OT_history_delete,
)


def register():
    for cls in classes:
        bpy.utils.register_class(cls)


def unregister():
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
