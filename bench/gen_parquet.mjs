// bench/gen_parquet.mjs CSV OUT.parquet: the benchmark CSV (bench/gen_csv.c)
// rewritten as Parquet by DuckDB — zstd, DuckDB's default row groups
// (122,880 rows), column types as read_csv_auto infers them.
import { DuckDBInstance } from '@duckdb/node-api';

const [csv, out] = process.argv.slice(2);
if (!csv || !out) {
  console.error('usage: node gen_parquet.mjs FILE.csv OUT.parquet');
  process.exit(2);
}
const q = (s) => `'${s.replace(/'/g, "''")}'`;
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run(`COPY (SELECT * FROM read_csv_auto(${q(csv)})) TO ${q(out)} (FORMAT parquet, COMPRESSION zstd)`);
