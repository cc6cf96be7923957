import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseCategoryCsv, readCategoryCsv } from "./csv.js";
import { PackError } from "./errors.js";

const dir = mkdtempSync(join(tmpdir(), "steerbench-csv-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function csvFile(content: string | Uint8Array): string {
  const path = join(dir, `case-${n++}.csv`);
  writeFileSync(path, content);
  return path;
}

async function expectPackError(path: string, match: RegExp, row?: number): Promise<PackError> {
  const err = await readCategoryCsv(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PackError);
  const pe = err as PackError;
  expect(pe.file).toBe(path);
  expect(pe.message).toContain(path);
  expect(pe.message).toMatch(match);
  expect(pe.row).toBe(row);
  if (row !== undefined) expect(pe.message).toContain(`row ${row}`);
  return pe;
}

describe("parseCategoryCsv", () => {
  it('keeps the context raw and strips tasks, across quoted multi-line fields, "" escapes and CRLF', async () => {
    const path = csvFile(
      '"Context line 1\nline 2\r"\r\n"Task one\nhas ""quotes"" inside"\r\nTask two   \r\n',
    );
    const csv = await readCategoryCsv(path);
    expect(csv.context).toBe("Context line 1\nline 2\r");
    expect(csv.tasks).toEqual([
      { row: 2, text: 'Task one\nhas "quotes" inside' },
      { row: 3, text: "Task two" },
    ]);
  });

  it("keeps a bare CR inside quotes and ends a record at a bare CR outside quotes (like Python's csv)", () => {
    const csv = parseCategoryCsv(Buffer.from('ctx\r"a\rb"\rc\nd\r\n'), "x.csv");
    expect(csv.context).toBe("ctx");
    expect(csv.tasks.map((t) => t.text)).toEqual(["a\rb", "c", "d"]);
    expect(csv.tasks.map((t) => t.row)).toEqual([2, 3, 4]);
  });

  it("skips empty and whitespace-only rows but keeps counting them as rows", () => {
    const csv = parseCategoryCsv(Buffer.from('ctx\r\n\r\n""\r\n   \r\nreal task\r\n\r\n'), "x.csv");
    expect(csv.tasks).toEqual([{ row: 5, text: "real task" }]);
  });

  it("joins multi-cell rows with commas before stripping, as ','.join(row).strip()", () => {
    const csv = parseCategoryCsv(Buffer.from('ctx\n  a, b ,"c, d"\n'), "x.csv");
    expect(csv.tasks[0]!.text).toBe("a, b ,c, d");
  });

  it("strips the Python whitespace set from tasks (e.g. a trailing NEL), not JavaScript's", () => {
    const csv = parseCategoryCsv(Buffer.from("ctx\n\ufefftask\u0085\n"), "x.csv");
    expect(csv.tasks[0]!.text).toBe("\ufefftask");
  });

  it("keeps UTF-8 punctuation intact", () => {
    const csv = parseCategoryCsv(Buffer.from("ctx – “q”\ntask — it’s\n"), "x.csv");
    expect(csv.context).toBe("ctx – “q”");
    expect(csv.tasks[0]!.text).toBe("task — it’s");
  });
});

describe("CSV errors name the file and row", () => {
  it("missing file", async () => {
    await expectPackError(join(dir, "nope.csv"), /file not found/);
  });

  it("empty file", async () => {
    await expectPackError(csvFile(""), /empty/);
  });

  it("empty category context", async () => {
    await expectPackError(csvFile('""\r\ntask\r\n'), /category context .* is empty/, 1);
    await expectPackError(csvFile("\r\ntask\r\n"), /category context .* is empty/, 1);
  });

  it("header but no tasks", async () => {
    await expectPackError(csvFile('"Only a context\r\n"\r\n\r\n'), /no task rows/, 2);
  });

  it("invalid UTF-8 names the row (counting quoted newlines correctly) and the byte offset", async () => {
    const before = Buffer.from('ctx\r\n"task\r\nstill task two"\r\nthree ');
    const bytes = Buffer.concat([before, Buffer.from([0xc3, 0x28]), Buffer.from("\r\n")]);
    const err = await expectPackError(csvFile(bytes), /invalid UTF-8: byte 0xc3 at offset/, 3);
    expect(err.message).toContain(`offset ${before.length}`);
  });

  it("invalid UTF-8 in row 1 (truncated sequence at end of file)", async () => {
    await expectPackError(csvFile(Buffer.from([0x61, 0x62, 0xe2, 0x80])), /invalid UTF-8/, 1);
  });

  it("an unclosed quote is a parse error naming the row it starts in", async () => {
    await expectPackError(
      csvFile('ctx\r\ntask\r\n"never closed\r\nmore\r\n'),
      /CSV parse error.*Quote Not Closed/i,
      3,
    );
  });

  it("text after a closing quote, or a quote inside an unquoted field, is a parse error (RFC 4180)", async () => {
    await expectPackError(csvFile('ctx\n"a"b\n'), /CSV parse error \(line 2\).*Closing Quote/, 2);
    await expectPackError(csvFile('ctx\r\nok\r\nb"c\r\n'), /CSV parse error \(line 3\).*Opening Quote/, 3);
  });
});
