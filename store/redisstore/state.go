package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/agentphone-mcp/agentphone-mcp/store"
)

func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode: %w", err)
	}
	return string(b), nil
}

// addOptOut adds the opt-out ARGV[2] under the field ARGV[1] of the hash KEYS[1] unless
// one is there (the first is kept) or, for a source other than the operator (ARGV[5] is
// "0"), the operator lifted ARGV[3]'s opt-out (hash KEYS[2]: number -> ns) at or after
// ARGV[4] (when the person said it, ns). Returns 1 when added.
var addOptOut = redis.NewScript(`
if ARGV[5] == '0' then
  local lifted = redis.call('HGET', KEYS[2], ARGV[3])
  if lifted and tonumber(ARGV[4]) <= tonumber(lifted) then return 0 end
end
return redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
`)

// AddOptOut implements store.Store: one script, so the check of the operator's last lift
// and the write are one step (the first opt-out of a scope is kept).
func (s *Redis) AddOptOut(ctx context.Context, o store.OptOut) (bool, error) {
	if err := s.check(); err != nil {
		return false, fmt.Errorf("store: add opt-out: %w", err)
	}
	if err := store.CheckKey("opt-out number", o.E164); err != nil {
		return false, fmt.Errorf("store: add opt-out: %w", err)
	}
	if !store.ValidChannel(o.Channel) {
		return false, fmt.Errorf("store: add opt-out: channel %q is not all, sms or call", o.Channel)
	}
	o.Channel = o.Scope()
	if o.At.IsZero() {
		o.At = s.opts.Clock.Now()
	}
	o.At = o.At.UTC()
	v, err := jsonString(o)
	if err != nil {
		return false, fmt.Errorf("store: add opt-out: %w", err)
	}
	operator := "0"
	if o.Source == store.SourceOperator {
		operator = "1"
	}
	n, err := addOptOut.Run(ctx, s.rdb, []string{s.kOptOuts(), s.kOptOutsLifted()},
		store.OptOutField(o.E164, o.Channel), v, o.E164, nanos(o.At), operator).Int()
	if err != nil {
		return false, s.fail("add opt-out", err)
	}
	return n == 1, nil
}

// RemoveOptOut implements store.Store.
func (s *Redis) RemoveOptOut(ctx context.Context, e164, channel string) (bool, error) {
	if err := s.check(); err != nil {
		return false, fmt.Errorf("store: remove opt-out: %w", err)
	}
	if err := store.CheckKey("opt-out number", e164); err != nil {
		return false, fmt.Errorf("store: remove opt-out: %w", err)
	}
	if !store.ValidChannel(channel) {
		return false, fmt.Errorf("store: remove opt-out: channel %q is not all, sms or call", channel)
	}
	scopes := []string{channel}
	if channel == "" {
		scopes = []string{store.ChannelAll, store.ChannelSMS, store.ChannelCall}
	}
	fields := make([]string, len(scopes))
	for i, c := range scopes {
		fields[i] = store.OptOutField(e164, c)
	}
	// The lift is recorded with the removal, in one transaction, so that AddOptOut can
	// refuse words said before it.
	var del *redis.IntCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.kOptOutsLifted(), e164, strconv.FormatInt(nanos(s.opts.Clock.Now()), 10))
		del = p.HDel(ctx, s.kOptOuts(), fields...)
		return nil
	})
	if err != nil {
		return false, s.fail("remove opt-out", err)
	}
	return del.Val() > 0, nil
}

// IsOptedOut implements store.Store.
func (s *Redis) IsOptedOut(ctx context.Context, e164, channel string) (bool, error) {
	if err := s.check(); err != nil {
		return false, fmt.Errorf("store: check opt-out: %w", err)
	}
	if err := store.CheckKey("opt-out number", e164); err != nil {
		return false, fmt.Errorf("store: check opt-out: %w", err)
	}
	if !store.ValidChannel(channel) {
		return false, fmt.Errorf("store: check opt-out: channel %q is not all, sms or call", channel)
	}
	fields := []string{store.OptOutField(e164, store.ChannelAll)}
	if channel != "" && channel != store.ChannelAll {
		fields = append(fields, store.OptOutField(e164, channel))
	}
	vals, err := s.rdb.HMGet(ctx, s.kOptOuts(), fields...).Result()
	if err != nil {
		return false, s.fail("check opt-out", err)
	}
	for _, v := range vals {
		if v != nil {
			return true, nil
		}
	}
	return false, nil
}

// ListOptOuts implements store.Store.
func (s *Redis) ListOptOuts(ctx context.Context) ([]store.OptOut, error) {
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("store: list opt-outs: %w", err)
	}
	all, err := s.rdb.HGetAll(ctx, s.kOptOuts()).Result()
	if err != nil {
		return nil, s.fail("list opt-outs", err)
	}
	out := make([]store.OptOut, 0, len(all))
	for k, v := range all {
		var o store.OptOut
		if err := json.Unmarshal([]byte(v), &o); err != nil {
			num, ch, _ := strings.Cut(k, "|")
			o = store.OptOut{E164: num, Channel: ch, Reason: "unreadable entry"}
		}
		o.Channel = o.Scope()
		out = append(out, o)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].E164 != out[j].E164 {
			return out[i].E164 < out[j].E164
		}
		return out[i].Channel < out[j].Channel
	})
	return out, nil
}

// MarkToolContact implements store.Store.
func (s *Redis) MarkToolContact(ctx context.Context, e164 string, at time.Time) error {
	if err := s.check(); err != nil {
		return fmt.Errorf("store: mark tool contact: %w", err)
	}
	if err := store.CheckKey("contact", e164); err != nil {
		return fmt.Errorf("store: mark tool contact: %w", err)
	}
	if err := s.rdb.HSetNX(ctx, s.kToolContacts(), e164, strconv.FormatInt(nanos(at), 10)).Err(); err != nil {
		return s.fail("mark tool contact", err)
	}
	return nil
}

// useOnce marks KEYS[1] used until ARGV[2] (engine-clock ns) unless it is already used
// and not yet expired at ARGV[1]; the key's own TTL (ARGV[3] ms) bounds its life on the
// server. Returns 1 when fresh.
var useOnce = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and tonumber(v) > tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`)

// UseNonce implements store.Store: single-use across every replica on this Redis.
func (s *Redis) UseNonce(ctx context.Context, nonce string, exp time.Time) (bool, error) {
	if err := s.check(); err != nil {
		return false, fmt.Errorf("store: use nonce: %w", err)
	}
	if err := store.CheckKey("nonce", nonce); err != nil {
		return false, fmt.Errorf("store: use nonce: %w", err)
	}
	now := s.opts.Clock.Now()
	// A nonce stays used at least until its token expires; a nonce whose expiry is already
	// past is kept until the next check passes it (its token is rejected anyway).
	until := max(nanos(exp), nanos(now)+1)
	n, err := useOnce.Run(ctx, s.rdb, []string{s.kNonce(nonce)},
		nanos(now), until, ttl(exp.Sub(now)).Milliseconds()).Int()
	if err != nil {
		return false, s.fail("use token nonce", err)
	}
	return n == 1, nil
}

// SeenDelivery implements store.Store: the first replica to see a delivery ID records
// it; every replica then reports it seen until Options.DeliveryTTL has passed.
func (s *Redis) SeenDelivery(ctx context.Context, id string) (bool, error) {
	if err := s.check(); err != nil {
		return false, fmt.Errorf("store: seen delivery: %w", err)
	}
	if err := store.CheckKey("delivery id", id); err != nil {
		return false, fmt.Errorf("store: seen delivery: %w", err)
	}
	now := s.opts.Clock.Now()
	n, err := useOnce.Run(ctx, s.rdb, []string{s.kDelivery(id)},
		nanos(now), nanos(now.Add(s.opts.DeliveryTTL)), ttl(s.opts.DeliveryTTL).Milliseconds()).Int()
	if err != nil {
		return false, s.fail("record webhook delivery", err)
	}
	return n == 0, nil
}

// appendInbound pushes ARGV[1] (an event's JSON without its sequence number) as
// "<seq> <json>", keeps the newest ARGV[2], and publishes "<seq> <owner ARGV[4]> <json>"
// on the channel ARGV[3].
var appendInbound = redis.NewScript(`
local seq = redis.call('INCR', KEYS[2])
redis.call('RPUSH', KEYS[1], seq .. ' ' .. ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('PUBLISH', ARGV[3], seq .. ' ' .. ARGV[4] .. ' ' .. ARGV[1])
return seq
`)

// AppendInbound implements store.Store. The event is announced on InboundChannel.
func (s *Redis) AppendInbound(ctx context.Context, kind, id string, payload []byte, at time.Time) error {
	if err := s.check(); err != nil {
		return fmt.Errorf("store: append inbound: %w", err)
	}
	if kind == "" {
		return errors.New("store: append inbound: empty kind")
	}
	v, err := jsonString(store.Inbound{Kind: kind, ID: id, At: at.UTC(), Payload: payload})
	if err != nil {
		return fmt.Errorf("store: append inbound: %w", err)
	}
	if err := appendInbound.Run(ctx, s.rdb, []string{s.kInbound(), s.kInboundSeq()}, v, s.opts.MaxInbound, s.InboundChannel(), s.owner).Err(); err != nil {
		return s.fail("append inbound event", err)
	}
	return nil
}

// RecentInbound implements store.Store.
func (s *Redis) RecentInbound(ctx context.Context, limit int) ([]store.Inbound, error) {
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("store: read inbound events: %w", err)
	}
	if limit <= 0 {
		return nil, nil
	}
	vals, err := s.rdb.LRange(ctx, s.kInbound(), int64(-limit), -1).Result()
	if err != nil {
		return nil, s.fail("read inbound events", err)
	}
	out := make([]store.Inbound, 0, len(vals))
	for _, v := range vals {
		seqStr, body, _ := strings.Cut(v, " ")
		var in store.Inbound
		if err := json.Unmarshal([]byte(body), &in); err != nil {
			return nil, fmt.Errorf("store: read inbound events: decode event %s: %w", seqStr, err)
		}
		in.Seq, _ = strconv.ParseUint(seqStr, 10, 64)
		out = append(out, in)
	}
	return out, nil
}

// WatchInbound implements store.InboundWatcher: fn gets every inbound event that another
// Store (another replica) appends on this Redis, until ctx ends. It returns once the
// subscription is active. Redis pub/sub delivers at most once: an event published while
// this replica was disconnected is not replayed (waiting tools also poll the API, and
// RecentInbound still has it).
func (s *Redis) WatchInbound(ctx context.Context, fn func(store.Inbound)) error {
	if err := s.check(); err != nil {
		return fmt.Errorf("store: watch inbound events: %w", err)
	}
	ps := s.rdb.Subscribe(ctx, s.InboundChannel())
	if _, err := ps.Receive(ctx); err != nil {
		_ = ps.Close()
		return s.fail("watch inbound events", err)
	}
	go s.deliver(ctx, ps, func(_ *redis.Message, in store.Inbound) { fn(in) })
	return nil
}

// WatchAllInbound implements store.AccountInboundWatcher: one subscription (the default
// account's channel and a pattern over every account's) hands fn every inbound event
// another Store appends, with its account, until ctx ends. It returns once the
// subscription is active. At most once, like WatchInbound.
func (s *Redis) WatchAllInbound(ctx context.Context, fn func(account string, in store.Inbound)) error {
	if err := s.check(); err != nil {
		return fmt.Errorf("store: watch inbound events: %w", err)
	}
	def := s.engine.view("", false).InboundChannel()
	acctPrefix := s.tag + "acct/"
	ps := s.rdb.Subscribe(ctx, def)
	if _, err := ps.Receive(ctx); err != nil {
		_ = ps.Close()
		return s.fail("watch inbound events", err)
	}
	if err := ps.PSubscribe(ctx, acctPrefix+"*/inbound:new"); err != nil {
		_ = ps.Close()
		return s.fail("watch inbound events", err)
	}
	if _, err := ps.Receive(ctx); err != nil {
		_ = ps.Close()
		return s.fail("watch inbound events", err)
	}
	go s.deliver(ctx, ps, func(m *redis.Message, in store.Inbound) {
		if m.Channel == def {
			fn("", in)
			return
		}
		id, ok := strings.CutPrefix(m.Channel, acctPrefix)
		if !ok {
			return
		}
		id, ok = strings.CutSuffix(id, "/inbound:new")
		if ok && store.CheckAccount(id) == nil {
			fn(id, in)
		}
	})
	return nil
}

// deliver decodes the messages of ps ("<seq> <owner> <json>") and hands those of other
// owners to fn, until ctx ends or the engine closes.
func (s *Redis) deliver(ctx context.Context, ps *redis.PubSub, fn func(*redis.Message, store.Inbound)) {
	defer ps.Close()
	ch := ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.stop:
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			seqStr, rest, _ := strings.Cut(m.Payload, " ")
			owner, body, _ := strings.Cut(rest, " ")
			if owner == s.owner {
				continue
			}
			var in store.Inbound
			if json.Unmarshal([]byte(body), &in) != nil {
				continue
			}
			in.Seq, _ = strconv.ParseUint(seqStr, 10, 64)
			fn(m, in)
		}
	}
}
