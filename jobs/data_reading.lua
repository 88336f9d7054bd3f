-- data_reading (spec 001): read samples from every file of the source —
-- a raw preview and the first rows parsed — bounded by preview_rows
-- (default 10) and preview_bytes (default 1024) per file.
local params = require "nv.params"
local extract = require "nv.extract"
local report = require "nv.report"

return {
  name = "data_reading",
  description = "read a bounded sample of every file of the source: a raw preview and the first rows parsed",
  params = params.pick({ "data_source_path", "source_type", "tenant_id", "sources", "include", "exclude",
                         "preview_rows", "preview_bytes" }),
  outputs = {
    connection_status = "success, or failed when the source could not be read",
    files_found = "files listed in the source",
    files_read = "files that gave a sample",
    sample_data = "per file: columns, the first rows parsed and a raw preview",
    errors = "each failed file with the reason",
    source_id = "the source's id",
    source_path = "the path read",
  },
  example = "nvlua run data_reading examples/data/customers.csv csv",
  run = function(ctx)
    local cfg = ctx.config
    local models = extract.run(ctx, { max_rows = cfg.preview_rows or 10, include = cfg.include,
                                      exclude = cfg.exclude,
                                      previews = { rows = cfg.preview_rows or 10, bytes = cfg.preview_bytes or 1024 } })
    return report.aggregate(ctx, models, function(m)
      return report.reading(ctx, m, { preview_rows = cfg.preview_rows, preview_bytes = cfg.preview_bytes })
    end)
  end,
}
