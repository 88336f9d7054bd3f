local json = require "nv.json"

describe("nv.json", function()
  it("encodes objects with sorted keys and marked empty arrays", function()
    assert.equal('{"a":[],"b":{},"c":[1,2]}', json.encode({ c = { 1, 2 }, b = {}, a = json.array() }))
  end)

  it("encodes null, booleans, integers and floats exactly", function()
    assert.equal('[null,true,false,3,0.5,1.0,null]',
      json.encode(json.array({ json.null, true, false, 3, 0.5, 1.0, 0 / 0 })))
    assert.equal("0.003", json.encode(0.003))
  end)

  it("escapes strings but leaves slashes readable", function()
    assert.equal([["a/b \"q\" \\ \n"]], json.encode('a/b "q" \\ \n'))
    assert.equal([["\\/"]], json.encode("\\/"))
  end)

  it("refuses values JSON cannot hold", function()
    assert.has_error(function() json.encode({ f = print }) end, "nv.json: cannot encode a function value")
    local t = {}
    t.self = t
    assert.has_error(function() json.encode(t) end, "nv.json: nesting deeper than 100 levels")
  end)

  it("decodes, and reports malformed input as nil, message", function()
    assert.same({ a = { 1, 2 } }, json.decode('{"a":[1,2]}'))
    local v, err = json.decode("{bad")
    assert.is_nil(v)
    assert.matches("Expected object key string", err)
    assert.same({ nil, "expected a JSON string, got nil" }, { json.decode(nil) })
  end)

  it("round-trips its own output", function()
    local doc = { name = "x", list = { 1, 2, 3 }, nested = { deep = { ok = true } } }
    assert.same(doc, json.decode(json.encode(doc)))
  end)
end)
