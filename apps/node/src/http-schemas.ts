import { collectionIdProblem } from "@proximadb/core";
import type { FastifySchema, FastifyServerOptions } from "fastify";
import {
  ENGINE_KINDS,
  type EngineKind,
  MAX_DIMENSION,
  type RecordInput,
  recordIdProblem,
} from "./collection.js";
import { METRICS, type Metric } from "@proximadb/index";
import { NodeError } from "./errors.js";

/**
 * The HTTP API's input, declared per route as JSON Schema and validated by Fastify before a handler runs
 * (handlers get the typed data below). Ids are checked by the same rules the engines apply (the
 * `collection-id` and `record-id` formats call them); what needs the collection (the dimension of a
 * vector) is checked by the node.
 */

/** Custom string formats: each one is a `…Problem` rule that says why a value is bad. */
const FORMATS: Record<string, (s: string) => string | undefined> = {
  "collection-id": collectionIdProblem,
  "record-id": recordIdProblem,
};

type AjvPlugin = Extract<
  NonNullable<NonNullable<FastifyServerOptions["ajv"]>["plugins"]>[number],
  (...args: never) => unknown
>;

/** Registers {@link FORMATS} with Fastify's Ajv instance. */
const idFormats: AjvPlugin = (ajv) => {
  for (const [name, problem] of Object.entries(FORMATS))
    ajv.addFormat(name, { type: "string", validate: (s: string) => problem(s) === undefined });
  return ajv;
};

/**
 * Fastify's Ajv settings: nothing is coerced ("3" is not a dimension), removed (an unknown field is an
 * error) or defaulted, and a failing value is kept for the message.
 */
export const AJV_OPTIONS: NonNullable<FastifyServerOptions["ajv"]> = {
  customOptions: {
    coerceTypes: false,
    removeAdditional: false,
    useDefaults: false,
    allErrors: false,
    verbose: true,
    allowUnionTypes: true,
  },
  plugins: [idFormats],
};

/** `POST /collections` body. */
export interface CreateCollectionBody {
  id: string;
  engine: EngineKind;
  dimension: number;
  metric?: Metric;
}

/** `POST /collections/:id/records` body. */
export interface PutRecordsBody {
  records: RecordInput[];
}

/** Path parameters of the collection routes. */
export interface CollectionParams {
  id: string;
}

/** Path parameters of the record routes. */
export interface RecordParams {
  id: string;
  rid: string;
}

/** No route takes query parameters: an unknown one is refused like an unknown body field. */
const noQuery = { type: "object", properties: {}, additionalProperties: false } as const;
const collectionParams = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string" } },
} as const;

/** Per route: what Fastify validates. Unknown collection ids in a path stay 404 (the node's answer). */
export const SCHEMAS = {
  collection: { params: collectionParams, querystring: noQuery },
  createCollection: {
    querystring: noQuery,
    body: {
      type: "object",
      required: ["id", "engine", "dimension"],
      additionalProperties: false,
      properties: {
        id: { type: "string", format: "collection-id" },
        engine: { type: "string", enum: ENGINE_KINDS },
        dimension: { type: "integer", minimum: 1, maximum: MAX_DIMENSION },
        metric: { type: "string", enum: METRICS },
      },
    },
  },
  putRecords: {
    params: collectionParams,
    querystring: noQuery,
    body: {
      type: "object",
      required: ["records"],
      additionalProperties: false,
      properties: {
        records: {
          type: "array",
          items: {
            type: "object",
            required: ["id", "vector"],
            additionalProperties: false,
            properties: {
              id: { type: "string", format: "record-id" },
              vector: { type: "array", items: { type: "number" } },
              metadata: { type: ["object", "null"] },
            },
          },
        },
      },
    },
  },
  /** Reads of a malformed record id answer 404 (no such record), as for any absent one. */
  getRecord: {
    params: {
      type: "object",
      required: ["id", "rid"],
      properties: { id: { type: "string" }, rid: { type: "string" } },
    },
    querystring: noQuery,
  },
  deleteRecord: {
    params: {
      type: "object",
      required: ["id", "rid"],
      properties: { id: { type: "string" }, rid: { type: "string", format: "record-id" } },
    },
    querystring: noQuery,
  },
} as const satisfies Record<string, FastifySchema>;

/** One Ajv error, as Fastify hands it to the formatter (with `verbose`: the failing value in `data`). */
interface SchemaError {
  readonly keyword: string;
  readonly instancePath: string;
  readonly message?: string;
  readonly params: Record<string, unknown>;
  readonly data?: unknown;
  readonly parentSchema?: { minimum?: number; maximum?: number; type?: unknown };
}

const ARTICLE: Record<string, string> = {
  object: "a JSON object",
  array: "an array",
  integer: "an integer",
  number: "a number",
  string: "a string",
  "object,null": "a JSON object or null",
};

function got(value: unknown): string {
  const s = JSON.stringify(value) ?? String(value);
  return ` (got ${s.length > 60 ? `${s.slice(0, 57)}...` : s})`;
}

/** `/records/3/vector/1` as `records[3].vector[1]`. */
function fieldOf(instancePath: string): string {
  return instancePath
    .split("/")
    .slice(1)
    .map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), "");
}

/** The one-line message of a failed schema check, in the words the API uses for bad input. */
export function validationMessage(error: SchemaError, part: string): string {
  const field = fieldOf(error.instancePath);
  const subject = field || (part === "body" ? "the request body" : part);
  const p = error.params;
  switch (error.keyword) {
    case "additionalProperties": {
      const what = part === "querystring" ? "query parameter" : "field";
      const name = `unknown ${what} ${JSON.stringify(p.additionalProperty)}`;
      return field ? `${field}: ${name}` : name;
    }
    case "required":
      return `${field ? `${field}.` : ""}${String(p.missingProperty)} is required`;
    case "type":
      return `${subject} must be ${ARTICLE[String(p.type)] ?? String(p.type)}${got(error.data)}`;
    case "enum":
      return `${subject} must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}${got(error.data)}`;
    case "minimum":
    case "maximum": {
      const { minimum, maximum, type } = error.parentSchema ?? {};
      if (minimum === undefined || maximum === undefined) break;
      return `${subject} must be ${ARTICLE[String(type)] ?? "a number"} in ${minimum}..${maximum}${got(error.data)}`;
    }
    case "format": {
      const problem = FORMATS[String(p.format)]?.(String(error.data)) ?? `must be a ${String(p.format)}`;
      // A path parameter or the collection id: named as what it is; a field of a record: by its path.
      if (p.format === "collection-id") return `invalid collection id: ${problem}${got(error.data)}`;
      if (part === "params") return `invalid record id: ${problem}`;
      return `${subject} ${problem}`;
    }
  }
  return `${subject} ${error.message ?? "is invalid"}${got(error.data)}`;
}

/** Fastify's `schemaErrorFormatter`: the first failed check as a NodeError `InvalidArgument` (400). */
export function schemaError(errors: readonly SchemaError[], part: string): Error {
  const first = errors[0];
  return new NodeError("InvalidArgument", first ? validationMessage(first, part) : `invalid ${part}`);
}
