"""Brings a generated GLB into the scene: at the 3D cursor, named after the picture, selected and
active, shaded smooth, with its texture packed into the .blend or saved beside it."""

from __future__ import annotations

from pathlib import Path

import bpy


def import_asset(
    path: Path,
    *,
    name: str,
    location=(0.0, 0.0, 0.0),
    texture_storage: str = "PACK",
    scene_name: str = "",
    report=None,
) -> list[bpy.types.Object]:
    """Imports the GLB at `path` and returns the new objects (the mesh first)."""
    scene = bpy.data.scenes.get(scene_name) or bpy.context.scene
    before_objects = set(bpy.data.objects)
    before_images = set(bpy.data.images)
    with _context_for(scene):
        result = bpy.ops.import_scene.gltf(filepath=str(path), import_pack_images=True, merge_vertices=False)
    if "FINISHED" not in result:
        raise RuntimeError(f"Blender's glTF importer refused {path.name}")
    new_objects = [obj for obj in bpy.data.objects if obj not in before_objects]
    if not new_objects:
        raise RuntimeError(f"{path.name} held no objects")
    stem = Path(name).stem or "Model"
    meshes = [obj for obj in new_objects if obj.type == "MESH"]
    for index, obj in enumerate(meshes):
        obj.name = stem if index == 0 else f"{stem}.{index:03d}"
        obj.data.name = obj.name
        # The asset is a smooth solid with smooth normals: shade it so, as Blender's own add-ons do.
        obj.data.shade_smooth()
        for slot in obj.material_slots:
            if slot.material is not None and slot.material.users == 1:
                slot.material.name = obj.name
    roots = [obj for obj in new_objects if obj.parent is None]
    for obj in roots:
        obj.location = location
    for obj in scene.objects:
        obj.select_set(obj in new_objects)
    view_layer = bpy.context.view_layer if bpy.context.scene == scene else scene.view_layers[0]
    view_layer.objects.active = (meshes or new_objects)[0]
    _store_textures([image for image in bpy.data.images if image not in before_images], stem, texture_storage, report)
    return meshes + [obj for obj in new_objects if obj not in meshes]


def _store_textures(images, stem: str, storage: str, report) -> None:
    for index, image in enumerate(images):
        image.name = f"{stem}_texture" if index == 0 else f"{stem}_texture.{index:03d}"
        if storage == "SAVE":
            if bpy.data.filepath:
                # Writes //textures/<name>.png beside the .blend and points the image at it.
                image.unpack(method="WRITE_LOCAL")
                continue
            if report is not None:
                report("WARNING", "Save the .blend first to keep textures beside it; the texture was packed instead")
        if not image.packed_file:
            image.pack()


class _context_for:
    """A context override with a window (and its scene) when Blender has one, so importers that look
    at the window work from a timer too. None when the context already has both (an operator run
    from the UI): an override while another Python thread runs is unsafe (see session.py)."""

    def __init__(self, scene) -> None:
        self.scene = scene
        self.override = None

    def __enter__(self):
        if bpy.context.window is not None and bpy.context.scene == self.scene:
            return self
        window_manager = bpy.context.window_manager
        windows = list(window_manager.windows) if window_manager else []
        if windows:
            self.override = bpy.context.temp_override(window=windows[0], scene=self.scene)
            self.override.__enter__()
        return self

    def __exit__(self, *exc):
        if self.override is not None:
            return self.override.__exit__(*exc)
        return False
