"""Renders the background-removal test set with real Blender (the `bpy` module from PyPI): objects
on studio backdrops and floors, lit so they cast soft contact shadows, seen from several heights.
Each scene gives a photograph (`images/NAME.jpg`, JPEG as users' photos are) and its ground truth,
the render's own alpha with the backdrop hidden from the camera (`images/NAME.mask.png`, 8-bit
grey). `scenes.json` lists the scenes and what makes each hard.

Run once, by hand, when the set changes; the images are committed and CI never re-renders:

    .venv-blender/bin/python tests/scenes/render.py            # every scene (about 10 minutes)
    .venv-blender/bin/python tests/scenes/render.py ring mug    # some of them
"""

from __future__ import annotations

import json
import math
import struct
import sys
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import bpy
from mathutils import Vector

HERE = Path(__file__).resolve().parent
IMAGES = HERE / "images"


@dataclass
class Scene:
    """One photograph: what stands where, on what, lit how, seen from where."""

    name: str
    build: str  # the name of a builder below
    colour: tuple[float, float, float]
    backdrop: tuple[float, float, float]
    # A second colour makes the floor differ from the wall behind it; None is one seamless sweep.
    floor: tuple[float, float, float] | None = None
    elevation: float = 12.0  # the camera's height above the object's centre, in degrees
    azimuth: float = 0.0
    fill: float = 0.55  # the object's size as a fraction of the frame
    size: tuple[int, int] = (512, 512)
    light: str = "area"  # "area" (soft shadows), "sun" (a hard one), "dim" (low key)
    gradient: bool = False  # the backdrop darkens towards the top
    roughness: float = 0.5
    metallic: float = 0.0
    tags: list[str] = field(default_factory=list)


WHITE = (0.85, 0.85, 0.85)
LIGHT_GREY = (0.62, 0.62, 0.62)
GREY = (0.35, 0.35, 0.35)
DARK = (0.03, 0.03, 0.03)
CHARCOAL = (0.06, 0.06, 0.065)

SCENES = [
    Scene("mug-white-on-grey", "mug", WHITE, LIGHT_GREY, tags=["low contrast", "hole", "shadow"]),
    Scene("mug-red", "mug", (0.6, 0.05, 0.04), (0.7, 0.68, 0.62), elevation=25, azimuth=-30, tags=["hole", "shadow"]),
    Scene("mug-dark-on-dark", "mug", DARK, CHARCOAL, light="dim", tags=["dark on dark", "hole"]),
    Scene("ring-standing", "ring", (0.8, 0.55, 0.1), WHITE, metallic=1.0, roughness=0.3, tags=["hole", "metal"]),
    Scene("ring-flat", "ring_flat", (0.1, 0.3, 0.7), (0.8, 0.78, 0.7), elevation=40, tags=["hole"]),
    Scene("two-rings", "two_rings", (0.7, 0.7, 0.72), GREY, tags=["holes"]),
    Scene("pawn-white", "pawn", (0.9, 0.88, 0.82), (0.8, 0.8, 0.78), tags=["white on white", "shadow"]),
    Scene("pawn-black", "pawn", DARK, GREY, light="sun", tags=["hard shadow"]),
    Scene("suzanne", "suzanne", (0.75, 0.45, 0.2), (0.3, 0.45, 0.55), tags=["coloured backdrop"]),
    Scene("suzanne-gradient", "suzanne", (0.5, 0.5, 0.5), (0.7, 0.7, 0.72), gradient=True, tags=["gradient"]),
    Scene("table", "table", (0.35, 0.2, 0.1), (0.75, 0.72, 0.66), elevation=20, tags=["thin parts", "holes"]),
    Scene(
        "stool-low-contrast",
        "stool",
        (0.55, 0.53, 0.5),
        (0.62, 0.6, 0.57),
        elevation=18,
        tags=["low contrast", "thin parts"],
    ),
    Scene("lamp", "lamp", (0.1, 0.35, 0.25), WHITE, tags=["thin parts"]),
    Scene("vase", "vase", (0.2, 0.3, 0.6), (0.8, 0.75, 0.6), floor=(0.55, 0.45, 0.35), tags=["two-tone backdrop"]),
    Scene(
        "bottle", "bottle", (0.1, 0.4, 0.15), (0.85, 0.85, 0.85), floor=(0.45, 0.45, 0.47), tags=["two-tone backdrop"]
    ),
    Scene(
        "cube-wood-floor",
        "cube",
        (0.8, 0.2, 0.2),
        (0.8, 0.8, 0.8),
        floor=(0.5, 0.33, 0.18),
        elevation=30,
        azimuth=35,
        tags=["textured floor"],
    ),
    Scene("sphere-white-on-white", "sphere", (0.92, 0.92, 0.92), (0.9, 0.9, 0.9), tags=["white on white", "shadow"]),
    Scene("sphere-sun", "sphere", (0.2, 0.6, 0.3), (0.75, 0.7, 0.6), light="sun", tags=["hard shadow"]),
    Scene("cone-dark", "cone", (0.08, 0.08, 0.1), (0.2, 0.2, 0.22), light="dim", tags=["dark on dark"]),
    Scene(
        "key",
        "key",
        (0.7, 0.6, 0.3),
        (0.3, 0.3, 0.32),
        elevation=60,
        metallic=1.0,
        roughness=0.35,
        tags=["thin parts", "hole", "metal"],
    ),
    Scene(
        "teapot-like", "kettle", (0.85, 0.85, 0.8), (0.55, 0.6, 0.65), elevation=15, azimuth=20, tags=["hole", "spout"]
    ),
    Scene("tall-wide", "bottle", (0.6, 0.1, 0.5), (0.85, 0.8, 0.7), size=(640, 448), fill=0.7, tags=["wide frame"]),
    Scene(
        "portrait-frame",
        "lamp",
        (0.7, 0.5, 0.1),
        (0.4, 0.5, 0.6),
        size=(384, 576),
        fill=0.6,
        tags=["tall frame", "thin parts"],
    ),
    Scene(
        "donut-top", "ring_flat", (0.55, 0.3, 0.15), (0.85, 0.82, 0.75), elevation=70, tags=["hole", "seen from above"]
    ),
]


# --- builders: each adds the object's parts standing on the floor (z = 0) and returns them ---


def _cylinder(radius, depth, z, x=0.0, y=0.0, vertices=64):
    bpy.ops.mesh.primitive_cylinder_add(radius=radius, depth=depth, location=(x, y, z), vertices=vertices)
    return bpy.context.object


def _torus(major, minor, location, rotation=(0.0, 0.0, 0.0)):
    bpy.ops.mesh.primitive_torus_add(
        major_radius=major,
        minor_radius=minor,
        location=location,
        rotation=rotation,
        major_segments=96,
        minor_segments=24,
    )
    return bpy.context.object


def _sphere(radius, location, scale=(1.0, 1.0, 1.0)):
    bpy.ops.mesh.primitive_uv_sphere_add(radius=radius, location=location, segments=64, ring_count=32)
    bpy.context.object.scale = scale
    return bpy.context.object


def _box(size, location, rotation=(0.0, 0.0, 0.0)):
    bpy.ops.mesh.primitive_cube_add(size=1.0, location=location, rotation=rotation)
    bpy.context.object.scale = size
    return bpy.context.object


def mug():
    body = _cylinder(0.4, 0.9, 0.45)
    handle = _torus(0.24, 0.06, (0.44, 0.0, 0.47), rotation=(math.pi / 2, 0.0, 0.0))
    return [body, handle]


def ring():
    return [_torus(0.6, 0.15, (0.0, 0.0, 0.75), rotation=(math.pi / 2, 0.0, 0.0))]


def ring_flat():
    return [_torus(0.6, 0.22, (0.0, 0.0, 0.22))]


def two_rings():
    return [
        _torus(0.42, 0.1, (-0.45, 0.0, 0.52), rotation=(math.pi / 2, 0.0, 0.0)),
        _torus(0.42, 0.1, (0.45, 0.05, 0.52), rotation=(math.pi / 2, 0.0, 0.25)),
    ]


def pawn():
    return [
        _cylinder(0.42, 0.14, 0.07),
        _torus(0.36, 0.07, (0.0, 0.0, 0.16)),
        _cone(0.32, 0.12, 0.75, 0.2),
        _torus(0.17, 0.05, (0.0, 0.0, 0.95)),
        _sphere(0.24, (0.0, 0.0, 1.18)),
    ]


def _cone(radius1, radius2, depth, z):
    bpy.ops.mesh.primitive_cone_add(
        radius1=radius1, radius2=radius2, depth=depth, location=(0.0, 0.0, z + depth / 2), vertices=64
    )
    return bpy.context.object


def cone():
    return [_cone(0.5, 0.0, 1.3, 0.0)]


def suzanne():
    bpy.ops.mesh.primitive_monkey_add(size=1.4, location=(0.0, 0.0, 0.62), rotation=(math.radians(-10), 0.0, math.pi))
    head = bpy.context.object
    head.modifiers.new("smooth", "SUBSURF").levels = 2
    return [head]


def table():
    parts = [_box((1.6, 0.9, 0.07), (0.0, 0.0, 0.8))]
    for x in (-0.72, 0.72):
        for y in (-0.37, 0.37):
            parts.append(_cylinder(0.035, 0.77, 0.385, x=x, y=y, vertices=24))
    return parts


def stool():
    parts = [_cylinder(0.45, 0.06, 0.9)]
    for angle in (0.0, 2.1, 4.2):
        x, y = 0.36 * math.cos(angle), 0.36 * math.sin(angle)
        parts.append(_cylinder(0.03, 0.88, 0.44, x=x, y=y, vertices=24))
    parts.append(_torus(0.33, 0.02, (0.0, 0.0, 0.35)))
    return parts


def lamp():
    return [
        _cylinder(0.35, 0.06, 0.03),
        _cylinder(0.025, 1.1, 0.6, vertices=24),
        _cone(0.45, 0.2, 0.45, 1.05),
    ]


def vase():
    body = _sphere(0.45, (0.0, 0.0, 0.55), scale=(1.0, 1.0, 1.2))
    neck = _cylinder(0.16, 0.4, 1.15)
    lip = _torus(0.17, 0.04, (0.0, 0.0, 1.35))
    return [body, neck, lip]


def bottle():
    return [
        _cylinder(0.3, 1.0, 0.5),
        _sphere(0.3, (0.0, 0.0, 1.0), scale=(1.0, 1.0, 0.5)),
        _cylinder(0.1, 0.45, 1.3),
    ]


def cube():
    return [_box((0.9, 0.9, 0.9), (0.0, 0.0, 0.45), rotation=(0.0, 0.0, math.radians(20)))]


def sphere():
    return [_sphere(0.55, (0.0, 0.0, 0.55))]


def key():
    return [
        _torus(0.3, 0.07, (-0.55, 0.0, 0.07)),
        _box((0.9, 0.08, 0.08), (0.2, 0.0, 0.06)),
        _box((0.08, 0.2, 0.08), (0.5, -0.12, 0.06)),
        _box((0.08, 0.16, 0.08), (0.3, -0.1, 0.06)),
    ]


def kettle():
    body = _sphere(0.5, (0.0, 0.0, 0.45), scale=(1.0, 1.0, 0.85))
    handle = _torus(0.3, 0.05, (-0.5, 0.0, 0.5), rotation=(math.pi / 2, 0.0, 0.0))
    bpy.ops.mesh.primitive_cylinder_add(
        radius=0.06, depth=0.5, location=(0.55, 0.0, 0.55), rotation=(0.0, math.radians(50), 0.0), vertices=24
    )
    spout = bpy.context.object
    lid = _sphere(0.12, (0.0, 0.0, 0.88))
    return [body, handle, spout, lid]


# --- the studio ---


def _material(name, colour, roughness=0.5, metallic=0.0):
    material = bpy.data.materials.new(name)
    material.use_nodes = True
    shader = material.node_tree.nodes["Principled BSDF"]
    shader.inputs["Base Color"].default_value = (*colour, 1.0)
    shader.inputs["Roughness"].default_value = roughness
    shader.inputs["Metallic"].default_value = metallic
    return material


def _gradient_material(name, colour):
    """The backdrop darkening towards the top, as under a studio light aimed low."""
    material = _material(name, colour, roughness=0.9)
    nodes, links = material.node_tree.nodes, material.node_tree.links
    coordinates = nodes.new("ShaderNodeTexCoord")
    separate = nodes.new("ShaderNodeSeparateXYZ")
    ramp = nodes.new("ShaderNodeValToRGB")
    ramp.color_ramp.elements[0].position = 0.0
    ramp.color_ramp.elements[0].color = (*colour, 1.0)
    ramp.color_ramp.elements[1].position = 4.0 / 10.0
    ramp.color_ramp.elements[1].color = (*(channel * 0.35 for channel in colour), 1.0)
    scale = nodes.new("ShaderNodeMath")
    scale.operation = "DIVIDE"
    scale.inputs[1].default_value = 10.0
    links.new(coordinates.outputs["Object"], separate.inputs[0])
    links.new(separate.outputs["Z"], scale.inputs[0])
    links.new(scale.outputs[0], ramp.inputs[0])
    links.new(ramp.outputs["Color"], nodes["Principled BSDF"].inputs["Base Color"])
    return material


def _wood_material(name, colour):
    """A floor with grain: stretched noise between two shades of the colour."""
    material = _material(name, colour, roughness=0.6)
    nodes, links = material.node_tree.nodes, material.node_tree.links
    coordinates = nodes.new("ShaderNodeTexCoord")
    mapping = nodes.new("ShaderNodeMapping")
    mapping.inputs["Scale"].default_value = (1.0, 12.0, 1.0)
    noise = nodes.new("ShaderNodeTexNoise")
    noise.inputs["Scale"].default_value = 3.0
    noise.inputs["Detail"].default_value = 6.0
    ramp = nodes.new("ShaderNodeValToRGB")
    ramp.color_ramp.elements[0].color = (*(channel * 0.7 for channel in colour), 1.0)
    ramp.color_ramp.elements[1].color = (*(min(channel * 1.25, 1.0) for channel in colour), 1.0)
    links.new(coordinates.outputs["Object"], mapping.inputs["Vector"])
    links.new(mapping.outputs["Vector"], noise.inputs["Vector"])
    links.new(noise.outputs["Fac"], ramp.inputs[0])
    links.new(ramp.outputs["Color"], nodes["Principled BSDF"].inputs["Base Color"])
    return material


def _sweep(name, material, wall=True, floor=True):
    """A studio sweep: the floor curving up into the wall behind the object, seamless."""
    profile = []
    if floor:
        profile += [(-12.0, 0.0), (2.5, 0.0)]
    radius = 2.0
    if floor and wall:
        for step in range(1, 12):
            angle = step / 12 * math.pi / 2
            profile.append((2.5 + radius * math.sin(angle), radius - radius * math.cos(angle)))
    if wall:
        profile += [(2.5 + radius, radius if floor else -1.0), (2.5 + radius, 12.0)]
    vertices, faces = [], []
    for x in (-15.0, 15.0):
        vertices += [(x, y, z) for y, z in profile]
    count = len(profile)
    faces = [(i, i + 1, count + i + 1, count + i) for i in range(count - 1)]
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(vertices, [], faces)
    mesh.shade_smooth()
    backdrop = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(backdrop)
    backdrop.data.materials.append(material)
    return backdrop


def build(scene: Scene):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    world = bpy.data.worlds.new("world")
    bpy.context.scene.world = world
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Strength"].default_value = 0.08 if scene.light == "dim" else 0.3

    parts = globals()[scene.build]()
    material = _material("object", scene.colour, scene.roughness, scene.metallic)
    for part in parts:
        part.data.materials.append(material)
        if part.type == "MESH" and scene.build not in ("cube", "table", "key"):
            part.data.shade_smooth()

    backdrop_material = (_gradient_material if scene.gradient else _material)("backdrop", scene.backdrop)
    if scene.floor is None:
        backdrops = [_sweep("sweep", backdrop_material)]
    else:
        floor_material = (_wood_material if "textured floor" in scene.tags else _material)("floor", scene.floor)
        backdrops = [_sweep("floor", floor_material, wall=False), _sweep("wall", backdrop_material, floor=False)]

    # Frame the object: its bounding box seen from the camera's direction.
    bpy.context.view_layer.update()
    corners = [part.matrix_world @ Vector(corner) for part in parts for corner in part.bound_box]
    low = Vector([min(corner[axis] for corner in corners) for axis in range(3)])
    high = Vector([max(corner[axis] for corner in corners) for axis in range(3)])
    centre = (low + high) / 2
    extent = max((high - low).length * 0.8, 0.5)
    camera_data = bpy.data.cameras.new("camera")
    camera_data.lens = 50.0
    camera = bpy.data.objects.new("camera", camera_data)
    bpy.context.scene.collection.objects.link(camera)
    width, height = scene.size
    fov = 2 * math.atan(18.0 / 50.0) * min(width, height) / max(width, height)
    distance = extent / (scene.fill * 2 * math.tan(fov / 2))
    elevation, azimuth = math.radians(scene.elevation), math.radians(scene.azimuth)
    direction = Vector(
        (math.sin(azimuth) * math.cos(elevation), -math.cos(azimuth) * math.cos(elevation), math.sin(elevation))
    )
    camera.location = centre + direction * distance
    camera.rotation_euler = (-direction).to_track_quat("-Z", "Y").to_euler()
    bpy.context.scene.camera = camera

    if scene.light == "sun":
        sun = bpy.data.lights.new("sun", "SUN")
        sun.energy = 2.5
        sun.angle = math.radians(3)
        light = bpy.data.objects.new("sun", sun)
        light.rotation_euler = (math.radians(40), 0.0, math.radians(-35))
    else:
        area = bpy.data.lights.new("area", "AREA")
        area.size = 3.0
        area.energy = 60.0 if scene.light == "dim" else 280.0
        light = bpy.data.objects.new("area", area)
        light.location = centre + Vector((-2.0, -2.5, 3.5))
        light.rotation_euler = (-(light.location - centre)).to_track_quat("-Z", "Y").to_euler()
    bpy.context.scene.collection.objects.link(light)
    return backdrops


def _settings(width, height, samples):
    render = bpy.context.scene.render
    render.engine = "CYCLES"
    render.resolution_x, render.resolution_y = width, height
    render.resolution_percentage = 100
    cycles = bpy.context.scene.cycles
    cycles.device = "CPU"
    cycles.samples = samples
    cycles.seed = 7
    cycles.use_denoising = samples > 16
    bpy.context.scene.view_settings.view_transform = "Standard"


def _write_grey_png(path: Path, width: int, height: int, values: bytes) -> None:
    """An 8-bit greyscale PNG, rows top to bottom."""
    rows = b"".join(b"\x00" + values[row * width : (row + 1) * width] for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")
    )


def render(scene: Scene) -> None:
    backdrops = build(scene)
    width, height = scene.size
    _settings(width, height, samples=24)
    settings = bpy.context.scene.render.image_settings
    settings.file_format = "JPEG"
    settings.quality = 90
    bpy.context.scene.render.filepath = str(IMAGES / f"{scene.name}.jpg")
    bpy.ops.render.render(write_still=True)

    # The ground truth: the same camera with the backdrop invisible to it, on transparency.
    for backdrop in backdrops:
        backdrop.visible_camera = False
    bpy.context.scene.render.film_transparent = True
    _settings(width, height, samples=16)
    settings.file_format = "PNG"
    settings.color_mode = "RGBA"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "alpha.png"
        bpy.context.scene.render.filepath = str(path)
        bpy.ops.render.render(write_still=True)
        image = bpy.data.images.load(str(path))
        pixels = list(image.pixels)
    # Blender's pixels run bottom to top; the PNG's top to bottom.
    alpha = bytearray(width * height)
    for y in range(height):
        source = (height - 1 - y) * width
        for x in range(width):
            alpha[y * width + x] = round(pixels[(source + x) * 4 + 3] * 255)
    _write_grey_png(IMAGES / f"{scene.name}.mask.png", width, height, bytes(alpha))


def main(names: list[str]) -> None:
    IMAGES.mkdir(exist_ok=True)
    chosen = [scene for scene in SCENES if not names or scene.name in names]
    for scene in chosen:
        print(f"rendering {scene.name}", flush=True)
        render(scene)
    listing = {
        "about": "Background-removal test scenes rendered by tests/scenes/render.py with Blender's Cycles; "
        "NAME.mask.png is the render's own alpha with the backdrop hidden from the camera.",
        "scenes": {scene.name: {"size": list(scene.size), "tags": scene.tags} for scene in SCENES},
    }
    (HERE / "scenes.json").write_text(json.dumps(listing, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
