-- data_reading (spec 001): read samples from every file of the source —
-- a raw preview and the first rows parsed — bounded by preview_rows
-- (default 10) and preview_bytes (default 1024) per file.
local extract = require "nv.extract"
local report = require "nv.report"

return {
  name = "data_reading",
  params = { data_source_path = { required = true, unless = "sources",
                                  hint = "give it as the first argument after the job type" } },
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
