import type { CollectionId } from "@proximadb/core";
import type { OwnerRecord } from "./cluster-values.js";
import type { Membership } from "./membership.js";

/** How this node came to own a collection. */
export type AcquisitionKind =
  /** `Ownership.claim`: a new (or free) collection. */
  | "Claimed"
  /** A rendezvous takeover of a collection whose owner key disappeared. */
  | "TakenOver"
  /** The lease was confirmed again after a loss of contact; the epoch was raised. */
  | "Restored";

/** Why this node stopped owning a collection. */
export type LossReason =
  /** `Ownership.release` or `Ownership.releaseAll`. */
  | "Released"
  /** The lease is no longer confirmed (see {@link Membership}); the owner key may still exist. */
  | "LeaseLost"
  /** The owner key was deleted or now names another node or epoch. */
  | "Removed";

/** Events of an `Ownership`. */
export interface OwnershipEvents {
  /** This node owns `collection` at `epoch` from now on: replay its WAL, then serve it. */
  acquired: { readonly collection: CollectionId; readonly epoch: number; readonly how: AcquisitionKind };
  /** This node no longer owns `collection`: acknowledge nothing more for it. */
  lost: { readonly collection: CollectionId; readonly epoch: number; readonly reason: LossReason };
}

/** Outcome of `Ownership.claim`. */
export type ClaimResult =
  | { readonly acquired: true; readonly epoch: number }
  | { readonly acquired: false; readonly owner: OwnerRecord | undefined };

/** Options of `Ownership`. */
export interface OwnershipOptions {
  /** This node's membership (started by `start()` if it is not yet). */
  readonly membership: Membership;
  /**
   * A node ranked `r` (> 0) for an orphaned collection tries the takeover itself after `r ×` this,
   * in case the better-ranked live nodes do not (an old version, a stuck process). Default: the TTL.
   */
  readonly takeoverFallbackMs?: number;
  /** Takeover transactions in flight at once. Default 16. */
  readonly concurrency?: number;
}
