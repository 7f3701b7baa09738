// The web pages' script: one page whose parts (sign in, sign up, recover, account, generations,
// privacy settings) are shown by address, the navigation, the cookie notice and the theme. The
// crypto functions are exported for the web tests, which check them against crypto/vectors.json.

import { ApiError } from "./api";
import { applyTheme, cookieNotice, theme, themeControl } from "./cookies";
import { h, messageOf } from "./dom";
import { accountPage } from "./pages/account";
import { recoverPage, signInPage, signUpPage } from "./pages/auth";
import { generationsPage } from "./pages/generations";
import { settingsPage } from "./pages/settings";
import { current, dropped, restore, signOut } from "./session";

export * as crypto from "./crypto";

type Page = (main: HTMLElement, go: (path: string) => void) => Promise<void>;

const TITLES: Record<string, string> = {
  "/": "3D GPT",
  "/signin": "Sign in",
  "/signup": "Create an account",
  "/recover": "Forgot your password",
  "/account": "Your account",
  "/generations": "Your generations",
  "/settings": "Privacy settings",
};

const SIGNED_IN: Record<string, Page> = {
  "/account": accountPage,
  "/generations": generationsPage,
  "/settings": settingsPage,
};

const SIGNED_OUT: Record<string, Page> = {
  "/signin": signInPage,
  "/signup": signUpPage,
  "/recover": recoverPage,
};

async function home(main: HTMLElement): Promise<void> {
  const deleted = new URLSearchParams(location.search).has("deleted");
  main.replaceChildren(
    h("h1", {}, "3D GPT"),
    ...(deleted ? [h("p", { class: "notice", role: "status" }, "Your account and everything in it have been deleted.")] : []),
    h("p", {}, "One picture in, a ready-to-use 3D model out. Your account keeps your generations in sync between your devices, encrypted with a key only you hold: this server stores ciphertext it cannot read."),
    h("p", {}, h("a", { href: "/signin", class: "button" }, "Sign in"), " ", h("a", { href: "/signup", class: "button secondary" }, "Create an account")),
  );
}

function navigation(): void {
  const nav = document.getElementById("nav");
  if (!nav) return;
  const link = (path: string, label: string) =>
    h("a", { href: path, "aria-current": location.pathname === path ? "page" : undefined }, label);
  if (current()) {
    nav.replaceChildren(
      link("/generations", "Generations"),
      link("/account", "Account"),
      link("/settings", "Privacy settings"),
      h(
        "button",
        {
          type: "button",
          class: "link",
          onclick: async () => {
            await signOut().catch(() => undefined);
            go("/");
          },
        },
        "Sign out",
      ),
    );
  } else {
    nav.replaceChildren(link("/signin", "Sign in"), link("/signup", "Create an account"));
  }
}

async function render(): Promise<void> {
  const main = document.getElementById("main")!;
  navigation();
  if (main.dataset.static) {
    return; // A page the server wrote (the privacy policy).
  }
  // The shell comes busy (so tests and assistive technology wait for the part to show); without
  // JavaScript it says why it stays empty.
  const path = location.pathname;
  document.title = `${TITLES[path] ?? "3D GPT"} · 3D GPT`;
  main.setAttribute("aria-busy", "true");
  try {
    if (SIGNED_IN[path]) {
      if (!current()) {
        go("/signin", true);
        return;
      }
      await SIGNED_IN[path](main, go);
    } else if (SIGNED_OUT[path]) {
      if (current()) {
        go("/generations", true);
        return;
      }
      await SIGNED_OUT[path](main, go);
    } else if (current() && path === "/" && !location.search) {
      go("/generations", true);
      return;
    } else {
      await home(main);
    }
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      // The session ended (signed out elsewhere, revoked, or expired).
      await dropped();
      go("/signin", true);
      return;
    }
    main.replaceChildren(h("h1", {}, "Something went wrong"), h("p", { class: "status", "data-kind": "error" }, messageOf(error)));
  } finally {
    main.removeAttribute("aria-busy");
  }
}

function go(path: string, replace = false): void {
  if (replace) {
    history.replaceState(null, "", path);
  } else {
    history.pushState(null, "", path);
  }
  void render().then(() => {
    // Moves the focus to the new part's heading, so keyboard and screen-reader users start there.
    const heading = document.getElementById("main")?.querySelector("h1");
    if (heading) {
      heading.tabIndex = -1;
      heading.focus();
    }
  });
}

function start(): void {
  applyTheme(theme());
  document.querySelector("footer.site")?.append(themeControl());
  const notice = cookieNotice();
  if (notice) document.body.append(notice);
  // Links within the page's parts change the part shown, without loading the page again.
  document.addEventListener("click", (event) => {
    const link = (event.target as Element | null)?.closest?.("a");
    if (!link || link.target || link.hasAttribute("download") || event.ctrlKey || event.metaKey || event.shiftKey) return;
    const url = new URL(link.href, location.href);
    if (url.origin === location.origin && (url.pathname in TITLES) && !document.getElementById("main")?.dataset.static) {
      event.preventDefault();
      go(url.pathname + url.search);
    }
  });
  window.addEventListener("popstate", () => void render());
  document.addEventListener("3dgpt-session", navigation);
  void restore().finally(() => void render());
}

start();
