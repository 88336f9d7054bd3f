// bench/csv_to_ndjson.mjs CSV OUT.ndjson: the benchmark CSV (bench/gen_csv.c)
// rewritten by DuckDB as newline-delimited JSON, one object a row, column
// types as read_csv_auto infers them.
import { DuckDBInstance } from '@duckdb/node-api';

const [csv, out] = process.argv.slice(2);
if (!csv || !out) {
  console.error('usage: node csv_to_ndjson.mjs FILE.csv OUT.ndjson');
  process.exit(2);
}
const q = (s) => `'${s.replace(/'/g, "''")}'`;
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run(`COPY (SELECT * FROM read_csv_auto(${q(csv)})) TO ${q(out)} (FORMAT json)`);
