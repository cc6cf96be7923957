// One error type for everything wrong with benchmark data, so callers can print the file/row/key it names.

export interface PackErrorLocation {
  /** The file (path or name) the problem is in. */
  file: string;
  /** 1-based CSV row (record) number, when the problem is in a row. */
  row?: number;
  /** The JSON key path (e.g. `steerability_2601.01584.pro_ic_suffix_raw`), when the problem is a key. */
  key?: string;
}

export class PackError extends Error {
  readonly file: string;
  readonly row: number | undefined;
  readonly key: string | undefined;

  constructor(location: PackErrorLocation, message: string, options?: { cause?: unknown }) {
    const where = [
      location.file,
      location.row === undefined ? undefined : `row ${location.row}`,
      location.key === undefined ? undefined : `key "${location.key}"`,
    ]
      .filter((part) => part !== undefined)
      .join(", ");
    super(`${where}: ${message}`, options);
    this.name = "PackError";
    this.file = location.file;
    this.row = location.row;
    this.key = location.key;
  }
}
