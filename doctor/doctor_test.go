package doctor

import (
	"context"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/buildinfo"
	"github.com/agentphone-mcp/agentphone-mcp/clientconfig"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
)

func check(t *testing.T, rep Report, id string) Check {
	t.Helper()
	for _, c := range rep.Checks {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no check %q", id)
	return Check{}
}

// TestClockSkew compares this machine's clock with the API's Date header: within 30 s is
// fine, minutes apart warns, past the webhook tolerance fails with how to fix it.
func TestClockSkew(t *testing.T) {
	t.Parallel()
	const key = "ak_live_clock_test_key_1234"
	sb := sandbox.New(sandbox.Options{APIKey: key})
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	for _, tc := range []struct {
		offset time.Duration
		want   Status
		detail string
	}{
		{0, OK, "within"},
		{-2 * time.Minute, Warn, "behind the API"},
		{10 * time.Minute, Fail, "ahead of the API: every signed webhook would be refused"},
	} {
		home := t.TempDir()
		rep := Run(context.Background(), Options{
			Environ:  []string{"AGENTPHONE_API_KEY=" + key, "AGENTPHONE_BASE_URL=" + srv.URL, "AGENTPHONE_STATE_DIR=" + home},
			Platform: clientconfig.Platform{OS: "linux", Home: home},
			Clock:    clockwork.NewFakeClockAt(time.Now().Add(tc.offset)),
			Build:    buildinfo.Info{Version: "test"},
		})
		c := check(t, rep, "clock")
		if c.Status != tc.want || !strings.Contains(c.Detail, tc.detail) || (tc.want != OK && c.Fix == "") {
			t.Errorf("offset %s: %+v", tc.offset, c)
		}
		if tc.want == Fail && rep.OK {
			t.Errorf("offset %s: a stale clock must block", tc.offset)
		}
	}
}

// TestUnreachableAPI: a closed port fails "API reachable" with a network fix and skips the
// key check instead of blaming the key.
func TestUnreachableAPI(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	home := t.TempDir()
	rep := Run(context.Background(), Options{
		Environ:  []string{"AGENTPHONE_API_KEY=ak_live_x_1234567", "AGENTPHONE_BASE_URL=http://" + addr, "AGENTPHONE_STATE_DIR=" + home},
		Platform: clientconfig.Platform{OS: "linux", Home: home},
		Timeout:  2 * time.Second,
	})
	if c := check(t, rep, "api_reachable"); c.Status != Fail || !strings.Contains(c.Fix, "network") {
		t.Fatalf("%+v", c)
	}
	if c := check(t, rep, "key_accepted"); c.Status != Skip {
		t.Fatalf("%+v", c)
	}
	if rep.OK {
		t.Fatal("an unreachable API must block")
	}
}

// TestWebhookReceiverSettings: a taken address and a non-loopback address warn with a fix;
// a bad address fails.
func TestWebhookReceiverSettings(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, tc := range []struct {
		addr   string
		want   Status
		detail string
	}{
		{taken.Addr().String(), Warn, "is taken"},
		{"0.0.0.0:0", Warn, "reachable from other machines"},
		{"nonsense", Fail, "is not host:port"},
		{"127.0.0.1:0", OK, "signing secrets are read from the API"},
	} {
		home := t.TempDir()
		rep := Run(context.Background(), Options{
			Environ:  []string{"AGENTPHONE_WEBHOOK_LISTEN=" + tc.addr, "AGENTPHONE_STATE_DIR=" + home},
			Sandbox:  true,
			Platform: clientconfig.Platform{OS: "linux", Home: home},
		})
		c := check(t, rep, "webhooks")
		if c.Status != tc.want || !strings.Contains(c.Detail, tc.detail) || (tc.want != OK && c.Fix == "") {
			t.Errorf("%s: %+v", tc.addr, c)
		}
	}
}

// TestClientEntries: an entry that runs another agentphone-mcp binary or holds the key in
// plain text warns with the install command that fixes it; one that names a key file others
// can read fails.
func TestClientEntries(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	p := clientconfig.Platform{OS: "linux", Home: home}
	other := filepath.Join(home, "bin", "agentphone-mcp")
	this := filepath.Join(home, "this", "agentphone-mcp")
	for _, f := range []string{other, this} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(c clientconfig.Client, content string) {
		path := c.ConfigPath(p)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	leaky := filepath.Join(home, "leaky-key")
	if err := os.WriteFile(leaky, []byte("ak_live_leaky_123456\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cursor, _ := clientconfig.Lookup("cursor")
	windsurf, _ := clientconfig.Lookup("windsurf")
	desktop, _ := clientconfig.Lookup("claude-desktop")
	write(cursor, `{"mcpServers": {"agentphone": {"command": "`+other+`", "args": ["stdio", "--sandbox"]}}}`)
	write(windsurf, `{"mcpServers": {"agentphone": {"command": "`+this+`", "env": {"AGENTPHONE_API_KEY": "ak_live_plain_123456"}}}}`)
	write(desktop, `{"mcpServers": {"agentphone": {"command": "`+this+`", "env": {"AGENTPHONE_API_KEY_FILE": "`+leaky+`"}}}}`)
	rep := Run(context.Background(), Options{
		Environ: []string{"AGENTPHONE_STATE_DIR=" + home}, Sandbox: true, Platform: p, Executable: this,
	})
	if c := check(t, rep, "client_cursor"); c.Status != Warn || !strings.Contains(c.Detail, "not this binary") || c.Fix != "if this binary is the one to use, run: agentphone-mcp install cursor" {
		t.Errorf("other binary: %+v", c)
	}
	if c := check(t, rep, "client_windsurf"); c.Status != Warn || !strings.Contains(c.Detail, "plain text") || !strings.Contains(c.Fix, "install windsurf") || strings.Contains(c.Detail, "ak_live_plain") {
		t.Errorf("plain key: %+v", c)
	}
	if c := check(t, rep, "client_claude_desktop"); c.Status != Fail || !strings.Contains(c.Fix, "chmod 600 "+leaky) {
		t.Errorf("leaky key file: %+v", c)
	}
	if rep.OK {
		t.Error("a client whose key file others can read must block")
	}
}
