-- GCRA over several buckets, all or nothing, in one round trip.
--
-- KEYS[i]    a bucket: it stores its "theoretical arrival time" (TAT), in
--            microseconds on Redis's clock, so every instance shares one clock.
-- ARGV[2i-1] the bucket's emission interval in microseconds (period / limit)
-- ARGV[2i]   the bucket's limit (requests per period)
--
-- Returns {allowed, then per bucket: remaining, reset_us, retry_us}.
-- The request is charged to every bucket only when all of them allow it.
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local allowed = 1
local tats = {}
local out = {0}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local limit = tonumber(ARGV[2 * i])
  local period = interval * limit
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then
    tat = now
  end
  local new_tat = tat + interval
  local remaining, reset, retry
  if new_tat - now > period then
    allowed = 0
    remaining = 0
    reset = tat - now
    retry = new_tat - now - period
  else
    remaining = math.floor((period - (new_tat - now)) / interval)
    reset = new_tat - now
    retry = 0
  end
  tats[i] = new_tat
  out[#out + 1] = remaining
  out[#out + 1] = reset
  out[#out + 1] = retry
end
out[1] = allowed
if allowed == 1 then
  for i, key in ipairs(KEYS) do
    -- %d: a plain integer, never Lua's lossy 1.7e+15 notation.
    redis.call('SET', key, string.format('%d', tats[i]), 'PX', math.ceil((tats[i] - now) / 1000))
  end
end
return out
