// bench/duckdb_stats.mjs FILE FORMAT THREADS (FORMAT csv|parquet|json):
// DuckDB computing the same statistics nvlua's profile reports, in one
// scan, with `threads` set to THREADS. Prints one line:
//   duckdb tN: <MB> MB in <s> s = <MB/s> MB/s, peak RSS <MiB> MiB
// (MB = the file's bytes on disk / 1e6; RSS = this process's maxRSS).
// The columns come from DESCRIBE SELECT * FROM <src>, where <src> is
// read_csv_auto(FILE) / read_parquet(FILE) / read_json_auto(FILE); the
// timed query is then, for columns c1..cn:
//   SELECT count(*),
//          count(c1), approx_count_distinct(c1), min(c1), max(c1),
//          [avg(c1), stddev_samp(c1),]   -- only for numeric columns
//          ... the same for c2..cn ...
//   FROM <src>
// (nulls of a column = count(*) - count(col)). DESCRIBE is not timed.
import { DuckDBInstance } from '@duckdb/node-api';
import { statSync } from 'node:fs';

const [file, format, threads] = process.argv.slice(2);
const readers = { csv: 'read_csv_auto', parquet: 'read_parquet', json: 'read_json_auto' };
if (!file || !readers[format] || !/^[1-9][0-9]*$/.test(threads || '')) {
  console.error('usage: node duckdb_stats.mjs FILE csv|parquet|json THREADS');
  process.exit(2);
}
const size = statSync(file).size;
const src = `${readers[format]}('${file.replace(/'/g, "''")}')`;
const db = await DuckDBInstance.create(':memory:', { threads: String(threads) });
const con = await db.connect();
const desc = (await con.runAndReadAll(`DESCRIBE SELECT * FROM ${src}`)).getRowObjects();
const numeric = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|REAL|DOUBLE|DECIMAL)/i;
const parts = ['count(*)'];
for (const row of desc) {
  const c = `"${String(row.column_name).replace(/"/g, '""')}"`;
  parts.push(`count(${c})`, `approx_count_distinct(${c})`, `min(${c})`, `max(${c})`);
  if (numeric.test(String(row.column_type))) parts.push(`avg(${c})`, `stddev_samp(${c})`);
}
const sql = `SELECT ${parts.join(', ')} FROM ${src}`;
const t0 = process.hrtime.bigint();
const rows = (await con.runAndReadAll(sql)).getRows();
const dt = Number(process.hrtime.bigint() - t0) / 1e9;
if (rows.length !== 1) {
  console.error(`duckdb: expected one result row, got ${rows.length}`);
  process.exit(1);
}
const rss = process.resourceUsage().maxRSS / 1024;
console.log(`duckdb t${threads}: ${(size / 1e6).toFixed(1)} MB in ${dt.toFixed(3)} s = ${(size / 1e6 / dt).toFixed(1)} MB/s, peak RSS ${rss.toFixed(1)} MiB`);
