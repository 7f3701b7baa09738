"""The "3D GPT" tab of the 3D View sidebar (with a History sub-panel) and the Image Editor's
"Generate 3D from this image" entry."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import bpy

from . import preferences, properties
from .operators import VIEW_SIDES
from .session import SESSION


class VIEW3D_PT_threedgpt(bpy.types.Panel):
    bl_label = "3D GPT"
    bl_idname = "VIEW3D_PT_threedgpt"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "3D GPT"

    def draw(self, context):
        layout = self.layout
        options = context.scene.threedgpt
        status = SESSION.status()

        layout.row().prop(options, "source", expand=True)
        if options.source == "FILE":
            layout.prop(options, "filepath", text="")
        else:
            layout.template_ID(options, "image", open="image.open")

        row = layout.row(align=True)
        row.prop(options, "model", text="Model")
        row.operator("threedgpt.refresh_models", text="", icon="FILE_REFRESH")

        column = layout.column(align=True)
        column.use_property_split = True
        column.use_property_decorate = False
        column.prop(options, "faces")
        column.prop(options, "texture_size")
        column.prop(options, "remove_background")
        column.prop(options, "foreground_ratio", slider=True)

        layout.separator()
        if status.busy:
            layout.progress(factor=status.fraction, type="BAR", text=status.label())
            if status.warning:
                _message(layout, status.warning, "ERROR")
            layout.operator("threedgpt.cancel", text="Cancel", icon="CANCEL")
        else:
            layout.operator("threedgpt.generate", text="Generate from image", icon="MESH_MONKEY")
            if status.state == "FAILED":
                _message(layout, status.message, "ERROR")
            elif status.state in {"FINISHED", "CANCELLED"}:
                _message(layout, status.message, "CHECKMARK" if status.state == "FINISHED" else "INFO")


class SubPanel:
    """What every sub-panel of the 3D GPT tab shares (closed at first)."""

    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "3D GPT"
    bl_parent_id = "VIEW3D_PT_threedgpt"
    bl_options = {"DEFAULT_CLOSED"}


class VIEW3D_PT_threedgpt_advanced(SubPanel, bpy.types.Panel):
    bl_label = "Advanced"
    bl_idname = "VIEW3D_PT_threedgpt_advanced"

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        options = context.scene.threedgpt
        layout.prop(options, "shape")
        layout.prop(options, "detail")
        layout.prop(options, "thickness")
        layout.prop(options, "origin")
        layout.prop(options, "segmentation")
        layout.prop(options, "depth")
        row = layout.row()
        row.enabled = bool(properties.chosen_models(options))
        row.prop(options, "device")
        layout.prop(preferences.get(context), "texture_storage")


class VIEW3D_PT_threedgpt_views(SubPanel, bpy.types.Panel):
    bl_label = "More views"
    bl_idname = "VIEW3D_PT_threedgpt_views"

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        options = context.scene.threedgpt
        layout.prop(options, "sheet")
        column = layout.column()
        column.enabled = not options.sheet
        for side in VIEW_SIDES:
            column.prop(options, f"view_{side}")


class VIEW3D_PT_threedgpt_history(SubPanel, bpy.types.Panel):
    bl_label = "History"
    bl_idname = "VIEW3D_PT_threedgpt_history"

    def draw(self, context):
        layout = self.layout
        layout.operator("threedgpt.history_refresh", text="Refresh", icon="FILE_REFRESH")
        if not SESSION.history:
            layout.label(text="No generations loaded")
            return
        previews = SESSION.previews
        for entry in SESSION.history:
            box = layout.box()
            row = box.row()
            preview = previews.get(entry.id) if previews is not None else None
            if preview is not None:
                row.template_icon(icon_value=preview.icon_id, scale=3.0)
            column = row.column(align=True)
            column.label(text=Path(entry.source).name)
            when = datetime.fromtimestamp(entry.created).strftime("%Y-%m-%d %H:%M")
            column.label(text=f"{when} · {entry.faces or 0} faces")
            if entry.device:
                column.label(text=f"from {entry.device}", icon="LINKED")
            buttons = column.row(align=True)
            buttons.operator("threedgpt.history_import", text="Import", icon="IMPORT").id = entry.id
            buttons.operator("threedgpt.history_delete", text="", icon="TRASH").id = entry.id


def _message(layout, text: str, icon: str) -> None:
    box = layout.box()
    words = text.split()
    line, first = "", True
    for word in words:  # The sidebar is narrow: wrap at about 40 characters.
        if line and len(line) + len(word) > 40:
            box.label(text=line, icon=icon if first else "BLANK1")
            line, first = "", False
        line = f"{line} {word}".strip()
    if line:
        box.label(text=line, icon=icon if first else "BLANK1")


def image_editor_menu(self, context):
    self.layout.separator()
    operator = self.layout.operator("threedgpt.generate", text="Generate 3D from this image", icon="MESH_MONKEY")
    operator.use_active_image = True


classes = (
    VIEW3D_PT_threedgpt,
    VIEW3D_PT_threedgpt_advanced,
    VIEW3D_PT_threedgpt_views,
    VIEW3D_PT_threedgpt_history,
)


def register():
    for cls in classes:
        bpy.utils.register_class(cls)
    bpy.types.IMAGE_MT_image.append(image_editor_menu)


def unregister():
    bpy.types.IMAGE_MT_image.remove(image_editor_menu)
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
