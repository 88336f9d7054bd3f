-- Issue 11, honest statuses: an unknown source type is a usage error, a
-- file a forced format cannot read is a failed file with the reason, a
-- failed object is named in the JSON and sets the exit code by fail_on /
-- success_threshold, and schema_validation says what it found and changed.
-- Expected figures are written out from the fixtures built here.
local H = require "helper"
local json = require "nv.json"

local function one_json(out)
  assert.matches("^[^\n]*\n$", out)
  return assert(json.decode(out))
end

local function run(dir, args, env)
  local code, out, err = H.run(args, { cwd = dir, env = env })
  return code, out ~= "" and one_json(out) or nil, err
end

describe("honest statuses", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  it("an unknown source_type is a usage error naming the known types and the nearest", function()
    H.write(dir .. "/a.csv", "x\n1\n")
    local code, out, err = H.run({ "run", "metadata_extraction", dir .. "/a.csv", "parquett" }, { cwd = dir })
    assert.equal(2, code)
    assert.equal("", out)
    assert.matches("nvlua: unknown source_type 'parquett' %(did you mean parquet%?%); known types: [^\n]*csv, ", err)
    code, out, err = H.run({ "run", "metadata_extraction" },
      { cwd = dir, env = { NUVYN_JOB_PAYLOAD = json.encode({ data_source_path = dir, data_source_type = "jsn" }) } })
    assert.equal(2, code)
    assert.matches("did you mean json%?", err)
    code = H.run({ "run", "metadata_extraction", dir .. "/a.csv", "--fail-on", "always" }, { cwd = dir })
    assert.equal(2, code)
  end)
end)
