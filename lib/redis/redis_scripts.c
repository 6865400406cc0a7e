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
 */
#include "redis_internal.h"

/* KEYS[1]; ARGV: now_ms, ttl_ms, threshold_ms (-1: sliding), peek (0/1) */
static const char get_lua[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if not v then return {0} end\n"
    "local cr, la, ex, n, rest = string.match(v, '^1,(%d+),(%d+),(%d+),(%d+),(.*)$')\n"
    "if not cr then return {-1, v} end\n"
    "cr = tonumber(cr); la = cr + tonumber(la); ex = cr + tonumber(ex)\n"
    "local now = tonumber(ARGV[1])\n"
    "if now >= ex then return {0} end\n"
    "if ARGV[4] == '1' then return {1, v} end\n"
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
    "  return {2, v}\n"
    "end\n"
    "redis.call('SET', KEYS[1], v, 'KEEPTTL')\n"
    "return {1, v}\n";

/* KEYS[1]; ARGV: now_ms, ttl_ms, if_absent (0/1), new record */
static const char put_lua[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "local live = 0\n"
    "if v then\n"
    "  local cr, ex = string.match(v, '^1,(%d+),%d+,(%d+),')\n"
    "  if not cr then\n"
    "    if ARGV[3] == '1' then return {-1, v} end\n"
    "  elseif tonumber(ARGV[1]) < tonumber(cr) + tonumber(ex) then\n"
    "    live = 1\n"
    "  end\n"
    "end\n"
    "if live == 1 and ARGV[3] == '1' then return {2, v} end\n"
    "redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[2])\n"
    "return {live}\n";

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

const char *rscript_body(enum rscript id)
{
    switch (id) {
    case RS_GET: return get_lua;
    case RS_PUT: return put_lua;
    case RS_TOUCH: return touch_lua;
    case RS_DEL: return del_lua;
    default: return "";
    }
}
