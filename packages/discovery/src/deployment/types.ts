import type { ComponentType, FileSystem } from "@proximadb/core";
import type { ForeignRootKind } from "../marker.js";
import type { DeploymentRootEntry, RootMarker, UnconfiguredRoot } from "../types.js";

/** One configured root: its component and its file system (the URL is `fs.root.url`). */
export interface ConfiguredRoot {
  readonly component: ComponentType;
  readonly fs: FileSystem;
}

/**
 * What a look at one root found, without listing its collections:
 * - `absent`: the root does not exist (`probe()`);
 * - `empty`: it exists and holds no file but marker leftovers (checked only when it has no marker);
 * - `data`: it exists and holds other files (checked only when it has no marker);
 * - `exists`: it exists, content not inspected (it has a marker, which is all that matters then);
 * - `unreachable`: probing, listing or reading the marker failed.
 */
export type RootProbeState = "absent" | "empty" | "data" | "exists" | "unreachable";

/** Input of {@link assessDeployment} for one configured root ({@link readRootMarkers} builds it). */
export interface ObservedRoot {
  component: ComponentType;
  /** Canonical URL (as configured). */
  url: string;
  probe: RootProbeState;
  /** The newest readable marker (format 1 or 2). */
  marker?: RootMarker;
  /** A marker file is there but cannot be parsed: the root is `foreign` (`Invalid`). */
  markerInvalid?: boolean;
  /** Why the root is `unreachable` (typed kind and message; never a secret). */
  error?: string;
}

/** Status of a configured root in a deployment (see the README, "Operating roots"). */
export type AssessedStatus = "online" | "new" | "missing" | "empty" | "unreachable" | "foreign";

/** The verdict on one configured root. */
export interface AssessedRoot {
  component: ComponentType;
  url: string;
  /** Position in the input. */
  index: number;
  status: AssessedStatus;
  /** For `foreign`: why. */
  reason?: ForeignRootKind;
  /** One line for the operator: what was found and why it has this status. */
  detail: string;
  /** The root's UUID: from its marker, or the deployment's entry for it. */
  uuid?: string;
  /** The deployment's entry for this root, when it has one. */
  entry?: DeploymentRootEntry;
  /** Online, but the deployment recorded it at another URL (a mount swap): rewrite the markers. */
  moved?: { from: string };
  /** Online with a marker older than the deployment's newest (or of format 1): rewrite it. */
  stale?: boolean;
  /** The marker found there, when one was readable. */
  marker?: RootMarker;
}

/** Kinds of {@link DeploymentProblem}. */
export type DeploymentProblemKind =
  /** Known active roots the configuration does not name (serve refuses until they are retired). */
  | "Unconfigured"
  /** Markers of several deployments and no majority (nor an expected deployment) to choose. */
  | "Ambiguous"
  /** The expected deployment is carried by no configured root. */
  | "DeploymentNotFound"
  /** No deployment yet, and the roots are not all empty and unmarked: nothing is initialised. */
  | "NotInitializable"
  /** New roots wait: a known root is offline and might hold a newer roots list. */
  | "JoinBlocked"
  /** An interrupted initialisation cannot be completed yet (a root to initialise is offline). */
  | "CompleteBlocked"
  /** Format-1 markers are not upgraded yet (a configured root is unreachable). */
  | "UpgradeBlocked";

/** Something the operator must know; `blocking` ones make `serve` refuse to start. */
export interface DeploymentProblem {
  kind: DeploymentProblemKind;
  blocking: boolean;
  /** The roots concerned. */
  urls: string[];
  /** One line naming the URLs and what to do. */
  message: string;
}

/** What {@link prepareDeployment} may do next; each is safe to run now. */
export interface DeploymentNextSteps {
  /** A first start: every configured root is empty and unmarked. */
  init: boolean;
  /** Finish an interrupted initialisation or join (roots in state `initializing`). */
  complete: boolean;
  /** Adopt the previous release's format-1 markers into a deployment UUID. */
  upgrade: boolean;
  /** New roots that may be initialised and joined now. */
  join: string[];
  /** Online roots whose marker must be rewritten (moved, stale, format 1, unknown UUID filled in). */
  rewrite: string[];
}

/** The output of {@link assessDeployment}. */
export interface DeploymentAssessment {
  /** The deployment's UUID, or `undefined` when there is none yet (or it cannot be decided). */
  deployment: string | undefined;
  /** 0: no marker yet; 1: only the previous release's markers; 2: format-2 markers. */
  format: 0 | 1 | 2;
  /** Highest version of the deployment's roots list (0 when none). */
  version: number;
  /** The deployment's roots list (the newest version), retired ones included. */
  entries: DeploymentRootEntry[];
  /** One verdict per configured root, in input order. */
  roots: AssessedRoot[];
  /** Known active roots that are not configured. */
  unconfigured: UnconfiguredRoot[];
  /** Roots of an interrupted initialisation or join that are no longer configured (retired on completion). */
  abandoned: DeploymentRootEntry[];
  /** The format-1 deployment name, when the markers carried one. */
  name?: string;
  next: DeploymentNextSteps;
  problems: DeploymentProblem[];
  /** Non-blocking observations (a mount swap, an upgrade pending, …), one line each. */
  warnings: string[];
}

/** Input of {@link assessDeployment}. */
export interface AssessInput {
  /** Every configured root of every component. */
  roots: readonly ObservedRoot[];
  /** The deployment the node belongs to (from its config or etcd); markers of any other are `foreign`. */
  expectedDeployment?: string;
}
