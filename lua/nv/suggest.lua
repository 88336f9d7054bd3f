-- nv.suggest: "did you mean …?" for options, job types and source types.
local M = {}

-- Levenshtein distance, two rows
local function distance(a, b)
  local prev, cur = {}, {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    cur[0] = i
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev, cur = cur, prev
  end
  return prev[#b]
end

--- The candidate nearest to word (ties: the first in sorted order), or nil
-- when even that one is too far to be a typo: more than a third of the
-- word's length (at least 2) edits away, or half the candidate's length.
function M.nearest(word, candidates)
  local sorted = {}
  for _, c in ipairs(candidates) do sorted[#sorted + 1] = c end
  table.sort(sorted)
  local best, best_d
  for _, c in ipairs(sorted) do
    local d = distance(word, c)
    if best_d == nil or d < best_d then best, best_d = c, d end
  end
  if best and best_d <= math.max(2, #word // 3) and best_d < #best / 2 then return best end
  return nil
end

return M
