// The account: name, email and password, the plan and what it holds, and the sessions signed in.

import { call } from "../api";
import { hex, unhex, unwrapDataKey } from "../crypto";
import { confirmDialog, field, formatBytes, formatDate, h, messageOf, statusLine, values } from "../dom";
import { checkPassword, keysFor, passwordMaterial } from "../session";

interface Account {
  id: string;
  name: string;
  email: string;
  tier: string;
  email_verified: boolean;
  wrapped_data_key: string;
  created_at: number;
  upgrade_url: string | null;
  subscription_status: string | null;
}

interface Session {
  id: string;
  device_name: string;
  os: string;
  client_version: string;
  created_at: number;
  last_seen_at: number;
  current: boolean;
}

export async function accountPage(main: HTMLElement): Promise<void> {
  const account = await call<Account>("GET", "/v1/account");
  const usage = await call<{ tier: string; bytes: number; bytes_limit: number; generations: number; generations_limit: number }>("GET", "/v1/account/usage");
  main.replaceChildren(
    h("h1", {}, "Your account"),
    profileSection(account),
    passwordSection(account),
    planSection(account, usage),
    await sessionsSection(),
  );
}

function profileSection(account: Account): HTMLElement {
  const nameStatus = statusLine();
  const nameForm = h(
    "form",
    { class: "card", novalidate: true },
    field("Name", { name: "name", value: account.name, autocomplete: "name", required: true, maxlength: 200 }),
    h("button", { type: "submit" }, "Save the name"),
    nameStatus,
  );
  nameForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const changed = await call<Account>("PATCH", "/v1/account", { name: values(nameForm).name });
      nameStatus.show(`Saved: the account's name is ${changed.name}.`);
    } catch (error) {
      nameStatus.show(messageOf(error), "error");
    }
  });
  const emailStatus = statusLine();
  const emailForm = h(
    "form",
    { class: "card", novalidate: true },
    field("Email", { name: "email", type: "email", value: account.email, autocomplete: "email", required: true }),
    field("Password", { name: "password", type: "password", autocomplete: "current-password", required: true }, "Changing the email takes your password."),
    h("button", { type: "submit" }, "Change the email"),
    emailStatus,
  );
  emailForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = values(emailForm);
    emailStatus.show("Checking your password…", "busy");
    try {
      const keys = await keysFor(account.email, input.password);
      const changed = await call<Account>("POST", "/v1/account/email", { auth_key: hex(keys.authKey), email: input.email });
      account.email = changed.email;
      emailStatus.show(changed.email_verified ? `Saved: the account's email is ${changed.email}.` : `Saved. We sent a link to ${changed.email}: open it to verify the address.`);
    } catch (error) {
      emailStatus.show(messageOf(error), "error");
    }
  });
  return h(
    "section",
    { "aria-labelledby": "profile-heading" },
    h("h2", { id: "profile-heading" }, "Name and email"),
    nameForm,
    emailForm,
    account.email_verified ? null : h("p", { class: "notice" }, "Your email is not verified yet: sync waits until you open the link we sent."),
  );
}

function passwordSection(account: Account): HTMLElement {
  const status = statusLine();
  const form = h(
    "form",
    { class: "card", novalidate: true },
    field("Current password", { name: "current", type: "password", autocomplete: "current-password", required: true }),
    field("New password", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: 10 }, "At least 10 characters."),
    field("New password again", { name: "again", type: "password", autocomplete: "new-password", required: true }),
    h("button", { type: "submit" }, "Change the password"),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = values(form);
    try {
      checkPassword(input.password);
      if (input.password !== input.again) throw new Error("the two new passwords are not the same");
      status.show("Changing the password: making its keys here in the browser…", "busy");
      const old = await keysFor(account.email, input.current);
      const fresh = await call<Account>("GET", "/v1/account");
      // The data key stays (so every file stays readable); only its wrapping changes.
      const dataKey = await unwrapDataKey(old.encryptionKey, fresh.id, unhex(fresh.wrapped_data_key));
      const { material } = await passwordMaterial(fresh.id, input.password, dataKey);
      dataKey.fill(0);
      await call("POST", "/v1/account/password", { auth_key: hex(old.authKey), new: material });
      form.reset();
      status.show("Changed. Your other devices are signed out and sign in again with the new password.");
    } catch (error) {
      status.show(messageOf(error), "error");
    }
  });
  return h("section", { "aria-labelledby": "password-heading" }, h("h2", { id: "password-heading" }, "Password"), form);
}

function planSection(
  account: Account,
  usage: { tier: string; bytes: number; bytes_limit: number; generations: number; generations_limit: number },
): HTMLElement {
  const pro = account.tier === "pro";
  const upgrade = pro
    ? h("p", {}, account.subscription_status ? `Your subscription is ${account.subscription_status}.` : "")
    : account.upgrade_url
      ? h("p", {}, h("a", { href: account.upgrade_url, class: "button", rel: "noopener" }, "Upgrade to Pro"), " (at the payment provider)")
      : h("p", {}, "Pro is not offered on this server.");
  return h(
    "section",
    { "aria-labelledby": "plan-heading" },
    h("h2", { id: "plan-heading" }, "Plan"),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Plan"),
      h("dd", { id: "tier" }, pro ? "Pro" : "Free"),
      h("dt", {}, "Storage used"),
      h("dd", {}, `${formatBytes(usage.bytes)} of ${formatBytes(usage.bytes_limit)}`),
      h("dt", {}, "Generations"),
      h("dd", {}, `${usage.generations} of ${usage.generations_limit}`),
      h("dt", {}, "Account created"),
      h("dd", {}, formatDate(account.created_at * 1000)),
    ),
    upgrade,
  );
}

async function sessionsSection(): Promise<HTMLElement> {
  const status = statusLine();
  const body = h("tbody", {});
  const fill = async () => {
    const { sessions } = await call<{ sessions: Session[] }>("GET", "/v1/sessions");
    body.replaceChildren(
      ...sessions.map((session) => {
        const action = session.current
          ? h("span", {}, "This browser")
          : h(
              "button",
              {
                type: "button",
                class: "danger",
                "aria-label": `Sign out ${session.device_name || "this device"}`,
                onclick: async () => {
                  if (!(await confirmDialog(`Sign out ${session.device_name || "this device"}?`, "Sign it out", "It will need the password to sign in again."))) return;
                  try {
                    await call("DELETE", `/v1/sessions/${encodeURIComponent(session.id)}`);
                    status.show(`Signed out ${session.device_name || "the device"}.`);
                    await fill();
                  } catch (error) {
                    status.show(messageOf(error), "error");
                  }
                },
              },
              "Sign out",
            );
        return h(
          "tr",
          { "data-session": session.id },
          h("td", {}, session.device_name || "Unnamed device"),
          h("td", {}, session.os || "—"),
          h("td", {}, formatDate(session.last_seen_at * 1000)),
          h("td", {}, action),
        );
      }),
    );
  };
  await fill();
  return h(
    "section",
    { "aria-labelledby": "sessions-heading" },
    h("h2", { id: "sessions-heading" }, "Signed-in devices"),
    h(
      "table",
      { class: "sessions" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Device"), h("th", { scope: "col" }, "System"), h("th", { scope: "col" }, "Last seen"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Action")))),
      body,
    ),
    status,
  );
}
