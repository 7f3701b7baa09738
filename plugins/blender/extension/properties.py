"""The per-scene generation options (saved with the .blend). Their defaults and ranges are the
daemon's: the properties are defined from the option table the bundled module was built with, and
defined again from the running daemon's table (`Client.options()`) once the session has asked it."""

from __future__ import annotations

import bpy
from bpy.app.handlers import persistent
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty, StringProperty

from . import session

# Scene property → the generate option it sets.
OPTION_OF = {
    "faces": "faces",
    "texture_size": "texture_size",
    "foreground_ratio": "foreground_ratio",
    "detail": "grid",
    "thickness": "thickness",
    "shape": "shape",
    "origin": "origin",
}


def spec(table: dict, name: str) -> dict:
    """The option `name` of an option table (`Client.options()` or `threedgpt.default_options()`)."""
    for option in table["options"]:
        if option["name"] == name:
            return option
    raise KeyError(f"the daemon describes no option {name!r}")


def texture_items(option: dict) -> list[tuple[str, str, str]]:
    return [(str(size), f"{size} px", f"A {size}×{size} texture") for size in option["allowed"]]


def option_properties(table: dict) -> dict:
    """The scene properties whose defaults and ranges come from the option table."""
    defined = {}
    for prop, name in OPTION_OF.items():
        option = spec(table, name)
        common = {"name": option["label"], "description": option["description"]}
        if name == "texture_size":
            defined[prop] = EnumProperty(items=texture_items(option), default=str(option["default"]), **common)
        elif option["kind"] == "choice":
            items = [(choice.upper(), choice.capitalize(), about) for choice, about in option["choices"]]
            defined[prop] = EnumProperty(items=items, default=option["default"].upper(), **common)
        elif option["kind"] == "int":
            defined[prop] = IntProperty(default=option["default"], min=option["min"], max=option["max"], **common)
        else:
            defined[prop] = FloatProperty(
                default=option["default"], min=option["min"], max=option["max"], precision=3, **common
            )
    return defined


_applied: list = []  # The table the properties were last defined from.


def apply_table(table: dict) -> bool:
    """Defines the ranged properties again from `table` when it differs from the one they were
    defined from (values already set stay); returns whether it did."""
    wanted = [spec(table, name) for name in OPTION_OF.values()]
    if _applied and _applied[0] == wanted:
        return False
    for prop, definition in option_properties(table).items():
        setattr(ThreeDGptSceneOptions, prop, definition)
    _applied[:] = [wanted]
    return True


def chosen_models(options) -> dict[str, str]:
    """The learned models the options choose, by generate option (`model`, `background`,
    `depth`); the built-in reconstructor and "None" are no model."""
    chosen = {
        "model": getattr(options, "model", "DEFAULT"),
        "background": getattr(options, "segmentation", "NONE"),
        "depth": getattr(options, "depth", "NONE"),
    }
    return {name: value for name, value in chosen.items() if value not in {"", "DEFAULT", "NONE"}}


def _model_items(self, context):
    # Blender keeps only pointers to these strings: the list must stay referenced (session keeps it).
    return session.SESSION.model_items("reconstructor")


def _segmentation_items(self, context):
    return session.SESSION.model_items("segmentation")


def _depth_items(self, context):
    return session.SESSION.model_items("depth")


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
    sheet: BoolProperty(
        name="Turnaround sheet",
        default=False,
        description="The picture holds the front, right, back and left views side by side, in that order",
    )
    view_right: StringProperty(
        name="Right",
        subtype="FILE_PATH",
        description="A picture from the object's right: taken after moving the camera 90 degrees to your right "
        "around it (it shows the side on the right of the front picture)",
    )
    view_back: StringProperty(name="Back", subtype="FILE_PATH", description="A picture from behind the object")
    view_left: StringProperty(
        name="Left",
        subtype="FILE_PATH",
        description="A picture from the object's left: the camera moved 90 degrees to your left around it",
    )
    view_top: StringProperty(
        name="Top",
        subtype="FILE_PATH",
        description="A picture from above, the front at the bottom of the picture",
    )
    model: EnumProperty(name="Model", items=_model_items, description="The reconstruction model")
    remove_background: BoolProperty(
        name="Remove background",
        default=True,
        description="Separate the object from a plain background (transparent pictures keep their alpha)",
    )
    segmentation: EnumProperty(
        name="Background model",
        items=_segmentation_items,
        description="An installed segmentation model that finds the object, instead of the built-in removal",
    )
    depth: EnumProperty(
        name="Depth model",
        items=_depth_items,
        description="An installed depth model that shapes the built-in reconstruction",
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
    import threedgpt

    table = threedgpt.default_options()
    ThreeDGptSceneOptions.__annotations__.update(option_properties(table))
    _applied[:] = [[spec(table, name) for name in OPTION_OF.values()]]
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
    _applied.clear()
