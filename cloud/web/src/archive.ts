// "Export my data": the server's archive (a tar of everything it holds about the account, records
// and blobs sealed, docs/export.md), with every record and file decrypted here into one zip.

import { strToU8, zipSync } from "fflate";
import { bytes } from "./api";
import { Bytes, openSealed } from "./crypto";
import { Generation, modelName } from "./records";

/** The entries of a ustar archive. */
function untar(archive: Bytes): Map<string, Bytes> {
  const entries = new Map<string, Bytes>();
  const text = (from: number, length: number) => {
    const field = archive.subarray(from, from + length);
    const end = field.indexOf(0);
    return new TextDecoder().decode(end === -1 ? field : field.subarray(0, end));
  };
  let offset = 0;
  while (offset + 512 <= archive.length) {
    const name = text(offset, 100);
    if (!name) break;
    const prefix = text(offset + 345, 155);
    const size = parseInt(text(offset + 124, 12).trim() || "0", 8);
    const type = text(offset + 156, 1);
    const start = offset + 512;
    if (start + size > archive.length) {
      throw new Error("the export archive came cut short; try again");
    }
    if (type === "0" || type === "") {
      entries.set(prefix ? `${prefix}/${name}` : name, archive.slice(start, start + size));
    }
    offset = start + Math.ceil(size / 512) * 512;
  }
  return entries;
}

/** The decrypted export, as zip bytes. */
export async function exportArchive(dataKey: CryptoKey): Promise<Uint8Array> {
  const entries = untar(await bytes("/v1/account/export"));
  const files: Record<string, Uint8Array> = {};
  const blobs = new Map<string, Bytes>();
  for (const [path, content] of entries) {
    const name = path.replace(/^3dgpt-export\//, "");
    if (name.startsWith("blobs/")) {
      blobs.set(name.slice("blobs/".length), content);
    } else if (!name.startsWith("records/")) {
      files[name] = content;
    }
  }
  files["README.txt"] = strToU8(
    "Everything the 3D GPT server holds about your account, exported from its web pages and decrypted in your " +
      "browser with your account's key. account.json, settings.json, consent_history.json, sessions.json and " +
      "records.json are as the server keeps them. generations/ holds each synced generation: its record " +
      "(record.json), its picture, its model (GLB) and its thumbnail.\n",
  );
  for (const [path, content] of entries) {
    const match = /^3dgpt-export\/records\/(.+)\.sealed$/.exec(path);
    if (!match) continue;
    const record = JSON.parse(new TextDecoder().decode(await openSealed(dataKey, content))) as Generation;
    const folder = `generations/${record.id}`;
    files[`${folder}/record.json`] = strToU8(JSON.stringify(record, null, 2));
    const parts: [keyof Generation, string][] = [
      ["input", record.source.replace(/[\\/:*?"<>|]/g, "_") || "picture"],
      ["asset", modelName(record)],
      ["thumbnail", "thumbnail.png"],
    ];
    for (const [part, fileName] of parts) {
      const blob = record[part] as { name: string };
      const sealed = blobs.get(blob.name);
      if (sealed) {
        files[`${folder}/${fileName}`] = await openSealed(dataKey, sealed);
      }
    }
  }
  const named: Record<string, Uint8Array> = {};
  for (const [name, content] of Object.entries(files)) {
    named[`3dgpt-export/${name}`] = content;
  }
  return zipSync(named, { level: 6 });
}
