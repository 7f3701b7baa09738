// The account cryptography of docs/crypto.md, in the browser: argon2id from hash-wasm (WebAssembly),
// HKDF-SHA256, AES-256-GCM and SHA-256 from WebCrypto. crypto/vectors.json is what these functions
// must reproduce (the web tests check it in Chromium). The password and the keys never leave the page.

import { argon2id } from "hash-wasm";

export interface KdfParams {
  memory_kib: number;
  iterations: number;
  parallelism: number;
}

/** The least a client accepts from a server (OWASP's argon2id minimum), as the daemon does. */
export const MINIMUM_KDF: KdfParams = { memory_kib: 19456, iterations: 2, parallelism: 1 };
/** What new passwords derive their keys with. */
export const DEFAULT_KDF: KdfParams = { memory_kib: 65536, iterations: 3, parallelism: 1 };

/** Bytes in memory of their own (what WebCrypto takes). */
export type Bytes = Uint8Array<ArrayBuffer>;

const encoder = new TextEncoder();
const subtle = globalThis.crypto.subtle;

export function hex(bytes: Bytes): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export function unhex(text: string): Bytes {
  if (text.length % 2 !== 0 || /[^0-9a-fA-F]/.test(text)) {
    throw new Error("not hexadecimal");
  }
  const bytes = new Uint8Array(text.length / 2);
  for (let index = 0; index < bytes.length; index += 1) {
    bytes[index] = parseInt(text.slice(index * 2, index * 2 + 2), 16);
  }
  return bytes;
}

export function random(length: number): Bytes {
  return globalThis.crypto.getRandomValues(new Uint8Array(length));
}

function concat(...parts: Uint8Array[]): Bytes {
  const joined = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

/** The account's key: the email trimmed and lower-cased, checked as the service checks it. */
export function normalizeEmail(text: string): string {
  const email = text.trim().toLowerCase();
  const at = email.indexOf("@");
  const domain = email.slice(at + 1);
  const valid =
    at > 0 &&
    email.indexOf("@", at + 1) === -1 &&
    domain.includes(".") &&
    !domain.startsWith(".") &&
    !domain.endsWith(".") &&
    !/[\s\p{Cc}]/u.test(email) &&
    encoder.encode(email).length <= 254;
  if (!valid) {
    throw new Error("that is not an email address (it needs a name, one @ and a domain such as example.org)");
  }
  return email;
}

/** HKDF-SHA256 of `ikm` with `info` (and no salt unless given), 32 bytes. */
export async function hkdf(ikm: Bytes, info: string, salt?: Bytes): Promise<Bytes> {
  const key = await subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  const bits = await subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: salt ?? new Uint8Array(0), info: encoder.encode(info) },
    key,
    256,
  );
  return new Uint8Array(bits);
}

export async function sha256(bytes: Bytes): Promise<Bytes> {
  return new Uint8Array(await subtle.digest("SHA-256", bytes));
}

export interface PasswordKeys {
  authKey: Bytes;
  encryptionKey: Bytes;
}

/**
 * The auth key (sent instead of the password) and the encryption key (never sent) of `password`.
 * Parameters below `minimum` are refused, so a hostile server cannot make the page hash weakly.
 */
export async function passwordKeys(
  password: string,
  salt: Bytes,
  params: KdfParams,
  minimum: KdfParams = MINIMUM_KDF,
): Promise<PasswordKeys> {
  if (params.memory_kib < minimum.memory_kib || params.iterations < minimum.iterations || params.parallelism < 1) {
    throw new Error(
      `the server asks for weaker password hashing (${params.memory_kib} KiB, ${params.iterations} passes) than this page accepts; refused`,
    );
  }
  const master = (await argon2id({
    password: encoder.encode(password),
    salt,
    parallelism: params.parallelism,
    iterations: params.iterations,
    memorySize: params.memory_kib,
    hashLength: 32,
    outputType: "binary",
  })) as Bytes;
  const [authKey, encryptionKey] = await Promise.all([
    hkdf(master, "3dgpt v1 auth key"),
    hkdf(master, "3dgpt v1 encryption key"),
  ]);
  master.fill(0);
  return { authKey, encryptionKey };
}

async function aesKey(raw: Bytes, usage: KeyUsage): Promise<CryptoKey> {
  return subtle.importKey("raw", raw, "AES-GCM", false, [usage]);
}

async function seal(key: Bytes, plaintext: Bytes, aad: Bytes, nonce: Bytes): Promise<Bytes> {
  const sealed = await subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: aad }, await aesKey(key, "encrypt"), plaintext);
  return concat(nonce, new Uint8Array(sealed));
}

async function open(key: Bytes, wrapped: Bytes, aad: Bytes): Promise<Bytes> {
  const opened = await subtle.decrypt(
    { name: "AES-GCM", iv: wrapped.slice(0, 12), additionalData: aad },
    await aesKey(key, "decrypt"),
    wrapped.slice(12),
  );
  return new Uint8Array(opened);
}

const dataKeyLabel = (accountId: string) => concat(encoder.encode("3dgpt v1 data key\0"), encoder.encode(accountId));
const recoveryLabel = (accountId: string) => concat(encoder.encode("3dgpt v1 recovery\0"), encoder.encode(accountId));

/** The data key wrapped by the encryption key: nonce ‖ AES-256-GCM, the account id as associated data. */
export function wrapDataKey(
  encryptionKey: Bytes,
  accountId: string,
  dataKey: Bytes,
  nonce: Bytes = random(12),
): Promise<Bytes> {
  return seal(encryptionKey, dataKey, dataKeyLabel(accountId), nonce);
}

export async function unwrapDataKey(encryptionKey: Bytes, accountId: string, wrapped: Bytes): Promise<Bytes> {
  try {
    return await open(encryptionKey, wrapped, dataKeyLabel(accountId));
  } catch {
    throw new Error("the account's data key does not open with this password's key");
  }
}

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A recovery code's 20 bytes as 32 digits of Crockford's base 32 in groups of four. */
export function recoveryCodeText(bytes: Bytes): string {
  let number = 0n;
  for (const byte of bytes) {
    number = (number << 8n) | BigInt(byte);
  }
  let digits = "";
  for (let index = 31; index >= 0; index -= 1) {
    digits += CROCKFORD[Number((number >> BigInt(5 * index)) & 31n)];
  }
  return digits.match(/.{4}/g)!.join("-");
}

/** A recovery code as typed back: case, dashes and spaces ignored, O read as 0, I and L as 1. */
export function parseRecoveryCode(text: string): Bytes {
  const digits = text.toUpperCase().replace(/[\s-]/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
  if (digits.length !== 32 || [...digits].some((digit) => !CROCKFORD.includes(digit))) {
    throw new Error("a recovery code is 32 letters and digits (eight groups of four)");
  }
  let number = 0n;
  for (const digit of digits) {
    number = (number << 5n) | BigInt(CROCKFORD.indexOf(digit));
  }
  const bytes = new Uint8Array(20);
  for (let index = 19; index >= 0; index -= 1) {
    bytes[index] = Number(number & 255n);
    number >>= 8n;
  }
  return bytes;
}

export interface Recovery {
  code: string;
  /** The data key wrapped by the recovery key. */
  wrapped: Bytes;
  /** What the server keeps to check the code: SHA-256 of the verifier. */
  verifierDigest: Bytes;
}

/** The verifier that proves the code is held. */
export function recoveryVerifier(codeBytes: Bytes): Promise<Bytes> {
  return hkdf(codeBytes, "3dgpt v1 recovery verifier");
}

/** A new recovery code for `dataKey` (or the given bytes and nonce, for the test vectors). */
export async function newRecovery(
  accountId: string,
  dataKey: Bytes,
  codeBytes: Bytes = random(20),
  nonce: Bytes = random(12),
): Promise<Recovery> {
  const recoveryKey = await hkdf(codeBytes, "3dgpt v1 recovery key");
  return {
    code: recoveryCodeText(codeBytes),
    wrapped: await seal(recoveryKey, dataKey, recoveryLabel(accountId), nonce),
    verifierDigest: await sha256(await recoveryVerifier(codeBytes)),
  };
}

export async function unwrapWithRecovery(codeBytes: Bytes, accountId: string, wrapped: Bytes): Promise<Bytes> {
  try {
    return await open(await hkdf(codeBytes, "3dgpt v1 recovery key"), wrapped, recoveryLabel(accountId));
  } catch {
    throw new Error("the recovery code does not open the account's key");
  }
}

/** The data key as a key this page can derive blob keys from but no script can read out. */
export function dataKeyHandle(dataKey: Bytes): Promise<CryptoKey> {
  return subtle.importKey("raw", dataKey, "HKDF", false, ["deriveKey"]);
}

const CHUNK = 1 << 20;
const TAG = 16;

/** Opens a sealed blob or record (`"3GB1" ‖ salt ‖ sealed chunks`) with the data key. */
export async function openSealed(dataKey: CryptoKey, sealed: Bytes): Promise<Bytes> {
  const magic = new TextDecoder().decode(sealed.slice(0, 4));
  if (magic !== "3GB1" || sealed.length < 4 + 16 + TAG) {
    throw new Error("this is not a sealed 3D GPT file");
  }
  const salt = sealed.slice(4, 20);
  const key = await subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt, info: encoder.encode("3dgpt v1 blob key") },
    dataKey,
    { name: "AES-GCM", length: 256 },
    false,
    ["decrypt"],
  );
  const aad = encoder.encode("3dgpt v1 blob");
  const chunks: Uint8Array[] = [];
  let offset = 20;
  for (let index = 0; offset < sealed.length; index += 1) {
    const end = Math.min(offset + CHUNK + TAG, sealed.length);
    const last = end === sealed.length;
    const nonce = new Uint8Array(12);
    new DataView(nonce.buffer).setUint32(7, index);
    nonce[11] = last ? 1 : 0;
    try {
      chunks.push(new Uint8Array(await subtle.decrypt({ name: "AES-GCM", iv: nonce, additionalData: aad }, key, sealed.slice(offset, end))));
    } catch {
      throw new Error("a sealed file does not open with this account's key (damaged, or another account's)");
    }
    offset = end;
  }
  return concat(...chunks);
}
