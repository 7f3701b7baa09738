"""The Account sub-panel: sign in and out, who is signed in, tier and quota, sync and the privacy
settings, and deleting the account. Everything is the daemon's (the `threedgpt` module asks it);
the password is an operator property that is never saved (SKIP_SAVE, no redo), so it is in
neither the .blend nor the preferences."""

from __future__ import annotations

from datetime import datetime

import bpy
from bpy.props import BoolProperty, EnumProperty, StringProperty

from . import preferences
from .panels import SubPanel
from .session import SESSION

SETTINGS = (
    ("sync", "Sync", "Upload generations to the account and bring other devices' here"),
    ("telemetry", "Anonymous usage data", "Send anonymous usage events (no account, no pictures)"),
    ("training_consent", "Allow training", "Allow your generations to be used to train models"),
    ("marketing_email", "Product news by email", "Receive product news by email"),
)


def _client(context):
    import threedgpt

    return threedgpt.Client(**preferences.connect_arguments(preferences.get(context)))


def refresh(client) -> None:
    """Reads the account, sync and settings into the session (for the panel to draw)."""
    SESSION.account = client.account_status()
    SESSION.sync = client.sync_status()
    SESSION.settings = client.settings()


class _AccountOperator(bpy.types.Operator):
    """Shared: run `work` against the daemon, report its errors, refresh the panel's state."""

    bl_options = {"INTERNAL"}

    def run(self, context, work) -> set[str]:
        import threedgpt

        try:
            client = _client(context)
            message = work(client)
            refresh(client)
        except threedgpt.ThreeDGptError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        if message:
            self.report({"INFO"}, message)
        for area in getattr(context.screen, "areas", []):
            area.tag_redraw()
        return {"FINISHED"}


class THREEDGPT_OT_account_refresh(_AccountOperator):
    """Ask the daemon who is signed in and where sync stands"""

    bl_idname = "threedgpt.account_refresh"
    bl_label = "Refresh account"

    def execute(self, context):
        return self.run(context, lambda client: None)


class THREEDGPT_OT_account_sign_in(_AccountOperator):
    """Sign this computer in to your 3D GPT account (the password goes to the daemon only)"""

    bl_idname = "threedgpt.account_sign_in"
    bl_label = "Sign in"

    password: StringProperty(name="Password", subtype="PASSWORD", options={"SKIP_SAVE"})

    def invoke(self, context, event):
        return context.window_manager.invoke_props_dialog(self)

    def draw(self, context):
        prefs = preferences.get(context)
        self.layout.label(text=f"{prefs.account_email} on {prefs.account_server}")
        self.layout.prop(self, "password")

    def execute(self, context):
        prefs = preferences.get(context)
        if not prefs.account_server.strip() or not prefs.account_email.strip():
            self.report({"ERROR"}, "Enter the service's address and your email first")
            return {"CANCELLED"}
        password, self.password = self.password, ""  # Not kept on the operator either.

        def work(client):
            status = client.account_log_in(prefs.account_server.strip(), prefs.account_email.strip(), password)
            return f"Signed in as {status.email}"

        return self.run(context, work)


class THREEDGPT_OT_account_sign_out(_AccountOperator):
    """Sign this computer out (its history stays here)"""

    bl_idname = "threedgpt.account_sign_out"
    bl_label = "Sign out"

    def execute(self, context):
        return self.run(context, lambda client: client.account_log_out().message or "Signed out")


class THREEDGPT_OT_account_sync_now(_AccountOperator):
    """Sync with the account now"""

    bl_idname = "threedgpt.account_sync_now"
    bl_label = "Sync now"

    def execute(self, context):
        def work(client):
            report = client.sync_now()
            return report.message or "Up to date"

        return self.run(context, work)


class THREEDGPT_OT_account_setting(_AccountOperator):
    """Change an account setting (for every device signed in)"""

    bl_idname = "threedgpt.account_setting"
    bl_label = "Change setting"

    name: EnumProperty(items=[(key, label, tip) for key, label, tip in SETTINGS], options={"HIDDEN"})
    value: BoolProperty(options={"HIDDEN"})

    def execute(self, context):
        return self.run(context, lambda client: client.update_settings(**{self.name: self.value}) and None)


class THREEDGPT_OT_account_delete(bpy.types.Operator):
    """Delete your account and everything it holds, on the service and on this computer"""

    bl_idname = "threedgpt.account_delete"
    bl_label = "Delete my account"
    bl_options = {"INTERNAL"}

    def invoke(self, context, event):
        # The first question; the second is the dialog that takes the password and DELETE.
        return context.window_manager.invoke_confirm(self, event)

    def execute(self, context):
        return bpy.ops.threedgpt.account_delete_confirm("INVOKE_DEFAULT")


class THREEDGPT_OT_account_delete_confirm(_AccountOperator):
    """This cannot be undone: type DELETE and your password"""

    bl_idname = "threedgpt.account_delete_confirm"
    bl_label = "Delete the account for good"

    password: StringProperty(name="Password", subtype="PASSWORD", options={"SKIP_SAVE"})
    confirm: StringProperty(name="Type DELETE", options={"SKIP_SAVE"})

    def invoke(self, context, event):
        return context.window_manager.invoke_props_dialog(self)

    def draw(self, context):
        self.layout.label(text="Every synced generation and session goes.", icon="ERROR")
        self.layout.prop(self, "confirm")
        self.layout.prop(self, "password")

    def execute(self, context):
        password, self.password = self.password, ""
        if self.confirm != "DELETE":
            self.report({"ERROR"}, "Type DELETE to delete the account; nothing was deleted")
            return {"CANCELLED"}

        def work(client):
            removed = client.account_delete(password)
            return f"The account is deleted; {removed} of its generations were removed from this computer"

        return self.run(context, work)


class VIEW3D_PT_threedgpt_account(SubPanel, bpy.types.Panel):
    bl_label = "Account"
    bl_idname = "VIEW3D_PT_threedgpt_account"

    def draw(self, context):
        layout = self.layout
        account = SESSION.account
        if account is None:
            layout.operator("threedgpt.account_refresh", text="Show account", icon="FILE_REFRESH")
            return
        if not account.signed_in:
            prefs = preferences.get(context)
            layout.prop(prefs, "account_server")
            layout.prop(prefs, "account_email")
            layout.operator("threedgpt.account_sign_in", icon="USER")
            if account.message:
                layout.label(text=account.message, icon="INFO")
            return
        layout.label(text=f"{account.name} <{account.email}>", icon="USER")
        tier = "Pro" if account.tier == "pro" else "Free"
        layout.label(text=f"{tier}: {account.generations} of {account.generations_limit} generations")
        if account.bytes_limit:
            layout.label(text=f"{account.bytes_used / 1e6:.1f} of {account.bytes_limit / 1e6:.0f} MB synced")
        sync = SESSION.sync
        if sync is not None:
            when = datetime.fromtimestamp(sync.last_sync).strftime("%H:%M") if sync.last_sync else "never"
            layout.label(text=f"Sync: {sync.state.replace('_', ' ')} · last {when}", icon="FILE_REFRESH")
            if sync.message:
                layout.label(text=sync.message, icon="INFO")
        settings = SESSION.settings
        if settings is not None:
            column = layout.column(align=True)
            for key, label, _ in SETTINGS:
                on = getattr(settings, key)
                operator = column.operator(
                    "threedgpt.account_setting", text=label, icon="CHECKBOX_HLT" if on else "CHECKBOX_DEHLT"
                )
                operator.name, operator.value = key, not on
        row = layout.row(align=True)
        row.operator("threedgpt.account_sync_now", icon="FILE_REFRESH")
        row.operator("threedgpt.account_sign_out")
        layout.operator("threedgpt.account_delete", icon="TRASH")


classes = (
    THREEDGPT_OT_account_refresh,
    THREEDGPT_OT_account_sign_in,
    THREEDGPT_OT_account_sign_out,
    THREEDGPT_OT_account_sync_now,
    THREEDGPT_OT_account_setting,
    THREEDGPT_OT_account_delete,
    THREEDGPT_OT_account_delete_confirm,
    VIEW3D_PT_threedgpt_account,
)


register, unregister = bpy.utils.register_classes_factory(classes)
