// The gallery of the account's synced generations, decrypted here: thumbnails, date, device and
// size; each opens in a 3D viewer, downloads as GLB, or is deleted (on every device).

import { call } from "../api";
import { confirmDialog, download, formatBytes, formatDate, h, messageOf, statusLine } from "../dom";
import { Generation, file, generations, modelName } from "../records";
import { current } from "../session";

export async function generationsPage(main: HTMLElement): Promise<void> {
  const signed = current()!;
  const status = statusLine();
  const gallery = h("ul", { class: "gallery", "aria-label": "Your generations" });
  const deleteAll = h("button", { type: "button", class: "danger", disabled: true }, "Delete all");
  main.replaceChildren(
    h("h1", {}, "Your generations"),
    h("p", {}, "Generations your devices synced to your account, decrypted here in your browser."),
    h("div", { class: "actions" }, deleteAll),
    status,
    gallery,
  );
  status.show("Opening your generations…", "busy");
  let list: Generation[];
  try {
    list = await generations(signed.dataKey);
  } catch (error) {
    status.show(messageOf(error), "error");
    return;
  }
  const shown = () => {
    const count = gallery.children.length;
    deleteAll.disabled = count === 0;
    status.show(count === 0 ? "No generations synced yet. Generations made by the 3D GPT app with sync on appear here." : `${count} generation${count === 1 ? "" : "s"}.`);
  };
  deleteAll.addEventListener("click", async () => {
    if (!(await confirmDialog("Delete every generation?", "Delete all", "They are deleted from your account and from every device at its next sync. This cannot be undone."))) return;
    try {
      const { deleted } = await call<{ deleted: number }>("DELETE", "/v1/records");
      gallery.replaceChildren();
      shown();
      status.show(`Deleted ${deleted} generation${deleted === 1 ? "" : "s"} everywhere.`);
    } catch (error) {
      status.show(messageOf(error), "error");
    }
  });
  for (const generation of list) {
    gallery.append(card(generation, signed.dataKey, status, shown));
  }
  shown();
  // Thumbnails after the list, so the page is usable at once.
  for (const image of gallery.querySelectorAll<HTMLImageElement>("img[data-thumbnail]")) {
    const generation = list.find((item) => item.id === image.dataset.thumbnail);
    if (!generation) continue;
    try {
      const png = await file(signed.dataKey, generation.thumbnail);
      image.src = URL.createObjectURL(new Blob([png as BlobPart], { type: "image/png" }));
    } catch {
      image.alt = `No preview of ${generation.source}`;
    }
  }
}

function card(generation: Generation, dataKey: CryptoKey, status: ReturnType<typeof statusLine>, changed: () => void): HTMLLIElement {
  const name = generation.source || generation.id;
  const item = h(
    "li",
    { class: "generation", "data-generation": generation.id },
    h("img", { "data-thumbnail": generation.id, alt: `Preview of ${name}`, width: 160, height: 160 }),
    h("h2", {}, name),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Made"),
      h("dd", {}, formatDate(generation.created_ms)),
      h("dt", {}, "On"),
      h("dd", {}, generation.device_name || "another device"),
      h("dt", {}, "Size"),
      h("dd", {}, formatBytes(generation.asset.size)),
    ),
  );
  const actions = h(
    "div",
    { class: "actions" },
    h("button", { type: "button", "aria-label": `View in 3D: ${name}`, onclick: () => view(generation, dataKey, status) }, "View in 3D"),
    h(
      "button",
      {
        type: "button",
        "aria-label": `Download GLB: ${name}`,
        onclick: async () => {
          status.show(`Decrypting ${name}…`, "busy");
          try {
            download(modelName(generation), (await file(dataKey, generation.asset)) as BlobPart, "model/gltf-binary");
            status.show(`Downloaded ${modelName(generation)}.`);
          } catch (error) {
            status.show(messageOf(error), "error");
          }
        },
      },
      "Download GLB",
    ),
    h(
      "button",
      {
        type: "button",
        class: "danger",
        "aria-label": `Delete: ${name}`,
        onclick: async () => {
          if (!(await confirmDialog(`Delete ${name}?`, "Delete", "It is deleted from your account and from every device at its next sync."))) return;
          try {
            await call("DELETE", `/v1/records/${encodeURIComponent(generation.id)}`);
            item.remove();
            changed();
            status.show(`Deleted ${name} everywhere.`);
          } catch (error) {
            status.show(messageOf(error), "error");
          }
        },
      },
      "Delete",
    ),
  );
  item.append(actions);
  return item;
}

async function view(generation: Generation, dataKey: CryptoKey, status: ReturnType<typeof statusLine>): Promise<void> {
  const name = generation.source || generation.id;
  status.show(`Decrypting ${name}…`, "busy");
  let glb: Uint8Array;
  try {
    glb = await file(dataKey, generation.asset);
  } catch (error) {
    status.show(messageOf(error), "error");
    return;
  }
  status.show("");
  const { openViewer } = await import("../viewer");
  openViewer(name, glb);
}
