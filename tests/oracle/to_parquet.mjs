// to_parquet.mjs DATA.csv OUT.parquet - the oracle's CSV as zstd Parquet
// with typed columns and several row groups, written by DuckDB
// (@duckdb/node-api from NVLUA_DUCKDB_DIR).
import { createRequire } from "node:module";

const base = process.env.NVLUA_DUCKDB_DIR ? `${process.env.NVLUA_DUCKDB_DIR}/x.js` : import.meta.url;
const { DuckDBInstance } = createRequire(base)("@duckdb/node-api");
const [src, out] = process.argv.slice(2);
if (!src || !out) {
  console.error("usage: node to_parquet.mjs DATA.csv OUT.parquet");
  process.exit(2);
}
const q = (s) => `'${s.replaceAll("'", "''")}'`;
const db = await DuckDBInstance.create(":memory:");
const con = await db.connect();
const types = {
  id: "BIGINT", zipf: "INTEGER", day: "DATE", code1001: "SMALLINT", email_hh: "VARCHAR",
  amount: "DOUBLE", card60k: "INTEGER", card70k: "INTEGER", card150k: "INTEGER", big: "BIGINT",
};
const cols = Object.entries(types).map(([k, v]) => `'${k}': '${v}'`).join(", ");
await con.run(`COPY (SELECT * FROM read_csv(${q(src)}, header = true, columns = {${cols}}))
  TO ${q(out)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000)`);
