"""The Lua scripts of FIFO queues: SQS FIFO's order per message group, one atomic step each.

A FIFO queue is not a stream: a stream's consumer group hands entries out in stream order,
whatever their group, so it cannot hold back one group while another flows. Instead
(keys in ``keys.FifoKeys``):

- every message is an *entry* numbered by the queue's counter (``sequence``: SQS's
  SequenceNumber), its fields packed with MessagePack in ``messages``, its group in
  ``groups``, the time it may first be received in ``due`` and its receive count in
  ``receives`` (kept in Redis, so a consumer's crash does not reset it);
- each message group is a list of its entries in send order (``group_prefix`` + group id);
  an entry leaves the list only when it is acked or dead-lettered;
- ``inflight`` holds the visibility deadline of each entry in flight, ``busy`` how many
  entries of each group are in flight;
- ``ready`` holds the groups that have messages and none in flight, scored by the due time
  of their first entry. A receive takes from the ready group whose first entry is oldest,
  that group's entries from its head in order, then the next group, so groups flow to
  competing consumers in parallel while one group is never in two consumers' hands.

Invariant (kept by every script): a group with entries is in ``ready`` exactly when it has
no entry in flight. A visibility deadline that passed is applied by the next receive (or
the settlement that finds it), like the streams' reclaiming.

Every time is in milliseconds on the server's clock. ``ARGV[1]`` is always the queue's group
prefix; the first nine ``KEYS`` are always ``FifoKeys.state()`` (the dead-letter queue's nine
follow where a script writes to it).
"""

from __future__ import annotations

from dataclasses import dataclass

import redis
from redis.commands.core import Script

_PRELUDE = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function state(offset)
  return {messages = KEYS[offset + 1], groups = KEYS[offset + 2], due = KEYS[offset + 3],
    receives = KEYS[offset + 4], inflight = KEYS[offset + 5], ready = KEYS[offset + 6],
    busy = KEYS[offset + 7], sequence = KEYS[offset + 8], wakeup = KEYS[offset + 9]}
end

local own = state(0)
local group_prefix = ARGV[1]

local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then
      return fields[i + 1]
    end
  end
  return nil
end

-- Put the group in `ready` when it has entries and none in flight, take it out otherwise.
-- True when the group can be received from (so long polls are worth waking).
local function refresh(group)
  if redis.call('HEXISTS', own.busy, group) == 1 then
    redis.call('ZREM', own.ready, group)
    return false
  end
  local head = redis.call('LINDEX', group_prefix .. group, 0)
  if not head then
    redis.call('ZREM', own.ready, group)
    return false
  end
  redis.call('ZADD', own.ready, redis.call('ZSCORE', own.due, head) or 0, group)
  return true
end

-- One entry of the group is no longer in flight (the caller refreshes the group).
local function unbusy(group)
  if redis.call('HINCRBY', own.busy, group, -1) <= 0 then
    redis.call('HDEL', own.busy, group)
  end
end

-- Forget an entry (acked or dead-lettered); the caller refreshes its group.
local function remove(entry, group)
  if redis.call('ZREM', own.inflight, entry) == 1 then
    unbusy(group)
  end
  redis.call('LREM', group_prefix .. group, 1, entry)
  redis.call('HDEL', own.messages, entry)
  redis.call('HDEL', own.groups, entry)
  redis.call('HDEL', own.receives, entry)
  redis.call('ZREM', own.due, entry)
end

-- Add a message at the end of its group in queue q (this one or its dead-letter queue).
local function append(q, prefix, group, packed, due)
  local entry = tostring(redis.call('INCR', q.sequence))
  redis.call('HSET', q.messages, entry, packed)
  redis.call('HSET', q.groups, entry, group)
  redis.call('ZADD', q.due, due, entry)
  if redis.call('RPUSH', prefix .. group, entry) == 1
      and redis.call('HEXISTS', q.busy, group) == 0 then
    redis.call('ZADD', q.ready, due, group)
  end
  redis.call('XADD', q.wakeup, 'MAXLEN', 1, '*', 'due', due)
  return entry
end

local function wake(due)
  redis.call('XADD', own.wakeup, 'MAXLEN', 1, '*', 'due', due)
end
"""

# send: append one message to its group; drop a duplicate within the window.
# KEYS: state[, dedup key].  ARGV: group prefix, message id, group, delay ms, dedup window ms,
# field, value, ...
# Returns {message id, entry}: this message's, or the earlier duplicate's.
SEND = (
    _PRELUDE
    + """
if #KEYS >= 10 then
  local existing = redis.call('GET', KEYS[10])
  if existing then
    local id, entry = string.match(existing, '^(%S+) (%S+)$')
    return {id or existing, entry or ''}
  end
end
local fields = {}
for i = 6, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
local entry = append(own, group_prefix, ARGV[3], cmsgpack.pack(fields),
  now_ms() + tonumber(ARGV[4]))
if #KEYS >= 10 then
  redis.call('SET', KEYS[10], ARGV[2] .. ' ' .. entry, 'PX', ARGV[5])
end
return {ARGV[2], entry}
"""
)

# take: one receive. Deadlines that passed end (their groups become ready again); then the
# ready groups are taken from, oldest first entry first, each from its head in order, up to
# `count` entries; an entry whose receives would exceed max_receive_count goes to the
# dead-letter queue instead (which unblocks its group: the next entry comes after it).
# KEYS: state[, dead-letter queue's state].
# ARGV: group prefix, count, visibility ms, max receive count (0: no redrive policy), source
# queue name, dead-letter reason, dead-letter group prefix.
# Returns {entries, wait hint ms (-1: nothing scheduled), the wakeup stream's last id}, each
# entry {entry, fields, receive count}.
TAKE = (
    _PRELUDE
    + """
local count, visibility = tonumber(ARGV[2]), tonumber(ARGV[3])
local max_receives = tonumber(ARGV[4])
local now = now_ms()

local ended = {}
for _, entry in ipairs(redis.call('ZRANGEBYSCORE', own.inflight, '-inf', now,
    'LIMIT', 0, 1000)) do
  redis.call('ZREM', own.inflight, entry)
  local group = redis.call('HGET', own.groups, entry)
  if group then
    unbusy(group)
    ended[group] = true
  end
end
for group in pairs(ended) do
  refresh(group)
end

local dead = state(9)
local dead_lettered = 0
-- What this receive dead-lettered, {entry, fields, receives}, for the adapter's watchers.
local reported = {}
local function dead_letter(entry, group, fields, receives)
  reported[#reported + 1] = {entry, fields, receives}
  local out = {}
  for i = 1, #fields, 2 do
    local name = fields[i]
    if name ~= 'barista-prior-attempts' and name ~= 'barista-dead-letter-reason'
        and name ~= 'barista-dead-letter-source' then
      out[#out + 1] = name
      out[#out + 1] = fields[i + 1]
    end
  end
  out[#out + 1] = 'barista-prior-attempts'
  out[#out + 1] = tostring(receives)
  out[#out + 1] = 'barista-dead-letter-reason'
  out[#out + 1] = ARGV[6]
  out[#out + 1] = 'barista-dead-letter-source'
  out[#out + 1] = ARGV[5]
  append(dead, ARGV[7], group, cmsgpack.pack(out), now)
  remove(entry, group)
  dead_lettered = dead_lettered + 1
end

local taken = {}
-- Bounded per call, so a long run of crash-looping messages cannot stall the server.
while #taken < count and dead_lettered < 1000 do
  local next_group = redis.call('ZRANGEBYSCORE', own.ready, '-inf', now, 'LIMIT', 0, 1)
  if #next_group == 0 then
    break
  end
  local group = next_group[1]
  local took, removed = 0, 0
  for _, entry in ipairs(redis.call('LRANGE', group_prefix .. group, 0, count - #taken - 1)) do
    -- A message not yet due holds back the rest of its group: order comes first.
    if tonumber(redis.call('ZSCORE', own.due, entry) or 0) > now then
      break
    end
    local packed = redis.call('HGET', own.messages, entry)
    if not packed then
      remove(entry, group)
      removed = removed + 1
    else
      local fields = cmsgpack.unpack(packed)
      local receives = redis.call('HINCRBY', own.receives, entry, 1)
      -- As wire.decode reads it: garbage or a negative count is 0.
      local prior = tonumber(field(fields, 'barista-prior-attempts') or '0') or 0
      prior = math.max(0, math.floor(prior))
      if max_receives > 0 and prior + receives > max_receives then
        dead_letter(entry, group, fields, prior + receives - 1)
        removed = removed + 1
      else
        redis.call('ZADD', own.inflight, now + visibility, entry)
        taken[#taken + 1] = {entry, fields, receives}
        took = took + 1
      end
    end
  end
  if took > 0 then
    redis.call('HINCRBY', own.busy, group, took)
    redis.call('ZREM', own.ready, group)
  else
    -- Everything looked at left the queue, or the head is not due yet: rescore the group
    -- (a head that is not due drops out of this receive's range).
    refresh(group)
  end
end

local hint = -1
local next_ready = redis.call('ZRANGE', own.ready, 0, 0, 'WITHSCORES')
if #next_ready > 0 and tonumber(next_ready[2]) > now then
  hint = tonumber(next_ready[2]) - now
end
local next_deadline = redis.call('ZRANGE', own.inflight, 0, 0, 'WITHSCORES')
if #next_deadline > 0 then
  local wait = math.max(0, tonumber(next_deadline[2]) - now)
  if hint < 0 or wait < hint then
    hint = wait
  end
end
local wakeup_id = '0-0'
local last_wakeup = redis.call('XREVRANGE', own.wakeup, '+', '-', 'COUNT', 1)
if #last_wakeup > 0 then
  wakeup_id = last_wakeup[1][1]
end
return {taken, hint, wakeup_id, reported}
"""
)

# ack: delete entries whose receive count is still the one the caller got (a receipt that
# ended, because the visibility ran out and another receive took the message, deletes
# nothing: the message stays with its new holder and its group stays held).
# KEYS: state.  ARGV: group prefix, entry, receive count, entry, receive count, ...
# Returns how many were deleted.
ACK = (
    _PRELUDE
    + """
local touched, acked = {}, 0
for i = 2, #ARGV, 2 do
  local entry = ARGV[i]
  local group = redis.call('HGET', own.groups, entry)
  if group and redis.call('HGET', own.receives, entry) == ARGV[i + 1] then
    remove(entry, group)
    touched[group] = true
    acked = acked + 1
  end
end
local woken = false
for group in pairs(touched) do
  woken = refresh(group) or woken
end
if woken then
  wake(now_ms())
end
return acked
"""
)

# requeue: SQS's ChangeMessageVisibility (and nack): the entry stays in flight until
# now + delay; with delay 0 it is visible at once and its group is free again.
# KEYS: state.  ARGV: group prefix, entry, receive count, delay ms.
# Returns 1 when the entry was in flight for the caller, 0 when its receipt ended (its
# deadline had passed, or someone else received it since).
REQUEUE = (
    _PRELUDE
    + """
local entry = ARGV[2]
local group = redis.call('HGET', own.groups, entry)
if not group or redis.call('HGET', own.receives, entry) ~= ARGV[3] then
  return 0
end
local deadline = redis.call('ZSCORE', own.inflight, entry)
if not deadline then
  return 0
end
local now = now_ms()
local delay = tonumber(ARGV[4])
local expired = tonumber(deadline) <= now
if expired or delay == 0 then
  redis.call('ZREM', own.inflight, entry)
  unbusy(group)
  if refresh(group) then
    wake(now)
  end
  return expired and 0 or 1
end
redis.call('ZADD', own.inflight, now + delay, entry)
return 1
"""
)

# dead_letter: move an entry to the end of its group in the dead-letter queue (fields built by
# the caller, with the reason) and free its group here.
# KEYS: state, dead-letter queue's state.
# ARGV: group prefix, dead-letter group prefix, entry, receive count, field, value, ...
DEAD_LETTER = (
    _PRELUDE
    + """
local entry = ARGV[3]
local group = redis.call('HGET', own.groups, entry)
if not group or redis.call('HGET', own.receives, entry) ~= ARGV[4] then
  return 0
end
local fields = {}
for i = 5, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
local now = now_ms()
append(state(9), ARGV[2], group, cmsgpack.pack(fields), now)
remove(entry, group)
if refresh(group) then
  wake(now)
end
return 1
"""
)

# release: on close, this consumer's entries still in flight for it are visible at once.
# KEYS: state.  ARGV: group prefix, entry, receive count, ...
RELEASE = (
    _PRELUDE
    + """
local touched, released = {}, 0
for i = 2, #ARGV, 2 do
  local entry = ARGV[i]
  local group = redis.call('HGET', own.groups, entry)
  if group and redis.call('HGET', own.receives, entry) == ARGV[i + 1]
      and redis.call('ZREM', own.inflight, entry) == 1 then
    unbusy(group)
    touched[group] = true
    released = released + 1
  end
end
local woken = false
for group in pairs(touched) do
  woken = refresh(group) or woken
end
if woken then
  wake(now_ms())
end
return released
"""
)

# measure: {messages, in flight, delayed (not due yet)} at one instant of the server's clock.
# KEYS: state.  ARGV: group prefix (unused).
MEASURE = (
    _PRELUDE
    + """
return {redis.call('HLEN', own.messages), redis.call('ZCARD', own.inflight),
  redis.call('ZCOUNT', own.due, '(' .. now_ms(), '+inf')}
"""
)


@dataclass(frozen=True)
class FifoScripts:
    """The FIFO scripts registered on one client (EVALSHA, reloaded after a restart)."""

    send: Script
    take: Script
    ack: Script
    requeue: Script
    dead_letter: Script
    release: Script
    measure: Script

    @classmethod
    def register(cls, client: redis.Redis) -> FifoScripts:
        return cls(
            send=client.register_script(SEND),
            take=client.register_script(TAKE),
            ack=client.register_script(ACK),
            requeue=client.register_script(REQUEUE),
            dead_letter=client.register_script(DEAD_LETTER),
            release=client.register_script(RELEASE),
            measure=client.register_script(MEASURE),
        )
