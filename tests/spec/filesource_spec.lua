-- File listing, grouping into tables (Hive partitions, Spark part files)
-- and content-based format detection, on a tree built by the test.
local H = require "helper"
local filesource = require "nv.filesource"
local fs = require "nv.fs"

local function mk(dir, rel, text)
  local path = dir .. "/" .. rel
  os.execute("mkdir -p " .. H.q(path:match("^(.*)/[^/]*$")))
  H.write(path, text)
end

describe("nv.filesource", function()
  it("reads file:// and Databricks' dbfs:/ URIs as local paths (dbfs:/x is the /dbfs/x mount)", function()
    local fsrc = require "nv.filesource"
    assert.equal("/tmp/x", fsrc.local_path("file:///tmp/x"))
    assert.equal("/dbfs/mnt/raw/x.csv", fsrc.local_path("dbfs:/mnt/raw/x.csv"))
    assert.equal("/dbfs/mnt/raw", fsrc.local_path("dbfs:///mnt/raw"))
    assert.equal("/data/dbfs:/x", fsrc.local_path("/data/dbfs:/x"))
    assert.equal("files", require("nv.connectors").resolve({ data_source_path = "dbfs:/mnt/raw" }).name)
  end)
  local dir
  before_each(function()
    dir = H.tmpdir()
    mk(dir, "customers.csv", "id,name\n1,a\n")
    mk(dir, "events.log", '{"a":1}\n')            -- JSON by content, not extension
    mk(dir, "sales/year=2024/month=01/part-0001.csv", "x\n1\n")
    mk(dir, "sales/year=2024/month=02/part-0001.csv", "x\n2\n")
    mk(dir, "sales/year=2025/month=01/part-0001.csv", "x\n3\n")
    mk(dir, "spark_out/part-00000-abc.csv", "y\n1\n")
    mk(dir, "spark_out/part-00001-abc.csv", "y\n2\n")
    mk(dir, "spark_out/_SUCCESS", "")
    mk(dir, "_delta_log/000.json", "{}")
    mk(dir, ".hidden.csv", "h\n")
    mk(dir, "blob.csv", "a\0b\0c")
    os.execute("ln -s " .. H.q(dir) .. " " .. H.q(dir .. "/loop"))
  end)
  after_each(function() H.rmdir(dir) end)

  it("lists recursively, skipping hidden and _-prefixed entries, safe against symlink loops", function()
    local files, errors = assert(filesource.list(dir))
    local rels = {}
    for _, f in ipairs(files) do rels[#rels + 1] = f.rel end
    assert.same({ "blob.csv", "customers.csv", "events.log",
                  "sales/year=2024/month=01/part-0001.csv", "sales/year=2024/month=02/part-0001.csv",
                  "sales/year=2025/month=01/part-0001.csv",
                  "spark_out/part-00000-abc.csv", "spark_out/part-00001-abc.csv" }, rels)
    assert.equal(1, #errors)
    assert.equal(dir .. "/loop: symbolic link loop, not descended", errors[1])
    assert.equal(12, files[2].size)
    assert.is_number(files[2].mtime)
  end)

  it("applies include and exclude globs", function()
    local files = assert(filesource.list(dir, { include = { "*.csv" }, exclude = { "sales/*" } }))
    local names = {}
    for _, f in ipairs(files) do names[#names + 1] = f.rel end
    assert.same({ "blob.csv", "customers.csv", "spark_out/part-00000-abc.csv", "spark_out/part-00001-abc.csv" }, names)
  end)

  it("groups Hive partitions and part files into one table each", function()
    local files = assert(filesource.list(dir))
    local tables = filesource.group(files, dir)
    local summary = {}
    for _, t in ipairs(tables) do
      summary[#summary + 1] = t.name .. ":" .. #t.files .. ":" .. table.concat(t.partition_columns, ",")
    end
    assert.same({ "blob.csv:1:", "customers.csv:1:", "events.log:1:", "sales:3:year,month", "spark_out:2:" }, summary)
    assert.same({ year = "2024", month = "02" }, tables[4].files[2].partition)
    assert.equal(12, tables[4].size_bytes)
  end)

  it("detects formats from content and honours an explicit source_type", function()
    local by = {}
    for _, f in ipairs(assert(filesource.list(dir))) do by[f.rel] = f end
    assert.same({ "csv", "none" }, { filesource.format(by["customers.csv"]) })
    assert.same({ "json", "none" }, { filesource.format(by["events.log"]) })
    assert.same({ "binary", "none" }, { filesource.format(by["blob.csv"]) })
    assert.same({ "csv", "none" }, { filesource.format(by["events.log"], "csv") })
    assert.same({ "binary", "none" }, { filesource.format(by["blob.csv"], "csv") })
  end)

  it("detects compressed and columnar files by magic bytes", function()
    H.write(dir .. "/p.bin", "PAR1....")
    os.execute("cp " .. H.q(dir .. "/customers.csv") .. " " .. H.q(dir .. "/c2.csv") .. " && gzip " .. H.q(dir .. "/c2.csv"))
    assert.same({ "parquet", "none" }, { fs.detect(dir .. "/p.bin") })
    assert.same({ "csv", "gzip" }, { fs.detect(dir .. "/c2.csv.gz") })
    assert.equal("id,name\n1,a\n", fs.head(dir .. "/c2.csv.gz", 100))
    assert.equal("id,n", fs.head(dir .. "/c2.csv.gz", 4))
  end)

  it("names a missing path and its cause", function()
    assert.same({ nil, "cannot access /nonexistent/x: No such file or directory", "notfound", 2 },
      { filesource.list("/nonexistent/x") })
  end)

  it("treats a single file as a one-table source", function()
    local files = assert(filesource.list("file://" .. dir .. "/customers.csv"))
    assert.equal(1, #files)
    assert.equal("customers.csv", files[1].rel)
    assert.equal("customers.csv", filesource.group(files, dir .. "/customers.csv")[1].name)
  end)

  it("hashes stably", function()
    assert.equal("cbf29ce484222325", filesource.hash(""))
    assert.equal("af63dc4c8601ec8c", filesource.hash("a"))
  end)
end)
