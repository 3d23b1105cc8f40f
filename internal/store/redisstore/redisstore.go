// Package redisstore owns the Redis backend of store.Store. Every key of a
// namespace starts with the hash tag "{svc:region}:", so one namespace lives
// in one hash slot and a Lua script may touch all of it, also on Redis
// Cluster. Each Commit is a single Lua script, which Redis runs atomically.
//
// Layout, with P = "{svc:region}:":
//
//	P r:<key>    hash  v=version, d=value, x=the record's index entries
//	P i:<index>  zset  members term\x00key, all with score 0 (lex order)
//	P k:<idem>   hash  f=fingerprint, r=stored result; PEXPIREd with its TTL
//	P e          list  JSON events; an event's Seq is its list position
package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/innovationsmotorer/motor/internal/store"
)

const defaultLimit = 50

// commitScript applies one store.Write. Redis does not roll back a script
// that fails halfway, so every check (idempotency, then all versions) runs
// before the first write, and the writes cannot fail on valid input.
//
// ARGV: prefix, idempotency key ("" for none), fingerprint, result, number
// of puts, number of events, idempotency TTL in ms ("0": none); then per put
// key, expected version, delete ("1"/"0"), value, encoded index entries;
// then one JSON string per event.
// Values travel as separate arguments, never inside JSON, so arbitrary bytes
// survive. KEYS[1] is the event list; it routes the call to the namespace's
// slot on a cluster.
var commitScript = redis.NewScript(`
local p = ARGV[1]
local idem = ARGV[2]
if idem ~= '' then
  local prev = redis.call('HMGET', p .. 'k:' .. idem, 'f', 'r')
  if prev[1] then
    if prev[1] == ARGV[3] then
      return {'replay', prev[2] or ''}
    end
    return {'mismatch', idem}
  end
end

local nputs = tonumber(ARGV[5])
local nevents = tonumber(ARGV[6])
local puts = {}
local a = 8
for i = 1, nputs do
  puts[i] = {key = ARGV[a], ver = tonumber(ARGV[a + 1]), del = ARGV[a + 2] == '1', val = ARGV[a + 3], x = ARGV[a + 4]}
  a = a + 5
end

for _, put in ipairs(puts) do
  local cur = redis.call('HGET', p .. 'r:' .. put.key, 'v')
  if cur then
    cur = tonumber(cur)
    if put.ver == 0 then
      return {'exists', put.key}
    end
    if cur ~= put.ver then
      return {'conflict', put.key, cur}
    end
    put.cur = cur
  elseif put.ver ~= 0 then
    return {'conflict', put.key, 0}
  else
    put.cur = 0
  end
end

-- entries splits "index\0term\0index\0term\0..." into {index, term} pairs.
local function entries(s)
  local out = {}
  local pos = 1
  while pos <= #s do
    local i = string.find(s, '\0', pos, true)
    local t = string.find(s, '\0', i + 1, true)
    out[#out + 1] = {string.sub(s, pos, i - 1), string.sub(s, i + 1, t - 1)}
    pos = t + 1
  end
  return out
end

local out = {'ok'}
for _, put in ipairs(puts) do
  local rk = p .. 'r:' .. put.key
  -- A record that does not exist yet has no entries to compare with.
  local old = ''
  if put.cur > 0 then
    old = redis.call('HGET', rk, 'x') or ''
  end
  if old ~= put.x then
    local new = entries(put.x)
    local keep, had = {}, {}
    for _, e in ipairs(new) do
      keep[e[1] .. '\0' .. e[2]] = true
    end
    for _, e in ipairs(entries(old)) do
      local id = e[1] .. '\0' .. e[2]
      had[id] = true
      if not keep[id] then
        redis.call('ZREM', p .. 'i:' .. e[1], e[2] .. '\0' .. put.key)
      end
    end
    for _, e in ipairs(new) do
      if not had[e[1] .. '\0' .. e[2]] then
        redis.call('ZADD', p .. 'i:' .. e[1], 0, e[2] .. '\0' .. put.key)
      end
    end
  end
  if put.del then
    redis.call('DEL', rk)
    out[#out + 1] = 0
  else
    local v = put.cur + 1
    redis.call('HSET', rk, 'v', v, 'd', put.val, 'x', put.x)
    out[#out + 1] = v
  end
end

if idem ~= '' then
  redis.call('HSET', p .. 'k:' .. idem, 'f', ARGV[3], 'r', ARGV[4])
  if ARGV[7] ~= '0' then
    redis.call('PEXPIRE', p .. 'k:' .. idem, ARGV[7])
  end
end
for i = 0, nevents - 1 do
  redis.call('RPUSH', p .. 'e', ARGV[a + i])
end
return out
`)

// scanScript reads one page of an index together with its records, in one
// atomic step, so an item never points at a record that is already gone.
//
// ARGV: prefix, index, ZRANGEBYLEX min, max, limit, reverse (1: highest
// first, ZREVRANGEBYLEX). Reply: more (0/1), then
// member, version, value per item. KEYS[1] is the index (slot routing).
var scanScript = redis.NewScript(`
local p = ARGV[1]
local limit = tonumber(ARGV[5])
local members
if ARGV[6] == '1' then
  members = redis.call('ZREVRANGEBYLEX', p .. 'i:' .. ARGV[2], ARGV[4], ARGV[3], 'LIMIT', 0, limit + 1)
else
  members = redis.call('ZRANGEBYLEX', p .. 'i:' .. ARGV[2], ARGV[3], ARGV[4], 'LIMIT', 0, limit + 1)
end
local out = {0}
local n = 0
for _, m in ipairs(members) do
  local z = string.find(m, '\0', 1, true)
  if z then
    local rec = redis.call('HMGET', p .. 'r:' .. string.sub(m, z + 1), 'v', 'd')
    if rec[1] then
      if n == limit then
        out[1] = 1
        break
      end
      n = n + 1
      out[#out + 1] = m
      out[#out + 1] = rec[1]
      out[#out + 1] = rec[2]
    end
  end
end
return out
`)

// intersectScript reads one page of an index narrowed to the records that
// are on other indexes too (store.Query.Also), by leapfrogging: each step
// seeks every other index to the entry the scan stands on, and a miss jumps
// the scan to the next entry the other index holds. A script blocks the
// server while it runs, so it stops after a budget of steps and answers
// where to go on.
//
// ARGV: prefix, index, min, max, index prefix, limit, budget, n, then n
// pairs of other index and its prefix. Reply: state (0 end, 1 more items,
// 2 budget spent), resume min, then member, version, value per item.
var intersectScript = redis.NewScript(`
local p = ARGV[1]
local akey = p .. 'i:' .. ARGV[2]
local lo, hi, aprefix = ARGV[3], ARGV[4], ARGV[5]
local limit, budget, n = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local others = {}
for j = 1, n do
  others[j] = {p .. 'i:' .. ARGV[7 + 2 * j], ARGV[8 + 2 * j]}
end
local out = {0, ''}
local count, steps = 0, 0
while true do
  if steps == budget then
    out[1] = 2
    out[2] = lo
    return out
  end
  steps = steps + 1
  local m = redis.call('ZRANGEBYLEX', akey, lo, hi, 'LIMIT', 0, 1)[1]
  if not m then
    return out
  end
  local rest = string.sub(m, #aprefix + 1)
  local jump = nil
  for j = 1, n do
    local target = others[j][2] .. rest
    local hit = redis.call('ZRANGEBYLEX', others[j][1], '[' .. target, '+', 'LIMIT', 0, 1)[1]
    if not hit or string.sub(hit, 1, #others[j][2]) ~= others[j][2] then
      return out
    end
    if hit ~= target then
      jump = string.sub(hit, #others[j][2] + 1)
      break
    end
  end
  if jump then
    lo = '[' .. aprefix .. jump
  else
    local z = string.find(m, '\0', 1, true)
    if z then
      local rec = redis.call('HMGET', p .. 'r:' .. string.sub(m, z + 1), 'v', 'd')
      if rec[1] then
        if count == limit then
          out[1] = 1
          return out
        end
        count = count + 1
        out[#out + 1] = m
        out[#out + 1] = rec[1]
        out[#out + 1] = rec[2]
      end
    end
    lo = '(' .. m
  end
end
`)

// intersectBudget bounds the steps of one intersectScript call: about a
// millisecond of the server's time.
const intersectBudget = 2000

// Store is a store.Store on one Redis server. It is safe for concurrent use.
type Store struct {
	rdb *redis.Client
	// commits pipelines concurrent Commits (group.go).
	commits commits
	// stopMetrics unregisters the pool-stats callbacks on Close.
	stopMetrics chan struct{}
	closeOnce   sync.Once
}

var (
	_ store.Store     = (*Store)(nil)
	_ store.Scrubber  = (*Store)(nil)
	_ store.EventTail = (*Store)(nil)
)

// Open connects to url ("redis://host:port[/db]"; go-redis URL options such
// as pool_size or dial_timeout are honoured), instruments the client with
// OpenTelemetry tracing and metrics from the global providers, and checks
// that the server answers. A server that cannot be reached yields an error
// wrapping store.ErrUnavailable.
func Open(ctx context.Context, url string) (*Store, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redisstore.Open: %w", err)
	}
	// Request deadlines come from the caller's context; the socket
	// timeouts only bound calls whose context has none.
	opt.ContextTimeoutEnabled = true
	// A retried EVALSHA whose first reply was lost could run the script
	// twice: a Commit that only appends events would append them twice,
	// and a retried compare-and-set would report a conflict for a write
	// that did happen. Callers retry instead, with an idempotency key.
	opt.MaxRetries = -1
	// Maintenance notifications are a Redis Enterprise feature; probing
	// for them on every connection only adds a failing round trip.
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	setDefault(&opt.PoolSize, 64)
	setDefault(&opt.MinIdleConns, 4)
	setDefault(&opt.MaxIdleConns, 32)
	setDefault(&opt.DialTimeout, 2*time.Second)
	setDefault(&opt.ReadTimeout, 2*time.Second)
	setDefault(&opt.WriteTimeout, 2*time.Second)
	setDefault(&opt.PoolTimeout, 3*time.Second)
	setDefault(&opt.ConnMaxIdleTime, 5*time.Minute)
	setDefault(&opt.DialerRetries, 2)

	rdb := redis.NewClient(opt)
	s := &Store{rdb: rdb, stopMetrics: make(chan struct{})}
	s.commits.rdb = rdb
	// Statements stay out of spans: they carry record values, which may
	// hold personal data. The caller attribute would always name this
	// package and costs a stack walk per command.
	if err := redisotel.InstrumentTracing(rdb, redisotel.WithDBStatement(false), redisotel.WithCallerEnabled(false)); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("redisstore.Open: redisotel.InstrumentTracing: %w", err)
	}
	if err := redisotel.InstrumentMetrics(rdb, redisotel.WithCloseChan(s.stopMetrics)); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("redisstore.Open: redisotel.InstrumentMetrics: %w", err)
	}
	if err := s.Ping(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("redisstore.Open: %w", err)
	}
	// Loading up front makes the first EVALSHA hit; Run still falls back to
	// EVAL if the server's script cache is flushed later.
	for _, script := range []*redis.Script{commitScript, scanScript, intersectScript} {
		if err := script.Load(ctx, rdb).Err(); err != nil {
			_ = s.Close()
			return nil, mapErr("redisstore.Open", err)
		}
	}
	return s, nil
}

func setDefault[T comparable](field *T, value T) {
	var zero T
	if *field == zero {
		*field = value
	}
}

// Close closes the connection pool.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.stopMetrics) })
	if err := s.rdb.Close(); err != nil {
		return fmt.Errorf("redisstore.Close: %w", err)
	}
	return nil
}

// Ping sends PING.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return mapErr("redisstore.Ping", err)
	}
	return nil
}

// mapErr wraps err for op, adding store.ErrUnavailable when the failure is
// the server's reachability or state rather than the request: anything that
// is not a reply from Redis (dial and I/O errors, timeouts including the
// context's deadline, a closed pool), and the replies Redis sends while it
// cannot serve. A caller's cancellation is the caller's, not the backend's.
func mapErr(op string, err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", op, err)
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		msg := rerr.Error()
		transient := false
		for _, prefix := range []string{"LOADING", "BUSY", "MASTERDOWN", "READONLY", "CLUSTERDOWN", "TRYAGAIN", "NOREPLICAS", "OOM"} {
			if strings.HasPrefix(msg, prefix) {
				transient = true
				break
			}
		}
		if !transient {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	return fmt.Errorf("%s: %w: %w", op, store.ErrUnavailable, err)
}

func prefix(ns store.Namespace) string { return "{" + ns.String() + "}:" }

// Get returns the record stored under key.
func (s *Store) Get(ctx context.Context, ns store.Namespace, key string) (store.Record, error) {
	if err := store.ValidKey(ns, key); err != nil {
		return store.Record{}, fmt.Errorf("redisstore.Get: %w", err)
	}
	vals, err := s.rdb.HMGet(ctx, prefix(ns)+"r:"+key, "v", "d").Result()
	if err != nil {
		return store.Record{}, mapErr("redisstore.Get", err)
	}
	if vals[0] == nil {
		return store.Record{}, fmt.Errorf("redisstore.Get %q: %w", key, store.ErrNotFound)
	}
	rec, err := decodeRecord(key, vals[0], vals[1])
	if err != nil {
		return store.Record{}, fmt.Errorf("redisstore.Get: %w", err)
	}
	return rec, nil
}

func decodeRecord(key string, version, value any) (store.Record, error) {
	vs, ok1 := version.(string)
	data, ok2 := value.(string)
	if !ok1 || !ok2 {
		return store.Record{}, fmt.Errorf("record %q: unexpected reply types %T, %T", key, version, value)
	}
	v, err := strconv.ParseInt(vs, 10, 64)
	if err != nil {
		return store.Record{}, fmt.Errorf("record %q: version: %w", key, err)
	}
	return store.Record{Key: key, Version: v, Value: []byte(data)}, nil
}

// encodeEntries sorts and deduplicates p's index entries so that an
// unchanged set encodes identically and the script can skip the indexes.
func encodeEntries(p store.Put) string {
	if p.Delete || len(p.Index) == 0 {
		return ""
	}
	es := slices.Clone(p.Index)
	slices.SortFunc(es, func(a, b store.IndexEntry) int {
		if c := strings.Compare(a.Index, b.Index); c != 0 {
			return c
		}
		return strings.Compare(a.Term, b.Term)
	})
	es = slices.Compact(es)
	var b strings.Builder
	for _, e := range es {
		b.WriteString(e.Index)
		b.WriteByte(0)
		b.WriteString(e.Term)
		b.WriteByte(0)
	}
	return b.String()
}

// Commit applies w with one script call (EVALSHA), pipelined with the
// Commits of other callers under concurrency (group.go).
func (s *Store) Commit(ctx context.Context, ns store.Namespace, w store.Write) (store.WriteResult, error) {
	if err := store.ValidWrite(ns, w); err != nil {
		return store.WriteResult{}, fmt.Errorf("redisstore.Commit: %w", err)
	}
	p := prefix(ns)
	args := make([]any, 0, 7+5*len(w.Puts)+len(w.Events))
	if w.Idempotency != nil {
		args = append(args, p, w.Idempotency.Key, w.Idempotency.Fingerprint, w.Idempotency.Result)
	} else {
		args = append(args, p, "", "", "")
	}
	var ttl int64
	if w.Idempotency != nil && w.Idempotency.TTL > 0 {
		ttl = max(1, w.Idempotency.TTL.Milliseconds())
	}
	args = append(args, len(w.Puts), len(w.Events), ttl)
	for _, put := range w.Puts {
		del := "0"
		if put.Delete {
			del = "1"
		}
		args = append(args, put.Key, put.Version, del, put.Value, encodeEntries(put))
	}
	now := time.Now().UTC()
	for _, ev := range w.Events {
		// Seq is the list position, known only inside the script; it is
		// filled in when reading.
		ev.Seq = 0
		if ev.Time.IsZero() {
			ev.Time = now
		}
		data, err := json.Marshal(ev)
		if err != nil {
			return store.WriteResult{}, fmt.Errorf("redisstore.Commit: encode event: %w", err)
		}
		args = append(args, data)
	}

	reply, err := s.commits.run(ctx, []string{p + "e"}, args)
	if err != nil {
		return store.WriteResult{}, mapErr("redisstore.Commit", err)
	}
	status, _ := reply[0].(string)
	switch status {
	case "ok":
		res := store.WriteResult{Versions: make([]int64, 0, len(reply)-1)}
		for _, v := range reply[1:] {
			n, ok := v.(int64)
			if !ok {
				return store.WriteResult{}, fmt.Errorf("redisstore.Commit: unexpected version %T", v)
			}
			res.Versions = append(res.Versions, n)
		}
		if w.Idempotency != nil {
			res.Result = w.Idempotency.Result
		}
		return res, nil
	case "replay":
		result, _ := reply[1].(string)
		return store.WriteResult{Replayed: true, Result: []byte(result)}, nil
	case "exists":
		return store.WriteResult{}, fmt.Errorf("redisstore.Commit: key %q: %w", reply[1], store.ErrExists)
	case "conflict":
		return store.WriteResult{}, fmt.Errorf("redisstore.Commit: key %q: version %v: %w", reply[1], reply[2], store.ErrConflict)
	case "mismatch":
		return store.WriteResult{}, fmt.Errorf("redisstore.Commit: idempotency key %q: %w", reply[1], store.ErrIdempotencyMismatch)
	}
	return store.WriteResult{}, fmt.Errorf("redisstore.Commit: unexpected script reply %q", reply)
}

// lexRange turns a query into ZRANGEBYLEX bounds over term\x00key members.
// The cursor bounds the range from below, or from above when reversed.
func lexRange(q store.Query) (lo, hi string) {
	lo = "[" + q.Prefix
	// Start at the later of prefix and cursor, so that a cursor from below
	// the prefix range cannot let other terms through.
	if !q.Reverse && q.After != "" && q.After >= q.Prefix {
		lo = "(" + q.After
	}
	hi = "+"
	end := store.PrefixEnd(q.Prefix)
	if end != "" {
		hi = "(" + end
	}
	// Reversed, end at the earlier of the range's end and the cursor; a
	// cursor below the prefix range leaves the range empty.
	if q.Reverse && q.After != "" && (end == "" || q.After < end) {
		hi = "(" + q.After
	}
	return lo, hi
}

// Scan reads one page of an index in term, then key order (the reverse of
// it for a reversed query).
func (s *Store) Scan(ctx context.Context, ns store.Namespace, q store.Query) (store.Page, error) {
	if err := store.ValidQuery(ns, q); err != nil {
		return store.Page{}, fmt.Errorf("redisstore.Scan: %w", err)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	p := prefix(ns)
	lo, hi := lexRange(q)
	if len(q.Also) > 0 && q.Reverse {
		return s.intersectReversed(ctx, ns, q, limit)
	}
	if len(q.Also) > 0 {
		return s.intersect(ctx, ns, q, lo, hi, limit)
	}
	reverse := 0
	if q.Reverse {
		reverse = 1
	}
	reply, err := scanScript.Run(ctx, s.rdb, []string{p + "i:" + q.Index}, p, q.Index, lo, hi, limit, reverse).Slice()
	if err != nil {
		return store.Page{}, mapErr("redisstore.Scan", err)
	}
	more, _ := reply[0].(int64)
	items, err := scanItems(reply[1:], nil)
	if err != nil {
		return store.Page{}, err
	}
	return store.Page{More: more == 1, Items: items}, nil
}

// scanItems appends the items of a scan script's reply (member, version,
// value per item) to items.
func scanItems(reply []any, items []store.Item) ([]store.Item, error) {
	for i := 0; i+2 < len(reply); i += 3 {
		member, _ := reply[i].(string)
		term, key, ok := strings.Cut(member, "\x00")
		if !ok {
			return nil, fmt.Errorf("redisstore.Scan: corrupt index member %q", member)
		}
		rec, err := decodeRecord(key, reply[i+1], reply[i+2])
		if err != nil {
			return nil, fmt.Errorf("redisstore.Scan: %w", err)
		}
		items = append(items, store.Item{Term: term, Record: rec, Cursor: member})
	}
	return items, nil
}

// intersect runs intersectScript until the page is full, the scan ends, or
// the context does; each run is bounded, so a sparse intersection costs
// several short scripts instead of one long block of the server.
func (s *Store) intersect(ctx context.Context, ns store.Namespace, q store.Query, lo, hi string, limit int) (store.Page, error) {
	p := prefix(ns)
	keys := []string{p + "i:" + q.Index}
	for _, a := range q.Also {
		keys = append(keys, p+"i:"+a.Index)
	}
	var page store.Page
	for {
		args := []any{p, q.Index, lo, hi, q.Prefix, limit - len(page.Items), intersectBudget, len(q.Also)}
		for _, a := range q.Also {
			args = append(args, a.Index, a.Prefix)
		}
		reply, err := intersectScript.Run(ctx, s.rdb, keys, args...).Slice()
		if err != nil {
			return store.Page{}, mapErr("redisstore.Scan", err)
		}
		state, _ := reply[0].(int64)
		if page.Items, err = scanItems(reply[2:], page.Items); err != nil {
			return store.Page{}, err
		}
		switch state {
		case 0:
			return page, nil
		case 1:
			page.More = true
			return page, nil
		}
		// The budget ran out: go on where the script stopped (with the page
		// full, only to learn whether another match follows).
		lo, _ = reply[1].(string)
		if err := ctx.Err(); err != nil {
			return store.Page{}, fmt.Errorf("redisstore.Scan: %w", err)
		}
	}
}

// intersectReversed is an intersection read highest first: the reversed
// scan of q's index, a batch at a time, keeping the entries every index of
// Also holds too (one ZSCORE each, pipelined). The intersection script
// jumps upwards only, so a reversed one steps entry by entry instead.
func (s *Store) intersectReversed(ctx context.Context, ns store.Namespace, q store.Query, limit int) (store.Page, error) {
	p := prefix(ns)
	scan := q
	scan.Also, scan.Limit = nil, max(limit, 50)
	var page store.Page
	for {
		batch, err := s.Scan(ctx, ns, scan)
		if err != nil {
			return store.Page{}, err
		}
		pipe := s.rdb.Pipeline()
		checks := make([][]*redis.FloatCmd, len(batch.Items))
		for i, it := range batch.Items {
			rest := strings.TrimPrefix(it.Cursor, q.Prefix)
			for _, a := range q.Also {
				checks[i] = append(checks[i], pipe.ZScore(ctx, p+"i:"+a.Index, a.Prefix+rest))
			}
		}
		if len(batch.Items) > 0 {
			if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
				return store.Page{}, mapErr("redisstore.Scan", err)
			}
		}
		for i, it := range batch.Items {
			on := true
			for _, c := range checks[i] {
				if c.Err() != nil {
					on = false
				}
			}
			if !on {
				continue
			}
			if len(page.Items) == limit {
				page.More = true
				return page, nil
			}
			page.Items = append(page.Items, it)
		}
		if !batch.More {
			return page, nil
		}
		scan.After = batch.Items[len(batch.Items)-1].Cursor
		if err := ctx.Err(); err != nil {
			return store.Page{}, fmt.Errorf("redisstore.Scan: %w", err)
		}
	}
}

// Count is one ZLEXCOUNT over the index's sorted set: the Lua scripts
// change entries and records together, so every entry has its record.
func (s *Store) Count(ctx context.Context, ns store.Namespace, index, termPrefix string) (int64, error) {
	q := store.Query{Index: index, Prefix: termPrefix}
	if err := store.ValidQuery(ns, q); err != nil {
		return 0, fmt.Errorf("redisstore.Count: %w", err)
	}
	lo, hi := lexRange(q)
	n, err := s.rdb.ZLexCount(ctx, prefix(ns)+"i:"+index, lo, hi).Result()
	if err != nil {
		return 0, mapErr("redisstore.Count", err)
	}
	return n, nil
}

// Scrub asks the server to rewrite its append-only file (BGREWRITEAOF)
// and, when it keeps RDB snapshots, to take a new one, so values erased
// before the call leave its files. A rewrite already running may have
// started before the erasure, so Scrub waits for it to end and asks again.
// Where CONFIG is not allowed (some managed services), it rewrites the AOF
// and leaves snapshots to the service's own schedule.
func (s *Store) Scrub(ctx context.Context) error {
	aof, rdb := true, false
	if cfg, err := s.rdb.ConfigGet(ctx, "appendonly").Result(); err == nil {
		aof = cfg["appendonly"] == "yes"
	}
	if cfg, err := s.rdb.ConfigGet(ctx, "save").Result(); err == nil {
		rdb = cfg["save"] != ""
	}
	for aof {
		err := s.rdb.BgRewriteAOF(ctx).Err()
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "already in progress") {
			return mapErr("redisstore.Scrub", err)
		}
		t := time.NewTimer(200 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("redisstore.Scrub: %w", ctx.Err())
		case <-t.C:
		}
	}
	if rdb {
		// SCHEDULE: run after the AOF rewrite instead of failing next to it.
		if err := s.rdb.Do(ctx, "BGSAVE", "SCHEDULE").Err(); err != nil {
			return mapErr("redisstore.Scrub", err)
		}
	}
	return nil
}

// Events returns events with Seq > after, oldest first. limit ≤ 0 means 50.
func (s *Store) Events(ctx context.Context, ns store.Namespace, after int64, limit int) ([]store.Event, error) {
	if err := store.ValidNamespace(ns); err != nil {
		return nil, fmt.Errorf("redisstore.Events: %w", err)
	}
	if limit <= 0 {
		limit = defaultLimit
	}
	after = max(after, 0)
	raw, err := s.rdb.LRange(ctx, prefix(ns)+"e", after, after+int64(limit)-1).Result()
	if err != nil {
		return nil, mapErr("redisstore.Events", err)
	}
	out := make([]store.Event, 0, len(raw))
	for i, data := range raw {
		var ev store.Event
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			return nil, fmt.Errorf("redisstore.Events: event %d: %w", after+int64(i)+1, err)
		}
		ev.Seq = after + int64(i) + 1
		out = append(out, ev)
	}
	return out, nil
}

// EventsBefore returns events with Seq < before, newest first. The event
// list is numbered from 1 by its place and only grows, so once its length
// is read, the range below it holds the same events however many follow.
// limit ≤ 0 means 50.
func (s *Store) EventsBefore(ctx context.Context, ns store.Namespace, before int64, limit int) ([]store.Event, error) {
	if err := store.ValidNamespace(ns); err != nil {
		return nil, fmt.Errorf("redisstore.EventsBefore: %w", err)
	}
	if limit <= 0 {
		limit = defaultLimit
	}
	key := prefix(ns) + "e"
	n, err := s.rdb.LLen(ctx, key).Result()
	if err != nil {
		return nil, mapErr("redisstore.EventsBefore", err)
	}
	if before <= 0 || before > n+1 {
		before = n + 1
	}
	if before <= 1 {
		return nil, nil
	}
	// Seq k sits at index k-1: the page is the indexes first..before-2.
	first := max(before-1-int64(limit), 0)
	raw, err := s.rdb.LRange(ctx, key, first, before-2).Result()
	if err != nil {
		return nil, mapErr("redisstore.EventsBefore", err)
	}
	out := make([]store.Event, 0, len(raw))
	for i := len(raw) - 1; i >= 0; i-- {
		seq := first + int64(i) + 1
		var ev store.Event
		if err := json.Unmarshal([]byte(raw[i]), &ev); err != nil {
			return nil, fmt.Errorf("redisstore.EventsBefore: event %d: %w", seq, err)
		}
		ev.Seq = seq
		out = append(out, ev)
	}
	return out, nil
}

// LastSeq is the length of the namespace's event list: events are
// numbered by their place in it, and it only grows.
func (s *Store) LastSeq(ctx context.Context, ns store.Namespace) (int64, error) {
	if err := store.ValidNamespace(ns); err != nil {
		return 0, fmt.Errorf("redisstore.LastSeq: %w", err)
	}
	n, err := s.rdb.LLen(ctx, prefix(ns)+"e").Result()
	if err != nil {
		return 0, mapErr("redisstore.LastSeq", err)
	}
	return n, nil
}

// ForgetIdempotency finds the keys with SCAN (they share the namespace's
// hash slot, so one node holds them all) and deletes them.
func (s *Store) ForgetIdempotency(ctx context.Context, ns store.Namespace, keyPrefix string) (int, error) {
	if err := store.ValidNamespace(ns); err != nil {
		return 0, fmt.Errorf("redisstore.ForgetIdempotency: %w", err)
	}
	if keyPrefix == "" {
		return 0, errors.New("redisstore.ForgetIdempotency: empty prefix")
	}
	match := prefix(ns) + "k:" + globEscape(keyPrefix) + "*"
	n := 0
	iter := s.rdb.Scan(ctx, 0, match, 500).Iterator()
	for iter.Next(ctx) {
		deleted, err := s.rdb.Del(ctx, iter.Val()).Result()
		if err != nil {
			return n, mapErr("redisstore.ForgetIdempotency", err)
		}
		n += int(deleted)
	}
	if err := iter.Err(); err != nil {
		return n, mapErr("redisstore.ForgetIdempotency", err)
	}
	return n, nil
}

// globEscape quotes the characters SCAN MATCH treats as a pattern.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// RedactActor pages through the event list and rewrites matching entries in
// place. Entries never move (the list only grows at its tail), so LSET by
// position is safe next to concurrent appends.
func (s *Store) RedactActor(ctx context.Context, ns store.Namespace, actor, replacement string) (int, error) {
	if err := store.ValidNamespace(ns); err != nil {
		return 0, fmt.Errorf("redisstore.RedactActor: %w", err)
	}
	if actor == "" {
		return 0, fmt.Errorf("redisstore.RedactActor: empty actor")
	}
	const page = 500
	key := prefix(ns) + "e"
	n := 0
	for start := int64(0); ; start += page {
		raw, err := s.rdb.LRange(ctx, key, start, start+page-1).Result()
		if err != nil {
			return n, mapErr("redisstore.RedactActor", err)
		}
		for i, data := range raw {
			var ev store.Event
			if err := json.Unmarshal([]byte(data), &ev); err != nil {
				return n, fmt.Errorf("redisstore.RedactActor: event %d: %w", start+int64(i)+1, err)
			}
			if ev.Actor != actor {
				continue
			}
			ev.Actor = replacement
			nv, err := json.Marshal(ev)
			if err != nil {
				return n, fmt.Errorf("redisstore.RedactActor: %w", err)
			}
			if err := s.rdb.LSet(ctx, key, start+int64(i), nv).Err(); err != nil {
				return n, mapErr("redisstore.RedactActor", err)
			}
			n++
		}
		if len(raw) < page {
			return n, nil
		}
	}
}
