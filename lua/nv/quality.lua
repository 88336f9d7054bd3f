-- nv.quality: the six quality dimensions of spec 001, computed from
-- profiles (nv.profile results) and file facts. Definitions (also in the
-- README); every score is 0-100, nil when the data cannot tell:
--   completeness  share of cells holding a value (not null, empty or absent)
--   validity      share of non-empty values that parse as the column's
--                 inferred type (string columns: every value is valid)
--   uniqueness    for identifier-like columns (uuid type, names such as id,
--                 *_id, key, code, or a candidate key): distinct / non-empty
--   consistency   share of non-empty values in the column's dominant
--                 representation, times the table's structural consistency
--                 (rows with the header's field count, well-formed records)
--   timeliness    100 while the data is younger than the freshness window
--                 (default 30 days), then window / age
--   accuracy      estimated plausibility: share of non-empty values that are
--                 not placeholders (N/A, null, unknown, 9999-12-31, …) and,
--                 for numbers, no extreme outliers beyond 10 IQR
-- A dimension that cannot be measured is absent, with the reason in
-- `unmeasured`, never 100. overall = mean of the measured dimensions, absent
-- when no content dimension (all but timeliness) was measured; a failed
-- table is measured on nothing. quality_level bands: Excellent >= 90,
-- Good >= 75, Fair >= 60, Poor below; never above Good when records were
-- skipped, rows were ragged or a table was partial or failed.
local json = require "nv.json"

local M = {}

M.dimensions = { "completeness", "validity", "uniqueness", "consistency", "timeliness", "accuracy" }
M.default_freshness_days = 30

local placeholders = {}
for _, v in ipairs({ "n/a", "na", "null", "none", "nil", "-", "--", "?", "unknown", "undefined", "#n/a",
                     "nan", "tbd", "missing", "0000-00-00", "1900-01-01", "9999-12-31", "xxx" }) do
  placeholders[v] = true
end

local function pct(x)
  if x == nil then return nil end
  if x < 0 then x = 0 elseif x > 1 then x = 1 end
  return math.floor(x * 10000 + 0.5) / 100
end

local function ratio(a, b)
  if not b or b <= 0 then return nil end
  return a / b
end

local function mean(list)
  local s, n = 0, 0
  for _, v in pairs(list) do s, n = s + v, n + 1 end
  if n == 0 then return nil end
  return s / n
end

local function non_null(c)
  return c.non_null or ((c.present or 0) - (c.null_count or 0) - (c.empty_count or 0))
end

local function identifier_like(c)
  local name = (c.name or ""):lower()
  return c.inferred_type == "uuid" or name == "id" or name:match("_id$") or name:match("^id_")
      or name == "key" or name:match("_key$") or name == "code" or name:match("_code$")
      or name == "uuid" or name == "guid"
end

local function fmt_pct(x)
  return string.format("%.1f%%", x * 100)
end

--- Scores one profiled column. Returns scores (0-100 or nil) and findings
-- (recommendation texts).
function M.column(c, findings)
  findings = findings or {}
  local rows = c.rows or 0
  local nn = non_null(c)
  local s = {}
  s.completeness = ratio(nn, rows)
  if s.completeness and s.completeness < 0.95 then
    findings[#findings + 1] = string.format("column %s: %s of values are missing (null, empty or absent)",
      c.name, fmt_pct(1 - s.completeness))
  end
  if nn > 0 then
    if c.inferred_type == "string" or c.inferred_type == nil then
      s.validity = 1
    else
      s.validity = ratio(c.valid_count or nn, nn)
      if (c.invalid_count or 0) > 0 then
        local ex = c.invalid_samples and c.invalid_samples[1]
        findings[#findings + 1] = string.format("column %s: %s of values are not valid %s values%s",
          c.name, fmt_pct((c.invalid_count or 0) / nn), c.inferred_type,
          ex and (" (e.g. '" .. tostring(ex) .. "')") or "")
      end
    end
    if identifier_like(c) or c.candidate_primary_key then
      s.uniqueness = math.min(1, ratio(c.distinct_count or nn, nn))
      local dups = nn - (c.distinct_count or nn)
      if dups > 0 and s.uniqueness < 1 then
        findings[#findings + 1] = string.format("column %s: looks like an identifier but has %s%d duplicate values",
          c.name, c.distinct_exact == false and "about " or "", dups)
      end
    end
    local dominant = 0
    for _, n in pairs(c.type_counts or {}) do
      if n > dominant then dominant = n end
    end
    s.consistency = dominant > 0 and ratio(dominant, nn) or 1
    local placeholder_count = 0
    for _, tv in ipairs(c.top_values or {}) do
      local v = type(tv.value) == "string" and tv.value:lower():match("^%s*(.-)%s*$") or nil
      if v and placeholders[v] then
        placeholder_count = placeholder_count + tv.count
        findings[#findings + 1] = string.format("column %s: placeholder value '%s' in %d rows", c.name, tv.value, tv.count)
      end
    end
    local acc = 1 - placeholder_count / nn
    if type(c.p25) == "number" and type(c.p75) == "number" and type(c.max) == "number" and type(c.min) == "number" then
      local iqr = c.p75 - c.p25
      if iqr > 0 and (c.max > c.p75 + 10 * iqr or c.min < c.p25 - 10 * iqr) then
        acc = acc * 0.95
        findings[#findings + 1] = string.format("column %s: extreme outliers (range %s to %s, middle half %s to %s)",
          c.name, tostring(c.min), tostring(c.max), tostring(c.p25), tostring(c.p75))
      end
    end
    s.accuracy = acc
  end
  return s, findings
end

-- why a table dimension has no score
local function unmeasured_reason(dim, t, rows)
  if dim == "timeliness" then return "no modification time" end
  if rows == 0 then return "no rows" end
  if dim == "uniqueness" then return "no identifier-like column" end
  return "no non-empty values"
end

-- The dimensions that describe the data itself: overall needs one of them
-- (timeliness alone is the age of a file, not the quality of its content).
local content_dims = { completeness = true, validity = true, uniqueness = true, consistency = true, accuracy = true }

--- The overall score of measured dimension scores s (dim -> 0..1 or nil):
-- their mean, or nil, reason when no content dimension was measured.
function M.overall(s)
  for dim in pairs(content_dims) do
    if s[dim] ~= nil then return mean(s) end
  end
  return nil, next(s) and "only timeliness could be measured" or "no dimension could be measured"
end

--- Scores a table. t = {columns = profile columns, last_modified = epoch,
-- rows =, ragged_rows =, bad_records =, status =, errors =}. opts.now,
-- opts.freshness_days. Returns {scores (0-100; a dimension that could not
-- be measured is absent and scores.unmeasured = {dim = reason}),
-- columns = {name -> scores}, findings = {...}, level = quality_level}.
-- A failed table is measured on nothing: every dimension is unmeasured.
-- Malformed records skipped count against validity (they are records
-- that are not valid in the file's format), ragged rows against
-- consistency; either, or a partial table, caps the level at Good.
function M.table(t, opts)
  opts = opts or {}
  local findings = {}
  if t.status == "failed" then
    local why = "the table could not be read (see its errors)"
    local un = { overall = why }
    for _, dim in ipairs(M.dimensions) do un[dim] = why end
    findings[1] = string.format("%s: quality not measured: the table could not be read%s", t.name or "table",
      t.errors and t.errors[1] and (" (" .. t.errors[1] .. ")") or "")
    return { scores = { unmeasured = un }, columns = {}, findings = findings, level = M.level(nil) }
  end
  local per = { completeness = {}, validity = {}, uniqueness = {}, consistency = {}, accuracy = {} }
  local columns, nprofiled, unprofiled = {}, 0, 0
  for _, c in ipairs(t.columns or {}) do
    if c.not_profiled then unprofiled = unprofiled + 1 else nprofiled = nprofiled + 1 end
    if c.not_profiled then -- no value was read: nothing to score (nv.extract)
      local why = "column not profiled: " .. c.not_profiled
      local un = { overall = why }
      for dim in pairs(per) do un[dim] = why end
      columns[c.name] = { unmeasured = un }
    else
      local s = M.column(c, findings)
      local out = {}
      for dim, v in pairs(s) do
        out[dim] = pct(v)
        table.insert(per[dim], v)
      end
      out.overall = pct(mean(s))
      columns[c.name] = out
    end
  end
  local s = {}
  s.completeness = mean(per.completeness)
  s.validity = mean(per.validity)
  s.accuracy = mean(per.accuracy)
  if #per.uniqueness > 0 then
    s.uniqueness = math.min(table.unpack(per.uniqueness))
  end
  local structural = 1
  local rows = t.rows or 0
  if rows > 0 and (t.ragged_rows or 0) > 0 then
    structural = 1 - t.ragged_rows / rows
    findings[#findings + 1] = string.format("%s: %d rows have a different number of fields than the header%s",
      t.name or "table", t.ragged_rows, t.ragged_lines and t.ragged_lines[1] and (" (first at line " .. t.ragged_lines[1] .. ")") or "")
  end
  local bad = t.bad_records or 0
  if bad > 0 then
    s.validity = (s.validity or 1) * (rows / (rows + bad))
    findings[#findings + 1] = string.format("%s: %d malformed records skipped (%s of the records)", t.name or "table",
      bad, fmt_pct(bad / (rows + bad)))
  end
  local cons = mean(per.consistency)
  local none_read = nprofiled == 0 and unprofiled > 0 -- no column could be decoded
  if cons then
    s.consistency = cons * structural
  elseif rows > 0 and not none_read then
    s.consistency = structural
  end
  if t.last_modified then
    local now = opts.now or os.time()
    local window = (opts.freshness_days or M.default_freshness_days) * 86400
    local age = math.max(0, now - t.last_modified)
    s.timeliness = age <= window and 1 or window / age
    if age > window then
      findings[#findings + 1] = string.format("%s: last modified %d days ago (freshness window %d days)",
        t.name or "table", math.floor(age / 86400), math.floor(window / 86400))
    end
  end
  local scores, un = {}, {}
  for _, dim in ipairs(M.dimensions) do
    scores[dim] = pct(s[dim])
    if s[dim] == nil then
      un[dim] = (none_read and dim ~= "timeliness") and "no column could be read" or unmeasured_reason(dim, t, rows)
    end
  end
  local overall, why = M.overall(s)
  scores.overall = pct(overall)
  if overall == nil then un.overall = why .. (rows == 0 and " (no rows)" or "") end
  if next(un) then scores.unmeasured = un end
  local lost = bad > 0 or (t.ragged_rows or 0) > 0 or (t.status ~= nil and t.status ~= "success") or unprofiled > 0
  return { scores = scores, columns = columns, findings = findings, level = M.level(scores.overall, lost),
           capped = lost or nil }
end

--- The quality level of a score; capped (records lost, ragged rows, a
-- partial or failed table): never above Good.
function M.level(score, capped)
  if score == nil then return "Unknown" end
  if score >= 90 then return capped and "Good" or "Excellent" end
  if score >= 75 then return "Good" end
  if score >= 60 then return "Fair" end
  return "Poor"
end

--- Combines table results into the source's quality (spec 001 shape):
-- {overall_score, quality_level, quality_metrics = {dim = score}, recommendations}.
-- Tables are weighted by their row counts (at least 1 each).
function M.summarize(tables)
  local sums, weights = {}, {}
  local recs = json.array()
  local capped = false
  for _, t in ipairs(tables) do
    if not t.quality or t.quality.capped or t.quality.scores.overall == nil
        or (t.status ~= nil and t.status ~= "success") then
      capped = true
    end
    local w = math.max(1, t.rows or 0)
    for _, dim in ipairs(M.dimensions) do
      local v = t.quality and t.quality.scores[dim]
      if v then
        sums[dim] = (sums[dim] or 0) + v * w
        weights[dim] = (weights[dim] or 0) + w
      end
    end
    for _, f in ipairs(t.quality and t.quality.findings or {}) do
      recs[#recs + 1] = (t.name and not f:find(t.name, 1, true)) and (t.name .. ": " .. f) or f
    end
  end
  local metrics, all, un = {}, {}, {}
  for _, dim in ipairs(M.dimensions) do
    if weights[dim] then
      metrics[dim] = math.floor(sums[dim] / weights[dim] * 100 + 0.5) / 100
      all[dim] = metrics[dim]
    else -- the tables' own reason when they agree
      local reason
      for _, t in ipairs(tables) do
        local r = t.quality and t.quality.scores.unmeasured and t.quality.scores.unmeasured[dim]
        if reason == nil then reason = r elseif r ~= reason then reason = false end
      end
      un[dim] = (#tables == 0 and "no tables") or reason or "not measured in any table"
    end
  end
  local overall, why = M.overall(all)
  overall = overall and math.floor(overall * 100 + 0.5) / 100
  if overall == nil then un.overall = why end
  if #recs == 0 and overall then
    recs[1] = "No issues found in " .. #tables .. " table(s): data quality is " .. M.level(overall):lower()
        .. " - maintain current standards"
  end
  return { overall_score = overall, quality_level = M.level(overall, capped), quality_metrics = metrics,
           recommendations = recs, unmeasured = next(un) and un or nil }
end

return M
