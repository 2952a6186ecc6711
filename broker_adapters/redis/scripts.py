"""The Lua scripts that make each queue operation one atomic step on the server.

A script runs alone on the Redis server, so a receive cannot hand the same entry to two
consumers and an ack cannot leave an entry acknowledged but still scheduled for redelivery.
Scripts read the server's clock (``TIME``), so deadlines never depend on the clocks of the
hosts the consumers run on. The scripts are registered with redis-py's ``register_script``:
``EVALSHA`` first, and a reload when a restarted server answers ``NOSCRIPT``.

Every deadline is in milliseconds since the epoch on the server's clock. Keys are passed in
``KEYS`` (see ``keys.py``); ids and numbers in ``ARGV``.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis
from redis.commands.core import Script

# Helpers shared by the scripts below; Lua has no imports, so they are prepended.
_PRELUDE = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The delivery count Redis keeps in the group's pending entries list, or nil.
local function delivery_count(stream, group, id)
  local pending = redis.call('XPENDING', stream, group, id, id, 1)
  if #pending == 0 then
    return nil, nil
  end
  return tonumber(pending[1][4]), pending[1][2]
end

local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then
      return fields[i + 1]
    end
  end
  return nil
end
"""

# send: enqueue one message, or schedule it when delayed; drop a duplicate within the window.
# KEYS: stream, delayed zset, delayed messages hash, wakeup stream[, dedup key]
# ARGV: message id, delay ms, dedup window ms, field, value, field, value, ...
# Returns the id of the message in the queue: this one's, or the earlier duplicate's.
SEND = (
    _PRELUDE
    + """
if #KEYS >= 5 then
  local existing = redis.call('GET', KEYS[5])
  if existing then
    return existing
  end
  redis.call('SET', KEYS[5], ARGV[1], 'PX', ARGV[3])
end
local fields = {}
for i = 4, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
local delay = tonumber(ARGV[2])
if delay > 0 then
  local due = now_ms() + delay
  redis.call('HSET', KEYS[3], ARGV[1], cmsgpack.pack(fields))
  redis.call('ZADD', KEYS[2], due, ARGV[1])
  redis.call('XADD', KEYS[4], 'MAXLEN', 1, '*', 'due', due)
else
  redis.call('XADD', KEYS[1], '*', unpack(fields))
end
return ARGV[1]
"""
)

# take: the whole of one receive, so no entry is ever handed out twice or lost in between.
# 1. due delayed messages are appended to the stream;
# 2. in-flight entries whose deadline passed are claimed by this consumer (their delivery count
#    goes up); one whose receives would exceed max_receive_count goes to the dead-letter
#    stream instead, so a consumer that crashes on a message cannot loop on it forever;
# 3. new entries are read with XREADGROUP (without BLOCK, which scripts may not do);
# every entry handed out gets its deadline: now + visibility timeout.
# KEYS: stream, in-flight zset, delayed zset, delayed messages hash, wakeup stream
#       [, dead-letter stream]
# ARGV: group, consumer, count, visibility ms, max receive count (0: no redrive policy),
#       source queue name, dead-letter reason
# Returns {entries, wait hint ms (-1: nothing scheduled), the ids to XREAD the stream and the
# wakeup stream from},
# each entry {id, fields, delivery count}.
TAKE = (
    _PRELUDE
    + """
local stream, inflight, delayed = KEYS[1], KEYS[2], KEYS[3]
local delayed_messages, wakeup = KEYS[4], KEYS[5]
local group, consumer = ARGV[1], ARGV[2]
local count, visibility = tonumber(ARGV[3]), tonumber(ARGV[4])
local max_receives = tonumber(ARGV[5])
local now = now_ms()

-- Bounded per call, so a huge burst of due messages cannot stall the server in one script.
local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, 1000)
for _, token in ipairs(due) do
  local packed = redis.call('HGET', delayed_messages, token)
  if packed then
    redis.call('XADD', stream, '*', unpack(cmsgpack.unpack(packed)))
    redis.call('HDEL', delayed_messages, token)
  end
  redis.call('ZREM', delayed, token)
end

-- What this receive dead-lettered, {id, fields, receives}, for the adapter's watchers.
local reported = {}
local function dead_letter(id, fields, receives)
  reported[#reported + 1] = {id, fields, receives}
  local out = {}
  for i = 1, #fields, 2 do
    local name = fields[i]
    if name ~= 'barista-prior-attempts' and name ~= 'barista-dead-letter-reason'
        and name ~= 'barista-dead-letter-source' then
      out[#out + 1] = name
      out[#out + 1] = fields[i + 1]
    end
  end
  if not field(fields, 'barista-id') then
    out[#out + 1] = 'barista-id'
    out[#out + 1] = id
  end
  if not field(fields, 'barista-timestamp') then
    out[#out + 1] = 'barista-timestamp'
    out[#out + 1] = string.format('%.6f', tonumber(string.match(id, '^(%d+)')) / 1000)
  end
  out[#out + 1] = 'barista-prior-attempts'
  out[#out + 1] = tostring(receives)
  out[#out + 1] = 'barista-dead-letter-reason'
  out[#out + 1] = ARGV[7]
  out[#out + 1] = 'barista-dead-letter-source'
  out[#out + 1] = ARGV[6]
  redis.call('XADD', KEYS[6], '*', unpack(out))
  redis.call('XACK', stream, group, id)
  redis.call('XDEL', stream, id)
  redis.call('ZREM', inflight, id)
end

local taken = {}
-- Deadlines are set after the scan: until then a claimed entry keeps its expired score and
-- sits among the first #taken of the range (the others were removed), so the next page
-- starts after it, and an entry is never claimed twice in one receive (visibility 0).
while #taken < count do
  local expired = redis.call('ZRANGEBYSCORE', inflight, '-inf', now, 'LIMIT', #taken,
    count - #taken)
  if #expired == 0 then
    break
  end
  for _, id in ipairs(expired) do
    local claimed = redis.call('XCLAIM', stream, group, consumer, 0, id)
    if #claimed == 0 then
      -- Acknowledged or deleted by another client: nothing left to deliver.
      redis.call('ZREM', inflight, id)
    else
      local fields = claimed[1][2]
      local receives = delivery_count(stream, group, id)
      -- As wire.decode reads it: garbage or a negative count is 0, so a forged header
      -- cannot keep a crash-looping message out of the dead-letter stream.
      local prior = tonumber(field(fields, 'barista-prior-attempts') or '0') or 0
      prior = math.max(0, math.floor(prior))
      if max_receives > 0 and prior + receives > max_receives then
        dead_letter(id, fields, prior + receives - 1)
      else
        taken[#taken + 1] = {id, fields, receives}
      end
    end
  end
end
for _, entry in ipairs(taken) do
  redis.call('ZADD', inflight, now + visibility, entry[1])
end

if #taken < count then
  local read = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count - #taken,
    'STREAMS', stream, '>')
  if read then
    for _, entry in ipairs(read[1][2]) do
      redis.call('ZADD', inflight, now + visibility, entry[1])
      taken[#taken + 1] = {entry[1], entry[2], 1}
    end
  end
end

if #taken > 0 then
  return {taken, -1, '', '', reported}
end
local hint = -1
local next_delayed = redis.call('ZRANGE', delayed, 0, 0, 'WITHSCORES')
if #next_delayed > 0 then
  hint = tonumber(next_delayed[2]) - now
end
local next_deadline = redis.call('ZRANGE', inflight, 0, 0, 'WITHSCORES')
if #next_deadline > 0 then
  local wait = tonumber(next_deadline[2]) - now
  if hint < 0 or wait < hint then
    hint = wait
  end
end
-- XREADGROUP found nothing after the group's last-delivered-id, so any entry added from now on
-- comes after it: XREAD from there wakes on it (XINFO STREAM would copy entries' bodies).
local last_id = '0-0'
for _, info in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
  local fields = {}
  for i = 1, #info, 2 do
    fields[info[i]] = info[i + 1]
  end
  if fields['name'] == group then
    last_id = fields['last-delivered-id']
  end
end
local wakeup_id = '0-0'
local last_wakeup = redis.call('XREVRANGE', wakeup, '+', '-', 'COUNT', 1)
if #last_wakeup > 0 then
  wakeup_id = last_wakeup[1][1]
end
return {taken, hint, last_id, wakeup_id, reported}
"""
)

# ack: the message is done. XACK, then XDEL for queues (a topic's entry stays for the other
# subscriptions), and no more redelivery deadline.
# KEYS: stream, in-flight zset.  ARGV: group, entry id, delete (1/0).
# Returns 1 when the entry was still pending, 0 when someone settled it already.
ACK = """
local acked = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if acked == 1 and ARGV[3] == '1' then
  redis.call('XDEL', KEYS[1], ARGV[2])
end
redis.call('ZREM', KEYS[2], ARGV[2])
return acked
"""

# ack_many: ack for a batch (SQS's DeleteMessageBatch), one round trip instead of one each.
# KEYS: stream, in-flight zset.  ARGV: group, delete (1/0), entry id, ...
# Returns how many entries were still pending.
ACK_MANY = """
local ids = {}
for i = 3, #ARGV do
  ids[#ids + 1] = ARGV[i]
end
local acked = redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
if ARGV[2] == '1' then
  redis.call('XDEL', KEYS[1], unpack(ids))
end
redis.call('ZREM', KEYS[2], unpack(ids))
return acked
"""

# requeue: SQS's ChangeMessageVisibility. The entry stays pending; its deadline moves to
# now + delay, and the next receive after that claims it (counting one more delivery).
# The delivery count is the receipt: a stale delivery (its visibility ran out and someone else
# received it since) changes nothing.
# KEYS: stream, in-flight zset, wakeup stream.  ARGV: group, entry id, delivery count, delay ms.
REQUEUE = (
    _PRELUDE
    + """
local receives = delivery_count(KEYS[1], ARGV[1], ARGV[2])
if receives ~= tonumber(ARGV[3]) then
  return 0
end
local due = now_ms() + tonumber(ARGV[4])
redis.call('ZADD', KEYS[2], due, ARGV[2])
-- Wake long-polling receivers: no stream entry is added, so nothing else would.
redis.call('XADD', KEYS[3], 'MAXLEN', 1, '*', 'due', due)
return 1
"""
)

# dead_letter: move a received entry to the dead-letter stream (fields built by the caller,
# with the reason and carried headers) and remove it from its queue, in one step.
# KEYS: stream, in-flight zset, dead-letter stream.
# ARGV: group, entry id, delivery count, field, value, ...
DEAD_LETTER = (
    _PRELUDE
    + """
local receives = delivery_count(KEYS[1], ARGV[1], ARGV[2])
if receives ~= tonumber(ARGV[3]) then
  return 0
end
local fields = {}
for i = 4, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
redis.call('XADD', KEYS[3], '*', unpack(fields))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
"""
)

# release: on close, make this consumer's unsettled entries receivable at once (visibility 0).
# KEYS: stream, in-flight zset, wakeup stream.  ARGV: group, consumer, entry id, ...
RELEASE = (
    _PRELUDE
    + """
local now = now_ms()
local released = 0
for i = 3, #ARGV do
  local _, owner = delivery_count(KEYS[1], ARGV[1], ARGV[i])
  if owner == ARGV[2] then
    released = released + redis.call('ZADD', KEYS[2], 'XX', 'CH', now, ARGV[i])
  end
end
if released > 0 then
  redis.call('XADD', KEYS[3], 'MAXLEN', 1, '*', 'due', now)
end
return released
"""
)

# prune: forget consumers (processes) that hold nothing and have been idle a long time, so the
# group's consumer list does not grow with every restarted worker. A consumer with pending
# entries is kept: deleting it would drop its entries from the pending list.
# KEYS: stream.  ARGV: group, idle ms.  Returns how many were deleted.
PRUNE_CONSUMERS = """
local deleted = 0
for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local info = {}
  for i = 1, #consumer, 2 do
    info[consumer[i]] = consumer[i + 1]
  end
  if tonumber(info['pending']) == 0 and tonumber(info['idle']) > tonumber(ARGV[2]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
    deleted = deleted + 1
  end
end
return deleted
"""


@dataclass(frozen=True)
class Scripts:
    """The scripts registered on one client; calling one runs EVALSHA (and reloads if needed)."""

    send: Script
    take: Script
    ack: Script
    ack_many: Script
    requeue: Script
    dead_letter: Script
    release: Script
    prune_consumers: Script

    @classmethod
    def register(cls, client: redis.Redis) -> Scripts:
        return cls(
            send=client.register_script(SEND),
            take=client.register_script(TAKE),
            ack=client.register_script(ACK),
            ack_many=client.register_script(ACK_MANY),
            requeue=client.register_script(REQUEUE),
            dead_letter=client.register_script(DEAD_LETTER),
            release=client.register_script(RELEASE),
            prune_consumers=client.register_script(PRUNE_CONSUMERS),
        )
