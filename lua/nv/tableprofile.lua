-- nv.tableprofile: one table of a file source (all its files, or one
-- worksheet per table of a workbook) profiled into the table model —
-- columns, row counts, profile statistics, quality — in bounded memory
-- (readers stream into the C profiler). A bad file gets an error naming
-- the file and the cause; the table's other files go on.
local filesource = require "nv.filesource"
local filereader = require "nv.filereader"
local preview = require "nv.preview"
local profile = require "nv.profile"
local quality = require "nv.quality"
local json = require "nv.json"
local fs = require "nv.fs"
local pqfooter = require "nv.pqfooter"

local M = {}

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

-- The one budget every reader takes (host/readers/reader.h): max_rows,
-- max_bytes, threads (Parquet: a row group's column chunks; CSV: a batch's
-- columns; JSON and xlsx read on one) and progress — the progress line moves within a long file, and
-- a SIGTERM stops the read (false: the reader raises; see profile_into).
-- Readers call progress per chunk of bytes (CSV, JSON), per row group
-- (Parquet) or per 64 KiB chunk of worksheet XML (xlsx). row_groups: the leading row groups a
-- ranged fetch holds (f.row_groups, set by the transport from the reader's
-- ranged()).
local function budget(opts, progress, f)
  local b = { max_rows = opts.max_rows, max_bytes = opts.max_bytes, row_groups = f.row_groups,
              threads = opts.threads }
  if (progress and progress.on) or opts.cancelled then
    b.progress = function(raw)
      if progress then progress:within(raw) end
      if opts.cancelled and opts.cancelled() then return false end
    end
  end
  return b
end

-- r:profile_into(p, tname, b); a read the budget's progress stopped
-- because the job was cancelled ends as every cancel does (check_cancel:
-- "cancelled: received SIGTERM"), not with the reader's "<path>: cancelled"
local function profile_into(r, p, tname, b, opts)
  local ok, stats, perr, partial = pcall(r.profile_into, r, p, tname, b)
  if ok then return stats, perr, partial end
  if opts.check_cancel and opts.cancelled and opts.cancelled() then opts.check_cancel() end
  error(stats, 0)
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

-- What a reader's statistics (st) and facts say about a file read, onto
-- its entry and the table model; the same for a read kept by an earlier
-- run (nv.incremental) as for one made now.
local function apply_stats(ctx, model, entry, f, st, facts, not_profiled)
  entry.rows = st.rows or st.records or 0
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
  for k, v in pairs(facts) do entry[k] = v end
  if (st.skipped_lines or 0) > 0 then entry.skipped_lines = st.skipped_lines end -- preamble and comment lines
  if (st.quote_fallbacks or 0) > 0 then
    local w = string.format("%s: %d stray quote(s) (a quoted field never closed, or closed only after "
      .. "swallowing whole rows): read as a plain character", f.name, st.quote_fallbacks)
    model.warnings[#model.warnings + 1] = w
    ctx.log:warning("%s", w)
  end
  if type(st.unsupported) == "table" and next(st.unsupported) then -- columns the reader cannot decode
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
  for k, v in pairs(st.array_types or {}) do
    model.array_types = model.array_types or {}
    model.array_types[k] = v
  end
end

-- A file kept by an earlier run, unchanged since (nv.incremental): its
-- profile merged into p and its read applied as if made now. false when
-- the kept profile does not load (the file is read then).
local function reuse_file(ctx, model, f, saved, p, not_profiled)
  local q, lerr = profile.load(saved.profile)
  if not q then
    ctx.log:warning("incremental: %s: %s; read again", f.url or f.path, tostring(lerr))
    return false
  end
  p:merge(q)
  q:close()
  local entry = file_entry(f, saved.format, saved.compression)
  model.files[#model.files + 1] = entry
  apply_stats(ctx, model, entry, f, saved.stats or {}, saved.facts or {}, not_profiled)
  entry.bytes_read = entry.bytes_read and 0 -- nothing was read this run
  entry.reused_from_run = saved.run_id
  entry.status = "success"
  record_problems(model, f.url or f.path, saved.stats or {})
  return true
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
  local inc = opts.incremental -- nv.incremental's handle for the source, or nil
  local function partition_row(f) -- one partition row per file read
    if parts and f.partition then
      parts:add_rows(1)
      for _, k in ipairs(t.partition_columns) do -- in the listing's order: pairs() would shuffle the columns
        if f.partition[k] ~= nil then parts:add(k, f.partition[k]) end
      end
    end
  end
  for _, f in ipairs(t.files) do
    if opts.check_cancel then opts.check_cancel() end -- a SIGTERM stops between files
    local saved = inc and inc:lookup(f) -- unchanged since an earlier run read it whole
    if saved and reuse_file(ctx, model, f, saved, p, not_profiled) then
      inc:reused(f)
      formats[saved.format] = true
      partition_row(f)
      release(f) -- a lazily listed remote object was never fetched
      if progress then progress:step(f.size) end
      goto next_file
    end
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
      err = filereader.not_in_table(f, format) -- a workbook's sheets are tables of their own
      if not err then r, err = filereader.open(f, format, opts) end
    end
    local forced = format and filesource.explicit_formats[opts.source_type or ""] == format
    if err and forced and fetched and format ~= "empty" then err = forced_reason(f, format, true, err) end
    -- a reader with a footer summary (metadata(): Parquet) can be read from it alone
    local md = r and (opts.parquet_footer_only or f.row_groups == 0) and r.metadata and r:metadata()
    local read = false -- the file was read, from its footer or its data
    local kept -- what nv.incremental keeps of a whole read
    if md then
      -- the footer alone: row count, types, null counts, min/max
      formats[format] = true
      footer = footer or {}
      pqfooter.add(footer, md)
      entry.rows, entry.footer_only = md.num_rows, true
      for k, v in pairs(filereader.facts(r)) do entry[k] = v end
      model.rows = model.rows + md.num_rows
      r:close()
      r = nil
      read = true
    end
    if r then
      formats[format] = true
      local into = inc and profile.new({ max_columns = opts.max_columns }) or p -- kept per file
      local stats, perr, partial = profile_into(r, into, nil, budget(opts, progress, f), opts)
      local st = stats or partial or {}
      local facts = filereader.facts(r) -- CSV dialect, Parquet footer facts, ...
      apply_stats(ctx, model, entry, f, st, facts, not_profiled)
      if f.row_groups and stats then -- leading row groups of a remote object: the footer counts all rows
        model.rows = model.rows - entry.rows
        entry.rows_profiled, entry.rows = entry.rows, r:info().rows
        model.rows = model.rows + entry.rows
      end
      if into ~= p then
        p:merge(into)
        kept = { format = format, compression = comp, stats = st, facts = facts, into = into }
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
    if read then partition_row(f) end
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
    if kept then
      if entry.status == "success" and not change and not f.partial and not f.row_groups then
        local ok, kerr = pcall(inc.keep, inc, f, { format = kept.format, compression = kept.compression,
                                                   stats = kept.stats, facts = kept.facts }, kept.into:dump())
        if not ok then ctx.log:warning("incremental: %s not kept: %s", f.url or f.path, tostring(kerr)) end
      else
        inc:read_only()
      end
      kept.into:close()
    end
    if opts.previews and entry.status ~= "failed" and format ~= "empty" then
      -- taken now, while the file (or the remote object's copy) is at hand
      model.previews = model.previews or {}
      if entry.footer_only then -- only the footer is at hand: no rows to show
        model.previews[#model.files] = { opened = false, note = "Parquet footer only: no rows were read" }
      else
        model.previews[#model.files] = preview.file(f, format, opts.previews)
      end
    end
    release(f)
    if progress then progress:step(f.size) end
    ::next_file::
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


--- A file holding several tables (a workbook: one per worksheet,
-- "book.xlsx#Sheet1"): its reader's tables(), each profiled with the same
-- budget as any file, into a table model of its own.
function M.profile_workbook(ctx, g, opts, progress)
  local f = g.files[1]
  local fetched, ferr = ensure(f)
  local format, comp
  if fetched then format, comp = filesource.format(f, opts.source_type) end
  local function base_model(name, key)
    return { name = name, key = key, files = json.array({ file_entry(f, format, comp) }), errors = json.array(),
             rows = 0, ragged_rows = 0, bad_records = 0, partition_columns = json.array(), columns = json.array(),
             size_bytes = f.size, last_modified = f.mtime, warnings = {}, file_type = format }
  end
  local r, err
  if fetched and format then
    r, err = filereader.open(f, format, opts)
  else
    err = ferr or comp
  end
  if not r then
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
  for _, tb in ipairs(r:tables()) do
    if opts.check_cancel then opts.check_cancel() end -- a SIGTERM stops between sheets
    local m = base_model(f.name .. "#" .. tb.name, g.key .. "#" .. tb.name)
    m.sheet, m.sheet_state = tb.name, tb.state
    local p <close> = profile.new({ max_columns = opts.max_columns })
    local stats, perr, partial = profile_into(r, p, tb.name, budget(opts, progress, f), opts)
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
    m.files[1].truncated = st.truncated or nil -- max_rows / max_bytes stopped the sheet
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
      local rows, perr2 = preview.sheet_rows(r, tb.name, opts.previews.rows)
      m.previews = { { rows = rows, error = perr2, sheet = tb.name } }
    end
    out[#out + 1] = m
  end
  r:close()
  release(f)
  if progress then progress:step(f.size) end
  return out
end

--- One table group of a connector's listing profiled: a list of table
-- models (a file holding several tables — a workbook — gives one per
-- table, any other group one).
function M.group(ctx, g, opts, progress)
  if #g.files == 1 and ensure(g.files[1])
    and filereader.several_tables(filesource.format(g.files[1], opts.source_type)) then
    return M.profile_workbook(ctx, g, opts, progress)
  end
  return { M.profile_table(ctx, g, opts, progress) }
end

return M
