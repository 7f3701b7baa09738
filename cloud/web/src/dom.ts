// Small helpers to build the pages from DOM nodes (text always as text, never as HTML).

type Child = Node | string | null | undefined | false;
type Attributes = Record<string, string | boolean | number | EventListener | undefined>;

/** An element with attributes (`on…` ones become listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) {
      continue;
    }
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  element.append(...children.filter((child): child is Node | string => child !== null && child !== undefined && child !== false));
  return element;
}

let fieldCount = 0;

/** A labelled input, with an optional hint tied to it. */
export function field(label: string, attributes: Attributes, hint?: string): HTMLDivElement {
  fieldCount += 1;
  const id = `field-${fieldCount}`;
  const hintId = hint ? `${id}-hint` : undefined;
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    h("input", { id, "aria-describedby": hintId, ...attributes }),
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
  );
}

/** A status line that screen readers announce; `show` writes to it. */
export function statusLine(): HTMLParagraphElement & { show: (text: string, kind?: "error" | "ok" | "busy") => void } {
  const line = h("p", { class: "status", role: "status", "aria-live": "polite" }) as HTMLParagraphElement & {
    show: (text: string, kind?: "error" | "ok" | "busy") => void;
  };
  line.show = (text, kind = "ok") => {
    line.textContent = text;
    line.dataset.kind = kind;
  };
  return line;
}

/** The values of a form's named inputs. */
export function values(form: HTMLFormElement): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of new FormData(form).entries()) {
    result[name] = String(value);
  }
  return result;
}

/** Offers `bytes` as a download named `name`. */
export function download(name: string, bytes: BlobPart, type: string): void {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const link = h("a", { href: url, download: name, class: "hidden" });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function formatBytes(size: number): string {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KB`;
  if (size < 1024 ** 3) return `${(size / 1024 / 1024).toFixed(1)} MB`;
  return `${(size / 1024 ** 3).toFixed(2)} GB`;
}

export function formatDate(milliseconds: number): string {
  return new Date(milliseconds).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** Asks a yes-or-no question in a modal dialog; resolves `true` when the person confirms. */
export function confirmDialog(question: string, confirmLabel: string, detail?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const finish = (answer: boolean) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    const dialog = h(
      "dialog",
      { class: "confirm", "aria-labelledby": "confirm-question" },
      h("h2", { id: "confirm-question" }, question),
      detail ? h("p", {}, detail) : null,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "danger", onclick: () => finish(true) }, confirmLabel),
        h("button", { type: "button", onclick: () => finish(false) }, "Cancel"),
      ),
    );
    dialog.addEventListener("cancel", () => finish(false));
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** The sentence of an error, for the person reading it. */
export function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? "" : ".");
}
