-- The extraction jobs end to end on a source generated here: exact row
-- counts and statistics, quality findings derived from planted defects,
-- bad files failing alone with an error naming them, and the rows written
-- to _executor_metadata with --write-to-db.
local H = require "helper"
local json = require "nv.json"

local one_json = H.one_json

-- 200 customers: ids 1..200 unique, 2 invalid emails, 10 empty emails,
-- amount = id * 1.5 except 4 "N/A"; plus orders partitions; plus bad files.
local function make_source(dir)
  local lines = { "customer_id,email,amount,signup_date,active" }
  for i = 1, 200 do
    local email = (i % 10 == 0) and "" or ("user" .. i .. "@example.com")
    if i == 7 or i == 77 then email = "user" .. i .. "-at-example.com" end
    local amount = (i % 50 == 0) and "N/A" or string.format("%.1f", i * 1.5)
    lines[#lines + 1] = string.format("%d,%s,%s,2024-%02d-%02d,%s", i, email, amount, (i % 12) + 1, (i % 28) + 1,
      i % 3 == 0 and "true" or "false")
  end
  H.write(dir .. "/customers.csv", table.concat(lines, "\n") .. "\n")
  for _, p in ipairs({ { 2024, 1, 3 }, { 2024, 2, 4 } }) do
    local d = string.format("%s/orders/year=%d/month=%02d", dir, p[1], p[2])
    os.execute("mkdir -p " .. H.q(d))
    local rows = { "order_id;total" }
    for k = 1, p[3] do rows[#rows + 1] = string.format("%d%02d%d;%d", p[1], p[2], k, k * 10) end
    H.write(d .. "/part-0000.csv", table.concat(rows, "\n") .. "\n")
  end
  H.write(dir .. "/events.ndjson", '{"id":1,"user":{"country":"GB"},"tags":["a"]}\n{"id":2,"user":{"country":"US"}}\n{"id":3}\n')
  H.write(dir .. "/binary.csv", "PK\0\0\0\1\2\3garbage\0\0")
  H.write(dir .. "/empty.csv", "")
  os.execute("head -c 20000 /dev/zero | tr '\\0' 'x' | sed 's/^/a,b\\n/' | gzip -c | head -c 40 > " .. H.q(dir .. "/truncated.csv.gz"))
end

local function by_name(list, key)
  local t = {}
  for _, x in ipairs(list) do t[x[key or "table_name"]] = x end
  return t
end

describe("extraction jobs", function()
  local dir, src
  before_each(function()
    dir = H.tmpdir()
    src = dir .. "/src"
    os.execute("mkdir -p " .. H.q(src))
    make_source(src)
  end)
  after_each(function() H.rmdir(dir) end)

  it("metadata_extraction profiles every table and fails bad files alone", function()
    local code, out, err = H.run({ "run", "metadata_extraction", src, "auto", "acme" }, { cwd = dir })
    assert.equal(1, code, err) -- issue 11: a partial run exits 1 by default (fail_on = partial)
    local r = one_json(out)
    assert.equal("partial", r.extraction_status)
    assert.equal("partial", r.status)
    assert.is_false(r.success)
    assert.equal(6, r.objects_total)
    assert.equal(4, r.objects_succeeded)
    local failed_paths = {}
    for _, f in ipairs(r.failed_objects) do failed_paths[#failed_paths + 1] = f.path end
    table.sort(failed_paths)
    assert.same({ src .. "/binary.csv", src .. "/truncated.csv.gz" }, failed_paths)
    assert.equal(7, r.files_found)
    local tables = by_name(r.tables)
    assert.same({ "binary.csv", "customers.csv", "empty.csv", "events.ndjson", "orders", "truncated.csv.gz" },
      (function() local n = {} for k in pairs(tables) do n[#n + 1] = k end table.sort(n) return n end)())
    local c = tables["customers.csv"]
    assert.equal(200, c.row_count)
    assert.equal(5, c.column_count)
    local cols = by_name(c.columns, "name")
    assert.equal("integer", cols.customer_id.data_type)
    assert.equal(200, cols.customer_id.distinct_count)
    assert.is_true(cols.customer_id.candidate_primary_key)
    assert.equal(1, cols.customer_id.min)
    assert.equal(200, cols.customer_id.max)
    assert.near(100.5, cols.customer_id.mean, 1e-9)
    assert.equal("email", cols.email.data_type)
    assert.equal(20, cols.email.null_count)
    assert.equal(2, cols.email.invalid_count)
    assert.equal("boolean", cols.active.data_type)
    assert.equal("date", cols.signup_date.data_type)
    local o = tables.orders
    assert.equal(7, o.row_count)
    assert.same({ "year", "month" }, o.partition_columns)
    assert.equal(2, #o.files)
    local e = tables["events.ndjson"]
    assert.equal(3, e.row_count)
    local ecols = by_name(e.columns, "name")
    assert.equal(1, ecols["user.country"].null_count) -- absent in one record
    assert.equal("failed", tables["binary.csv"].status)
    assert.matches("binary%.csv: binary data, not a CSV or JSON file", tables["binary.csv"].errors[1])
    assert.equal("failed", tables["truncated.csv.gz"].status)
    assert.matches("truncated%.csv%.gz", tables["truncated.csv.gz"].errors[1])
    assert.equal(0, tables["empty.csv"].row_count)
    assert.matches("ERROR %- [^\n]*binary%.csv", err)
    assert.equal(6, r.schema_info.tables)
    assert.is_number(r.quality_metrics.overall_score)
  end)

  it("metadata_extraction reads real-file JSON shapes and lists malformed NDJSON records, masked", function()
    local js = dir .. "/js"
    os.execute("mkdir -p " .. H.q(js))
    local feats = {}
    for i = 1, 3 do feats[i] = string.format('    {"type": "Feature", "properties": {"id": %d}}', i) end
    H.write(js .. "/geo.geojson", '{\n  "type": "FeatureCollection",\n  "features": [\n' ..
      table.concat(feats, ",\n") .. '\n  ]\n}\n')
    H.write(js .. "/bad.ndjson", '{"id": 1}\n{"id": 2, "password": "hunter2", "x": }\n{"id": 3}\n{"id": 4\n')
    local code, out, err = H.run({ "run", "metadata_extraction", js, "auto", "acme" }, { cwd = dir })
    assert.equal(0, code, err)
    local tables = by_name(one_json(out).tables)
    local g = tables["geo.geojson"]
    assert.equal(3, g.row_count)
    assert.equal("features", g.files[1].records_path)
    assert.same({ "properties.id", "type" }, (function()
      local n = {}
      for i, c in ipairs(g.columns) do n[i] = c.name end
      table.sort(n)
      return n
    end)())
    local b = tables["bad.ndjson"]
    assert.equal(2, b.row_count)
    assert.equal(2, b.bad_records)
    -- record-level problems: the file was read, so they are warnings (exit 0)
    -- listed in the table's errors: the total with the first, then the others
    assert.equal(2, #b.errors)
    assert.matches("^.*/bad%.ndjson: 2 malformed records skipped %(first: record 2 %(line 2, byte offset %d+%): " ..
      "unexpected character; text: ", b.errors[1])
    assert.matches("^.*/bad%.ndjson: record 4 %(line 4, byte offset %d+%): ", b.errors[2])
    assert.is_nil(out:find("hunter2", 1, true))
    assert.is_nil(err:find("hunter2", 1, true))
  end)

  it("takes a CSV file whose lines start with '[' as CSV, as Python's csv module reads it", function()
    local cs = dir .. "/cs"
    os.execute("mkdir -p " .. H.q(cs))
    local text = "[tag],when,n\n[a],2024-01-01,1\n[b],2024-01-02,2\n[c] x,2024-01-03,3\n"
    H.write(cs .. "/tags.csv", text)
    H.write(cs .. "/tags", text) -- no name to go by: the content alone
    H.write(cs .. "/arrays.txt", "[1,2]\n[3,4]\n[5,6]\n") -- lines of JSON arrays stay JSON
    local pipe = assert(io.popen("python3 -c " .. H.q("import csv,sys; r=list(csv.reader(open(sys.argv[1]))); " ..
      "print(len(r)-1, len(r[0]))") .. " " .. H.q(cs .. "/tags.csv")))
    local rows, cols = pipe:read("n", "n")
    pipe:close()
    local code, out, err = H.run({ "run", "metadata_extraction", cs, "auto", "acme" }, { cwd = dir })
    assert.equal(0, code, err)
    local tables = by_name(one_json(out).tables)
    for _, name in ipairs({ "tags.csv", "tags" }) do
      local t = tables[name]
      assert.equal("csv", t.file_type, name)
      assert.equal(rows, t.row_count, name)
      assert.equal(cols, t.column_count, name)
    end
    assert.equal("json", tables["arrays.txt"].file_type)
    assert.equal(3, tables["arrays.txt"].row_count)
  end)

  it("quality_assessment derives recommendations from the planted defects", function()
    local code, out = H.run({ "run", "quality_assessment", src .. "/customers.csv" }, { cwd = dir })
    assert.equal(0, code)
    local r = one_json(out)
    assert.is_number(r.overall_score)
    assert.is_string(r.quality_level)
    local text = table.concat(r.recommendations, "\n")
    assert.matches("column email: 10%.0%% of values are missing", text)
    assert.matches("column email: 1%.1%% of values are not valid email values %(e%.g%. 'user7%-at%-example%.com'%)", text)
    -- "N/A" is a null marker, not an invalid decimal: reported as a placeholder
    assert.not_matches("column amount: [^\n]*not valid decimal", text)
    assert.matches("column amount: placeholder value 'N/A' in 4 rows", text)
    assert.near(100, r.quality_metrics.uniqueness, 1e-9)
    assert.is_true(r.quality_metrics.completeness < 100)
  end)

  it("data_reading returns bounded previews per file", function()
    local code, out = H.run({ "run", "data_reading", src .. "/customers.csv" }, { cwd = dir })
    assert.equal(0, code)
    local r = one_json(out)
    local s = r.sample_data["customers.csv"]
    assert.equal(10, #s.rows)
    assert.matches("^customer_id,email,amount", s.preview)
    assert.is_true(#s.preview <= 1024)
    assert.equal("success", r.connection_status)
  end)

  it("writes sources, tables and columns with --write-to-db, replacing on re-run", function()
    local code, out = H.run({ "run", "metadata_extraction", src, "auto", "acme", "--write-to-db",
                              "--workflow-id", "wf-1", "--source-id", "lake" }, { cwd = dir })
    assert.equal(1, code) -- partial (two bad files): exit 1, what succeeded is still written
    local r = one_json(out)
    assert.is_true(r.written_to_db)
    local st = H.open_store(dir)
    local s = st:query("SELECT * FROM _executor_metadata.sources")
    assert.equal(1, #s)
    assert.equal("lake", s[1].source_id)
    assert.equal("wf-1", s[1].workflow_id)
    assert.equal(7, s[1].files_found)
    assert.equal("partial", s[1].status)
    local t = st:query("SELECT table_name, row_count, column_count FROM _executor_metadata.tables WHERE table_name = 'customers.csv'")
    assert.same({ { table_name = "customers.csv", row_count = 200, column_count = 5 } }, t)
    local c = st:query([[SELECT c.column_name, c.data_type, c.position, c.is_nullable, c.sample_values
      FROM _executor_metadata.columns c JOIN _executor_metadata.tables t
        ON c.source_id = t.source_id AND c.table_name = t.table_name
      WHERE t.table_name = 'customers.csv' ORDER BY c.position]])
    assert.equal(5, #c)
    assert.equal("customer_id", c[1].column_name)
    assert.equal(0, c[1].is_nullable)
    assert.equal(1, c[2].is_nullable)
    assert.is_table(json.decode(c[1].sample_values))
    st:close()
  end)

  it("full_pipeline runs every step it has and lists api_transmission as skipped", function()
    local code, out = H.run({ "run", "full_pipeline", src .. "/customers.csv", "csv", "t1", "--write-to-db" }, { cwd = dir })
    assert.equal(0, code)
    local r = one_json(out)
    assert.equal("created", r.schema_validation.status) -- a fresh store (issue 11: was "valid")
    assert.equal(1, r.metadata_extraction.files_found)
    assert.equal(1, r.data_reading.files_read)
    assert.is_number(r.quality_assessment.overall_score)
    assert.same({ "schema_validation", "metadata_extraction", "data_reading", "quality_assessment" }, r.steps_completed)
    assert.equal("api_transmission", r.skipped[1].step)
  end)

  it("full_pipeline sends the metadata to the platform, and keeps it in the outbox on a 500", function()
    local srv = H.platform_server(dir)
    local env = { NUVYN_API_ENDPOINT = srv.url, NUVYN_API_KEY = "key-0123456789abcdef" }
    local ok, err = pcall(function()
      local code, out = H.run({ "run", "full_pipeline", src .. "/customers.csv", "csv", "t1", "--write-to-db" },
        { cwd = dir, env = env })
      assert.equal(0, code)
      local r = one_json(out)
      assert.equal("success", r.api_transmission.transmission_status)
      assert.same({}, r.skipped)
      local reqs = srv.requests()
      assert.equal(1, #reqs)
      assert.equal("/api/metadata", reqs[1].path)
      assert.equal("customers.csv", reqs[1].json.metadata.tables[1].table_name)
      srv.set_plan({ { status = 500 }, { status = 500 }, { status = 500 }, { status = 500 } })
      code, out = H.run({ "run", "full_pipeline", src .. "/customers.csv", "--config", H.root .. "/tests/fixtures/fast_retry.json" },
        { cwd = dir, env = env })
      assert.equal(1, code)
      r = one_json(out)
      assert.equal("failed", r.api_transmission.transmission_status)
      assert.matches("^api_transmission: ", r.error)
      assert.equal(1, r.api_transmission.pending)
      assert.is_nil(out:find("key-0123456789abcdef", 1, true))
    end)
    srv.stop()
    assert(ok, err)
  end)

  it("records schema drift against the source's previous run", function()
    local args = { "run", "metadata_extraction", src, "auto", "acme", "--write-to-db", "--source-id", "lake",
                   "--fail-on", "never" } -- the source has two bad files: partial
    local code, out = H.run(args, { cwd = dir })
    assert.equal(0, code)
    assert.is_nil(one_json(out).schema_drift) -- first run: nothing to compare with
    -- change the source: a new column, a type change, a removed file, a row-count jump
    local lines = { "customer_id,email,amount,signup_date,active,tier" }
    for i = 1, 20 do lines[#lines + 1] = string.format("c%d,u%d@example.com,%d,2024-01-01,true,gold", i, i, i) end
    H.write(src .. "/customers.csv", table.concat(lines, "\n") .. "\n")
    os.remove(src .. "/events.ndjson")
    code, out = H.run(args, { cwd = dir })
    assert.equal(0, code)
    local r = one_json(out)
    local d = r.schema_drift
    assert.is_true(d.changed)
    assert.same({ "events.ndjson" }, d.tables_removed)
    assert.same({}, d.tables_added)
    assert.same({ { table = "customers.csv", column = "tier", data_type = "string" } }, d.columns_added)
    assert.same({ { table = "customers.csv", column = "customer_id", from = "integer", to = "string" },
                  { table = "customers.csv", column = "amount", from = "decimal", to = "integer" } },
      (function() local t = {} for _, c in ipairs(d.type_changes) do if c.column ~= "email" then t[#t + 1] = c end end
        table.sort(t, function(a, b) return a.column > b.column end) return t end)())
    assert.equal("customers.csv", d.row_count_changes[1].table)
    assert.equal(200, d.row_count_changes[1].from)
    assert.equal(20, d.row_count_changes[1].to)
    local st = H.open_store(dir)
    local runs = st:query("SELECT schema_drift FROM _executor_metadata.executor_runs WHERE schema_drift IS NOT NULL")
    st:close()
    assert.equal(1, #runs)
    assert.same({ "events.ndjson" }, json.decode(runs[1].schema_drift).lake.tables_removed)
  end)

  local pt = H.root .. "/../shared/parquet-testing/"
  local have_pt = io.open(pt .. "alltypes_plain.parquet", "rb")
  if have_pt then have_pt:close() end
  local it_pt = have_pt and it or function(name) pending(name .. " (../shared/parquet-testing is not present)") end
  it_pt("profiles Parquet files, a directory of part files as one table", function()
    os.execute("mkdir -p " .. H.q(dir .. "/pq/events") .. " && cp " .. H.q(pt .. "alltypes_plain.parquet") .. " "
      .. H.q(dir .. "/pq/events/part-00000.parquet") .. " && cp " .. H.q(pt .. "alltypes_plain.parquet") .. " "
      .. H.q(dir .. "/pq/events/part-00001.parquet") .. " && cp " .. H.q(pt .. "nation.dict-malformed.parquet") .. " "
      .. H.q(dir .. "/pq/"))
    local code, out, err = H.run({ "run", "metadata_extraction", dir .. "/pq" }, { cwd = dir })
    assert.equal(1, code, err) -- partial: the malformed file fails alone, and the run exits 1 (fail_on = partial)
    local r = one_json(out)
    assert.equal(dir .. "/pq/nation.dict-malformed.parquet", r.failed_objects[1].path)
    local t = by_name(r.tables)
    assert.equal(16, t.events.row_count)
    assert.equal("parquet", t.events.file_type)
    local cols = by_name(t.events.columns, "name")
    assert.equal("INT32", cols.id.native_type)
    assert.equal("integer", cols.id.data_type)
    assert.equal("failed", t["nation.dict-malformed.parquet"].status)
    assert.matches("page runs past the end of the column chunk", t["nation.dict-malformed.parquet"].errors[1])
  end)

  it("reads each Excel worksheet as a table", function()
    os.execute("mkdir -p " .. H.q(dir .. "/xl") .. " && sh " .. H.q(H.root .. "/tests/fixtures/make_xlsx_fixtures.sh") .. " " .. H.q(dir .. "/xl") .. " >/dev/null 2>&1")
    local code, out, err = H.run({ "run", "full_pipeline", dir .. "/xl/basic.xlsx" }, { cwd = dir })
    assert.equal(0, code, err)
    local r = one_json(out)
    local names = {}
    for _, t in ipairs(r.metadata_extraction.tables) do names[#names + 1] = t.table_name end
    table.sort(names)
    assert.same({ "basic.xlsx#Data", "basic.xlsx#Secret" }, names)
    local data = r.data_reading.sample_data["basic.xlsx#Data"]
    assert.is_true(#data.rows >= 2)
    code, out = H.run({ "run", "metadata_extraction", dir .. "/xl/legacy.xls" }, { cwd = dir })
    assert.equal(1, code)
    assert.matches("legacy %.xls workbooks are not supported", one_json(out).error)
  end)

  it("aggregates spec 003's multi-source payload, skipping a source without a path", function()
    local payload = json.encode({ workflow_id = "wf-9", sources = {
      { source_id = "a", data_source_path = src .. "/customers.csv" },
      { source_id = "b", data_source_path = dir .. "/missing-dir" },
      { source_id = "c" },
    } })
    local code, out, err = H.run({ "run", "metadata_extraction", "", "auto", "default", "--write-to-db" },
      { cwd = dir, env = { NUVYN_JOB_PAYLOAD = payload } })
    assert.equal(1, code) -- issue 11: one source of two failed: partial, exit 1 (fail_on = partial)
    local r = one_json(out)
    assert.equal("partial", r.status)
    assert.equal(1, #r.failed_objects)
    assert.equal("b", r.failed_objects[1].source)
    assert.matches("missing%-dir: No such file or directory", r.failed_objects[1].reason)
    assert.equal("wf-9", r.workflow_id)
    assert.equal(2, r.total_sources)
    assert.equal(1, r.sources_processed)
    assert.equal(1, r.sources_failed)
    assert.equal("success", r.sources[1].status)
    assert.equal("failed", r.sources[2].status)
    assert.matches("missing%-dir: No such file or directory", r.sources[2].metadata.errors[1])
    assert.matches("sources%[3%] %(c%): no data_source_path, skipped", err)
    local st = H.open_store(dir)
    local rows = st:query("SELECT source_id, status FROM _executor_metadata.sources WHERE workflow_id = 'wf-9' ORDER BY source_id")
    assert.same({ { source_id = "a", status = "success" }, { source_id = "b", status = "failed" } }, rows)
    st:close()
  end)

  it("fails with exit 1 when the only source cannot be read, naming it", function()
    local code, out = H.run({ "run", "metadata_extraction", dir .. "/nope" }, { cwd = dir })
    assert.equal(1, code)
    local r = one_json(out)
    assert.equal("failed", r.extraction_status)
    assert.equal("data source " .. dir .. "/nope: cannot access " .. dir .. "/nope: No such file or directory", r.error)
  end)
  it("the readers, not the transport, say which objects are read from byte ranges (Parquet footer first)", function()
    local filereader = require "nv.filereader"
    local pq = filereader.ranged("dir/part-0.PARQUET")
    assert.is_function(pq.fetch)
    assert.equal(require("nv.pqfooter").guess, pq.guess)
    assert.is_table(filereader.ranged("x.parq"))
    assert.is_table(filereader.ranged("part-0", "delta")) -- a Delta table's files are Parquet whatever their name
    assert.is_table(filereader.ranged("blob", "parquet"))
    assert.is_nil(filereader.ranged("a.csv"))
    assert.is_nil(filereader.ranged("a.parquet.csv"))
    assert.is_nil(filereader.ranged("a.json", "json"))
    -- the fetch is the footer reader's: a tail that is no Parquet footer is refused
    local info, err = pq.fetch(function() return string.rep("x", 64) end, 64, dir .. "/tail", {})
    assert.is_nil(info)
    assert.matches("not a Parquet file", err)
  end)
end)
