import type { EngineOpenOptions } from "@proximadb/engine";
import type { Compression } from "parquet-wasm";

/** Options of {@link ViperEngine.open}: the shared engine options plus VIPER's own. */
export interface ViperEngineOptions extends EngineOpenOptions {
  /** Parquet compression codec (parquet-wasm's `Compression`). Default SNAPPY. */
  readonly compression?: Compression;
  /**
   * Target size of a Parquet row group in bytes (before compression): what one `get` reads. Default 64 KiB
   * (about 120 records of dimension 128). Smaller groups make reads cheaper and footers larger.
   */
  readonly rowGroupBytes?: number;
}

/** What {@link ViperEngine.flush} wrote. */
export interface FlushResult {
  /** Root-relative key of the committed file. */
  readonly key: string;
  /** The flush sequence (part of the file name and of every row). */
  readonly sequence: number;
  /** Rows written (after de-duplicating ids within the batch: the last one wins). */
  readonly records: number;
  /** File size in bytes. */
  readonly bytes: number;
}

/** Options of {@link ViperEngine.compact}. */
export interface CompactOptions {
  /** Target size of each output file in bytes. Default 128 MiB. */
  readonly targetFileBytes?: number;
}

/** What {@link ViperEngine.compact} did. */
export interface CompactResult {
  /** False when there was nothing to merge (at most one live set). */
  readonly compacted: boolean;
  /** Generation of the output set. */
  readonly generation: number;
  /** Keys of the input files (now deleted). */
  readonly inputs: readonly string[];
  /** Keys of the output files. */
  readonly outputs: readonly string[];
  readonly rowsIn: number;
  readonly rowsOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Garbage (superseded or incomplete files from an interrupted compaction) removed first. */
  readonly garbageRemoved: number;
  /** False when a reader of this process was still reading the inputs: they stay as garbage until the next compaction. */
  readonly inputsDeleted: boolean;
}
