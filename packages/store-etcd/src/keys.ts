import {
  type Assignment,
  type CollectionId,
  type ComponentType,
  InvalidArgumentError,
  isCollectionId,
  isComponentType,
} from "@proximadb/core";

/** Version written into every assignment value; readers reject versions they do not know. */
export const VALUE_VERSION = 1;

const CLUSTER = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Where one cluster's keys live: `<prefix>/<cluster>/assignments/<component>/<collection>` and `<prefix>/<cluster>/counters/<component>`. */
export class KeyLayout {
  /** `<prefix>/<cluster>/`: every key of the cluster starts with it. */
  readonly base: string;

  constructor(prefix: string, cluster: string) {
    if (!CLUSTER.test(cluster)) {
      throw new InvalidArgumentError(
        `cluster name ${JSON.stringify(cluster)} must be 1-128 characters from [A-Za-z0-9_.-], starting with a letter or digit`,
      );
    }
    const trimmed = prefix.replace(/\/+$/, "");
    if (!trimmed.startsWith("/") || trimmed.includes("//")) {
      throw new InvalidArgumentError(
        `etcd key prefix ${JSON.stringify(prefix)} must start with '/' and contain no empty segment`,
      );
    }
    this.base = `${trimmed}/${cluster}/`;
  }

  assignment(component: ComponentType, collection: string): string {
    return `${this.base}assignments/${component}/${collection}`;
  }

  counter(component: ComponentType): string {
    return `${this.base}counters/${component}`;
  }

  /** `<prefix>/<cluster>/nodes/`: one key per live node (membership), bound to the node's lease. */
  get nodes(): string {
    return `${this.base}nodes/`;
  }

  /** `<prefix>/<cluster>/nodes/<nodeId>`. */
  node(nodeId: string): string {
    return `${this.nodes}${nodeId}`;
  }

  /** `<prefix>/<cluster>/owners/`: one key per owned collection, bound to the owner's lease. */
  get owners(): string {
    return `${this.base}owners/`;
  }

  /** `<prefix>/<cluster>/owners/<collectionId>` → `{"v":1,"node":…,"epoch":…}`. */
  owner(collection: string): string {
    return `${this.owners}${collection}`;
  }

  /** `<prefix>/<cluster>/epochs/`: one persistent (lease-less) epoch counter per collection. */
  get epochs(): string {
    return `${this.base}epochs/`;
  }

  /** `<prefix>/<cluster>/epochs/<collectionId>` → `{"v":1,"epoch":…}`; outlives the owner key. */
  epoch(collection: string): string {
    return `${this.epochs}${collection}`;
  }

  /** Classifies a key of this cluster; `undefined` for keys this store does not own. */
  parse(
    key: string,
  ):
    | { type: "assignment"; component: ComponentType; collection: CollectionId }
    | { type: "counter"; component: ComponentType }
    | undefined {
    if (!key.startsWith(this.base)) return undefined;
    const parts = key.slice(this.base.length).split("/");
    if (
      parts[0] === "assignments" &&
      parts.length === 3 &&
      isComponentType(parts[1]) &&
      isCollectionId(parts[2])
    ) {
      return { type: "assignment", component: parts[1], collection: parts[2] };
    }
    if (parts[0] === "counters" && parts.length === 2 && isComponentType(parts[1]))
      return { type: "counter", component: parts[1] };
    return undefined;
  }
}

/** Serialises the value of an assignment key: `{"v":1,"url":…,"assignedAt":…}`. */
export function encodeAssignment(a: Assignment): string {
  return JSON.stringify({ v: VALUE_VERSION, url: a.url, assignedAt: a.assignedAt });
}

/** Parses an assignment value; `undefined` when it is not a value this version understands. */
export function decodeAssignment(
  component: ComponentType,
  collection: CollectionId,
  raw: string,
): Assignment | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { v, url, assignedAt } = value as { v?: unknown; url?: unknown; assignedAt?: unknown };
  if (v !== VALUE_VERSION || typeof url !== "string" || typeof assignedAt !== "number") return undefined;
  return { collection, component, url, assignedAt };
}
