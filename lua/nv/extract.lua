-- nv.extract: one file source extracted into the metadata model — every
-- table with its columns, row counts, profile statistics and quality —
-- in bounded memory (readers stream into the C profiler). Bad files get
-- an error naming the file and the cause; the other files go on.
local filesource = require "nv.filesource"
local profile = require "nv.profile"
local quality = require "nv.quality"
local json = require "nv.json"
local sys = require "nv.sys"
local fs = require "nv.fs"
local delta = require "nv.delta"
local pqfooter = require "nv.pqfooter"

local M = {}

local readers = {
  csv = function(path, opts)
    return require("nv.csv").open(path, { delimiter = opts.delimiter, quote = opts.quote, header = opts.header })
  end,
  json = function(path)
    return require("nv.jsonfile").open(path)
  end,
  parquet = function(path, _, file)
    -- a remote object read footer-first: the local copy holds byte ranges
    local ranged = file.ranges and { size = file.object_size or file.size, ranges = file.ranges } or nil
    return require("nv.parquet").open(path, ranged)
  end,
}

local unsupported = {
  xlsx = "Excel workbooks are read one worksheet per table, not in a multi-file table",
  xls = "legacy .xls workbooks are not supported; save them as .xlsx or CSV",
  zip = "zip archives are not supported",
  binary = "binary data, not a CSV or JSON file",
}

--- Opens a reader for a file of a known format: reader | nil, message.
function M.open_reader(file, format, opts)
  local open = readers[format]
  if not open then
    return nil, string.format("%s: %s", file.path, unsupported[format] or ("unsupported format " .. tostring(format)))
  end
  local r, err = open(file.path, opts or {}, file)
  if not r then return nil, err end
  return r
end

-- A remote object listed lazily (nv.remote lazy = true) is fetched here,
-- once, just before it is read: true | nil, message naming the object.
local function ensure(f)
  if f.fetch_now then
    local fetch_now = f.fetch_now
    f.fetch_now = nil
    local ok, err = fetch_now()
    if not ok then f.fetch_error = tostring(err) end
  end
  if f.fetch_error then return nil, f.fetch_error end
  return true
end

-- ... and its local copy removed once read (previews included).
local function release(f)
  if f.release then
    f.release()
    f.release = nil
  end
end

--- A bounded raw preview of a file: its first bytes, cut at a line end.
function M.preview_text(path, nbytes)
  local head = fs.head(path, nbytes or 1024)
  if not head then return nil end
  local cut = head:match("^(.*)\n[^\n]*$")
  return cut or head
end

--- data_reading's preview of one file of a known format: {preview = raw
-- text, opened = whether a reader opened it, and then rows = first rows,
-- columns = header?, error = msg?}. f = {path, name, ranges?, size};
-- popts = {rows, bytes}.
function M.preview_file(f, format, popts)
  popts = popts or {}
  local out = { preview = M.preview_text(f.path, popts.bytes or 1024), opened = false }
  local r = M.open_reader(f, format, {})
  if not r then return out end
  out.opened = true
  local rows = json.array()
  local iter = r.rows or r.records
  local ok, err = pcall(function()
    for row in iter(r, popts.rows or 10) do rows[#rows + 1] = row end
  end)
  if not ok then out.error = tostring(err) end
  if r.header then out.columns = r:header() end
  r:close()
  out.rows = rows
  return out
end

-- The first rows (header included) of a worksheet of an open workbook: rows, error?
local function sheet_rows(wb, sheet, nrows)
  local rows = json.array()
  local ok, err = pcall(function()
    for row in wb:rows(sheet, (nrows or 10) + 1) do rows[#rows + 1] = row end
  end)
  return rows, not ok and tostring(err) or nil
end

--- The first rows of one worksheet of the workbook at path: rows, error?
function M.preview_sheet(path, sheet, nrows)
  local wb = require("nv.xlsx").open(path)
  if not wb then return nil end
  local rows, err = sheet_rows(wb, sheet, nrows)
  wb:close()
  return rows, err
end

local Progress = {}
Progress.__index = Progress

local function new_progress(total_files, total_bytes)
  return setmetatable({ on = sys.isatty(2), files = 0, total = total_files, bytes = 0,
                        total_bytes = total_bytes, t0 = sys.monotonic() }, Progress)
end

function Progress:show(bytes)
  local dt = math.max(sys.monotonic() - self.t0, 1e-6)
  io.stderr:write(string.format("\r%d/%d files, %.1f/%.1f MB, %.1f MB/s ", self.files, self.total,
    bytes / 1e6, self.total_bytes / 1e6, bytes / 1e6 / dt))
end

function Progress:step(bytes)
  self.files, self.bytes = self.files + 1, self.bytes + (bytes or 0)
  if not self.on then return end
  self:show(self.bytes)
  if self.files == self.total then io.stderr:write("\n") end
end

-- within a large file: `within` bytes of it read so far
function Progress:within(within)
  if self.on then self:show(self.bytes + within) end
end

local function tostr(v)
  if v == nil then return nil end
  return tostring(v)
end

-- profile column -> the columns-table row
local function column_row(c, t, q)
  local nulls = (c.null_count or 0) + (c.empty_count or 0) + (c.missing_count or 0)
  local samples = json.array()
  for i, v in ipairs(c.samples or {}) do samples[i] = v end
  local nullable = nulls > 0
  if c.declared_nullable ~= nil then nullable = c.declared_nullable end
  local pk = c.candidate_primary_key and true or false
  if c.is_primary_key ~= nil then pk = c.is_primary_key end
  return {
    table_name = t.name, column_name = c.name, position = c.position,
    data_type = c.inferred_type, native_type = c.native_type,
    is_nullable = nullable, is_primary_key = pk, foreign_key = c.foreign_key,
    default_value = c.default_value, comment = c.comment,
    sample_values = samples, null_count = not c.not_profiled and nulls or nil, empty_count = c.empty_count,
    distinct_count = c.distinct_count, min_value = tostr(c.min), max_value = tostr(c.max),
    mean_value = c.mean, stddev_value = c.stddev, min_length = c.min_length, max_length = c.max_length,
    quality_score = q and q.overall, profile_json = c,
  }
end


local function file_entry(f, format, compression)
  return { path = f.url or f.path, local_path = f.url and f.path or nil, name = f.name, size = f.size,
           etag = f.etag, sampled = f.partial or nil,
           last_modified = os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(f.mtime)),
           format = format, compression = compression, partition = f.partition,
           fetch = f.fetch, ranges = f.ranges }
end

-- a Delta table's log facts on the table model
local function apply_delta(ctx, model, t)
  model.delta = t.delta
  model.file_type = "delta"
  if t.error then
    model.errors[#model.errors + 1] = t.error
    ctx.log:error("%s", t.error)
    return
  end
  for _, path in ipairs(t.missing) do
    local err = string.format("%s: listed in the Delta log (version %d) but not found", path, t.delta.version)
    model.errors[#model.errors + 1] = err
    ctx.log:error("%s", err)
  end
  if t.column_names then -- Delta column mapping: Parquet holds physical names
    for _, c in ipairs(model.columns) do
      local head, rest = c.name:match("^([^.]+)(.*)$")
      local logical = head and t.column_names[head]
      if logical then
        c.physical_name = c.name
        c.name = logical .. rest
      end
    end
  end
  if t.deleted_rows > 0 then
    model.rows = math.max(0, model.rows - t.deleted_rows)
    model.warnings[#model.warnings + 1] = string.format(
      "%s: %d rows are deleted by deletion vectors; the row count excludes them, the column profiles do not",
      t.name, t.deleted_rows)
  end
  local ignored = t.removed_ignored + t.untracked_ignored
  if ignored > 0 then
    ctx.log:info("Delta table %s: %d files not in the log at version %d ignored (%d removed, %d never added)",
      t.name, ignored, t.delta.version, t.removed_ignored, t.untracked_ignored)
  end
  for _, w in ipairs(t.delta.warnings or {}) do model.warnings[#model.warnings + 1] = t.name .. ": " .. w end
end

-- what fs.detect says a file's content is, in words
local looks_like = { csv = "CSV", json = "JSON", parquet = "Parquet (PAR1 magic bytes)", binary = "binary data",
                     xlsx = "an Excel workbook", xls = "a legacy .xls workbook", zip = "a zip archive",
                     empty = "empty" }

-- The reason a file read under a forced format failed: msg (after the
-- file's path when it names it), plus what its content looks like when
-- that is another format.
local function forced_reason(f, format, forced, msg)
  local sniffed = fs.detect(f.path)
  local like = sniffed and sniffed ~= format and (looks_like[sniffed] or sniffed)
  local prefix = ""
  if msg:sub(1, #f.path + 2) == f.path .. ": " then prefix, msg = f.path .. ": ", msg:sub(#f.path + 3) end
  return string.format("%s%s%s%s", prefix, forced and ("forced " .. format .. ": ") or "", msg,
    like and (" \u{2014} the content looks like " .. like) or "")
end

-- A non-empty file that gave 0 rows: the reason it counts as failed, or nil
-- (a CSV header alone, a JSON [] are tables without rows). Bad records with
-- no good one fail the file; so does a forced format that read nothing from
-- content that looks like another format.
local function zero_row_failure(f, format, forced, st)
  local bad = st.bad_records or 0
  if bad > 0 then
    local first = type(st.errors) == "table" and type(st.errors[1]) == "string" and st.errors[1]
    return forced_reason(f, format, forced, string.format("%d of %d records invalid%s", bad, bad,
      first and (" (first: " .. first .. ")") or ""))
  end
  if forced then
    local sniffed = fs.detect(f.path)
    if sniffed and sniffed ~= format and sniffed ~= "empty" then
      return forced_reason(f, format, forced, "no rows read")
    end
  end
  return nil
end

-- Record-level problems of a file that was read (rows kept with the wrong
-- field count, malformed records skipped): messages for tables[].errors.
local function record_problems(model, path, st)
  local n = st.ragged_rows or 0
  if n > 0 then
    local line = st.ragged_lines and st.ragged_lines[1]
    model.record_errors[#model.record_errors + 1] = string.format(
      "%s: %d rows have a different number of fields than the header%s", path, n,
      line and (" (first at line " .. line .. ")") or "")
  end
  local bad = st.bad_records or 0
  if bad > 0 then
    local first = type(st.errors) == "table" and type(st.errors[1]) == "string" and st.errors[1]
    local mask = require("nv.log").mask
    model.record_errors[#model.record_errors + 1] = mask(string.format(
      "%s: %d malformed records skipped%s", path, bad, first and (" (first: " .. first .. ")") or ""))
    for i, e in ipairs(type(st.errors) == "table" and st.errors or {}) do -- the others the reader listed
      if i > 1 and type(e) == "string" then model.record_errors[#model.record_errors + 1] = mask(path .. ": " .. e) end
    end
  end
end

-- Columns past max_columns were counted, not profiled: say so.
local function dropped_columns(model, res, opts)
  local n = res.columns_dropped
  if not n then return end
  model.columns_dropped = n
  model.warnings[#model.warnings + 1] = string.format(
    "%s: %d columns past the first %d were not profiled (max_columns; the first of them: %s)", model.name, n,
    #res.columns, tostring(res.first_dropped))
end

-- A column no value of which could be decoded (a Parquet codec or
-- encoding the reader lacks): the profiler saw its rows as absent, so
-- every count would be made up; only the name, position and native type
-- stay, with not_profiled = why (quality leaves its dimensions unmeasured).
-- In a table of several files, one file it could not be read from is enough.
local counted = { "present", "null_count", "empty_count", "missing_count", "non_null", "distinct_count",
  "distinct_exact", "distinct_error", "inferred_type", "type_confidence", "type_counts", "valid_count",
  "invalid_count", "invalid_samples", "top_values", "top_values_exact", "samples", "is_unique",
  "candidate_primary_key", "min", "max", "mean", "stddev", "p25", "p50", "p75", "quantiles_exact",
  "quantile_error", "min_length", "max_length", "avg_length" }
local function drop_counts(c, why)
  for _, k in ipairs(counted) do c[k] = nil end
  c.not_profiled = why
end

--- Profiles one table (all its files). Returns the table model.
function M.profile_table(ctx, t, opts, progress)
  local p <close> = profile.new({ max_columns = opts.max_columns })
  local model = { name = t.name, key = t.key, files = json.array(), errors = json.array(),
                  record_errors = json.array(), rows = 0, ragged_rows = 0, bad_records = 0, partition_columns = json.array(),
                  size_bytes = t.size_bytes, last_modified = t.last_modified, warnings = {} }
  for i, k in ipairs(t.partition_columns) do model.partition_columns[i] = k end
  local parts = (#t.partition_columns > 0) and profile.new() or nil
  local formats = {}
  local footer -- pqfooter accumulator of the files read from their footer only
  local not_profiled = {} -- column -> why a reader could not decode it
  for _, f in ipairs(t.files) do
    if opts.check_cancel then opts.check_cancel() end -- a SIGTERM stops between files
    local fetched, ferr = ensure(f)
    local format, comp
    if fetched then format, comp = filesource.format(f, opts.source_type) end
    local entry = file_entry(f, format, fetched and comp or nil)
    model.files[#model.files + 1] = entry
    local r, err, before
    if not fetched then
      err = ferr
    elseif format == "empty" then
      entry.status, entry.rows = "success", 0
      entry.warning = "empty file"
    elseif not format then
      err = comp
    else
      -- a local file's identity before and after it is read: a change
      -- in between is flagged (see "changed while being read" below)
      before = not f.url and filesource.identity(f.path) or nil
      r, err = M.open_reader(f, format, opts)
    end
    local forced = format and filesource.explicit_formats[opts.source_type or ""] == format
    if err and forced and fetched and format ~= "empty" then err = forced_reason(f, format, true, err) end
    local md = r and format == "parquet" and r:metadata()
    local read = false -- the file was read, from its footer or its data
    if md and (opts.parquet_footer_only or f.row_groups == 0) then
      -- the footer alone: row count, types, null counts, min/max
      formats[format] = true
      footer = footer or {}
      pqfooter.add(footer, md)
      entry.rows, entry.footer_only = md.num_rows, true
      entry.parquet = { created_by = md.created_by, row_groups = md.row_groups, num_rows = md.num_rows }
      model.rows = model.rows + md.num_rows
      r:close()
      r = nil
      read = true
    end
    if r then
      formats[format] = true
      local budget = { max_bytes = opts.max_bytes }
      if format == "json" then budget.max_records = opts.max_rows else budget.max_rows = opts.max_rows end
      if (format == "csv" or format == "json") and ((progress and progress.on) or opts.cancelled) then
        budget.progress = function(raw) -- a long file shows progress, and stops on a SIGTERM
          if progress then progress:within(raw) end
          if opts.cancelled and opts.cancelled() then return false end
        end
      end
      if md and f.row_groups then budget.row_groups = f.row_groups end
      local stats, perr, partial = r:profile_into(p, budget)
      local st = stats or partial or {}
      entry.rows = st.rows or st.records or 0
      if md and f.row_groups and stats then -- leading row groups of a remote object: the footer counts all rows
        entry.rows_profiled, entry.rows = entry.rows, md.num_rows
      end
      entry.bytes_read = st.bytes
      entry.truncated = st.truncated
      model.rows = model.rows + entry.rows
      model.ragged_rows = model.ragged_rows + (st.ragged_rows or 0)
      model.bad_records = model.bad_records + (st.bad_records or 0)
      entry.records_path = st.records_path -- JSON: the member array the records came from
      if st.ragged_lines and st.ragged_lines[1] and not model.ragged_lines then model.ragged_lines = st.ragged_lines end
      if st.encoding and st.encoding ~= "utf-8" then
        entry.encoding = st.encoding
        local w = string.format("%s: not valid UTF-8, read as %s", f.name, st.encoding)
        model.warnings[#model.warnings + 1] = w
        ctx.log:warning("%s", w)
      end
      if format == "csv" then entry.dialect = r:dialect() end
      if (st.skipped_lines or 0) > 0 then entry.skipped_lines = st.skipped_lines end -- preamble and comment lines
      if (st.quote_fallbacks or 0) > 0 then
        local w = string.format("%s: %d stray quote(s) (a quoted field never closed, or closed only after "
          .. "swallowing whole rows): read as a plain character", f.name, st.quote_fallbacks)
        model.warnings[#model.warnings + 1] = w
        ctx.log:warning("%s", w)
      end
      if format == "parquet" then
        entry.parquet = { created_by = md.created_by, row_groups = md.row_groups, num_rows = md.num_rows }
        if st.unsupported and next(st.unsupported) then
          local cols = {}
          for col in pairs(st.unsupported) do cols[#cols + 1] = col end
          table.sort(cols)
          for _, col in ipairs(cols) do
            local why = st.unsupported[col]
            model.warnings[#model.warnings + 1] = string.format("%s: column %s not profiled: %s", f.name, col, why)
            ctx.log:warning("%s", model.warnings[#model.warnings])
            not_profiled[col] = not_profiled[col] or string.format("%s (%s)", why, f.name)
          end
        end
      end
      for k, v in pairs(st.array_types or {}) do
        model.array_types = model.array_types or {}
        model.array_types[k] = v
      end
      r:close()
      if not stats then
        if f.partial and tostring(perr):match("truncated") then
          entry.truncated = true -- a sampled prefix of a compressed object ends mid-stream
        else
          err = forced and forced_reason(f, format, true, tostring(perr)) or perr
        end
      elseif entry.rows == 0 and (f.size or 0) > 0 then
        local why = zero_row_failure(f, format, forced, st)
        if why then err = string.format("%s: %s", f.path, why) end
      end
      if not err then record_problems(model, f.url or f.path, st) end
      read = true
    end
    local change = read and before and filesource.changed(before, filesource.identity(f.path))
    if change then
      -- the profile is of the bytes that were read; the table stays as its
      -- files' statuses make it, the file carries the warning
      entry.warning = "changed while being read: " .. change
      model.warnings[#model.warnings + 1] = string.format("%s: %s", f.name, entry.warning)
      ctx.log:warning("%s", model.warnings[#model.warnings])
    end
    if read and parts and f.partition then -- one partition row per file read
      parts:add_rows(1)
      for k, v in pairs(f.partition) do parts:add(k, v) end
    end
    if err and f.url then -- name the object, not its temp copy
      local i, j = err:find(f.path, 1, true)
      if i then err = err:sub(1, i - 1) .. f.url .. err:sub(j + 1) end
    end
    if err then
      entry.status, entry.error = "failed", err
      model.errors[#model.errors + 1] = err
      ctx.log:error("%s", err)
    elseif not entry.status then
      entry.status = "success"
    end
    if opts.previews and entry.status ~= "failed" and format ~= "empty" then
      -- taken now, while the file (or the remote object's copy) is at hand
      model.previews = model.previews or {}
      if entry.footer_only then -- only the footer is at hand: no rows to show
        model.previews[#model.files] = { opened = false, note = "Parquet footer only: no rows were read" }
      else
        model.previews[#model.files] = M.preview_file(f, format, opts.previews)
      end
    end
    release(f)
    if progress then progress:step(f.size) end
  end
  local res = p:result()
  dropped_columns(model, res, opts)
  model.columns = pqfooter.merge(res.columns, footer)
  local _, bad_name = json.valid_utf8(t.name)
  if bad_name then
    model.warnings[#model.warnings + 1] = string.format("%s: the file name is not valid UTF-8; shown with U+FFFD",
      (json.valid_utf8(t.name)))
    ctx.log:warning("%s", model.warnings[#model.warnings])
  end
  for _, c in ipairs(model.columns) do
    local at = model.array_types and model.array_types[c.name]
    if at then c.inferred_type = at end -- arrays are reported as array<element type>
    if not_profiled[c.name] then drop_counts(c, not_profiled[c.name]) end
    if c.invalid_utf8 then -- the profiler replaced the bytes (nv.profile's result)
      model.warnings[#model.warnings + 1] = string.format(
        "%s: column %s: values are not valid UTF-8; shown with U+FFFD", model.name, c.name)
      ctx.log:warning("%s", model.warnings[#model.warnings])
    end
  end
  if parts then
    local pres = parts:result()
    for _, pc in ipairs(pres.columns) do
      pc.partition = true
      pc.position = #model.columns
      model.columns[#model.columns + 1] = pc
    end
    parts:close()
  end
  local fmt_list = {}
  for k in pairs(formats) do fmt_list[#fmt_list + 1] = k end
  table.sort(fmt_list)
  model.file_type = #fmt_list == 1 and fmt_list[1] or (#fmt_list == 0 and (model.files[1] and model.files[1].format) or "mixed")
  if t.delta then
    model.data_format = #fmt_list == 1 and fmt_list[1] or t.delta.provider
    apply_delta(ctx, model, t)
  end
  -- failed: every file with content failed (an empty file succeeds trivially)
  local failed, empty = 0, 0
  for _, e in ipairs(model.files) do
    if e.status == "failed" then failed = failed + 1 elseif e.format == "empty" then empty = empty + 1 end
  end
  model.status = failed == 0 and "success" or (failed == #model.files - empty and "failed" or "partial")
  if t.error then
    model.status = "failed"
  elseif model.status == "success" and #model.errors > 0 then
    model.status = "partial" -- e.g. files the Delta log lists but the listing lacks
  end
  model.quality = quality.table(model, { freshness_days = opts.freshness_days })
  for _, w in ipairs(model.warnings) do table.insert(model.quality.findings, w) end
  return model
end


--- An Excel workbook: one table per worksheet ("book.xlsx#Sheet1").
function M.profile_workbook(ctx, g, opts, progress)
  local f = g.files[1]
  local xl = require "nv.xlsx"
  local function base_model(name, key)
    return { name = name, key = key, files = json.array({ file_entry(f, "xlsx", "none") }), errors = json.array(),
             rows = 0, ragged_rows = 0, bad_records = 0, partition_columns = json.array(), columns = json.array(),
             size_bytes = f.size, last_modified = f.mtime, warnings = {}, file_type = "xlsx" }
  end
  local fetched, ferr = ensure(f)
  local wb, err
  if fetched then
    wb, err = xl.open(f.path)
  else
    err = ferr
  end
  if not wb then
    release(f)
    local m = base_model(f.name, g.key)
    m.status, m.files[1].status, m.files[1].error = "failed", "failed", err
    m.errors[1] = err
    m.quality = quality.table(m, opts)
    ctx.log:error("%s", err)
    if progress then progress:step(f.size) end
    return { m }
  end
  local out = {}
  for _, sheet in ipairs(wb:sheets()) do
    local m = base_model(f.name .. "#" .. sheet.name, g.key .. "#" .. sheet.name)
    m.sheet, m.sheet_state = sheet.name, sheet.state
    local p <close> = profile.new({ max_columns = opts.max_columns })
    local stats, perr, partial = wb:profile_sheet_into(sheet.index, p, { max_rows = opts.max_rows })
    local st = stats or partial or {}
    m.rows = st.rows or 0
    m.merged_cells = st.merged_cells
    if (st.merged_cells or 0) > 0 then
      m.warnings[#m.warnings + 1] = string.format("%s: %d merged cell ranges (first %s)", m.name, st.merged_cells,
        tostring(st.merged_ranges and st.merged_ranges[1]))
    end
    local res = p:result()
    dropped_columns(m, res, opts)
    m.columns = res.columns
    m.files[1].rows = m.rows
    if stats then
      m.status, m.files[1].status = "success", "success"
    else
      m.status, m.files[1].status, m.files[1].error = "failed", "failed", perr
      m.errors[1] = perr
      ctx.log:error("%s", perr)
    end
    m.quality = quality.table(m, { freshness_days = opts.freshness_days })
    for _, w in ipairs(m.warnings) do table.insert(m.quality.findings, w) end
    if opts.previews and stats then
      local rows, perr2 = sheet_rows(wb, sheet.name, opts.previews.rows)
      m.previews = { { rows = rows, error = perr2, sheet = sheet.name } }
    end
    out[#out + 1] = m
  end
  wb:close()
  release(f)
  if progress then progress:step(f.size) end
  return out
end

--- Extracts one source. src = {source_id, data_source_path, source_type}.
-- The source model (also what nv.dbsource.source(ctx, src, opts, model)
-- fills in): {source_id, source_path, source_type, status = success |
-- partial | failed, errors = {…}, files_found, total_size_bytes,
-- extraction_timestamp, quality = nv.quality.summarize(tables), tables = {
--   {table_id, name, key, status, rows, size_bytes, last_modified, file_type,
--    data_format? and delta? (a Delta table: file_type "delta", nv.delta's
--    summary: version, live/ignored files, checkpoint, partition columns),
--    files = {…}, errors = {…}, partition_columns = {…}, ragged_rows,
--    bad_records, quality = nv.quality.table(t), catalog_name?, schema_name?,
--    table_type?, comment?, definition?, primary_key = {…}?, foreign_keys?,
--    columns = { nv.profile result columns, plus optional native_type,
--                declared_nullable, default_value, comment, is_primary_key,
--                foreign_key } } } }
-- opts.parquet_footer_only: Parquet files (local or remote) give their
-- footer's row count, types, null counts and min/max, and no page is read.
-- Returns the source model (status success | partial | failed, never raises
-- for bad data), masked (nv.redact): the connector read the real path or
-- URL, everything after this sees only "…sig=***".
local function source(ctx, src, opts)
  opts = opts or {}
  local path = src.data_source_path
  local model = { source_id = src.source_id, source_path = path, source_type = src.source_type or "auto",
                  tables = json.array(), errors = json.array(), files_found = 0, total_size_bytes = 0,
                  extraction_timestamp = sys.now() }
  local conn, cerr = require("nv.connectors").resolve(src)
  if not conn then
    model.status = "failed"
    model.errors[1] = cerr
    ctx.log:error("%s", cerr)
    return model
  end
  if conn.extract then return conn.extract(ctx, src, opts, model) end
  local listing, lerr = conn.tables(ctx, src, opts)
  if not listing then
    model.status = "failed"
    model.errors[1] = lerr
    ctx.log:error("%s", model.errors[1])
    return model
  end
  if listing.connection_info then model.connection_info = json.encode(listing.connection_info) end
  for _, e in ipairs(listing.errors or {}) do
    model.errors[#model.errors + 1] = e
    ctx.log:warning("%s", e)
  end
  model.files_found, model.total_size_bytes = listing.files_found, listing.total_size_bytes
  if listing.warnings and #listing.warnings > 0 then
    model.warnings = json.array(listing.warnings)
    for _, w in ipairs(listing.warnings) do ctx.log:warning("%s", w) end
  end
  ctx.log:info("Source %s: %d files, %d bytes", path, model.files_found, model.total_size_bytes)
  local groups = listing.groups
  local progress = new_progress(model.files_found, model.total_size_bytes)
  local popts = { source_type = src.source_type, max_rows = opts.max_rows, max_bytes = opts.max_bytes,
                  max_columns = tonumber(opts.max_columns),
                  freshness_days = opts.freshness_days, parquet_footer_only = opts.parquet_footer_only,
                  previews = opts.previews, check_cancel = ctx.check_cancel, cancelled = ctx.cancelled }
  local failed = 0
  local ntables = 0
  for _, g in ipairs(groups) do
    local tables
    if #g.files == 1 and ensure(g.files[1]) and filesource.format(g.files[1], src.source_type) == "xlsx" then
      tables = M.profile_workbook(ctx, g, popts, progress)
    else
      tables = { M.profile_table(ctx, g, popts, progress) }
    end
    for _, t in ipairs(tables) do
      ntables = ntables + 1
      t.table_id = "t_" .. filesource.hash((src.source_id or "") .. "\0" .. t.key)
      model.tables[#model.tables + 1] = t
      for _, e in ipairs(t.errors) do model.errors[#model.errors + 1] = e end
      if t.status == "failed" then failed = failed + 1 end
      ctx.log:info("Table %s: %d rows, %d columns, %s", t.name, t.rows, #t.columns, t.status)
    end
  end
  groups = { n = ntables }
  if groups.n == 0 then
    model.status = "success"
  elseif failed == groups.n then
    model.status = "failed"
  elseif failed > 0 or #model.errors > 0 then
    model.status = "partial"
  else
    model.status = "success"
  end
  model.quality = quality.summarize(model.tables)
  return model
end

function M.source(ctx, src, opts)
  return require("nv.redact").model(source(ctx, src, opts))
end

--- The store record for a source model (nv.store write_source).
function M.store_record(ctx, model)
  local ts = require("nv.store").timestamp
  local rec = {
    source = {
      run_id = ctx.run_id, workflow_id = ctx.workflow_id, source_id = model.source_id,
      tenant_id = ctx.tenant_id, source_name = model.source_path and model.source_path:match("([^/]+)/*$"),
      source_path = model.source_path, source_type = model.source_type,
      connection_info = model.connection_info or json.encode({ kind = "files", path = model.source_path }),
      extraction_timestamp = ts(model.extraction_timestamp), files_found = model.files_found,
      tables_found = #model.tables, total_size_bytes = model.total_size_bytes, status = model.status,
      error_message = #model.errors > 0 and table.concat(model.errors, "\n") or nil,
    },
    tables = {},
    schema_drift = model.schema_drift,
  }
  for _, t in ipairs(model.tables) do
    local q = t.quality
    local cols = {}
    local pk = json.array()
    for _, c in ipairs(t.columns) do
      cols[#cols + 1] = column_row(c, t, q.columns[c.name])
      if c.candidate_primary_key then pk[#pk + 1] = c.name end
    end
    if t.primary_key then pk = t.primary_key end
    rec.tables[#rec.tables + 1] = {
      table_id = t.table_id, table_name = t.name, table_type = t.table_type or "file",
      catalog_name = t.catalog_name, schema_name = t.schema_name, comment = t.comment,
      foreign_keys = t.foreign_keys,
      file_path = t.files[1] and t.files[1].path, file_type = t.file_type, row_count = t.rows,
      column_count = #t.columns, size_bytes = t.size_bytes,
      last_modified = t.last_modified and ts(t.last_modified),
      partition_columns = #t.partition_columns > 0 and t.partition_columns or nil,
      primary_key = #pk > 0 and pk or nil, quality_score = q.scores.overall, quality_json = q.scores,
      extracted_at = ts(model.extraction_timestamp), columns = cols,
    }
  end
  return rec
end

--- The sources a job runs over: spec 003's `sources` or the single one.
-- Returns list, skipped warnings.
function M.sources(ctx)
  local cfg = ctx.config
  local list, warnings = {}, {}
  if cfg.sources and #cfg.sources > 0 then
    for i, s in ipairs(cfg.sources) do
      if not s.data_source_path or s.data_source_path == "" then
        warnings[#warnings + 1] = string.format("sources[%d] (%s): no data_source_path, skipped", i, s.source_id)
      else
        list[#list + 1] = { source_id = s.source_id, data_source_path = s.data_source_path,
                            source_type = s.source_type or cfg.source_type }
      end
    end
  else
    local path = cfg.data_source_path
    list[1] = { source_id = cfg.source_id or ("src_" .. filesource.hash(path)), data_source_path = path,
                source_type = cfg.source_type }
  end
  return list, warnings
end

--- Extracts one source, checks its drift and writes it to the store when
-- write_to_db. Returns the source model.
function M.process(ctx, src, opts)
  local t0 = sys.monotonic()
  local m = M.source(ctx, src, opts)
  local rec = M.store_record(ctx, m)
  if ctx.store and m.status ~= "failed" then
    local ok, drift = pcall(require("nv.drift").detect, ctx.store, rec,
      { row_change = tonumber(ctx.config.drift_row_change) })
    if ok and drift then
      m.schema_drift = drift
      rec.schema_drift = drift
      ctx.schema_drift = ctx.schema_drift or {}
      ctx.schema_drift[m.source_id] = drift
      if drift.changed then
        ctx.log:warning("Schema drift in %s since run %s: %d/%d tables added/removed, %d/%d columns added/removed, %d type changes",
          m.source_id, drift.previous_run_id, #drift.tables_added, #drift.tables_removed, #drift.columns_added,
          #drift.columns_removed, #drift.type_changes)
      end
    elseif not ok then
      ctx.log:warning("schema drift check failed for %s: %s", m.source_id, tostring(drift))
    end
  end
  if ctx.config.write_to_db then
    -- a write that did not happen is one failed object of the source, and
    -- fails the job whatever fail_on says (nv.job: ctx.store_failure)
    local ok, err = false, ctx.store_error or "the metadata store is unavailable"
    if ctx.store then
      ok, err = ctx.store:write_source(rec)
      if not ok then err = "the store " .. ctx.store.name .. ": " .. tostring(err) end
    end
    m.written_to_db = ok and true or false
    if not ok then
      m.store_error = "cannot write metadata: " .. tostring(err)
      m.errors[#m.errors + 1] = m.store_error
      ctx.log:error("cannot write metadata for %s: %s", m.source_path, err)
    else
      ctx.log:info("Metadata written to %s for source %s", ctx.store.kind, m.source_id)
    end
  end
  m.elapsed = math.floor((sys.monotonic() - t0) * 1000 + 0.5) / 1000
  return m
end

--- Runs in a worker thread's own lua_State (nv.workers.map): one source
-- from a serialized job context; returns the serialized model, its drift
-- and the worker's log records.
function M.worker(text)
  local serial = require "nv.serial"
  local log = require "nv.log"
  local input = assert(serial.load(text))
  local cfg = input.config
  require("nv.config").register_secrets(cfg, log.add_secret)
  log.set_level(input.log_level or "INFO")
  if input.log_path then log.open_file(input.log_path) end
  local ctx = { config = cfg, run_id = input.run_id, job_id = input.run_id, workflow_id = input.workflow_id,
                tenant_id = input.tenant_id, job_type = input.job_type, log_path = input.log_path }
  ctx.log = require("nv.job").logger("nvlua.jobs." .. tostring(input.job_type) .. ".worker")
  local store, serr
  if cfg.store then store, serr = require("nv.store").open(cfg.store, cfg) end
  ctx.store = store
  if cfg.store and not store then
    ctx.store_error = string.format("the store %s is unavailable: %s", require("nv.store").describe(cfg.store),
      tostring(serr))
  end
  local ok, m = pcall(M.process, ctx, input.src, input.opts)
  for _, cleanup in ipairs(ctx.cleanups or {}) do pcall(cleanup) end -- this thread's temp files
  if store then store:close() end
  if not ok then
    ctx.log:error("source %s: %s", tostring(input.src.source_id), tostring(m))
    m = nil
  else
    ctx.log:info("Source %s done: %s in %.2fs", tostring(m.source_id), m.status, m.elapsed)
  end
  local records = log.records()
  log.close_file()
  return serial.dump({ model = m, error = not ok and tostring(m) or nil, records = records,
                       drift = ctx.schema_drift })
end

local function failed_model(src, err)
  return require("nv.redact").model { source_id = src.source_id, source_path = src.data_source_path, source_type = src.source_type,
           status = "failed", errors = json.array({ err }), tables = json.array(), files_found = 0,
           total_size_bytes = 0, extraction_timestamp = sys.now() }
end

--- Sources in parallel on nworkers threads, one lua_State each.
function M.run_parallel(ctx, list, opts, nworkers)
  local serial = require "nv.serial"
  local log = require "nv.log"
  local inputs = {}
  for i, src in ipairs(list) do
    inputs[i] = serial.dump({ config = ctx.config, run_id = ctx.run_id, workflow_id = ctx.workflow_id,
                              tenant_id = ctx.tenant_id, job_type = ctx.job_type, log_path = ctx.log_path,
                              log_level = log.level(), src = src, opts = opts })
  end
  ctx.log:info("Extracting %d sources on %d workers", #list, math.min(nworkers, #list))
  local results = require("nv.workers").map("nv.extract.worker", inputs, math.min(nworkers, #list))
  local models = {}
  for i, r in ipairs(results) do
    local out = r.ok and serial.load(r.value)
    local m = out and out.model
    if not m then
      local err = string.format("source %s: worker failed: %s", tostring(list[i].source_id),
        tostring(out and out.error or r.error))
      ctx.log:error("%s", err)
      m = failed_model(list[i], err)
    end
    if out and out.drift then
      ctx.schema_drift = ctx.schema_drift or {}
      for k, v in pairs(out.drift) do ctx.schema_drift[k] = v end
    end
    if out and ctx.store and out.records and #out.records > 0 then
      local seq, lerr = ctx.store:write_logs(ctx, out.records, ctx.log_seq or 0)
      if seq then
        ctx.log_seq = seq
      else
        ctx.log:warning("cannot store the log lines of source %s in %s: %s", tostring(list[i].source_id),
          ctx.store.name, tostring(lerr))
      end
    end
    models[i] = m
  end
  return models
end

-- the first store write that failed, for nv.job (it fails the job)
local function note_store_failure(ctx, models)
  for _, m in ipairs(models) do
    if m.store_error and not ctx.store_failure then ctx.store_failure = m.store_error end
  end
  return models
end

--- Extracts every source of the job (spec 003's `sources` in parallel on
-- `workers` threads, default one per core), each written to the store as
-- soon as it finishes when write_to_db. Returns the source models; a
-- failed write also sets ctx.store_failure (the reason).
function M.run(ctx, opts)
  local list, warnings = M.sources(ctx)
  for _, w in ipairs(warnings) do ctx.log:warning("%s", w) end
  local nworkers = tonumber(ctx.config.workers) or require("nv.workers").ncpu()
  if #list > 1 and nworkers > 1 then
    return note_store_failure(ctx, M.run_parallel(ctx, list, opts, nworkers)), warnings
  end
  local models = {}
  for i, src in ipairs(list) do
    local m = M.process(ctx, src, opts)
    if #list > 1 then
      ctx.log:info("Source %d/%d done: %s (%s) in %.2fs", i, #list, tostring(m.source_id), m.status, m.elapsed)
    end
    models[#models + 1] = m
  end
  return note_store_failure(ctx, models), warnings
end

return M
