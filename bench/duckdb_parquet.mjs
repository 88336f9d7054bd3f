// bench/duckdb_parquet.mjs FILE: DuckDB's SUMMARIZE over the same Parquet
// file, single thread, for the side-by-side figure.
import { DuckDBInstance } from '@duckdb/node-api';
import { statSync } from 'node:fs';

const file = process.argv[2];
const size = statSync(file).size;
const db = await DuckDBInstance.create(':memory:', { threads: '1' });
const con = await db.connect();
const t0 = process.hrtime.bigint();
const reader = await con.runAndReadAll(`SUMMARIZE SELECT * FROM read_parquet('${file.replace(/'/g, "''")}')`);
const dt = Number(process.hrtime.bigint() - t0) / 1e9;
const rss = process.resourceUsage().maxRSS / 1024;
console.log(`duckdb: ${reader.getRows().length} columns summarized, ${(size / 1e6).toFixed(1)} MB in ${dt.toFixed(2)} s = ${(size / 1e6 / dt).toFixed(1)} MB/s, peak RSS ${rss.toFixed(1)} MiB (threads=1)`);
