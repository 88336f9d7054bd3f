-- nv.usage: the command line's help texts, printed from the tables they
-- describe so they cannot drift: the jobs found in every root (their
-- `description`, `params`, `outputs`, `example`) and the job options
-- (nv.config.flags). The interpreter's own options stay in host/main.c,
-- which prints them before calling M.print_main.
local config = require "nv.config"
local job = require "nv.job"

local M = {}

-- result keys the runner adds to every job's result (nv.job.run_job)
M.common_outputs = "job_id, run_id, job_type, workflow_id, tenant_id, success, "
  .. "status (completed/failed), execution_time (s), error (on failure), "
  .. "run_record (\"not written: …\" when the run's executor_runs row could not be written)"

local WIDTH = 100

-- "  name   text" with text wrapped at WIDTH under its own column
local function row(out, name, text, col)
  local pad = math.max(col - #name, 2)
  local indent = 2 + #name + pad
  local line = "  " .. name .. string.rep(" ", pad)
  local used = indent
  for word in tostring(text):gmatch("%S+") do
    if used > indent and used + 1 + #word > WIDTH then
      out[#out + 1] = line
      line, used = string.rep(" ", indent) .. word, indent + #word
    else
      line = line .. (used > indent and " " or "") .. word
      used = used + (used > indent and 1 or 0) + #word
    end
  end
  out[#out + 1] = line
end

local function width(names)
  local w = 0
  for _, n in ipairs(names) do w = math.max(w, #n) end
  return w + 2
end

--- The job tables found, sorted by name: {name, job} or {name, error}.
function M.jobs()
  local list = {}
  for _, name in ipairs(job.known_jobs()) do
    local t, err = job.load(job.find(name))
    list[#list + 1] = { name = name, job = t, error = err }
  end
  return list
end

--- One line for a job in listings: its description or why there is none.
function M.summary(entry)
  if entry.job == nil then return "(cannot load: " .. tostring(entry.error):match("^[^\n]*") .. ")" end
  return entry.job.description or "(no description)"
end

--- Lines of the job options, from nv.config.flags, then extra {label, text} rows.
function M.option_lines(out, extra)
  local labels, texts = {}, {}
  for _, name in ipairs(config.flag_names()) do
    local spec = config.flags[name]
    labels[#labels + 1] = spec.arg and (name .. " " .. spec.arg) or name
    texts[#texts + 1] = spec.help or "(undocumented)"
  end
  for _, e in ipairs(extra or {}) do
    labels[#labels + 1], texts[#texts + 1] = e[1], e[2]
  end
  local col = width(labels)
  for i, label in ipairs(labels) do row(out, label, texts[i], col) end
  return out
end

--- `nvlua run --list`: one line per job, its name first.
function M.list_text()
  local out, entries, names = {}, M.jobs(), {}
  for i, e in ipairs(entries) do names[i] = e.name end
  local col = width(names)
  for _, e in ipairs(entries) do
    local s = M.summary(e)
    -- one line each, never wrapped: scripts cut the first field
    out[#out + 1] = (e.job and not e.job.description) and e.name
      or (e.name .. string.rep(" ", col - #e.name) .. s)
  end
  return table.concat(out, "\n") .. (#out > 0 and "\n" or "")
end

--- The part of `nvlua --help` after the interpreter options.
function M.main_text()
  local out = { "Jobs (nvlua run JOB --help prints a job's parameters, outputs and an example):" }
  local entries, names = M.jobs(), {}
  for i, e in ipairs(entries) do names[i] = e.name end
  local col = width(names)
  for _, e in ipairs(entries) do row(out, e.name, M.summary(e), col) end
  out[#out + 1] = "Job options (after the job type; --opt=VALUE works too):"
  M.option_lines(out, {
    { "--help, -h", "print the job's parameters, outputs and an example; nothing runs" },
    { "--list", "(instead of a job type) list the job types with their descriptions" },
  })
  out[#out + 1] = "Positional job arguments: data_source_path source_type tenant_id (\"\" = not given)."
  out[#out + 1] = "Source types (nvlua connectors lists each connector's aliases and schemes):"
  row(out, "", table.concat(require("nv.connectors").type_names(), ", "), 0)
  out[#out + 1] = "Exit status: 0 success, 1 job failure, 2 usage error."
  return table.concat(out, "\n") .. "\n"
end

-- params in the order of the command line, then the other keys sorted
local function param_names(params)
  local names, seen = {}, {}
  for _, p in ipairs(config.positional) do
    if params[p] then names[#names + 1] = p; seen[p] = true end
  end
  local rest = {}
  for k in pairs(params) do if not seen[k] then rest[#rest + 1] = k end end
  table.sort(rest)
  return names, rest
end

local function param_text(spec)
  local s = spec.help or "(undocumented)"
  if type(spec.values) == "function" then s = s .. "; one of: " .. table.concat(spec.values(), ", ") end
  if spec.required then
    s = s .. " (required" .. (spec.unless and (" unless '" .. spec.unless .. "' is given") or "") .. ")"
  end
  return s
end

--- `nvlua --help` after host/main.c's part; returns the exit code.
function M.print_main()
  io.stdout:write(M.main_text())
  io.stdout:flush()
  return 0
end

--- `nvlua run JOB --help`.
function M.job_text(name, t)
  local params = t.params or {}
  local pos, settings = param_names(params)
  local out = { name .. ": " .. (t.description or "(no description)"), "" }
  local synopsis = { "usage: nvlua run", name }
  for _, p in ipairs(pos) do
    synopsis[#synopsis + 1] = params[p].required and p or ("[" .. p .. "]")
  end
  synopsis[#synopsis + 1] = "[options]"
  out[#out + 1] = table.concat(synopsis, " ")
  local all = {}
  for _, p in ipairs(pos) do all[#all + 1] = p end
  for _, p in ipairs(settings) do all[#all + 1] = p end
  local col = width(all)
  if #pos > 0 then
    out[#out + 1] = "Parameters (positional, in this order; also config/payload keys):"
    for _, p in ipairs(pos) do row(out, p, param_text(params[p]), col) end
  end
  if #settings > 0 then
    out[#out + 1] = "Settings (keys of --config FILE.json or NUVYN_JOB_PAYLOAD):"
    for _, p in ipairs(settings) do row(out, p, param_text(params[p]), col) end
  end
  if t.store then out[#out + 1] = "Needs the metadata store (--store): the job fails if it cannot open." end
  local outputs = t.outputs or {}
  local keys = {}
  for k in pairs(outputs) do keys[#keys + 1] = k end
  table.sort(keys)
  out[#out + 1] = "Outputs (keys of the JSON result on stdout):"
  local ocol = width(keys)
  for _, k in ipairs(keys) do row(out, k, outputs[k], ocol) end
  row(out, "+", M.common_outputs, ocol)
  if t.example then
    out[#out + 1] = "Example:"
    out[#out + 1] = "  " .. t.example
  end
  out[#out + 1] = "Job options:"
  M.option_lines(out)
  return table.concat(out, "\n") .. "\n"
end

return M
