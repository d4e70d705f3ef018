export {
  EtcdAssignmentStore,
  type EtcdAssignmentStoreOptions,
  type EtcdClientOptions,
  type EtcdConnectionOptions,
  type EtcdRetryOptions,
  type EtcdStoreMetrics,
} from "./etcd-assignment-store.js";
export { EtcdStoreError, type EtcdStoreErrorKind } from "./errors.js";
export { KeyLayout, VALUE_VERSION, decodeAssignment, encodeAssignment } from "./keys.js";
export {
  type MismatchedCollection,
  type ReconcileOptions,
  type ReconcileReport,
  reconcile,
} from "./reconcile.js";
export {
  type MemberInfo,
  type OwnerRecord,
  decodeEpoch,
  decodeMember,
  decodeOwner,
  encodeEpoch,
  encodeMember,
  encodeOwner,
} from "./cluster-values.js";
export { type EtcdConnection, connectEtcd } from "./connect.js";
export {
  type LeaseLossReason,
  Membership,
  type MembershipEvents,
  type MembershipOptions,
  type MembershipState,
} from "./membership.js";
export { Ownership } from "./ownership.js";
// Every type of the ownership API (AcquisitionKind, ClaimResult, LossReason, OwnershipEvents, OwnershipOptions).
export type * from "./ownership-types.js";
export { rankNodes, rendezvousWinner } from "./rendezvous.js";
