// The account's synced generations, opened here with the data key: the server lists sealed records
// and serves sealed blobs; only this page can read them.

import { bytes, call } from "./api";
import { Bytes, openSealed } from "./crypto";

interface BlobRef {
  name: string;
  size: number;
}

/** What a synced record holds (docs/crypto.md), opened. */
export interface Generation {
  id: string;
  created_ms: number;
  source: string;
  record_json: string;
  device_name: string;
  input: BlobRef;
  asset: BlobRef;
  thumbnail: BlobRef;
}

interface Change {
  id: string;
  seq: number;
  deleted: boolean;
  sealed: string | null;
}

function unbase64(text: string): Bytes {
  const characters = atob(text);
  const bytes = new Uint8Array(characters.length);
  for (let index = 0; index < characters.length; index += 1) {
    bytes[index] = characters.charCodeAt(index);
  }
  return bytes;
}

/** Every live generation of the account, newest first. */
export async function generations(dataKey: CryptoKey): Promise<Generation[]> {
  const live = new Map<string, Change>();
  let cursor = 0;
  for (;;) {
    const page = await call<{ changes: Change[]; cursor: number; more: boolean }>("GET", `/v1/changes?since=${cursor}`);
    for (const change of page.changes) {
      if (change.deleted) {
        live.delete(change.id);
      } else {
        live.set(change.id, change);
      }
    }
    cursor = page.cursor;
    if (!page.more) break;
  }
  const opened: Generation[] = [];
  for (const change of live.values()) {
    if (change.sealed) {
      const plain = await openSealed(dataKey, unbase64(change.sealed));
      opened.push(JSON.parse(new TextDecoder().decode(plain)) as Generation);
    }
  }
  return opened.sort((a, b) => b.created_ms - a.created_ms);
}

/** One of a generation's files, opened. */
export async function file(dataKey: CryptoKey, blob: BlobRef): Promise<Bytes> {
  return openSealed(dataKey, await bytes(`/v1/blobs/${encodeURIComponent(blob.name)}`));
}

/** The name a generation's model downloads as: its picture's name with `.glb`. */
export function modelName(generation: Generation): string {
  const stem = generation.source.replace(/\.[^.]*$/, "") || generation.id;
  return `${stem.replace(/[\\/:*?"<>|]/g, "_")}.glb`;
}
