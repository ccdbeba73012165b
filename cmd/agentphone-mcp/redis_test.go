package main

import (
	"context"
	"strings"
	"testing"

	"github.com/agentphone-mcp/agentphone-mcp/store"
	"github.com/agentphone-mcp/agentphone-mcp/store/redisstore"
	"github.com/agentphone-mcp/agentphone-mcp/store/redisstore/redistest"
)

// TestOptoutReachesRedis: with AGENTPHONE_REDIS_URL, `optout add` writes to the Redis every
// replica reads (not to a local state file no replica uses), and `state rebuild` refuses.
func TestOptoutReachesRedis(t *testing.T) {
	r, err := redistest.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	env := []string{"AGENTPHONE_STATE_DIR=" + t.TempDir(), "AGENTPHONE_REDIS_URL=" + r.URL()}
	if code, out, errOut := runCmd(t, env, "optout", "add", "(415) 555-0142", "asked by phone"); code != 0 || !strings.Contains(out, "+14155550142") {
		t.Fatalf("optout add = %d %q %q", code, out, errOut)
	}
	st, err := redisstore.Open(context.Background(), redisstore.Conn{URL: r.URL()}, redisstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if ok, err := st.IsOptedOut(context.Background(), "+14155550142", store.ChannelSMS); !ok || err != nil {
		t.Fatalf("the replicas' Redis does not have the opt-out: %v, %v", ok, err)
	}
	if code, _, errOut := runCmd(t, env, "state", "rebuild"); code == 0 || !strings.Contains(errOut, "Redis") {
		t.Fatalf("state rebuild with Redis = %d %q; want a refusal naming Redis", code, errOut)
	}
}
