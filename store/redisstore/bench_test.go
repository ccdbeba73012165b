package redisstore_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/store"
	"github.com/agentphone-mcp/agentphone-mcp/store/redisstore"
)

// BenchmarkReserveSettle measures one send's bookkeeping (a reserve that reads two cap
// windows and an opt-out, then a settle as sent) on bbolt and on Redis, sequentially and
// from two replicas at once (distinct recipients), also as views of two accounts sharing the
// global window (caller-key mode), and reports p50/p99 in µs:
//
//	go test -run '^$' -bench ReserveSettle -benchtime 2000x ./store/redisstore/
func BenchmarkReserveSettle(b *testing.B) {
	bolt := func(b *testing.B) []store.Store {
		s, err := store.Open(b.TempDir(), store.Options{LockTimeout: 30 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close() })
		return []store.Store{s}
	}
	redisN := func(n int) func(b *testing.B) []store.Store {
		return func(b *testing.B) []store.Store {
			prefix := newPrefix()
			var out []store.Store
			for range n {
				s, err := redisstore.Open(context.Background(), redisstore.Conn{URL: srv.URL()}, redisstore.Options{Prefix: prefix})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = s.Close() })
				out = append(out, s)
			}
			return out
		}
	}
	// accounts turns each opened engine into views of two accounts (caller-key mode): the
	// same bookkeeping, per account, with the global window shared.
	accounts := func(open func(*testing.B) []store.Store) func(b *testing.B) []store.Store {
		return func(b *testing.B) []store.Store {
			var out []store.Store
			for _, e := range open(b) {
				for _, id := range []string{"acct-a", "acct-b"} {
					v, err := e.(store.Accounts).ForAccount(id)
					if err != nil {
						b.Fatal(err)
					}
					out = append(out, v)
				}
			}
			return out
		}
	}
	for _, tc := range []struct {
		name    string
		open    func(*testing.B) []store.Store
		workers int
	}{
		{"bolt", bolt, 1},
		{"bolt-2accounts", accounts(bolt), 2},
		{"redis", redisN(1), 1},
		{"redis-2accounts", accounts(redisN(1)), 2},
		{"redis-2replicas-8workers", redisN(2), 8},
		{"redis-2replicas-2accounts-8workers", accounts(redisN(2)), 8},
	} {
		b.Run(tc.name, func(b *testing.B) {
			stores := tc.open(b)
			lat := make([]time.Duration, b.N)
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for w := range tc.workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s := stores[w%len(stores)]
					for {
						i := int(next.Add(1)) - 1
						if i >= b.N {
							return
						}
						to := fmt.Sprintf("+1650%07d", i)
						now := time.Now()
						start := time.Now()
						q := store.FactQuery{OptOuts: []store.OptOutQuery{{E164: to, Channel: store.ChannelSMS}},
							Windows: []store.Window{{Key: "sms:" + to, Since: now.Add(-time.Hour)}, {Key: "global/sms", Since: now.Add(-24 * time.Hour)}}}
						e, err := s.Reserve(context.Background(), q, func(f store.Facts) (store.Entry, error) {
							return store.Entry{Kind: "sms", Recipients: []string{to}, MarkKnown: []string{to},
								Events: []store.Event{{Key: "sms:" + to, At: now, Weight: 1}, {Key: "global/sms", At: now, Weight: 1}}}, nil
						})
						if err != nil {
							b.Error(err)
							return
						}
						if _, err := s.Settle(context.Background(), e.ID, store.Settlement{State: store.Sent, APIID: "msg"}); err != nil {
							b.Error(err)
							return
						}
						lat[i] = time.Since(start)
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
