// The signed-in page: signing in and up with keys derived here from the password, the data key
// unwrapped here and kept as a non-extractable key (keystore.ts), and signing out.

import { call, setCsrf } from "./api";
import {
  DEFAULT_KDF,
  KdfParams,
  dataKeyHandle,
  hex,
  newRecovery,
  normalizeEmail,
  passwordKeys,
  random,
  Bytes,
  PasswordKeys,
  unhex,
  unwrapDataKey,
  wrapDataKey,
} from "./crypto";
import { forget, keep, keptFor } from "./keystore";

export interface Signed {
  sessionId: string;
  accountId: string;
  /** The account's data key: opens its files, cannot be read out. */
  dataKey: CryptoKey;
}

let signed: Signed | null = null;

export function current(): Signed | null {
  return signed;
}

interface WebSession {
  signed_in: boolean;
  session_id: string;
  account_id: string;
  csrf_token: string;
}

/** Tells the page (its navigation) that who is signed in changed. */
function announce(): void {
  document.dispatchEvent(new Event("3dgpt-session"));
}

/** The session this browser is signed in with, after a reload: its cookie and its kept key. */
export async function restore(): Promise<Signed | null> {
  let session: WebSession;
  try {
    session = await call<WebSession>("GET", "/v1/web/session");
  } catch {
    return null;
  }
  if (!session.signed_in) {
    await forget();
    return null;
  }
  setCsrf(session.csrf_token);
  const kept = await keptFor(session.session_id);
  if (!kept) {
    // Signed in, but this browser no longer holds the key (its storage was cleared): sign in again.
    await call("DELETE", "/v1/web/session").catch(() => undefined);
    setCsrf(null);
    return null;
  }
  signed = { sessionId: session.session_id, accountId: kept.accountId, dataKey: kept.dataKey };
  return signed;
}

/** The keys of `password` for `email`, with the salt and parameters the server gives. */
export async function keysFor(email: string, password: string) {
  const pre = await call<{ salt: string; kdf: KdfParams }>("POST", "/v1/accounts/prelogin", { email: normalizeEmail(email) });
  return passwordKeys(password, unhex(pre.salt), pre.kdf);
}

/** Signs in: derives the keys, opens a web session with the auth key, unwraps the data key. */
export async function signIn(email: string, password: string): Promise<Signed> {
  const normalized = normalizeEmail(email);
  return openSession(normalized, await keysFor(normalized, password));
}

async function openSession(email: string, keys: PasswordKeys): Promise<Signed> {
  const session = await call<WebSession>("POST", "/v1/web/session", { email, auth_key: hex(keys.authKey) });
  setCsrf(session.csrf_token);
  const account = await call<{ id: string; wrapped_data_key: string }>("GET", "/v1/account");
  const dataKeyBytes = await unwrapDataKey(keys.encryptionKey, account.id, unhex(account.wrapped_data_key));
  const dataKey = await dataKeyHandle(dataKeyBytes);
  dataKeyBytes.fill(0);
  keys.encryptionKey.fill(0);
  await keep({ session: session.session_id, accountId: account.id, dataKey });
  signed = { sessionId: session.session_id, accountId: account.id, dataKey };
  announce();
  return signed;
}

export async function signOut(): Promise<void> {
  try {
    await call("DELETE", "/v1/web/session");
  } finally {
    await forget();
    setCsrf(null);
    signed = null;
    announce();
  }
}

/** Forgets the session here after the server ended it (the account was deleted). */
export async function dropped(): Promise<void> {
  await forget();
  setCsrf(null);
  signed = null;
  announce();
}

export function checkPassword(password: string): void {
  if ([...password].length < 10) {
    throw new Error("a password needs at least 10 characters");
  }
}

/** What a new password gives the server: a fresh salt, the auth key and the data key wrapped anew. */
export async function passwordMaterial(accountId: string, password: string, dataKey: Bytes) {
  checkPassword(password);
  const salt = random(16);
  const keys = await passwordKeys(password, salt, DEFAULT_KDF);
  const wrapped = await wrapDataKey(keys.encryptionKey, accountId, dataKey);
  return {
    material: { salt: hex(salt), kdf: DEFAULT_KDF, auth_key: hex(keys.authKey), wrapped_data_key: hex(wrapped) },
    keys,
  };
}

export interface SignUp {
  name: string;
  email: string;
  password: string;
  dateOfBirth: string;
  country: string;
}

/** Creates the account (its data key and id made here) and signs in; returns the recovery code. */
export async function signUp(request: SignUp): Promise<string> {
  const email = normalizeEmail(request.email);
  const accountId = `acct_${hex(random(16))}`;
  const dataKey = random(32);
  const { material, keys } = await passwordMaterial(accountId, request.password, dataKey);
  const recovery = await newRecovery(accountId, dataKey);
  dataKey.fill(0);
  await call("POST", "/v1/accounts", {
    account_id: accountId,
    name: request.name.trim(),
    email,
    date_of_birth: request.dateOfBirth,
    country: request.country.trim().toUpperCase() || undefined,
    ...material,
    recovery_wrapped_data_key: hex(recovery.wrapped),
    recovery_verifier_digest: hex(recovery.verifierDigest),
  });
  await openSession(email, keys);
  return recovery.code;
}
