// Where the signed-in page keeps the account's data key between page loads: IndexedDB, as a
// non-extractable CryptoKey (scripts can use it to open the account's files, none can read it out),
// for this browser session only; signing out (or the session ending) deletes it.

const DATABASE = "3dgpt";
const STORE = "keys";

interface Kept {
  /** The web session the key belongs to: another session's key is stale. */
  session: string;
  accountId: string;
  dataKey: CryptoKey;
}

function database(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function transact<T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await database();
  try {
    return await new Promise<T>((resolve, reject) => {
      const transaction = db.transaction(STORE, mode);
      const request = work(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  } finally {
    db.close();
  }
}

export function keep(kept: Kept): Promise<IDBValidKey> {
  return transact("readwrite", (store) => store.put(kept, "session"));
}

/** The key kept for `session`, if any. */
export async function keptFor(session: string): Promise<Kept | undefined> {
  try {
    const kept = (await transact("readonly", (store) => store.get("session"))) as Kept | undefined;
    return kept && kept.session === session ? kept : undefined;
  } catch {
    return undefined;
  }
}

export async function forget(): Promise<void> {
  try {
    await transact("readwrite", (store) => store.clear());
  } catch {
    // Nothing was kept (or IndexedDB is off): nothing to remove.
  }
}
