// @ts-check
/* Genba ID: the pages' IndexedDB database (the wallet's credentials, the gate's bundles and results). */

/**
 * @typedef {(store: string, mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest | void) => Promise<any>} Run
 */

/**
 * The IndexedDB database `name` (version 1; `upgrade(db)` creates its stores), opened on first use:
 * returns run(store, mode, work), which calls work(objectStore) in one transaction and resolves once
 * it has completed with the result of the request `work` returned (if any).
 * @param {string} name
 * @param {(db: IDBDatabase) => void} upgrade
 * @returns {Run}
 */
export function database(name, upgrade) {
  /** @type {Promise<IDBDatabase> | null} */
  let opening = null;
  function open() {
    if (!opening) {
      opening = new Promise((resolve, reject) => {
        const request = indexedDB.open(name, 1);
        request.onupgradeneeded = () => upgrade(request.result);
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    }
    return opening;
  }
  return async function run(store, mode, work) {
    const db = await open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(store, mode);
      /** @type {any} */
      let result;
      const request = work(tx.objectStore(store));
      if (request) request.onsuccess = () => (result = request.result);
      tx.oncomplete = () => resolve(result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("aborted"));
    });
  };
}
