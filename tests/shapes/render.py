"""Renders the shape test set with real Blender (the `bpy` module from PyPI): objects made from
Blender's own primitives and modifiers, each seen by an orthographic camera from the front, from
the right (the camera moved 90° to the viewer's right around the object) and from the back, on
transparency, lit from the upper left as a photo would be. Each object gives `images/NAME.front.png`,
`NAME.right.png`, `NAME.back.png` (RGBA) and its ground-truth surface `meshes/NAME.ply` in the front
camera's frame (x right, y up, z towards the camera; metres, little-endian binary PLY), the parts
united by an exact boolean. `shapes.json` lists the objects, their class and the
cameras' shared scale.

Run once, by hand, when the set changes; the files are committed and CI never re-renders:

    .venv-blender/bin/python tests/shapes/render.py           # every object (a few minutes)
    .venv-blender/bin/python tests/shapes/render.py pawn mug   # some of them
    .venv-blender/bin/python tests/shapes/render.py --meshes  # the ground-truth surfaces only
    .venv-blender/bin/python tests/shapes/render.py --lens    # crates, tins, tables through lenses
    .venv-blender/bin/python tests/shapes/render.py --lens desk-35mm   # one of those photos

`--lens` renders `lens/NAME.png`: a crate, a tin or a table standing on the ground photographed by a level
pinhole camera from above through a 35, 50 or 85 mm lens (36 mm film), as a product photo is, and
`lens/lens.json` with what the picture cannot be checked without: the object's size, its turn, the
camera's angle above it and the lens.
"""

from __future__ import annotations

import json
import math
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

import bpy
from mathutils import Matrix, Vector

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "scenes"))
import render as scenes  # noqa: E402  (the background-removal set's builders and materials)

IMAGES = HERE / "images"
MESHES = HERE / "meshes"
SIZE_PX = 256


@dataclass
class Subject:
    """One object: how it is built, what class of shape it is, its colour."""

    name: str
    build: object  # a function returning the object's parts
    kind: str  # "revolvable", "extrudable", "handle", "torus", "box", "furniture", "character"
    colour: tuple[float, float, float] = (0.7, 0.45, 0.25)
    smooth: bool = True
    sharp_deg: float | None = None  # smooth, but edges bent more than this stay sharp (a tin's lid)
    tags: list[str] = field(default_factory=list)
    grain: bool = False  # wood grain on the colour (the scenes' wooden floor material) instead of flat


def _lathe(profile: list[tuple[float, float]], steps: int = 64):
    """A solid of revolution about the vertical axis from a (radius, height) profile, bottom to top,
    closed at both ends: Blender's Screw modifier on the profile's curve."""
    mesh = bpy.data.meshes.new("profile")
    points = [(0.0, 0.0, profile[0][1])] + [(radius, 0.0, height) for radius, height in profile]
    points.append((0.0, 0.0, profile[-1][1]))
    mesh.from_pydata(points, [(index, index + 1) for index in range(len(points) - 1)], [])
    lathe = bpy.data.objects.new("lathe", mesh)
    bpy.context.scene.collection.objects.link(lathe)
    screw = lathe.modifiers.new("screw", "SCREW")
    screw.steps = steps
    screw.render_steps = steps
    screw.use_merge_vertices = True
    screw.use_normal_calculate = True
    bpy.context.view_layer.objects.active = lathe
    bpy.ops.object.modifier_apply(modifier="screw")
    return lathe


def vase_lathe():
    return [_lathe([(0.25, 0.0), (0.42, 0.25), (0.45, 0.45), (0.3, 0.8), (0.16, 1.05), (0.2, 1.25)])]


def vase_from_above():
    """The vase as a photo taken standing over a table shows it: from 30° above, its mouth and its
    foot drawn as ellipses (the camera stays level; the vase tips towards it instead)."""
    vase = vase_lathe()[0]
    vase.rotation_euler = (math.radians(30), 0.0, 0.0)
    return [vase]


def tin_from_above():
    """A plain tin from 40° above: a cylinder whose lid shows as an ellipse."""
    tin = _lathe([(0.35, 0.0), (0.35, 0.8)])
    tin.rotation_euler = (math.radians(40), 0.0, 0.0)
    return [tin]


def pawn_lathe():
    return [
        _lathe(
            [
                (0.42, 0.0),
                (0.42, 0.1),
                (0.34, 0.16),
                (0.3, 0.22),
                (0.2, 0.5),
                (0.15, 0.78),
                (0.24, 0.84),
                (0.24, 0.88),
                (0.12, 0.92),
            ]
        ),
        scenes._sphere(0.22, (0.0, 0.0, 1.08)),
    ]


def goblet():
    return [_lathe([(0.3, 0.0), (0.3, 0.03), (0.05, 0.08), (0.04, 0.5), (0.1, 0.58), (0.32, 0.8), (0.36, 1.1)])]


def column():
    return [_lathe([(0.35, 0.0), (0.35, 0.1), (0.25, 0.15), (0.22, 1.25), (0.32, 1.32), (0.32, 1.4)])]


def barrel():
    return [_lathe([(0.3, 0.0), (0.4, 0.3), (0.44, 0.55), (0.4, 0.8), (0.3, 1.1)])]


def potion():
    return [
        scenes._sphere(0.4, (0.0, 0.0, 0.4)),
        scenes._cylinder(0.1, 0.45, 0.9),
        scenes._cylinder(0.14, 0.12, 1.15),
    ]


def trophy():
    return [
        scenes._box((0.6, 0.6, 0.2), (0.0, 0.0, 0.1)),
        _lathe([(0.08, 0.2), (0.06, 0.55), (0.12, 0.62), (0.38, 0.9), (0.42, 1.2)]),
    ]


def _turned(parts, degrees: float, axis: str):
    """The parts turned together about the world's `axis` through the origin."""
    pivot = Matrix.Rotation(math.radians(degrees), 4, axis)
    for part in parts:
        part.matrix_world = pivot @ part.matrix_world
    return parts


def leaning_bottle():
    return _turned(scenes.bottle(), 18, "Y")


def sign():
    return [
        scenes._box((1.2, 0.06, 0.7), (0.0, 0.0, 1.0)),
        scenes._box((0.1, 0.06, 0.7), (0.0, 0.0, 0.35)),
    ]


def card():
    return [scenes._box((0.7, 0.02, 1.0), (0.0, 0.0, 0.5))]


def tile():
    return [scenes._box((1.0, 0.08, 1.0), (0.0, 0.0, 0.5))]


def board():
    return [scenes._box((1.4, 0.05, 0.5), (0.0, 0.0, 0.25))]


def blade():
    bpy.ops.mesh.primitive_cone_add(vertices=3, radius1=0.12, depth=1.2, location=(0.0, 0.0, 0.9))
    tip = bpy.context.object
    tip.scale = (1.0, 0.15, 1.0)
    return [tip, scenes._box((0.4, 0.06, 0.06), (0.0, 0.0, 0.3)), scenes._box((0.07, 0.05, 0.3), (0.0, 0.0, 0.13))]


def cube_box():
    return [scenes._box((0.8, 0.8, 0.8), (0.0, 0.0, 0.4))]


def crate():
    return [scenes._box((1.2, 0.7, 0.7), (0.0, 0.0, 0.35))]


def crate_from_above():
    """The crate as a product photo shows it: turned 30° and seen from 25° above, so its top and two
    sides show (the camera stays level; the crate turns instead)."""
    crate = scenes._box((1.2, 0.7, 0.7), (0.0, 0.0, 0.35))
    crate.rotation_mode = "ZYX"  # the turn about the vertical first, then the tilt towards the camera
    crate.rotation_euler = (math.radians(25), 0.0, math.radians(30))
    return [crate]


def wooden_crate():
    """A wooden crate from a shop's photo: turned the other way, 40°, seen from 30° above."""
    crate = scenes._box((1.0, 0.8, 0.6), (0.0, 0.0, 0.3))
    crate.rotation_mode = "ZYX"
    crate.rotation_euler = (math.radians(30), 0.0, math.radians(-40))
    return [crate]


def mug_handle_left():
    parts = scenes.mug()
    for part in parts:
        part.location.x = -part.location.x
    return parts


def mug_from_above():
    """The mug from 35° above, as a photo of it on a table is taken: its handle to the right."""
    return _turned(scenes.mug(), 35, "X")


def cup():
    body = _lathe([(0.3, 0.0), (0.38, 0.6), (0.4, 0.65)])
    handle = scenes._torus(0.17, 0.045, (0.4, 0.0, 0.33), rotation=(math.pi / 2, 0.0, 0.0))
    return [body, handle]


def torus_face_on():
    return [scenes._torus(0.5, 0.15, (0.0, 0.0, 0.65), rotation=(math.pi / 2, 0.0, 0.0))]


def torus_flat():
    return [scenes._torus(0.5, 0.15, (0.0, 0.0, 0.15))]


def torus_tilted():
    return [scenes._torus(0.5, 0.15, (0.0, 0.0, 0.65), rotation=(math.radians(50), 0.0, 0.0))]


def torus_side_on():
    return [scenes._torus(0.5, 0.15, (0.0, 0.0, 0.65), rotation=(math.pi / 2, 0.0, math.pi / 2))]


def suzanne_side():
    parts = scenes.suzanne()
    parts[0].rotation_euler[2] = math.pi / 2
    return parts


def snowman():
    return [
        scenes._sphere(0.4, (0.0, 0.0, 0.4)),
        scenes._sphere(0.3, (0.0, 0.0, 0.98)),
        scenes._sphere(0.2, (0.0, 0.0, 1.42)),
        scenes._cylinder(0.03, 0.25, 1.42, y=-0.2),
    ]


def duck():
    body = scenes._sphere(0.45, (0.0, 0.0, 0.4), scale=(1.4, 0.9, 0.75))
    head = scenes._sphere(0.25, (0.42, 0.0, 0.85))
    bpy.ops.mesh.primitive_cone_add(
        radius1=0.09, depth=0.25, location=(0.72, 0.0, 0.82), rotation=(0.0, math.pi / 2, 0.0)
    )
    return [body, head, bpy.context.object]


def figure():
    parts = [
        scenes._sphere(0.16, (0.0, 0.0, 1.55)),
        scenes._box((0.45, 0.22, 0.6), (0.0, 0.0, 1.1)),
        scenes._box((0.16, 0.16, 0.75), (-0.12, 0.0, 0.38)),
        scenes._box((0.16, 0.16, 0.75), (0.12, 0.0, 0.38)),
    ]
    for side in (-1.0, 1.0):
        bpy.ops.mesh.primitive_cylinder_add(
            radius=0.06, depth=0.65, location=(side * 0.38, 0.0, 1.12), rotation=(0.0, side * math.radians(25), 0.0)
        )
        parts.append(bpy.context.object)
    return parts


def _on_legs(top: tuple[float, float, float], height: float, leg: float, inset: float, round_legs: bool):
    """Furniture: a top `top` (width, depth, thickness) whose upper face is `height` above the
    ground, on four legs `leg` wide standing `inset` in from its edges (round or square)."""
    width, depth, thickness = top
    parts = [scenes._box(top, (0.0, 0.0, height - thickness / 2))]
    length = height - thickness
    for x in (-1.0, 1.0):
        for y in (-1.0, 1.0):
            at = (x * (width / 2 - inset - leg / 2), y * (depth / 2 - inset - leg / 2))
            if round_legs:
                parts.append(scenes._cylinder(leg / 2, length, length / 2, x=at[0], y=at[1], vertices=24))
            else:
                parts.append(scenes._box((leg, leg, length), (at[0], at[1], length / 2)))
    return parts


def desk():
    """A desk, 140 × 75 × 70 cm (wide, tall, deep), on square legs."""
    return _on_legs((1.4, 0.7, 0.04), 0.75, 0.05, 0.04, round_legs=False)


def bench():
    """A bench, 120 × 45 × 35 cm: lower and shallower than a coffee table of the same front."""
    return _on_legs((1.2, 0.35, 0.05), 0.45, 0.06, 0.05, round_legs=False)


def chair():
    """A dining chair, its seat 45 cm wide, deep and high, its back posts rising from the back legs
    to 90 cm under a top rail."""
    parts = _on_legs((0.45, 0.45, 0.04), 0.45, 0.04, 0.02, round_legs=False)
    for x in (-0.185, 0.185):
        parts.append(scenes._box((0.04, 0.04, 0.45), (x, 0.185, 0.675)))
    parts.append(scenes._box((0.41, 0.04, 0.08), (0.0, 0.185, 0.86)))
    return parts


def stool():
    """A square stool, 40 × 65 × 40 cm, on round legs."""
    return _on_legs((0.4, 0.4, 0.04), 0.65, 0.04, 0.03, round_legs=True)


SUBJECTS = [
    Subject("vase", vase_lathe, "revolvable", (0.2, 0.3, 0.6)),
    Subject("pawn", pawn_lathe, "revolvable", (0.9, 0.88, 0.82)),
    Subject("goblet", goblet, "revolvable", (0.75, 0.6, 0.2), tags=["thin parts"]),
    Subject("column", column, "revolvable", (0.8, 0.78, 0.72)),
    Subject("barrel", barrel, "revolvable", (0.45, 0.28, 0.12)),
    Subject("potion", potion, "revolvable", (0.3, 0.6, 0.35)),
    Subject("trophy", trophy, "revolvable", (0.85, 0.7, 0.2)),
    Subject("bottle", scenes.bottle, "revolvable", (0.1, 0.4, 0.15)),
    Subject("leaning-bottle", leaning_bottle, "revolvable", (0.5, 0.2, 0.5), tags=["leaning axis"]),
    Subject("lamp", scenes.lamp, "revolvable", (0.1, 0.35, 0.25), tags=["thin parts"]),
    Subject("cone", scenes.cone, "revolvable", (0.6, 0.3, 0.2)),
    Subject("sphere", scenes.sphere, "revolvable", (0.2, 0.6, 0.3)),
    Subject("snowman", snowman, "revolvable", (0.92, 0.92, 0.95)),
    Subject("vase-from-above", vase_from_above, "revolvable", (0.3, 0.45, 0.7), tags=["from above"]),
    Subject("tin-from-above", tin_from_above, "revolvable", (0.7, 0.7, 0.65), sharp_deg=30.0, tags=["from above"]),
    Subject("sign", sign, "extrudable", (0.7, 0.55, 0.3), smooth=False),
    Subject("card", card, "extrudable", (0.85, 0.2, 0.2), smooth=False),
    Subject("tile", tile, "extrudable", (0.4, 0.5, 0.6), smooth=False),
    Subject("board", board, "extrudable", (0.5, 0.35, 0.2), smooth=False),
    Subject("blade", blade, "extrudable", (0.7, 0.72, 0.75), smooth=False),
    Subject("mug", scenes.mug, "handle", (0.6, 0.05, 0.04), tags=["hole"]),
    Subject("mug-left", mug_handle_left, "handle", (0.2, 0.3, 0.6), tags=["hole"]),
    Subject(
        "mug-from-above", mug_from_above, "handle", (0.15, 0.45, 0.35), sharp_deg=30.0, tags=["hole", "from above"]
    ),
    Subject("cup", cup, "handle", (0.9, 0.88, 0.8), tags=["hole"]),
    Subject("kettle", scenes.kettle, "handle", (0.85, 0.85, 0.8), tags=["hole", "spout"]),
    Subject("torus-face-on", torus_face_on, "torus", (0.8, 0.55, 0.1), tags=["hole"]),
    Subject("torus-flat", torus_flat, "torus", (0.55, 0.3, 0.15)),
    Subject("torus-tilted", torus_tilted, "torus", (0.1, 0.3, 0.7), tags=["hole"]),
    Subject("torus-side-on", torus_side_on, "torus", (0.7, 0.7, 0.72)),
    Subject("cube", cube_box, "box", (0.8, 0.2, 0.2), smooth=False),
    Subject("crate", crate, "box", (0.55, 0.4, 0.2), smooth=False),
    Subject("crate-from-above", crate_from_above, "box", (0.55, 0.4, 0.2), smooth=False, tags=["three faces"]),
    Subject(
        "wooden-crate", wooden_crate, "box", (0.6, 0.42, 0.22), smooth=False, tags=["three faces", "grain"], grain=True
    ),
    Subject("table", scenes.table, "furniture", (0.35, 0.2, 0.1), smooth=False, tags=["thin parts", "holes"]),
    Subject("desk", desk, "furniture", (0.4, 0.3, 0.2), smooth=False, tags=["thin parts", "holes"]),
    Subject("bench", bench, "furniture", (0.45, 0.3, 0.15), smooth=False, tags=["thin parts", "holes"]),
    Subject("stool", stool, "furniture", (0.3, 0.3, 0.35), smooth=False, tags=["thin parts", "holes"]),
    Subject("chair", chair, "furniture", (0.5, 0.32, 0.18), smooth=False, tags=["thin parts", "holes"]),
    Subject("suzanne", scenes.suzanne, "character", (0.75, 0.45, 0.2)),
    Subject("suzanne-side", suzanne_side, "character", (0.5, 0.5, 0.5)),
    Subject("duck", duck, "character", (0.9, 0.75, 0.1)),
    Subject("figure", figure, "character", (0.3, 0.4, 0.7), smooth=False),
]

# Where each view's camera goes, as a direction from the object (the front camera looks along +Y).
VIEWS = {"front": Vector((0.0, -1.0, 0.0)), "right": Vector((1.0, 0.0, 0.0)), "back": Vector((0.0, 1.0, 0.0))}


def _empty_studio():
    """An empty scene under a dim grey sky."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    world = bpy.data.worlds.new("world")
    bpy.context.scene.world = world
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Strength"].default_value = 0.35


def _sun():
    """The key light, from the upper left as a photo's would be; returns it so a view can turn it."""
    sun = bpy.data.lights.new("sun", "SUN")
    sun.energy = 3.0
    sun.angle = math.radians(8)
    light = bpy.data.objects.new("sun", sun)
    light.rotation_euler = (math.radians(50), 0.0, math.radians(-35))
    bpy.context.scene.collection.objects.link(light)
    return light


def _united(parts):
    """One closed surface for the parts: copies with their modifiers applied, united by Blender's
    exact boolean (sharp tips and thin blades survive, unlike a voxel remesh), decimated only when
    dense."""
    copies = []
    for part in parts:
        copy = part.copy()
        copy.data = part.data.copy()
        bpy.context.scene.collection.objects.link(copy)
        bpy.ops.object.select_all(action="DESELECT")
        copy.select_set(True)
        bpy.context.view_layer.objects.active = copy
        bpy.ops.object.convert(target="MESH")
        copies.append(copy)
    united = copies[0]
    bpy.context.view_layer.objects.active = united
    for other in copies[1:]:
        union = united.modifiers.new("union", "BOOLEAN")
        union.operation = "UNION"
        union.solver = "EXACT"
        union.object = other
        bpy.ops.object.modifier_apply(modifier="union")
        bpy.data.objects.remove(other)
    united.data.calc_loop_triangles()
    if len(united.data.loop_triangles) > 5000:
        decimate = united.modifiers.new("decimate", "DECIMATE")
        decimate.ratio = 5000 / len(united.data.loop_triangles)
        bpy.ops.object.modifier_apply(modifier="decimate")
        united.data.calc_loop_triangles()
    return united


def _write_ply(path: Path, united, centre: Vector) -> None:
    """The surface in the front camera's frame: x right, y up (world z), z towards the camera (-y)."""
    matrix = united.matrix_world
    vertices = []
    for vertex in united.data.vertices:
        world = matrix @ vertex.co - centre
        vertices.append((world.x, world.z, -world.y))
    triangles = [tuple(triangle.vertices) for triangle in united.data.loop_triangles]
    header = (
        "ply\nformat binary_little_endian 1.0\n"
        f"element vertex {len(vertices)}\nproperty float x\nproperty float y\nproperty float z\n"
        f"element face {len(triangles)}\nproperty list uchar int vertex_indices\nend_header\n"
    )
    body = b"".join(struct.pack("<3f", *vertex) for vertex in vertices)
    body += b"".join(struct.pack("<B3i", 3, *triangle) for triangle in triangles)
    path.write_bytes(header.encode("ascii") + body)


def render(subject: Subject, images: bool = True) -> dict:
    _empty_studio()
    parts = subject.build()
    if subject.grain:
        material = scenes._wood_material("object", subject.colour)
    else:
        material = scenes._material("object", subject.colour, 0.5, 0.0)
    for part in parts:
        if part.type != "MESH":
            continue
        part.data.materials.clear()
        part.data.materials.append(material)
        if subject.smooth:
            part.data.shade_smooth()
            if subject.sharp_deg is not None:
                part.data.set_sharp_from_angle(angle=math.radians(subject.sharp_deg))
        else:
            part.data.shade_flat()

    bpy.context.view_layer.update()
    corners = [part.matrix_world @ Vector(corner) for part in parts for corner in part.bound_box]
    low = Vector([min(corner[axis] for corner in corners) for axis in range(3)])
    high = Vector([max(corner[axis] for corner in corners) for axis in range(3)])
    centre = (low + high) / 2
    extent = max(high - low)
    # One scale for every view, so the views agree on the object's height.
    scale = 1.25 * extent

    light = _sun()

    camera_data = bpy.data.cameras.new("camera")
    camera_data.type = "ORTHO"
    camera_data.ortho_scale = scale
    camera = bpy.data.objects.new("camera", camera_data)
    bpy.context.scene.collection.objects.link(camera)
    bpy.context.scene.camera = camera
    scenes._settings(SIZE_PX, SIZE_PX, samples=24)
    bpy.context.scene.render.film_transparent = True
    settings = bpy.context.scene.render.image_settings
    settings.file_format = "PNG"
    settings.color_mode = "RGBA"
    for view, direction in VIEWS.items() if images else ():
        camera.location = centre + direction * (4.0 * extent)
        camera.rotation_euler = (-direction).to_track_quat("-Z", "Y").to_euler()
        # The light turns with the camera, so every view is lit from its upper left like the front.
        turn = math.atan2(direction.x, -direction.y)
        light.rotation_euler = (math.radians(50), 0.0, math.radians(-35) + turn)
        bpy.context.scene.render.filepath = str(IMAGES / f"{subject.name}.{view}.png")
        bpy.ops.render.render(write_still=True)

    united = _united(parts)
    _write_ply(MESHES / f"{subject.name}.ply", united, centre)
    return {"kind": subject.kind, "tags": subject.tags, "view_size_m": scale}


@dataclass
class Photo:
    """A crate (a tin, a table) photographed through a lens: its size (width, depth, height), its turn
    about the vertical, the camera's angle above it, the lens's focal length for 36 mm film, wood
    grain."""

    name: str
    size_m: tuple[float, float, float]
    turn_deg: float
    above_deg: float
    lens_mm: float
    grain: bool = False
    tin: bool = False  # a cylinder as wide as `size_m`'s width instead of a crate
    legs: tuple[float, float] | None = None  # a table on four legs this wide and this far in instead


PHOTOS = [
    Photo("crate-35mm", (1.2, 0.7, 0.7), 30.0, 30.0, 35.0),
    Photo("wooden-crate-50mm", (1.2, 0.7, 0.7), -40.0, 20.0, 50.0, grain=True),
    Photo("crate-85mm", (1.2, 0.7, 0.7), 30.0, 20.0, 85.0),
    Photo("tin-35mm", (0.7, 0.7, 0.8), 0.0, 30.0, 35.0, tin=True),
    Photo("tin-50mm", (0.7, 0.7, 0.8), 0.0, 25.0, 50.0, tin=True),
    Photo("tin-85mm", (0.7, 0.7, 0.8), 0.0, 35.0, 85.0, tin=True),
    Photo("table-50mm", (1.2, 0.8, 0.75), 0.0, 20.0, 50.0, legs=(0.05, 0.05)),
    Photo("desk-35mm", (1.4, 0.7, 0.75), 0.0, 25.0, 35.0, legs=(0.05, 0.04)),
    Photo("bench-35mm", (1.2, 0.35, 0.45), 0.0, 30.0, 35.0, legs=(0.06, 0.05)),
]


def photograph(photo: Photo) -> dict:
    """Renders `lens/NAME.png` through a pinhole camera aimed at the crate's centre from
    `above_deg` above, at the distance where the crate fills about four fifths of the picture."""
    _empty_studio()
    width, depth, height = photo.size_m
    if photo.tin:
        parts = [_lathe([(width / 2, 0.0), (width / 2, height)])]
    elif photo.legs:
        leg, inset = photo.legs
        parts = _on_legs((width, depth, 0.04), height, leg, inset, round_legs=False)
    else:
        parts = [scenes._box((width, depth, height), (0.0, 0.0, height / 2))]
    colour = (0.7, 0.7, 0.65) if photo.tin else (0.6, 0.42, 0.22)
    material = scenes._wood_material("object", colour) if photo.grain else scenes._material("object", colour, 0.5, 0.0)
    bpy.context.view_layer.update()  # the parts' world matrices, which the turn composes with
    for part in _turned(parts, photo.turn_deg, "Z"):
        part.data.materials.append(material)
        if photo.tin:
            part.data.shade_smooth()
            part.data.set_sharp_from_angle(angle=math.radians(30))
        else:
            part.data.shade_flat()
    _sun()
    camera_data = bpy.data.cameras.new("camera")
    camera_data.lens = photo.lens_mm
    camera_data.sensor_width = 36.0
    camera = bpy.data.objects.new("camera", camera_data)
    bpy.context.scene.collection.objects.link(camera)
    bpy.context.scene.camera = camera
    view = 2.0 * math.atan(18.0 / photo.lens_mm)
    distance = 1.6 / 0.8 / (2.0 * math.tan(view / 2.0))
    target = Vector((0.0, 0.0, height / 2))
    above = math.radians(photo.above_deg)
    camera.location = target + Vector((0.0, -math.cos(above), math.sin(above))) * distance
    camera.rotation_euler = (target - camera.location).to_track_quat("-Z", "Y").to_euler()
    scenes._settings(SIZE_PX, SIZE_PX, samples=24)
    bpy.context.scene.render.film_transparent = True
    settings = bpy.context.scene.render.image_settings
    settings.file_format = "PNG"
    settings.color_mode = "RGBA"
    bpy.context.scene.render.filepath = str(HERE / "lens" / f"{photo.name}.png")
    bpy.ops.render.render(write_still=True)
    truth = {
        "size_m": list(photo.size_m),
        "turn_deg": photo.turn_deg,
        "above_deg": photo.above_deg,
        "lens_mm": photo.lens_mm,
        "distance_m": distance,
    }
    if photo.legs:
        truth["legs"] = {"width_m": photo.legs[0], "inset_m": photo.legs[1]}
    return truth


def main(names: list[str]) -> None:
    if "--lens" in names:
        # `--lens NAME...` renders only those photos, keeping the others' truth.
        (HERE / "lens").mkdir(exist_ok=True)
        only = [name for name in names if name != "--lens"]
        truth_path = HERE / "lens" / "lens.json"
        truth = json.loads(truth_path.read_text()) if truth_path.exists() else {}
        for photo in PHOTOS:
            if not only or photo.name in only:
                truth[photo.name] = photograph(photo)
        truth = {photo.name: truth[photo.name] for photo in PHOTOS if photo.name in truth}
        truth_path.write_text(json.dumps(truth, indent=2) + "\n")
        return
    # `--meshes` writes the ground-truth surfaces again without rendering.
    images = "--meshes" not in names
    names = [name for name in names if name != "--meshes"]
    IMAGES.mkdir(exist_ok=True)
    MESHES.mkdir(exist_ok=True)
    listing_path = HERE / "shapes.json"
    listing = json.loads(listing_path.read_text()) if listing_path.exists() else {"objects": {}}
    for subject in SUBJECTS:
        if names and subject.name not in names:
            continue
        print(f"rendering {subject.name}", flush=True)
        listing["objects"][subject.name] = render(subject, images)
    listing["about"] = (
        "Shape test set rendered by tests/shapes/render.py with Blender's Cycles: NAME.front/right/back.png "
        "seen by orthographic cameras of width view_size_m metres, meshes/NAME.ply the ground truth in the "
        "front camera's frame (x right, y up, z towards the camera), centred on the object's bounding box."
    )
    listing["objects"] = {
        subject.name: listing["objects"][subject.name] for subject in SUBJECTS if subject.name in listing["objects"]
    }
    listing_path.write_text(json.dumps(listing, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
