// @ts-check
/* 現場IDウォレット: the credentials kept in IndexedDB, each with its non-extractable holder key. */

import { database } from "../common/storage.js";

const DB_NAME = "genba-wallet";
const STORE = "credentials";
export const CARD = "ccus_card";
export const CERTIFICATE = "skill_training_certificate";

const dbRun = database(DB_NAME, (database) => {
  if (!database.objectStoreNames.contains(STORE)) {
    database.createObjectStore(STORE, { keyPath: "id" }).createIndex("receivedAt", "receivedAt");
  }
});

export const db = {
  all: async () => ((await dbRun(STORE, "readonly", (s) => s.getAll())) || []).sort((a, b) => a.receivedAt - b.receivedAt),
  get: (id) => dbRun(STORE, "readonly", (s) => s.get(id)),
  put: (record) => dbRun(STORE, "readwrite", (s) => s.put(record)),
  remove: (id) => dbRun(STORE, "readwrite", (s) => s.delete(id)),
};
