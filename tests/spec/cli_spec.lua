-- nvlua as a Lua interpreter: scripts and `arg`, -e, -v, -h, stdin, the REPL
-- (help(), Tab completion on a pseudo-terminal); the help of jobs and options.
local H = require "helper"

describe("nvlua command line", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  it("runs a script with arg set as lua does", function()
    H.write(dir .. "/s.lua", 'print(arg[0], arg[1], arg[2], #arg, arg[-1] ~= nil, ...)')
    local code, out = H.run({ dir .. "/s.lua", "a", "b c" })
    assert.equal(0, code)
    assert.equal(dir .. "/s.lua\ta\tb c\t2\ttrue\ta\tb c\n", out)
  end)

  it("reports a script error with a traceback and exit 1", function()
    H.write(dir .. "/bad.lua", 'local function f() error("broken here") end f()')
    local code, out, err = H.run({ dir .. "/bad.lua" })
    assert.equal(1, code)
    assert.equal("", out)
    assert.matches("^nvlua: [^\n]*bad%.lua:1: broken here\nstack traceback:", err)
  end)

  it("reports a missing script", function()
    local code, _, err = H.run({ dir .. "/none.lua" })
    assert.equal(1, code)
    assert.matches("cannot open " .. dir:gsub("%p", "%%%0") .. "/none%.lua", err)
  end)

  it("runs -e chunks in order, then the script", function()
    H.write(dir .. "/s.lua", "print(x + y)")
    local code, out = H.run({ "-e", "x = 1", "-e", "y = 2", dir .. "/s.lua" })
    assert.equal(0, code)
    assert.equal("3\n", out)
  end)

  it("prints version and help", function()
    local code, out = H.run({ "--version" })
    assert.equal(0, code)
    assert.matches("^nvlua %d+%.%d+%.%d+ %(Lua 5%.4%.%d+%)\n$", out)
    code, out = H.run({ "-h" })
    assert.equal(0, code)
    assert.matches("nvlua run <job_type>", out)
  end)

  it("exits 2 on a bad option", function()
    local code, _, err = H.run({ "--nope" })
    assert.equal(2, code)
    assert.matches("^nvlua: unrecognized option '%-%-nope'\n", err)
  end)

  it("runs stdin as a script when it is not a terminal", function()
    local code, out = H.run({}, { stdin = "print('from stdin')" })
    assert.equal(0, code)
    assert.equal("from stdin\n", out)
  end)

  it("loads the library from its own tree, whatever the current directory", function()
    H.write(dir .. "/json.lua", "error('picked up from the current directory')")
    os.execute("mkdir -p " .. H.q(dir .. "/nv"))
    H.write(dir .. "/nv/json.lua", "error('picked up from the current directory')")
    local code, out = H.run({ "-e", "print(require('nv.json').encode({1}))" }, { cwd = dir })
    assert.equal(0, code)
    assert.equal("[1]\n", out)
  end)

  it("after cmake --install, finds its library and jobs under the prefix", function()
    local prefix = dir .. "/prefix"
    local ok = os.execute("cmake --install " .. H.q(H.build) .. " --prefix " .. H.q(prefix) .. " >/dev/null")
    assert.is_true(ok)
    local code, out = H.run({ "-e", "print(require('nv.host').root)" }, { exe = prefix .. "/bin/nvlua", cwd = "/" })
    assert.equal(0, code)
    assert.equal(prefix .. "/share/nvlua\n", out)
    code, out = H.run({ "run", "--list" }, { exe = prefix .. "/bin/nuvyn-executor", cwd = dir })
    assert.equal(2, code) -- nuvyn-executor takes the job type first: "run" is not one
    code, out = H.run({ "schema_validation" }, { exe = prefix .. "/bin/nuvyn-executor", cwd = dir })
    assert.equal(0, code)
    assert.matches('"validation_status":"created"', out) -- a fresh store (issue 11: was "valid")
  end)

  describe("help", function()
    local config = require "nv.config"
    -- the job scripts in the tree, listed independently of nv.job
    local function job_files()
      local names = {}
      for f in io.popen("ls " .. H.q(H.root .. "/jobs")):lines() do names[#names + 1] = f:match("^(.+)%.lua$") end
      return names
    end
    local function job_table(name) return dofile(H.root .. "/jobs/" .. name .. ".lua") end
    local function has_line(text, pattern)
      for line in text:gmatch("[^\n]+") do if line:match(pattern) then return true end end
      return false
    end
    local function plain(s) return (s:gsub("%p", "%%%0")) end
    local job_options = { "--config", "--fail-on", "--log-dir", "--log-level", "--no-write-to-db", "--payload",
                          "--full", "--source-id", "--store", "--threads", "--workers", "--workflow-id", "--write-to-db" }

    it("nvlua --help lists every job with its description and every option", function()
      local code, out, err = H.run({ "--help" }, { cwd = dir })
      assert.equal(0, code)
      assert.equal("", err)
      local jobs = job_files()
      assert.is_true(#jobs >= 6)
      for _, name in ipairs(jobs) do
        local description = job_table(name).description
        assert.is_string(description)
        assert.is_true(has_line(out, "^  " .. plain(name) .. " +" .. plain(description:match("^%S+ %S+ %S+"))), name)
      end
      for _, opt in ipairs(job_options) do
        assert.is_true(has_line(out, "^  " .. plain(opt) .. "[ =]"), opt)
      end
      for _, opt in ipairs({ "-e CODE", "-l NAME", "-i", "-E", "--sandbox", "-v, --version", "-h, --help" }) do
        assert.is_true(has_line(out, "^  " .. plain(opt) .. " "), opt)
      end
      -- every option it lists is one the parser takes
      local section = out:match("\nJob options[^\n]*\n(.*)$")
      for opt in section:gmatch("\n?  (%-%-[%w-]+)") do
        if opt ~= "--list" and opt ~= "--help" then
          local spec = assert(config.flags[opt], opt)
          local args = { opt }
          if spec[2] ~= "true" and spec[2] ~= "false" then args[2] = "x" end
          local parsed, perr = config.parse_args(args)
          assert.is_table(parsed, perr)
        end
      end
      assert.same({}, (function() -- nothing written by asking for help
        local left = {}
        for f in io.popen("ls -A " .. H.q(dir)):lines() do left[#left + 1] = f end
        return left
      end)())
    end)

    it("nvlua run --help is the same help, exit 0", function()
      local code, out = H.run({ "run", "--help" }, { cwd = dir })
      assert.equal(0, code)
      assert.matches("\nJob options", out)
      assert.matches("metadata_extraction", out, 1, true)
    end)

    for _, name in ipairs(job_files()) do
      it("nvlua run " .. name .. " --help prints its parameters, outputs and example without running it", function()
        local job = job_table(name)
        -- a store that cannot open: help must not try
        local code, out, err = H.run({ "run", name, "--help", "--store", "postgresql://nobody@127.0.0.1:1/none" },
          { cwd = dir })
        assert.equal(0, code)
        assert.equal("", err)
        assert.equal(name .. ": " .. job.description .. "\n", out:match("^[^\n]*\n"))
        assert.matches("\nusage: nvlua run " .. plain(name), out)
        for param, spec in pairs(job.params or {}) do
          assert.is_true(has_line(out, "^  " .. plain(param) .. " +%S"), param)
          assert.matches(plain(spec.help:match("^%S+ ?%S*")), out)
        end
        for key in pairs(job.outputs) do
          assert.is_true(has_line(out, "^  " .. plain(key) .. " +%S"), key)
        end
        assert.matches("\nExample:\n  " .. plain(job.example) .. "\n", out)
        for _, opt in ipairs(job_options) do assert.is_true(has_line(out, "^  " .. plain(opt) .. "[ =]"), opt) end
        local listing = io.popen("ls -A " .. H.q(dir)):read("a")
        assert.equal("", listing) -- no store file, no log directory, no outbox
        local hcode, hout = H.run({ "run", name, "-h" }, { cwd = dir })
        assert.equal(0, hcode)
        assert.equal(out, hout)
      end)
    end

    it("every job's example is a command line the parser takes", function()
      for _, name in ipairs(job_files()) do
        local example = job_table(name).example
        local rest = example:match("nvlua run " .. plain(name) .. "(.*)$")
        assert.is_string(rest, example)
        local args = {}
        for a in rest:gmatch("%S+") do args[#args + 1] = a end
        local parsed, perr = config.parse_args(args)
        assert.is_table(parsed, name .. ": " .. tostring(perr))
      end
    end)

    it("nvlua run --list prints one line per job: its name first, then its description", function()
      local code, out = H.run({ "run", "--list" }, { cwd = dir })
      assert.equal(0, code)
      local firsts = {}
      for line in out:gmatch("[^\n]+") do
        local name, description = line:match("^(%S+) +(.+)$")
        firsts[#firsts + 1] = name
        assert.equal(job_table(name).description, description)
      end
      assert.same(job_files(), firsts)
    end)

    local typos = {
      { { "run", "schema_validation", "--wrte-to-db" },
        "nvlua: unknown option '--wrte-to-db' (did you mean --write-to-db?)\n" },
      { { "run", "schema_validation", "--log-levl=DEBUG" },
        "nvlua: unknown option '--log-levl=DEBUG' (did you mean --log-level?)\n" },
      { { "run", "schema_validation", "--frob" }, "nvlua: unknown option '--frob'\n" },
      { { "run", "metadata_extractoin", "examples/data" },
        "nvlua: unknown job type 'metadata_extractoin' (did you mean metadata_extraction?); known job types: "
          .. table.concat(job_files(), ", ") .. "\n" },
      { { "run", "qualty_assesment" },
        "nvlua: unknown job type 'qualty_assesment' (did you mean quality_assessment?); known job types: "
          .. table.concat(job_files(), ", ") .. "\n" },
      { { "run", "frobnicate" },
        "nvlua: unknown job type 'frobnicate'; known job types: " .. table.concat(job_files(), ", ") .. "\n" },
    }
    for _, c in ipairs(typos) do
      local typed = c[1][3] and c[1][3]:match("^%-%-") and c[1][3] or c[1][2]
      it("answers " .. typed .. " with the nearest known name when one is near, exit 2", function()
        local code, out, err = H.run(c[1], { cwd = dir })
        assert.equal(2, code)
        assert.equal("", out)
        assert.equal(c[2], err)
      end)
    end

    it("documents every job option and every job", function()
      for name, spec in pairs(config.flags) do
        assert.is_string(spec.help, name)
        assert.is_true(#spec.help > 10, name)
        if spec[2] ~= "true" and spec[2] ~= "false" then assert.matches("^%u[%w._]*$", spec.arg, 1, false) end
      end
      for _, name in ipairs(job_files()) do
        local job = job_table(name)
        assert.is_string(job.description, name)
        assert.is_string(job.example, name)
        assert.is_true(next(job.outputs) ~= nil, name)
        for param, spec in pairs(job.params or {}) do assert.is_string(spec.help, name .. "." .. param) end
        for _, p in ipairs({ "data_source_path", "source_type", "tenant_id" }) do
          -- a job that takes a source documents all three positionals
          if (job.params or {}).data_source_path then assert.is_table(job.params[p], name .. " " .. p) end
        end
        for key, meaning in pairs(job.outputs) do assert.is_string(meaning, name .. "." .. key) end
      end
    end)

    it("documents every function of every nv.* module, and nothing that does not exist", function()
      local docs = require "nv.docs"
      local modules = {}
      for m in pairs(package.preload) do if m:match("^nv%.") then modules[m] = true end end
      for f in io.popen("cd " .. H.q(H.root .. "/lua") .. " && find nv -name '*.lua'"):lines() do
        local m = f:gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", ".")
        if not m:match("^nv%.store%.") then modules[m] = true end -- store dialects are internal
      end
      modules["nv.host"] = true
      for m in pairs(modules) do
        local d = docs[m]
        assert.is_table(d, "no docs for " .. m)
        assert.is_string(d.summary, m)
        local mod = require(m)
        for k, v in pairs(type(mod) == "table" and mod or {}) do
          if type(v) == "function" then assert.is_string(d.functions[k], m .. "." .. k .. " is undocumented") end
        end
        for k, line in pairs(d.functions) do
          assert.equal("function", type(mod[k]), m .. "." .. k .. " is documented but does not exist")
          assert.matches("^" .. k .. "[({]", line, 1, false) -- the line starts with its signature
        end
      end
      for m in pairs(docs) do assert.is_true(modules[m] or false, m .. " is documented but is no module") end
    end)
  end)

  describe("REPL", function()
    local function repl(input)
      return H.run({ "-i" }, { stdin = input, env = { HOME = dir } })
    end

    it("prints expressions and =expr, tables pretty-printed", function()
      local code, out = repl("1 + 1\n=({b = 2, a = {1}})\n")
      assert.equal(0, code)
      assert.matches("nv> 2\n", out, 1, true)
      assert.matches('nv> {\n  a = {\n    1,\n  },\n  b = 2,\n}\n', out, 1, true)
    end)

    it("continues incomplete chunks over several lines", function()
      local code, out = repl("for i = 1, 2 do\nprint('i=' .. i)\nend\n")
      assert.equal(0, code)
      assert.matches("nv> nv>> nv>> i=1\ni=2\n", out, 1, true)
    end)

    it("prints errors with a traceback and keeps going", function()
      local code, out, err = repl("error('boom')\nprint('after')\n")
      assert.equal(0, code)
      assert.matches("boom\nstack traceback:", err)
      assert.matches("after\n", out, 1, true)
    end)

    it("help() prints the modules and the jobs; help(x) a module's or a function's docs", function()
      local docs = require "nv.docs"
      local code, out, err = repl('help()\nhelp(nv.csv)\nhelp("nv.csv")\nhelp(nv.csv.open)\nhelp("nv.json.encode")\n'
        .. 'help("nv.nope")\n')
      assert.equal(0, code)
      assert.equal("", err)
      for _, m in ipairs({ "nv.csv", "nv.json", "nv.store", "nv.job", "nv.profile", "nv.parquet" }) do
        assert.matches("\n  " .. m:gsub("%p", "%%%0") .. " +" .. docs[m].summary:gsub("%p", "%%%0") .. "\n", out)
      end
      for f in io.popen("ls " .. H.q(H.root .. "/jobs")):lines() do
        assert.matches("\n  " .. f:gsub("%.lua$", "") .. " ", out, 1, true)
      end
      assert.matches("nvlua run JOB", out, 1, true)
      local csv_doc = "nv.csv - " .. docs["nv.csv"].summary .. "\nFunctions:\n  nv.csv." .. docs["nv.csv"].functions.open
        .. "\n  nv.csv." .. docs["nv.csv"].functions.sniff .. "\nMethods:\n"
      local first = out:find(csv_doc, 1, true)
      assert.is_number(first)
      assert.is_number(out:find(csv_doc, first + 1, true)) -- help(nv.csv) and help("nv.csv")
      assert.matches("nv> nv.csv." .. docs["nv.csv"].functions.open .. "\n", out, 1, true)
      assert.matches("nv> nv.json." .. docs["nv.json"].functions.encode .. "\n", out, 1, true)
      assert.matches("nv> no help for 'nv.nope'; help() lists the modules\n", out, 1, true)
    end)

    describe("on a terminal", function()
      local function pty(keys)
        local inp = dir .. "/keys"
        H.write(inp, keys)
        local p = assert(io.popen(string.format("cd %s && env -i PATH=%s HOME=%s TERM=xterm python3 %s 20 %s < %s",
          H.q(dir), H.q(os.getenv("PATH")), H.q(dir), H.q(H.root .. "/tests/spec/pty_drive.py"), H.q(H.bin), H.q(inp))))
        local out = p:read("a")
        p:close()
        return (out:gsub("\27%[[%d;?]*%a", ""):gsub("\r", ""))
      end
      local has_python = os.execute("python3 -c 'import pty' 2>/dev/null")

      it("Tab completes nv.cs to nv.csv, and nv.csv.<Tab><Tab> lists its functions", function()
        if not has_python then return pending("python3 with pty is needed") end
        -- \1 separates what is typed after the REPL has gone quiet; \21 clears the line, \4 ends input
        local out = pty("x = nv.cs\t\1 print('same:', x == require('nv.csv'))\n\1nv.csv.\t\t\1\21\1\4")
        assert.matches("nv> x = nv.csv print('same:', x == require('nv.csv'))\n", out, 1, true)
        assert.matches("\nsame:\ttrue\n", out, 1, true)
        assert.matches("nv%.csv%.open +nv%.csv%.sniff", out)
      end)

      it("completes globals and methods", function()
        if not has_python then return pending("python3 with pty is needed") end
        local out = pty("prin\t('a')\n\1io.stdout:wri\t('b\\n')\n\1\4")
        assert.matches("nv> print('a')\na\n", out, 1, true)
        assert.matches("nv> io.stdout:write('b\\n')\nb\n", out, 1, true)
      end)

      it("help() on a terminal prints the overview", function()
        if not has_python then return pending("python3 with pty is needed") end
        local out = pty("help()\n\1\4")
        assert.matches("Modules (the global nv loads nv.<name> on first use):\n", out, 1, true)
        assert.matches("\n  nv.csv ", out, 1, true)
      end)
    end)

    it("preloads nv modules under the nv global", function()
      local code, out = repl("nv.json.encode({x = 1})\n")
      assert.equal(0, code)
      assert.matches('"{\\"x\\":1}"', out, 1, true)
    end)
  end)
end)
