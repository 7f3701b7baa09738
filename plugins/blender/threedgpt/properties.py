"""The per-scene generation options (saved with the .blend)."""

from __future__ import annotations

import bpy
from bpy.app.handlers import persistent
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty, StringProperty

from . import session

TEXTURE_SIZES = [(str(size), f"{size} px", f"A {size}×{size} texture") for size in (512, 1024, 2048, 4096)]


def _model_items(self, context):
    # Blender keeps only pointers to these strings: the list must stay referenced (session keeps it).
    return session.SESSION.model_items()


class ThreeDGptSceneOptions(bpy.types.PropertyGroup):
    source: EnumProperty(
        name="Source",
        items=[
            ("FILE", "File", "A picture on disk"),
            ("IMAGE", "Image", "An image already open in Blender"),
        ],
        default="FILE",
    )
    filepath: StringProperty(name="Picture", subtype="FILE_PATH", description="The picture to turn into a model")
    image: PointerProperty(name="Image", type=bpy.types.Image, description="An image open in Blender")
    model: EnumProperty(name="Model", items=_model_items, description="The reconstruction model")
    faces: IntProperty(name="Faces", default=20000, min=100, max=2_000_000, description="Target triangle count")
    texture_size: EnumProperty(name="Texture", items=TEXTURE_SIZES, default="1024", description="Texture side")
    remove_background: BoolProperty(
        name="Remove background",
        default=True,
        description="Separate the object from a plain background (transparent pictures keep their alpha)",
    )
    foreground_ratio: FloatProperty(
        name="Foreground ratio",
        default=0.85,
        min=0.1,
        max=1.0,
        description="Share of the frame the object fills before reconstruction",
    )
    detail: IntProperty(
        name="Detail",
        default=0,
        min=0,
        max=2048,
        description="Reconstruction grid in cells (0 chooses from the picture); higher is finer and slower",
    )
    device: EnumProperty(
        name="Device",
        items=[
            ("AUTO", "Automatic", "The GPU when one is usable, else the CPU"),
            ("CPU", "CPU", "Run the learned model on the CPU"),
            ("GPU", "GPU", "Run the learned model on the GPU, or fail when none is usable"),
        ],
        default="AUTO",
        description="Where a learned model runs (the built-in reconstructor always uses the CPU)",
    )
    initialized: BoolProperty(default=False, options={"HIDDEN"}, description="Preference defaults applied")
    thickness: FloatProperty(
        name="Thickness",
        default=0.0,
        min=0.0,
        max=4.0,
        description="Depth scale of the model (0 keeps the default)",
    )


def apply_defaults(scene) -> None:
    """Gives a scene the defaults from the preferences, once."""
    from . import preferences

    options = scene.threedgpt
    if options.initialized:
        return
    prefs = preferences.get()
    options.faces = prefs.default_faces
    options.texture_size = prefs.default_texture_size
    options.remove_background = prefs.default_remove_background
    options.initialized = True


@persistent
def _apply_defaults_everywhere(*_args):
    for scene in bpy.data.scenes:
        apply_defaults(scene)
    return None


def register():
    bpy.utils.register_class(ThreeDGptSceneOptions)
    bpy.types.Scene.threedgpt = PointerProperty(type=ThreeDGptSceneOptions)
    bpy.app.handlers.load_post.append(_apply_defaults_everywhere)
    # Data may be read-only while Blender starts; a timer applies the defaults once it can.
    bpy.app.timers.register(_apply_defaults_everywhere, first_interval=0.0)


def unregister():
    if bpy.app.timers.is_registered(_apply_defaults_everywhere):
        bpy.app.timers.unregister(_apply_defaults_everywhere)
    if _apply_defaults_everywhere in bpy.app.handlers.load_post:
        bpy.app.handlers.load_post.remove(_apply_defaults_everywhere)
    del bpy.types.Scene.threedgpt
    bpy.utils.unregister_class(ThreeDGptSceneOptions)
