package e2e

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkHungSendDelay measures what a send that hangs at the API costs sends to other
// recipients in the same process: the latency of sequential send_sms calls through the
// built binary, first with nothing else in flight, then while one send to another
// recipient hangs (the fake API holds it). Goal: no difference.
func BenchmarkHungSendDelay(b *testing.B) {
	f := newFakeAPI(b)
	agentID, _ := f.sender(b)
	p := startProc(b, ledgerEnv(b, f, b.TempDir(), "AGENTPHONE_POLICY_FILE="+policyFileWith(b, map[string]any{
		"allowlist": []string{"+16502537", "+16502538"},
		"limits":    map[string]int{"sms_per_recipient_hour": -1, "sms_per_recipient_day": -1, "sms_segments_hour": -1},
	})))
	measure := func(block int) []time.Duration {
		var lat []time.Duration
		for i := range b.N {
			start := time.Now()
			mustOK(b, callTool(b, p.c, "send_sms", smsArgs(agentID, numberN(block, i%1000), fmt.Sprint("m", i))), "send_sms")
			lat = append(lat, time.Since(start))
		}
		return lat
	}
	measure(7) // warm up
	b.ResetTimer()
	base := measure(7)
	hung := numberN(9, 999)
	f.mu.Lock()
	f.hangTo = hung
	f.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = callTool(b, p.c, "send_sms", smsArgs(agentID, hung, "this one hangs"))
	}()
	time.Sleep(100 * time.Millisecond) // the hung send is in flight
	with := measure(8)
	b.StopTimer()
	f.mu.Lock()
	close(f.release)
	f.mu.Unlock()
	wg.Wait()
	p50 := func(l []time.Duration) float64 {
		slices.Sort(l)
		return float64(l[len(l)/2].Microseconds()) / 1000
	}
	p99 := func(l []time.Duration) float64 { return float64(l[int(0.99*float64(len(l)-1))].Microseconds()) / 1000 }
	b.ReportMetric(p50(base), "p50-ms-alone")
	b.ReportMetric(p50(with), "p50-ms-beside-hung")
	b.ReportMetric(p99(base), "p99-ms-alone")
	b.ReportMetric(p99(with), "p99-ms-beside-hung")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkSendsDistinctRecipients4Procs runs four server processes of the built binary on
// one state dir, each sending b.N SMS to distinct recipients through MCP as fast as it
// can (four calls in flight per process): sends per second in all.
func BenchmarkSendsDistinctRecipients4Procs(b *testing.B) {
	const procs, inflight = 4, 4
	f := newFakeAPI(b)
	agentID, _ := f.sender(b)
	dir := b.TempDir()
	env := ledgerEnv(b, f, dir, "AGENTPHONE_POLICY_FILE="+policyFileWith(b, map[string]any{
		"allowlist": []string{"+1650253"},
		"limits":    map[string]int{"sms_per_recipient_hour": -1, "sms_per_recipient_day": -1, "sms_segments_hour": -1, "new_recipients_day": -1},
	}))
	ps := make([]*proc, procs)
	for i := range ps {
		ps[i] = startProc(b, env)
	}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for pi, p := range ps {
		for w := range inflight {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < b.N; i += inflight {
					to := numberN(pi, i%1000)
					mustOK(b, callTool(b, p.c, "send_sms", smsArgs(agentID, to, fmt.Sprint("m", i))), "send_sms")
				}
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(procs*b.N)/elapsed.Seconds(), "sends/s")
	b.ReportMetric(0, "ns/op")
}
