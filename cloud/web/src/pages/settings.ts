// The privacy settings (the account's, shared with every device), the history of training consent,
// exporting everything, and deleting the account.

import { ApiError, call } from "../api";
import { exportArchive } from "../archive";
import { hex } from "../crypto";
import { confirmDialog, download, field, formatDate, h, messageOf, statusLine, values } from "../dom";
import { current, dropped, keysFor, signOut } from "../session";

interface Settings {
  version: number;
  sync: boolean;
  telemetry: boolean;
  training_consent: boolean;
  marketing_email: boolean;
}

type Setting = Exclude<keyof Settings, "version">;

const SETTINGS: [Setting, string, string][] = [
  ["sync", "Sync", "Your devices upload what they make, encrypted, and bring each other's generations; off, nothing new leaves a device."],
  ["telemetry", "Anonymous usage statistics", "The app sends anonymous events (no account, name or file path) that help us fix what goes wrong."],
  ["training_consent", "Use my generations for training", "We may use your generations to train models; nothing is used unless this is on, and every change is recorded."],
  ["marketing_email", "News by email", "Now and then an email about new features; off, you get only the mail an account needs."],
];

export async function settingsPage(main: HTMLElement, go: (path: string) => void): Promise<void> {
  const signed = current()!;
  const deviceId = `web-${signed.sessionId}`.slice(0, 64);
  let settings = await call<Settings>("GET", "/v1/account/settings");
  const status = statusLine();
  const history = h("ul", { class: "history", "aria-label": "Changes of training consent" });
  const fillHistory = async () => {
    const { history: changes } = await call<{ history: { at: number; device_id: string; training_consent: boolean }[] }>("GET", "/v1/account/consent");
    history.replaceChildren(
      ...(changes.length === 0
        ? [h("li", {}, "Never given: nothing of yours has been used for training.")]
        : changes.map((change) =>
            h("li", {}, `${formatDate(change.at * 1000)}: ${change.training_consent ? "given" : "withdrawn"} ${change.device_id.startsWith("web-") ? "on the web" : "from a device"}`),
          )),
    );
  };
  const toggles = SETTINGS.map(([key, label, meaning]) => {
    const id = `setting-${key}`;
    const box = h("input", { type: "checkbox", id, name: key, "aria-describedby": `${id}-meaning` });
    box.checked = settings[key];
    box.addEventListener("change", async () => {
      box.disabled = true;
      const change = { [key]: box.checked };
      try {
        try {
          settings = await call<Settings>("PUT", "/v1/account/settings", { based_on: settings.version, device_id: deviceId, ...change });
        } catch (error) {
          if (!(error instanceof ApiError && error.code === "stale_settings")) throw error;
          // Changed meanwhile on another device: read again and apply this one change.
          settings = await call<Settings>("GET", "/v1/account/settings");
          settings = await call<Settings>("PUT", "/v1/account/settings", { based_on: settings.version, device_id: deviceId, ...change });
        }
        status.show(`Saved: ${label.toLowerCase()} is ${settings[key] ? "on" : "off"} for every device.`);
        if (key === "training_consent") await fillHistory();
      } catch (error) {
        status.show(messageOf(error), "error");
      }
      for (const [other] of SETTINGS) {
        const input = document.getElementById(`setting-${other}`) as HTMLInputElement | null;
        if (input) input.checked = settings[other];
      }
      box.disabled = false;
    });
    return h("div", { class: "check" }, box, h("label", { for: id }, label), h("p", { class: "hint", id: `${id}-meaning` }, meaning));
  });
  await fillHistory();

  const exportStatus = statusLine();
  const exportButton = h("button", { type: "button" }, "Export my data");
  exportButton.addEventListener("click", async () => {
    exportButton.disabled = true;
    exportStatus.show("Exporting: fetching the archive and decrypting it here…", "busy");
    try {
      download("3dgpt-export.zip", (await exportArchive(signed.dataKey)) as BlobPart, "application/zip");
      exportStatus.show("Exported: 3dgpt-export.zip holds everything this server keeps about you, decrypted.");
    } catch (error) {
      exportStatus.show(messageOf(error), "error");
    }
    exportButton.disabled = false;
  });

  const deleteStatus = statusLine();
  const deleteForm = h(
    "form",
    { class: "card danger-zone", novalidate: true },
    field("Password", { name: "password", type: "password", autocomplete: "current-password", required: true }, "Deleting the account takes your password."),
    h("button", { type: "submit", class: "danger" }, "Delete my account"),
    deleteStatus,
  );
  deleteForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { password } = values(deleteForm);
    if (!(await confirmDialog("Delete your account and everything in it?", "Delete my account", "Your generations are deleted from this server at once, and from your devices at their next sync. This cannot be undone."))) return;
    deleteStatus.show("Checking your password…", "busy");
    try {
      const account = await call<{ email: string }>("GET", "/v1/account");
      const keys = await keysFor(account.email, password);
      await call("DELETE", "/v1/account", { auth_key: hex(keys.authKey) });
      // The session went with the account; this removes its cookie and the key kept here.
      await signOut().catch(() => dropped());
      go("/?deleted");
    } catch (error) {
      deleteStatus.show(messageOf(error), "error");
    }
  });

  main.replaceChildren(
    h("h1", {}, "Privacy settings"),
    h(
      "section",
      { "aria-labelledby": "settings-heading" },
      h("h2", { id: "settings-heading" }, "Your settings"),
      h("p", {}, "These are your account's settings: every signed-in device follows them."),
      h("div", { class: "card" }, ...toggles, status),
    ),
    h("section", { "aria-labelledby": "consent-heading" }, h("h2", { id: "consent-heading" }, "Training consent, as recorded"), history),
    h(
      "section",
      { "aria-labelledby": "export-heading" },
      h("h2", { id: "export-heading" }, "Your data"),
      h("p", {}, "Download everything this server holds about you — your account, settings, sessions and every synced generation — as one zip, decrypted in this browser."),
      exportButton,
      exportStatus,
    ),
    h(
      "section",
      { "aria-labelledby": "delete-heading" },
      h("h2", { id: "delete-heading" }, "Delete your account"),
      h("p", {}, "Deletes the account and everything it holds on this server at once. Generations that never left your devices stay there."),
      deleteForm,
    ),
  );
}
