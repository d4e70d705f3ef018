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
