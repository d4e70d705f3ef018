import { InvalidArgumentError, ProximaError, StoreUnavailableError } from "@proximadb/core";
import {
  ClientClosedError,
  EtcdAuthenticationFailedError,
  EtcdInvalidAuthTokenError,
  EtcdPermissionDeniedError,
} from "etcd3";
import { toStoreError } from "./errors.js";
import { VALUE_VERSION } from "./keys.js";

/** What a node publishes about itself under `<prefix>/<cluster>/nodes/<nodeId>`. */
export interface MemberInfo {
  /** The node id (`[server] node_id`). */
  readonly id: string;
  /** Where peers redirect requests for the collections it owns (`[cluster] advertise_url`). */
  readonly url: string;
  /** `Date.now()` when the node joined (informational; never used for decisions). */
  readonly startedAt: number;
  /** The lease TTL the node asked for, in milliseconds. */
  readonly leaseTtlMs: number;
}

/** Who owns a collection, as stored under `<prefix>/<cluster>/owners/<collectionId>`. */
export interface OwnerRecord {
  /** Owner's node id. */
  readonly node: string;
  /** Ownership epoch: raised by every acquisition of the collection, never reused. */
  readonly epoch: number;
}

const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Checks a node id: 1-128 characters from `[A-Za-z0-9_.-]`, starting with a letter or digit. */
export function checkNodeId(id: string): string {
  if (typeof id !== "string" || !NODE_ID.test(id)) {
    throw new InvalidArgumentError(
      `node id ${JSON.stringify(String(id).slice(0, 140))} must be 1-128 characters from [A-Za-z0-9_.-], starting with a letter or digit`,
    );
  }
  return id;
}

/** Checks an advertised URL: `http(s)://host[:port][/path]`, without credentials, query or fragment. */
export function checkAdvertiseUrl(url: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (
    !parsed ||
    (parsed.protocol !== "http:" && parsed.protocol !== "https:") ||
    parsed.username !== "" ||
    parsed.password !== "" ||
    parsed.search !== "" ||
    parsed.hash !== ""
  ) {
    // Never echo the value: it might carry credentials.
    throw new InvalidArgumentError(
      "advertised node URL must be http(s)://host[:port][/path] without credentials, query or fragment",
    );
  }
  return url.replace(/\/+$/, "");
}

function parseJson(raw: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(raw);
    return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const isEpoch = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n >= 0;

/** `{"v":1,"id":…,"url":…,"startedAt":…,"leaseTtlMs":…}`. */
export function encodeMember(m: MemberInfo): string {
  return JSON.stringify({
    v: VALUE_VERSION,
    id: m.id,
    url: m.url,
    startedAt: m.startedAt,
    leaseTtlMs: m.leaseTtlMs,
  });
}

/** Parses a member value; `undefined` when this version cannot read it. */
export function decodeMember(raw: string): MemberInfo | undefined {
  const o = parseJson(raw);
  if (!o || o.v !== VALUE_VERSION) return undefined;
  const { id, url, startedAt, leaseTtlMs } = o;
  if (typeof id !== "string" || typeof url !== "string") return undefined;
  if (typeof startedAt !== "number" || typeof leaseTtlMs !== "number") return undefined;
  return { id, url, startedAt, leaseTtlMs };
}

/** `{"v":1,"node":…,"epoch":…}`: deterministic, so a transaction can compare it byte for byte. */
export function encodeOwner(o: OwnerRecord): string {
  return JSON.stringify({ v: VALUE_VERSION, node: o.node, epoch: o.epoch });
}

/** Parses an owner value; `undefined` when this version cannot read it. */
export function decodeOwner(raw: string): OwnerRecord | undefined {
  const o = parseJson(raw);
  if (!o || o.v !== VALUE_VERSION || typeof o.node !== "string" || !isEpoch(o.epoch)) return undefined;
  return { node: o.node, epoch: o.epoch };
}

/**
 * `{"v":1,"epoch":…}`; `{"v":1,"epoch":…,"dropped":true}` once the collection is dropped (the counter
 * stays as the floor of a re-create's epoch; no node takes a dropped collection over).
 */
export function encodeEpoch(epoch: number, dropped = false): string {
  return JSON.stringify(dropped ? { v: VALUE_VERSION, epoch, dropped: true } : { v: VALUE_VERSION, epoch });
}

/** True when an epoch value marks its collection dropped (see {@link encodeEpoch}). */
export function isDroppedEpoch(raw: string): boolean {
  return parseJson(raw)?.dropped === true;
}

/** Parses an epoch value; `undefined` when this version cannot read it. */
export function decodeEpoch(raw: string): number | undefined {
  const o = parseJson(raw);
  if (!o || o.v !== VALUE_VERSION || !isEpoch(o.epoch)) return undefined;
  return o.epoch;
}

/**
 * Maps what the etcd client threw during a membership or ownership call into a typed error:
 * credentials refused and use after close keep the store's mapping; everything else is an outage,
 * `StoreUnavailableError` (retryable). The client's error (which may name hosts) is only the `cause`.
 */
export function clusterError(err: unknown, operation: string): Error {
  if (err instanceof ProximaError) return err;
  if (
    err instanceof ClientClosedError ||
    err instanceof EtcdAuthenticationFailedError ||
    err instanceof EtcdPermissionDeniedError ||
    err instanceof EtcdInvalidAuthTokenError
  ) {
    return toStoreError(err, operation);
  }
  return new StoreUnavailableError(`etcd is unavailable (${operation}); retry later`, { cause: err });
}
