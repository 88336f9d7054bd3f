-- nv.drift: schema drift of a source against its previous successful run
-- (same source_id) in `_executor_metadata`: tables and columns added or
-- removed, type and nullability changes, and row-count jumps.
local json = require "nv.json"

local M = {}

M.default_row_change = 0.5 -- a row count moving by more than 50% is a jump

--- The previous successful (or partial) run of source_id other than
-- run_id: run id | nil.
function M.previous_run(store, source_id, run_id)
  local rows = store:query("SELECT run_id, extraction_timestamp FROM " .. store:qualified("sources")
    .. " WHERE source_id = ? AND run_id <> ? AND status IN ('success', 'partial')"
    .. " ORDER BY extraction_timestamp DESC, run_id DESC", source_id, run_id)
  return rows and rows[1] and rows[1].run_id or nil
end

--- Tables of a stored run: name -> {row_count, columns = name -> {data_type, is_nullable}}.
function M.load(store, source_id, run_id)
  local tables = {}
  for _, t in ipairs(store:query("SELECT table_id, table_name, row_count FROM " .. store:qualified("tables")
      .. " WHERE source_id = ? AND run_id = ?", source_id, run_id) or {}) do
    tables[t.table_name] = { row_count = t.row_count, columns = {}, table_id = t.table_id }
  end
  for _, c in ipairs(store:query("SELECT table_name, column_name, data_type, is_nullable FROM "
      .. store:qualified("columns") .. " WHERE source_id = ? AND run_id = ?", source_id, run_id) or {}) do
    local t = tables[c.table_name]
    if t then
      local n = c.is_nullable
      if type(n) == "number" then n = n ~= 0 end
      t.columns[c.column_name] = { data_type = c.data_type, is_nullable = n }
    end
  end
  return tables
end

local function sorted_keys(t)
  local k = {}
  for name in pairs(t) do k[#k + 1] = name end
  table.sort(k)
  return k
end

--- Compares a previous run (M.load) with the current store record
-- (nv.model.store_record). Returns the drift document and whether
-- anything changed.
function M.compare(prev, rec, opts)
  local jump = (opts and opts.row_change) or M.default_row_change
  local d = {
    tables_added = json.array(), tables_removed = json.array(), columns_added = json.array(),
    columns_removed = json.array(), type_changes = json.array(), nullability_changes = json.array(),
    row_count_changes = json.array(),
  }
  local cur = {}
  for _, t in ipairs(rec.tables) do
    local cols = {}
    for _, c in ipairs(t.columns or {}) do
      cols[c.column_name] = { data_type = c.data_type, is_nullable = c.is_nullable }
    end
    cur[t.table_name] = { row_count = t.row_count, columns = cols }
  end
  for _, name in ipairs(sorted_keys(cur)) do
    local c, p = cur[name], prev[name]
    if not p then
      d.tables_added[#d.tables_added + 1] = name
    else
      for _, col in ipairs(sorted_keys(c.columns)) do
        local cc, pc = c.columns[col], p.columns[col]
        if not pc then
          d.columns_added[#d.columns_added + 1] = { table = name, column = col, data_type = cc.data_type }
        else
          if cc.data_type ~= pc.data_type then
            d.type_changes[#d.type_changes + 1] = { table = name, column = col, from = pc.data_type, to = cc.data_type }
          end
          if pc.is_nullable ~= nil and cc.is_nullable ~= nil and (cc.is_nullable and true) ~= (pc.is_nullable and true) then
            d.nullability_changes[#d.nullability_changes + 1] = { table = name, column = col,
              from = pc.is_nullable and "nullable" or "not null", to = cc.is_nullable and "nullable" or "not null" }
          end
        end
      end
      for _, col in ipairs(sorted_keys(p.columns)) do
        if not c.columns[col] then
          d.columns_removed[#d.columns_removed + 1] = { table = name, column = col, data_type = p.columns[col].data_type }
        end
      end
      local a, b = p.row_count, c.row_count
      if type(a) == "number" and type(b) == "number" and a ~= b then
        local change = a == 0 and math.huge or math.abs(b - a) / a
        if change > jump then
          d.row_count_changes[#d.row_count_changes + 1] = { table = name, from = a, to = b,
            change = change == math.huge and json.null or math.floor(change * 1000 + 0.5) / 1000 }
        end
      end
    end
  end
  for _, name in ipairs(sorted_keys(prev)) do
    if not cur[name] then d.tables_removed[#d.tables_removed + 1] = name end
  end
  local changed = false
  for _, list in pairs(d) do if #list > 0 then changed = true end end
  d.changed = changed
  return d, changed
end

--- Drift of rec against the source's previous run in store: drift | nil
-- (no previous run).
function M.detect(store, rec, opts)
  local src = rec.source
  local prev_id = M.previous_run(store, src.source_id, src.run_id)
  if not prev_id then return nil end
  local d = M.compare(M.load(store, src.source_id, prev_id), rec, opts)
  d.previous_run_id = prev_id
  return d
end

return M
