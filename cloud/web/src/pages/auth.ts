// Signing up (with the age gate and the recovery code), signing in, and recovering a forgotten
// password with the recovery code.

import { ApiError, call } from "../api";
import { hex, newRecovery, normalizeEmail, parseRecoveryCode, recoveryVerifier, unhex, unwrapWithRecovery } from "../crypto";
import { download, field, h, messageOf, statusLine, values } from "../dom";
import { checkPassword, passwordMaterial, signIn, signUp } from "../session";

/** The youngest age this page lets a person sign up at (the server may ask more in some countries). */
const MINIMUM_AGE = 13;

const TOO_YOUNG =
  "Sorry — 3D GPT accounts are for people aged 13 or older. Nothing you typed has been kept. " +
  "You can still use the 3D GPT app on your own computer without an account.";

function ageOn(birth: string, today: Date): number {
  const [year, month, day] = birth.split("-").map(Number);
  let age = today.getFullYear() - year;
  if (today.getMonth() + 1 < month || (today.getMonth() + 1 === month && today.getDate() < day)) {
    age -= 1;
  }
  return age;
}

export async function signInPage(main: HTMLElement, go: (path: string) => void): Promise<void> {
  const status = statusLine();
  const form = h(
    "form",
    { class: "card", novalidate: true },
    field("Email", { name: "email", type: "email", autocomplete: "username", required: true }),
    field("Password", { name: "password", type: "password", autocomplete: "current-password", required: true }),
    h("button", { type: "submit" }, "Sign in"),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { email, password } = values(form);
    status.show("Signing in: turning your password into keys here in the browser…", "busy");
    try {
      await signIn(email, password);
      go("/generations");
    } catch (error) {
      status.show(messageOf(error), "error");
    }
  });
  main.replaceChildren(
    h("h1", {}, "Sign in"),
    h("p", {}, "Your password never leaves this page: it is turned into keys here, and the server gets only a key derived from it."),
    form,
    h("p", {}, "No account yet? ", h("a", { href: "/signup" }, "Create one"), ". Forgot your password? ", h("a", { href: "/recover" }, "Use your recovery code"), "."),
  );
}

/** Shows a recovery code once, with a way to keep it, then goes on. */
function showRecoveryCode(main: HTMLElement, code: string, title: string, next: () => void): void {
  const saved = h("input", { type: "checkbox", id: "code-saved" });
  const proceed = h("button", { type: "button", disabled: true, onclick: next }, "Continue");
  saved.addEventListener("change", () => {
    proceed.disabled = !saved.checked;
  });
  main.replaceChildren(
    h("h1", {}, title),
    h("p", {}, "This is your recovery code. It is shown only once. With it you can set a new password if you forget yours, without losing anything: keep it somewhere safe, away from this computer."),
    h("p", { class: "code", id: "recovery-code" }, code),
    h("div", { class: "actions" },
      h("button", { type: "button", onclick: () => download("3dgpt-recovery-code.txt", `3D GPT recovery code\n\n${code}\n`, "text/plain") }, "Download as a file"),
    ),
    h("div", { class: "check" }, saved, h("label", { for: "code-saved" }, "I have saved my recovery code")),
    proceed,
  );
  const heading = main.querySelector("h1");
  if (heading) {
    heading.tabIndex = -1;
    heading.focus();
  }
}

export async function signUpPage(main: HTMLElement, go: (path: string) => void): Promise<void> {
  const status = statusLine();
  const form = h(
    "form",
    { class: "card", novalidate: true },
    field("Name", { name: "name", autocomplete: "name", required: true, maxlength: 200 }),
    field("Email", { name: "email", type: "email", autocomplete: "email", required: true }),
    field("Password", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: 10 }, "At least 10 characters. It never leaves this page."),
    field("Password again", { name: "again", type: "password", autocomplete: "new-password", required: true }),
    field("Date of birth", { name: "birth", type: "date", autocomplete: "bday", required: true }, `Accounts are for people aged ${MINIMUM_AGE} or older.`),
    field("Country (optional)", { name: "country", autocomplete: "country", maxlength: 2, placeholder: "e.g. FR" }, "Two letters; some countries ask an older minimum age."),
    h("button", { type: "submit" }, "Create account"),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = values(form);
    try {
      if (!input.name.trim()) throw new Error("give your name, as the account shows it");
      normalizeEmail(input.email);
      checkPassword(input.password);
      if (input.password !== input.again) throw new Error("the two passwords are not the same");
      if (!/^\d{4}-\d{2}-\d{2}$/.test(input.birth)) throw new Error("give your date of birth");
    } catch (error) {
      status.show(messageOf(error), "error");
      return;
    }
    if (ageOn(input.birth, new Date()) < MINIMUM_AGE) {
      // Refused here: nothing is sent, nothing is kept.
      form.reset();
      status.show(TOO_YOUNG, "error");
      return;
    }
    status.show("Creating your account: making its keys here in the browser…", "busy");
    try {
      const code = await signUp({ name: input.name, email: input.email, password: input.password, dateOfBirth: input.birth, country: input.country });
      showRecoveryCode(main, code, "Your account is ready", () => go("/generations"));
    } catch (error) {
      if (error instanceof ApiError && error.code === "too_young") {
        form.reset();
        status.show(`Sorry — ${error.message}. Nothing you typed has been kept. You can still use the 3D GPT app on your own computer without an account.`, "error");
      } else {
        status.show(messageOf(error), "error");
      }
    }
  });
  main.replaceChildren(
    h("h1", {}, "Create an account"),
    h("p", {}, "An account keeps your generations in sync between your devices, encrypted with a key only you hold."),
    form,
    h("p", {}, "Already have an account? ", h("a", { href: "/signin" }, "Sign in"), "."),
  );
}

export async function recoverPage(main: HTMLElement, go: (path: string) => void): Promise<void> {
  const status = statusLine();
  const form = h(
    "form",
    { class: "card", novalidate: true },
    field("Email", { name: "email", type: "email", autocomplete: "username", required: true }),
    field("Recovery code", { name: "code", autocomplete: "off", required: true, spellcheck: "false" }, "The code you saved when you created the account (eight groups of four)."),
    field("New password", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: 10 }, "At least 10 characters."),
    field("New password again", { name: "again", type: "password", autocomplete: "new-password", required: true }),
    h("button", { type: "submit" }, "Set the new password"),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = values(form);
    try {
      const email = normalizeEmail(input.email);
      const codeBytes = parseRecoveryCode(input.code);
      checkPassword(input.password);
      if (input.password !== input.again) throw new Error("the two passwords are not the same");
      status.show("Checking the recovery code…", "busy");
      const verifier = hex(await recoveryVerifier(codeBytes));
      const started = await call<{ account_id: string; recovery_wrapped_data_key: string }>("POST", "/v1/accounts/recovery/start", { email, recovery_verifier: verifier });
      const dataKey = await unwrapWithRecovery(codeBytes, started.account_id, unhex(started.recovery_wrapped_data_key));
      status.show("Setting the new password: making its keys here in the browser…", "busy");
      const { material } = await passwordMaterial(started.account_id, input.password, dataKey);
      // Each code works once: a new one replaces it.
      const recovery = await newRecovery(started.account_id, dataKey);
      dataKey.fill(0);
      await call("POST", "/v1/accounts/recovery/finish", {
        email,
        recovery_verifier: verifier,
        new: material,
        recovery_wrapped_data_key: hex(recovery.wrapped),
        recovery_verifier_digest: hex(recovery.verifierDigest),
      });
      await signIn(email, input.password);
      showRecoveryCode(main, recovery.code, "Your new password is set", () => go("/generations"));
    } catch (error) {
      status.show(messageOf(error), "error");
    }
  });
  main.replaceChildren(
    h("h1", {}, "Forgot your password"),
    h("p", {}, "Your recovery code opens your account's key, so you keep everything you synced. Every device is signed out and signs in again with the new password."),
    form,
  );
}
