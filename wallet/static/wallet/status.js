// @ts-check
/* 現場IDウォレット: the credentials' status from the IETF Token Status List (2-bit entries, DEFLATE;
 * common/statuslist.js), checked for every list the wallet's credentials name. */

import { splitJws } from "../common/jws.js";
import { readList, statusAt } from "../common/statuslist.js";
import { render } from "./cards.js";
import { WalletError, request } from "./page.js";
import { db } from "./store.js";

const STATUS_NAMES = { 0: "valid", 1: "revoked", 2: "suspended" };

async function fetchStatusList(uri) {
  const response = await request(uri, { headers: { Accept: "application/statuslist+jwt" } });
  if (!response.ok) throw new WalletError("status list " + response.status, "status");
  const { payload } = splitJws((await response.text()).trim());
  if (payload.sub && payload.sub !== uri) throw new WalletError("status list for another uri", "status");
  return readList(payload.status_list);
}

let refreshing = null;

export async function refreshStatuses() {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    const records = await db.all();
    const byList = new Map();
    for (const record of records) {
      const reference = record.payload && record.payload.status && record.payload.status.status_list;
      if (!reference || typeof reference.uri !== "string") continue;
      if (!byList.has(reference.uri)) byList.set(reference.uri, []);
      byList.get(reference.uri).push([record, reference.idx]);
    }
    let failed = false;
    await Promise.all(
      [...byList].map(async ([uri, entries]) => {
        let list = null;
        try {
          list = await fetchStatusList(uri);
        } catch {
          failed = true;
        }
        for (const [record, idx] of entries) {
          const current = await db.get(record.id);
          if (!current) continue; // deleted meanwhile
          if (list) {
            let value;
            try {
              value = statusAt(list.entries, Number(idx), list.bits);
            } catch {
              value = -1;
            }
            current.status = STATUS_NAMES[value] || "unknown";
            current.statusCheckedAt = Date.now();
            current.statusCheckFailed = false;
          } else {
            current.statusCheckFailed = true;
          }
          await db.put(current);
        }
      }),
    );
    await render();
    return !failed;
  })();
  try {
    return await refreshing;
  } finally {
    refreshing = null;
  }
}
