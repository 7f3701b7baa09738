"""Preferences: how to reach the daemon, whether to start it, defaults for new scenes, and where
textures go."""

from __future__ import annotations

import bpy
from bpy.props import BoolProperty, EnumProperty, IntProperty, StringProperty

from . import properties

PACKAGE = __package__


class ThreeDGptPreferences(bpy.types.AddonPreferences):
    bl_idname = PACKAGE

    connection: EnumProperty(
        name="Connection",
        items=[
            ("AUTO", "Automatic", "The daemon's socket in your user's runtime folder"),
            ("SOCKET", "Socket", "A daemon listening on another socket"),
            ("TCP", "Loopback TCP", "A daemon started with --tcp, with its token"),
        ],
        default="AUTO",
    )
    socket_path: StringProperty(name="Socket", subtype="FILE_PATH", description="Path of the daemon's socket")
    tcp_address: StringProperty(name="Address", default="127.0.0.1:50570", description="Loopback address and port")
    tcp_token: StringProperty(
        name="Token",
        subtype="PASSWORD",
        description="The daemon's token (its tcp-token file); empty reads the file",
    )
    autostart: BoolProperty(
        name="Start the daemon automatically",
        default=True,
        description="Start `3dgpt serve` when no daemon answers",
    )
    daemon_path: StringProperty(
        name="3dgpt program",
        subtype="FILE_PATH",
        description="The 3dgpt program to start; empty looks on the PATH",
    )
    account_server: StringProperty(
        name="Service", default="", description="Your 3D GPT cloud service, such as https://cloud.example.com"
    )
    account_email: StringProperty(name="Email", default="", description="The email you sign in with")
    # default_faces and default_texture_size: defined at registration from the option table.
    default_remove_background: BoolProperty(name="Remove background", default=True)
    texture_storage: EnumProperty(
        name="Textures",
        items=[
            ("PACK", "Pack into the .blend", "Keep each texture inside the .blend file"),
            ("SAVE", "Save beside the .blend", "Write textures to a textures folder next to the saved .blend"),
        ],
        default="PACK",
    )

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        box = layout.box()
        box.label(text="Daemon")
        box.prop(self, "connection")
        if self.connection == "SOCKET":
            box.prop(self, "socket_path")
        elif self.connection == "TCP":
            box.prop(self, "tcp_address")
            box.prop(self, "tcp_token")
        if self.connection != "TCP":
            box.prop(self, "autostart")
            if self.autostart:
                box.prop(self, "daemon_path")
        box = layout.box()
        box.label(text="Defaults")
        box.prop(self, "default_faces")
        box.prop(self, "default_texture_size")
        box.prop(self, "default_remove_background")
        box.prop(self, "texture_storage")


def get(context=None) -> ThreeDGptPreferences:
    context = context or bpy.context
    return context.preferences.addons[PACKAGE].preferences


def connect_arguments(prefs: ThreeDGptPreferences) -> dict:
    """The keyword arguments of `threedgpt.Client` for these preferences."""
    if prefs.connection == "TCP":
        return {"tcp": prefs.tcp_address.strip(), "token": prefs.tcp_token.strip() or None}
    arguments: dict = {"autostart": prefs.autostart}
    if prefs.connection == "SOCKET" and prefs.socket_path.strip():
        arguments["socket"] = bpy.path.abspath(prefs.socket_path.strip())
    if prefs.autostart and prefs.daemon_path.strip():
        arguments["daemon"] = bpy.path.abspath(prefs.daemon_path.strip())
    return arguments


def register():
    import threedgpt

    table = threedgpt.default_options()
    faces, texture = properties.spec(table, "faces"), properties.spec(table, "texture_size")
    ThreeDGptPreferences.__annotations__["default_faces"] = IntProperty(
        name="Faces", default=faces["default"], min=faces["min"], max=faces["max"], description=faces["description"]
    )
    ThreeDGptPreferences.__annotations__["default_texture_size"] = EnumProperty(
        name="Texture size",
        items=properties.texture_items(texture),
        default=str(texture["default"]),
        description=texture["description"],
    )
    bpy.utils.register_class(ThreeDGptPreferences)


def unregister():
    bpy.utils.unregister_class(ThreeDGptPreferences)
