/*
 * lib/redis/redis_scripts.c - the Lua scripts that make every store call
 * one round trip. Each reads the record under KEYS[1], decides liveness
 * with the caller's clock (ARGV[1] = now_ms; a record is live while
 * now < expires) and writes at most once. The TTL in Redis (PX) is only
 * written when a mapping is created or renewed; a hit without renewal
 * rewrites the record with KEEPTTL. Record format: redis_record.c.
 *
 * Replies: get    {0} miss | {1, rec} hit | {2, rec} hit, renewed |
 *                  {-1, raw} undecodable
 *          put    {0} stored | {1} replaced a live mapping |
 *                  {2, rec} exists (if-absent) | {-1, raw} undecodable
 *          touch  {0} miss | {1, rec} renewed | {-1, raw}
 *          del    0 absent or expired | 1 deleted
 *          health {status, version} (publish; redis_health.c)
 *          lookup {0} | {code + 16 * level, rec} | {-1, raw} (the async
 *                  store's whole-chain get)
 *
 * Shared channel health (docs/redis.md, "Shared channel health"): get and
 * put also take KEYS[2] = the health hash and ARGV[5] = the last health
 * version this node has seen. Only when the hash's version differs do
 * they append {mode, version, junk, field1, value1, ...} (the record slot
 * is then '' when there is none): the changed records, oldest first, at
 * most HEALTH_REPLY_MAX of them. A sticky hit whose node is up to date
 * costs one HGET inside the script and no byte more in the reply.
 */
#include "redis_internal.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define HEALTH_REPLY_MAX_S STR(HEALTH_REPLY_MAX)

/* Appended to the replies of get and put: the health records changed since
 * ARGV[5] (redis_health.c decodes them). mode 1: records newer than the
 * node's version; 2: the server's version is behind the node's (flushed or
 * restarted), all records; 3: the health key is unreadable (not a hash or
 * a bad version), reported once (the node then sends -1). */
#define HEALTH_LUA HEALTH_LUA_KEY("KEYS[2]")

/* The same function reading the health hash from the Lua expression @hk
 * (the lookup script passes it last, after the chain keys). */
#define HEALTH_LUA_KEY(hk) \
    "local function health(r)\n" \
    "  local seen = tonumber(ARGV[5]) or 0\n" \
    "  local hv = redis.pcall('HGET', " hk ", 'v')\n" \
    "  local v = nil\n" \
    "  if hv == false then v = 0 elseif type(hv) == 'string' and string.match(hv, '^%d+$') then v = tonumber(hv) end\n" \
    "  if v == nil then\n" \
    "    if seen == -1 then return r end\n" \
    "    if #r == 1 then r[2] = '' end\n" \
    "    r[3] = 3; r[4] = -1; r[5] = 0\n" \
    "    return r\n" \
    "  end\n" \
    "  if v == seen then return r end\n" \
    "  local from, mode = seen, 1\n" \
    "  if seen > v then from = 0; mode = 2 end\n" \
    "  local all = redis.call('HGETALL', " hk ")\n" \
    "  local now = tonumber(ARGV[1])\n" \
    "  local list, junk = {}, 0\n" \
    "  for i = 1, #all, 2 do\n" \
    "    local f, val = all[i], all[i + 1]\n" \
    "    if f ~= 'v' then\n" \
    "      local ver = tonumber(string.match(val, '^(%d+),'))\n" \
    "      local kind = string.match(f, '^([0-4x])|.')\n" \
    "      if ver == nil or kind == nil then junk = junk + 1\n" \
    "      elseif ver > from and ver <= v then\n" \
    "        local keep = true\n" \
    "        if kind ~= 'x' then\n" \
    "          local u = tonumber(string.match(val, '^%d+,(%-?%d+),'))\n" \
    "          if u == nil then junk = junk + 1; keep = false elseif u <= now then keep = false end\n" \
    "        end\n" \
    "        if keep then list[#list + 1] = {ver, f, val} end\n" \
    "      end\n" \
    "    end\n" \
    "  end\n" \
    "  table.sort(list, function(a, b) return a[1] < b[1] end)\n" \
    "  local top = v\n" \
    "  if #list > " HEALTH_REPLY_MAX_S " then top = list[" HEALTH_REPLY_MAX_S "][1] end\n" \
    "  if #r == 1 then r[2] = '' end\n" \
    "  r[3] = mode; r[4] = top; r[5] = junk\n" \
    "  for i = 1, #list do\n" \
    "    if list[i][1] > top then break end\n" \
    "    r[#r + 1] = list[i][2]; r[#r + 1] = list[i][3]\n" \
    "  end\n" \
    "  return r\n" \
    "end\n"

/* KEYS[1], KEYS[2] = health hash; ARGV: now_ms, ttl_ms, threshold_ms (-1:
 * sliding), peek (0/1), health version seen */
static const char get_lua[] =
    HEALTH_LUA
    "local v = redis.call('GET', KEYS[1])\n"
    "if not v then return health({0}) end\n"
    "local cr, la, ex, n, rest = string.match(v, '^1,(%d+),(%d+),(%d+),(%d+),(.*)$')\n"
    "if not cr then return health({-1, v}) end\n"
    "cr = tonumber(cr); la = cr + tonumber(la); ex = cr + tonumber(ex)\n"
    "local now = tonumber(ARGV[1])\n"
    "if now >= ex then return health({0}) end\n"
    "if ARGV[4] == '1' then return health({1, v}) end\n"
    "if now > la then la = now end\n"
    "local thr = tonumber(ARGV[3])\n"
    "local renew = thr < 0 or ex - now < thr\n"
    "if renew then\n"
    "  local nex = now + tonumber(ARGV[2])\n"
    "  if nex > ex then ex = nex end\n"
    "end\n"
    "v = string.format('1,%d,%d,%d,%d,', cr, la - cr, ex - cr, tonumber(n) + 1) .. rest\n"
    "if renew then\n"
    "  redis.call('SET', KEYS[1], v, 'PX', ex - now)\n"
    "  return health({2, v})\n"
    "end\n"
    "redis.call('SET', KEYS[1], v, 'KEEPTTL')\n"
    "return health({1, v})\n";

/* KEYS[1], KEYS[2] = health hash; ARGV: now_ms, ttl_ms, if_absent (0/1),
 * new record, health version seen */
static const char put_lua[] =
    HEALTH_LUA
    "local v = redis.call('GET', KEYS[1])\n"
    "local live = 0\n"
    "if v then\n"
    "  local cr, ex = string.match(v, '^1,(%d+),%d+,(%d+),')\n"
    "  if not cr then\n"
    "    if ARGV[3] == '1' then return health({-1, v}) end\n"
    "  elseif tonumber(ARGV[1]) < tonumber(cr) + tonumber(ex) then\n"
    "    live = 1\n"
    "  end\n"
    "end\n"
    "if live == 1 and ARGV[3] == '1' then return health({2, v}) end\n"
    "redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[2])\n"
    "return health({live})\n";

/* KEYS[1]; ARGV: now_ms, ttl_ms */
static const char touch_lua[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if not v then return {0} end\n"
    "local cr, la, ex, rest = string.match(v, '^1,(%d+),(%d+),(%d+),(.*)$')\n"
    "if not cr then return {-1, v} end\n"
    "cr = tonumber(cr); la = cr + tonumber(la); ex = cr + tonumber(ex)\n"
    "local now = tonumber(ARGV[1])\n"
    "if now >= ex then return {0} end\n"
    "if now > la then la = now end\n"
    "local nex = now + tonumber(ARGV[2])\n"
    "if nex > ex then ex = nex end\n"
    "v = string.format('1,%d,%d,%d,', cr, la - cr, ex - cr) .. rest\n"
    "redis.call('SET', KEYS[1], v, 'PX', ex - now)\n"
    "return {1, v}\n";

/* KEYS[1]; ARGV: now_ms */
static const char del_lua[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if not v then return 0 end\n"
    "redis.call('DEL', KEYS[1])\n"
    "local cr, ex = string.match(v, '^1,(%d+),%d+,(%d+),')\n"
    "if cr and tonumber(ARGV[1]) >= tonumber(cr) + tonumber(ex) then return 0 end\n"
    "return 1\n";

/*
 * KEYS[1] = health hash; ARGV: now_ms, kind ('c' cooldown / 'x' clear),
 * field ('<family>|<channel>' or 'x|<channel>'), until_ms, cause, at_ms,
 * origin, max_fields. Merge: a cooldown observed before the channel's
 * latest clear is stale; otherwise it replaces a record of the same slot
 * that ends earlier. A clear deletes the channel's cooldowns observed
 * before it and re-stamps those observed after it with versions above its
 * own, so a node applying records in version order ends in the same state.
 * Expired cooldowns, clears older than a week and undecodable fields are
 * pruned here (the failure path), never by get or put.
 * Reply {1, version} written | {0, version} nothing new | {-2, version}
 * the hash is full | {-3, 0} the key is not a hash.
 */
static const char health_lua[] =
    "local t = redis.call('TYPE', KEYS[1])['ok']\n"
    "if t ~= 'none' and t ~= 'hash' then return {-3, 0} end\n"
    "local now, at = tonumber(ARGV[1]), tonumber(ARGV[6])\n"
    "local hv = redis.call('HGET', KEYS[1], 'v')\n"
    "if hv and not string.match(hv, '^%d+$') then redis.call('HSET', KEYS[1], 'v', '0'); hv = '0' end\n"
    "hv = tonumber(hv or '0')\n"
    "if redis.call('HLEN', KEYS[1]) > 32 then\n"
    "  local all = redis.call('HGETALL', KEYS[1])\n"
    "  for i = 1, #all, 2 do\n"
    "    local f, val = all[i], all[i + 1]\n"
    "    if f ~= 'v' then\n"
    "      local kind = string.match(f, '^([0-4x])|.')\n"
    "      local drop = kind == nil\n"
    "      if kind == 'x' then\n"
    "        local a = tonumber(string.match(val, '^%d+,(%-?%d+),'))\n"
    "        drop = a == nil or a < now - 604800000\n"
    "      elseif kind then\n"
    "        local u = tonumber(string.match(val, '^%d+,(%-?%d+),'))\n"
    "        drop = u == nil or u <= now\n"
    "      end\n"
    "      if drop then redis.call('HDEL', KEYS[1], f) end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "local field = ARGV[3]\n"
    "local chan = string.sub(field, 3)\n"
    "local cl = redis.call('HGET', KEYS[1], 'x|' .. chan)\n"
    "local clat = cl and tonumber(string.match(cl, '^%d+,(%-?%d+),'))\n"
    "if ARGV[2] == 'c' then\n"
    "  if clat and at <= clat then return {0, hv} end\n"
    "  local old = redis.call('HGET', KEYS[1], field)\n"
    "  if old then\n"
    "    local u = tonumber(string.match(old, '^%d+,(%-?%d+),'))\n"
    "    if u and u >= tonumber(ARGV[4]) then return {0, hv} end\n"
    "  elseif redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[8]) then\n"
    "    return {-2, hv}\n"
    "  end\n"
    "  local ver = redis.call('HINCRBY', KEYS[1], 'v', 1)\n"
    "  redis.call('HSET', KEYS[1], field, ver .. ',' .. ARGV[4] .. ',' .. ARGV[5] .. ',' .. ARGV[6] .. ',' .. ARGV[7])\n"
    "  return {1, ver}\n"
    "end\n"
    "if clat and clat > at then return {0, hv} end\n"
    "if not cl and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[8]) then return {-2, hv} end\n"
    "local ver = redis.call('HINCRBY', KEYS[1], 'v', 1)\n"
    "redis.call('HSET', KEYS[1], field, ver .. ',' .. ARGV[6] .. ',' .. ARGV[7])\n"
    "for f = 0, 4 do\n"
    "  local cf = f .. '|' .. chan\n"
    "  local old = redis.call('HGET', KEYS[1], cf)\n"
    "  if old then\n"
    "    local rest = string.match(old, '^%d+,(%-?%d+,%d+,%-?%d+,.*)$')\n"
    "    local oat = rest and tonumber(string.match(rest, '^%-?%d+,%d+,(%-?%d+),'))\n"
    "    if oat and oat > at then\n"
    "      ver = redis.call('HINCRBY', KEYS[1], 'v', 1)\n"
    "      redis.call('HSET', KEYS[1], cf, ver .. ',' .. rest)\n"
    "    else\n"
    "      redis.call('HDEL', KEYS[1], cf)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return {1, ver}\n";

/* The whole key chain in one round trip (the async store, redis_async.c):
 * KEYS[1..n] = the chain's keys (KEYS[n] deepest), KEYS[n + 1] = the
 * health hash; ARGV as get's (peek is always 0). Walks KEYS[n] .. KEYS[1]
 * with get's body per key, skipping keys without a live record, and applies
 * the use to the first live one only. Reply: {0} no live record on the
 * chain | {code + 16 * level, rec} (code 1 hit, 2 hit renewed; level = the
 * 0-based index of the key) | {-1, raw} undecodable (the walk stops there,
 * as the selector's get loop stops on an error); health appended as get. */
static const char lookup_lua[] =
    HEALTH_LUA_KEY("KEYS[#KEYS]")
    "local now = tonumber(ARGV[1])\n"
    "for i = #KEYS - 1, 1, -1 do\n"
    "  local v = redis.call('GET', KEYS[i])\n"
    "  if v then\n"
    "    local cr, la, ex, n, rest = string.match(v, '^1,(%d+),(%d+),(%d+),(%d+),(.*)$')\n"
    "    if not cr then return health({-1, v}) end\n"
    "    cr = tonumber(cr); la = cr + tonumber(la); ex = cr + tonumber(ex)\n"
    "    if now < ex then\n"
    "      local lvl = 16 * (i - 1)\n"
    "      if now > la then la = now end\n"
    "      local thr = tonumber(ARGV[3])\n"
    "      local renew = thr < 0 or ex - now < thr\n"
    "      if renew then\n"
    "        local nex = now + tonumber(ARGV[2])\n"
    "        if nex > ex then ex = nex end\n"
    "      end\n"
    "      v = string.format('1,%d,%d,%d,%d,', cr, la - cr, ex - cr, tonumber(n) + 1) .. rest\n"
    "      if renew then\n"
    "        redis.call('SET', KEYS[i], v, 'PX', ex - now)\n"
    "        return health({2 + lvl, v})\n"
    "      end\n"
    "      redis.call('SET', KEYS[i], v, 'KEEPTTL')\n"
    "      return health({1 + lvl, v})\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return health({0})\n";

const char *rscript_body(enum rscript id)
{
    switch (id) {
    case RS_GET: return get_lua;
    case RS_PUT: return put_lua;
    case RS_TOUCH: return touch_lua;
    case RS_DEL: return del_lua;
    case RS_HEALTH: return health_lua;
    case RS_LOOKUP: return lookup_lua;
    default: return "";
    }
}
