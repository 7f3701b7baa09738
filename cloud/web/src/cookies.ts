// The cookie choice. These pages set no analytics or advertising cookies at all: signing in sets one
// session cookie (the server's, HttpOnly), and the preferences cookie below is set only after the
// person chooses to keep preferences. Until then a chosen theme lasts for this tab only.

import { h } from "./dom";

const PREFERENCES = "3dgpt_prefs";
/** Remembers for this tab that the notice was answered "don't keep" (not a cookie). */
const ANSWERED = "3dgpt-cookie-notice";

export type Theme = "system" | "light" | "dark";

function preferencesCookie(): string | null {
  for (const pair of document.cookie.split(";")) {
    const [name, ...value] = pair.trim().split("=");
    if (name === PREFERENCES) return value.join("=");
  }
  return null;
}

function kept(): boolean {
  return preferencesCookie() !== null;
}

export function theme(): Theme {
  const fromCookie = /theme:(system|light|dark)/.exec(preferencesCookie() ?? "")?.[1];
  const fromTab = sessionStorage.getItem("3dgpt-theme");
  const chosen = fromCookie ?? fromTab ?? "system";
  return chosen === "light" || chosen === "dark" ? chosen : "system";
}

function writeCookie(chosen: Theme): void {
  const secure = location.protocol === "https:" ? "; Secure" : "";
  document.cookie = `${PREFERENCES}=theme:${chosen}; Path=/; Max-Age=31536000; SameSite=Strict${secure}`;
}

export function applyTheme(chosen: Theme): void {
  if (chosen === "system") {
    delete document.documentElement.dataset.theme;
  } else {
    document.documentElement.dataset.theme = chosen;
  }
}

/** Chooses a theme: kept in the preferences cookie if the person keeps preferences, else for this tab. */
export function chooseTheme(chosen: Theme): void {
  applyTheme(chosen);
  if (kept()) {
    writeCookie(chosen);
  } else {
    sessionStorage.setItem("3dgpt-theme", chosen);
  }
}

/** The theme control for the footer. */
export function themeControl(): HTMLElement {
  const select = h(
    "select",
    { id: "theme", name: "theme" },
    h("option", { value: "system" }, "As the system"),
    h("option", { value: "light" }, "Light"),
    h("option", { value: "dark" }, "Dark"),
  );
  select.value = theme();
  select.addEventListener("change", () => chooseTheme(select.value as Theme));
  return h("div", { class: "theme" }, h("label", { for: "theme" }, "Theme"), select);
}

/** The first-visit notice, unless the person has answered it. */
export function cookieNotice(): HTMLElement | null {
  if (kept() || sessionStorage.getItem(ANSWERED)) {
    return null;
  }
  const notice = h(
    "section",
    { class: "cookie-notice", "aria-labelledby": "cookie-heading" },
    h("h2", { id: "cookie-heading" }, "Cookies"),
    h(
      "p",
      {},
      "This site has no analytics or advertising cookies at all. Signing in sets one session cookie, which ends when you sign out or close the browser. " +
        "If you like, we also keep your theme in a preferences cookie; otherwise it lasts for this tab only.",
    ),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", onclick: () => answer(true) }, "Keep my preferences"),
      h("button", { type: "button", onclick: () => answer(false) }, "Don't keep them"),
    ),
  );
  const answer = (keep: boolean) => {
    if (keep) {
      writeCookie(theme());
    } else {
      document.cookie = `${PREFERENCES}=; Path=/; Max-Age=0; SameSite=Strict`;
      sessionStorage.setItem(ANSWERED, "no");
    }
    notice.remove();
  };
  return notice;
}
