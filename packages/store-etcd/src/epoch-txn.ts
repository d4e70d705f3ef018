import type { CollectionId } from "@proximadb/core";
import type { Etcd3, IKeyValue } from "etcd3";
import { type OwnerRecord, encodeEpoch, encodeOwner } from "./cluster-values.js";
import type { KeyLayout } from "./keys.js";

/** One ownership compare-and-set: see {@link raiseEpoch}. */
export interface RaiseEpochRequest {
  readonly client: Etcd3;
  readonly keys: KeyLayout;
  readonly collection: CollectionId;
  readonly node: string;
  readonly lease: string;
  /** `undefined`: the owner key must not exist (claim, takeover); else its `mod_revision` (restore). */
  readonly ownerModRevision: number | undefined;
  /** `undefined`: the epoch key must not exist; else its `mod_revision` as last seen. */
  readonly epochModRevision: number | undefined;
  /** The epoch to write: one more than the one seen. */
  readonly epoch: number;
}

/** What {@link raiseEpoch} found: on a failed compare, the current owner and epoch keys (if any). */
export interface RaiseEpochResult {
  readonly succeeded: boolean;
  readonly revision: number;
  readonly ownerKv: IKeyValue | undefined;
  readonly epochKv: IKeyValue | undefined;
}

/**
 * The one transaction by which a node becomes owner: if the owner key is as expected (absent, or
 * unchanged for a restore) and the epoch key is unchanged since it was read, write
 * owner = {node, epoch} bound to `lease` and epoch = `epoch`; else read both back. Comparing the
 * epoch key's revision means an epoch is never issued twice, even when two nodes saw the same
 * orphan; comparing the owner key means a live owner is never replaced.
 */
export async function raiseEpoch(req: RaiseEpochRequest): Promise<RaiseEpochResult> {
  const { client, keys, collection } = req;
  const ownerKey = keys.owner(collection);
  const epochKey = keys.epoch(collection);
  const txn =
    req.ownerModRevision === undefined
      ? client.if(ownerKey, "Create", "==", 0)
      : client.if(ownerKey, "Mod", "==", req.ownerModRevision);
  if (req.epochModRevision === undefined) txn.and(epochKey, "Create", "==", 0);
  else txn.and(epochKey, "Mod", "==", req.epochModRevision);
  const res = await txn
    .then(
      client
        .put(ownerKey)
        .value(encodeOwner({ node: req.node, epoch: req.epoch }))
        .lease(req.lease),
      client.put(epochKey).value(encodeEpoch(req.epoch)),
    )
    .else(client.get(ownerKey), client.get(epochKey))
    .commit();
  return {
    succeeded: res.succeeded,
    revision: Number(res.header.revision),
    ownerKv: res.succeeded ? undefined : res.responses[0]?.response_range?.kvs?.[0],
    epochKv: res.succeeded ? undefined : res.responses[1]?.response_range?.kvs?.[0],
  };
}

/** Deletes the owner key only if it still holds exactly `record` (this node, this epoch). */
export async function deleteOwnerIf(
  client: Etcd3,
  keys: KeyLayout,
  collection: CollectionId,
  record: OwnerRecord,
): Promise<boolean> {
  const key = keys.owner(collection);
  const res = await client
    .if(key, "Value", "==", encodeOwner(record))
    .then(client.delete().key(key))
    .commit();
  return res.succeeded;
}

/**
 * After a drop: if the owner key still holds exactly `record` (this node, this epoch), marks the epoch
 * key dropped at that epoch and deletes the owner key, in one transaction (the epoch first, so a watcher
 * never sees the collection without an owner and not dropped). Returns whether it did; the revision.
 */
export async function retireOwnerIf(
  client: Etcd3,
  keys: KeyLayout,
  collection: CollectionId,
  record: OwnerRecord,
): Promise<{ succeeded: boolean; revision: number }> {
  const key = keys.owner(collection);
  const res = await client
    .if(key, "Value", "==", encodeOwner(record))
    .then(client.put(keys.epoch(collection)).value(encodeEpoch(record.epoch, true)), client.delete().key(key))
    .commit();
  return { succeeded: res.succeeded, revision: Number(res.header.revision) };
}

/** Creates the epoch key at 0 (a known collection that never had an owner) unless it exists. */
export async function createEpochIfAbsent(
  client: Etcd3,
  keys: KeyLayout,
  collection: CollectionId,
): Promise<boolean> {
  const key = keys.epoch(collection);
  const res = await client
    .if(key, "Create", "==", 0)
    .then(client.put(key).value(encodeEpoch(0)))
    .commit();
  return res.succeeded;
}
