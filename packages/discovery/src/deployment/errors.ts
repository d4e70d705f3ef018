import { ProximaError } from "@proximadb/core";

/**
 * Kinds of {@link DeploymentError}:
 * - `AlreadyInitialized`: `initDeployment` found markers of a deployment that is active;
 * - `NotInitialized`: the roots carry no deployment (join, retire, rewrite need one);
 * - `NotEmpty`: a root to initialise or join is not empty and unmarked (it holds data or another marker);
 * - `RootOffline`: the operation needs a root that is offline (missing, empty, unreachable, foreign), or a
 *   known root is offline while new roots would join;
 * - `UnknownRoot`: the deployment lists no such root;
 * - `HoldsCollections`: retiring a root that still holds collections (or whose content cannot be checked);
 * - `Unconfigured`: known active roots are not configured (serve must refuse);
 * - `Ambiguous`: the roots carry several deployments and none can be chosen, or the expected one is absent;
 * - `Conflict`: another writer rewrote the markers at the same time, again and again.
 */
export type DeploymentErrorKind =
  | "AlreadyInitialized"
  | "NotInitialized"
  | "NotEmpty"
  | "RootOffline"
  | "UnknownRoot"
  | "HoldsCollections"
  | "Unconfigured"
  | "Ambiguous"
  | "Conflict";

/**
 * A deployment operation refused, or found the deployment unfit to serve. Nothing was written unless the
 * kind is `Conflict` (then some markers may carry the other writer's version, which is consistent).
 * Code `DEPLOYMENT`; branch on {@link DeploymentError.kind}.
 */
export class DeploymentError extends ProximaError {
  readonly kind: DeploymentErrorKind;
  /** The roots concerned (canonical URLs; never a secret). */
  readonly urls: readonly string[];
  /** For `HoldsCollections`: how many collections the root holds, when it could be counted. */
  readonly collections: number | undefined;
  constructor(
    kind: DeploymentErrorKind,
    message: string,
    details: { urls?: readonly string[]; collections?: number; cause?: unknown } = {},
  ) {
    super("DEPLOYMENT", message, { cause: details.cause, retryable: kind === "Conflict" });
    this.kind = kind;
    this.urls = details.urls ?? [];
    this.collections = details.collections;
  }
}
