-- nv.params: the documented job parameters the jobs share (what `nvlua run
-- JOB --help` prints). A job picks the ones it takes: params = pick{...}.
local M = {}

M.docs = {
  data_source_path = { required = true, unless = "sources",
                       hint = "give it as the first argument after the job type",
                       help = "what to read: a file or directory (also /dbfs/..., /Volumes/...), s3://bucket/prefix, "
                         .. "abfss://..., a database URL (postgresql://, mysql://, odbc:...) or uc://catalog" },
  source_type = { help = "auto (default: tell from the path, and each file's format from its content), a file "
                    .. "format forced on every file, or a connector's kind or alias (nvlua connectors)",
                  -- the accepted values, from the one registry (`run JOB --help` lists them)
                  values = function() return require("nv.connectors").type_names() end },
  tenant_id = { help = "tenant recorded on every row and result (default: default)" },
  sources = { help = "array of sources ({source_id, data_source_path, source_type, ...}); needs workflow_id" },
  include = { help = "glob list: only matching files" },
  exclude = { help = "glob list: files to skip" },
  max_rows = { help = "profile only the first N rows of each file" },
  max_bytes = { help = "profile only the first N bytes of each file" },
  max_columns = { help = "profile at most N columns per table (default 10000; the rest are counted)" },
  preview_rows = { help = "sample rows per file (default 10)" },
  preview_bytes = { help = "raw preview bytes per file (default 1024)" },
  freshness_days = { help = "age in days after which timeliness drops (see the README)" },
  write_to_db = { help = "write the sources/tables/columns rows to the store (--write-to-db)" },
  threads = { help = "threads reading one file (--threads; default: the cores this process may use)" },
  incremental = { help = "reuse the kept profiles of unchanged files (default: on with write_to_db; README: Incremental runs)" },
  full = { help = "read every file again, reusing no kept profile (--full)" },
  api_endpoint = { help = "platform base URL (NUVYN_API_ENDPOINT); the payload goes to <endpoint>/api/metadata" },
  api_key = { help = "bearer token (NUVYN_API_KEY); masked everywhere" },
}

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

--- A job's params: copies of the named shared docs, plus extra (name -> doc).
function M.pick(names, extra)
  local out = {}
  for _, name in ipairs(names) do
    out[name] = copy(assert(M.docs[name], "nv.params: no shared parameter " .. tostring(name)))
  end
  for name, doc in pairs(extra or {}) do out[name] = doc end
  return out
end

return M
