-- nv.sqlprofile: profiling a table of a SQL source, shared by every SQL
-- connector. The default ("pushdown") is ONE aggregate query per table
-- (chunked for tables wider than chunk_columns), built from the dialect's
-- aggregates(q, c, dialect), plus one bounded sample query for the sample
-- values; "sample" profiles a bounded sample of rows through nv.profile.
-- A degrading dialect (dialect.degrade, the ODBC engines) falls back per
-- table: minimal aggregates (dialect.minimal_aggregates: COUNT, MIN, MAX),
-- then a sample of rows; each step is a warning naming the cause.
--
--   sqlprofile.profile_table(db, dialect, t, opts, counter, warn) -> true | nil, msg
--   sqlprofile.pushdown(db, dialect, t, ref, opts, counter [, aggregates]) -> true | nil, msg
--   sqlprofile.sample(db, dialect, t, ref, opts, counter)    -> true | nil, msg
--   sqlprofile.samples(db, dialect, t, ref, opts, counter)   -> true | nil, msg
--   sqlprofile.row_option(v, default)                        -> integer in [1, 2^31 - 1]
--
-- aggregates(q, c, dialect) returns {key = sql | {sql, params…}} for the
-- keys nn (COUNT(col)), dc (distinct), mn/mx (MIN/MAX), tr (TRUE values
-- of a boolean), avg, sd (sample standard deviation) or var (sample
-- variance: the standard deviation is its square root), em (empty
-- strings), mnl/mxl (MIN/MAX length). counter = {catalog, profile} counts
-- the queries sent.
local json = require "nv.json"

local M = {}

local AGG_ORDER = { "nn", "dc", "mn", "mx", "tr", "avg", "sd", "var", "em", "mnl", "mxl" }
local MAX_SAMPLE_CHARS = 200

local function sample_text(v, norm)
  if type(v) ~= "string" then return tostring(v) end
  if norm == "binary" and not v:match("^\\x") then
    local n = math.min(#v, 32)
    v = "0x" .. v:sub(1, n):gsub(".", function(ch) return string.format("%02x", ch:byte()) end)
      .. (#v > n and "…" or "")
  elseif #v > MAX_SAMPLE_CHARS then
    v = v:sub(1, MAX_SAMPLE_CHARS):gsub("[\128-\191]*$", ""):gsub("[\192-\255]$", "") .. "…"
  end
  return v
end

local function as_bool(v)
  if type(v) == "number" then return v ~= 0 end
  return v
end

-- One aggregate query per table (chunked by columns), built from
-- aggregates(q, c, eng) (eng.aggregates by default); fills the column stats
-- once every chunk has answered, so a failed query leaves none behind.
local function pushdown(db, eng, t, ref, opts, counter, aggregates)
  aggregates = aggregates or eng.aggregates
  local chunk = opts.chunk_columns or 200
  local ncols = #t.columns
  local got, nrows = {}, 0
  local first = 1
  repeat
    local last = math.min(ncols, first + chunk - 1)
    local exprs, keys, params = { "COUNT(*) AS n_rows" }, {}, {}
    for i = first, last do
      local c = t.columns[i]
      local e = aggregates(eng.quote(c.name), c, eng)
      for _, k in ipairs(AGG_ORDER) do
        local x = e[k]
        if x then
          if type(x) == "table" then -- {sql, params...}
            for j = 2, #x do params[#params + 1] = x[j] end
            x = x[1]
          end
          local alias = "a" .. i .. "_" .. k
          exprs[#exprs + 1] = x .. " AS " .. alias
          keys[#keys + 1] = { i, k, alias }
        end
      end
    end
    counter.profile = counter.profile + 1
    local rows, err = db:query("SELECT " .. table.concat(exprs, ", ") .. " FROM " .. ref, table.unpack(params))
    if not rows then return nil, err end
    local r = rows[1] or {}
    nrows = r.n_rows or 0
    for _, k in ipairs(keys) do
      got[k[1]] = got[k[1]] or {}
      got[k[1]][k[2]] = r[k[3]]
    end
    first = last + 1
  until first > ncols
  t.rows = nrows
  for i = 1, ncols do
    local c, s = t.columns[i], got[i] or {}
    local nn = s.nn or 0
    local empty = s.em or 0
    local valued = nn - empty
    c.rows, c.present, c.missing_count = t.rows, t.rows, 0
    c.null_count, c.empty_count = t.rows - nn, empty
    c.non_null, c.valid_count, c.invalid_count = valued, valued, 0
    c.distinct_count, c.distinct_exact = s.dc, s.dc ~= nil or nil
    if s.tr ~= nil then -- TRUE values counted: no MIN/MAX on booleans
      if nn > 0 then c.min, c.max = s.tr == nn, s.tr > 0 end
    elseif c.inferred_type == "boolean" then
      c.min, c.max = as_bool(s.mn), as_bool(s.mx)
    else
      c.min, c.max = s.mn, s.mx
    end
    c.mean, c.stddev = s.avg, s.sd
    if s.sd == nil and tonumber(s.var) then c.stddev = math.sqrt(math.max(0, tonumber(s.var))) end
    c.min_length, c.max_length = s.mnl, s.mxl
    c.type_counts = valued > 0 and { [c.inferred_type] = valued } or {}
    c.type_confidence = valued > 0 and 1 or nil
    c.is_unique = s.dc ~= nil and nn > 0 and s.dc == nn
    c.candidate_primary_key = c.is_unique and nn == t.rows and t.rows > 0 or false
    c.invalid_samples = json.array()
  end
  return true
end

-- a row count option as an integer in [1, 2^31 - 1] (default when absent
-- or not a number: inf, NaN, negatives and fractions never reach SQL)
local function row_option(v, default)
  local n = tonumber(v)
  if not n or n ~= n then return default end
  n = math.floor(math.max(1, math.min(n, 2147483647)))
  return math.tointeger(n) or default
end

-- SELECT * of at most n rows: LIMIT, or SQL_ATTR_MAX_ROWS for the ODBC
-- engines (whose DBMS may have no LIMIT).
local function select_rows(db, eng, ref, n)
  if eng.max_rows_samples then return db:query({ "SELECT * FROM " .. ref, max_rows = math.max(1, n) }) end
  return db:query("SELECT * FROM " .. ref .. " LIMIT " .. n)
end

-- The nv.profile path: a bounded sample of rows through the profiler.
local function profile_sample(db, eng, t, ref, opts, counter)
  local n = row_option(opts.profile_rows, 10000)
  counter.profile = counter.profile + 1
  local rows, err = select_rows(db, eng, ref, n)
  if not rows then return nil, err end
  local p <close> = require("nv.profile").new()
  for i, c in ipairs(t.columns) do
    p:column(c.name)
    if c.native_type then p:set_native_type(i - 1, c.native_type) end
  end
  for _, r in ipairs(rows) do
    for i, c in ipairs(t.columns) do p:add(i - 1, r[c.name]) end
    p:add_rows(1)
  end
  local res = p:result()
  -- a sample that may not hold the whole table: its figures describe the
  -- sample, so nothing computed from it is stated exact for the table
  local partial = #rows >= n
  for i, pc in ipairs(res.columns) do
    local c = t.columns[i]
    if c then
      for k, v in pairs(pc) do
        if c[k] == nil or k == "inferred_type" then c[k] = v end
      end
      if partial then
        c.distinct_exact, c.top_values_exact, c.distinct_error = false, false, nil
        if c.quantiles_exact then c.quantiles_exact = false end
        c.sampled_rows = #rows
      end
    end
  end
  t.rows = #rows < n and #rows or (t.row_count_estimate or #rows)
  t.sampled_rows = #rows
  return true
end

local function samples(db, eng, t, ref, opts, counter)
  local limit = row_option(opts.sample_rows, 5)
  if limit <= 0 then return true end
  counter.profile = counter.profile + 1
  local rows, err = select_rows(db, eng, ref, limit)
  if not rows then return nil, err end
  for _, c in ipairs(t.columns) do
    local seen, list = {}, json.array()
    for _, r in ipairs(rows) do
      local v = r[c.name]
      if v ~= nil then
        local s = sample_text(v, c.inferred_type)
        if not seen[s] then
          seen[s] = true
          list[#list + 1] = s
        end
      end
    end
    if c.samples == nil or opts.profile ~= "sample" then c.samples = list end
  end
  return true
end
-- pushdown for a degrading engine (eng.degrade): after a failed aggregate
-- query, once more with eng.minimal_aggregates, then a bounded sample
-- through the profiler; warn(text) names each step and its cause. Returns
-- true | nil, the last step's error.
local function pushdown_degraded(db, eng, t, ref, opts, counter, warn)
  local ok, err = pushdown(db, eng, t, ref, opts, counter)
  if ok or not eng.degrade then return ok, err end
  warn(string.format("aggregate query failed, retrying with COUNT, MIN and MAX only: %s", tostring(err)))
  ok, err = pushdown(db, eng, t, ref, opts, counter, eng.minimal_aggregates)
  if ok then return true end
  local n = row_option(opts.profile_rows, 10000)
  warn(string.format("minimal aggregate query failed, profiling a sample of at most %d rows instead: %s", n,
    tostring(err)))
  return profile_sample(db, eng, t, ref, opts, counter)
end

--- Profiles one table of the model (its columns already from the
-- catalog) as opts.profile says: "pushdown" | "sample" | "none" (with
-- exact_counts, by default the dialect's: COUNT(*) only). warn(text)
-- reports a degradation step.
function M.profile_table(db, eng, t, opts, counter, warn)
  local exact = opts.exact_counts
  if exact == nil then exact = eng.exact_counts end -- a dialect without estimates counts by default
  if #t.columns == 0 or not (opts.profile ~= "none" or exact) then return true end
  local ref = (t.schema_name ~= "" and (eng.quote(t.schema_name) .. ".") or "") .. eng.quote(t.name)
  local ok, perr = true, nil
  if opts.profile == "pushdown" then
    ok, perr = pushdown_degraded(db, eng, t, ref, opts, counter, warn)
  elseif opts.profile == "sample" then
    ok, perr = profile_sample(db, eng, t, ref, opts, counter)
  elseif exact then
    counter.profile = counter.profile + 1
    local rows, cerr = db:query("SELECT COUNT(*) AS n FROM " .. ref)
    if rows then t.rows = rows[1].n else ok, perr = nil, cerr end
  end
  if ok and opts.profile ~= "none" then ok, perr = samples(db, eng, t, ref, opts, counter) end
  return ok, perr
end

M.pushdown, M.sample, M.samples, M.row_option = pushdown, profile_sample, samples, row_option
return M
