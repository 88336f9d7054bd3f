-- nv.docs: one line per function of every nv.* module, as data — what the
-- REPL's help() prints (nv.help). Written from each module's source; the
-- specs check that every function a module exports is listed here and that
-- nothing listed is missing from it, so a new function cannot go
-- undocumented. Per module: summary, functions = {name = "signature: meaning"},
-- methods (optional) = {"obj:method(...) -> ...: meaning", ...}.
local out = {}
for _, part in ipairs({ "nv.docs.runtime", "nv.docs.sources" }) do
  for name, doc in pairs(require(part)) do
    assert(out[name] == nil, name .. " is documented twice")
    out[name] = doc
  end
end
return out
