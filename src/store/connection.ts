// The better-sqlite3 connection behind each Store. `Store.db` is private so that SQL stays in
// src/store/; the store's own modules that work across two stores at once (merge.ts) reach the
// connection here. Nothing outside src/store/ may import this file.
import type Database from "better-sqlite3";

const connections = new WeakMap<object, Database.Database>();

/** Called once by the Store constructor. */
export function bindConnection(store: object, db: Database.Database): void {
  connections.set(store, db);
}

/** The connection of a store opened by `Store.open`. */
export function connectionOf(store: object): Database.Database {
  const db = connections.get(store);
  if (db === undefined) throw new Error("not a store opened by Store.open");
  return db;
}
