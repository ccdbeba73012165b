package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

// coreFlow exercises the five core tools and their bad-input paths on one client.
func coreFlow(t *testing.T, c *client.Client) {
	agent := confirmed(t, c, "create_agent", map[string]any{
		"name": "Front Desk", "voice_mode": "hosted", "system_prompt": "You are a friendly front desk.",
	})
	agentID := agent.str("id")
	if !strings.HasPrefix(agentID, "agt_") {
		t.Fatalf("create_agent: id %q, structured %v", agentID, agent.data)
	}
	if r := callTool(t, c, "create_agent", map[string]any{"name": "X", "voice_mode": "hosted"}); !r.isError || !strings.Contains(r.text, "system_prompt") {
		t.Fatalf("hosted without a prompt: want an error naming system_prompt, got %s", r.text)
	}

	// buy_number: preview, wrong token, changed arguments, confirm, reuse.
	buyArgs := map[string]any{"agent_id": agentID, "area_code": "415"}
	preview := callTool(t, c, "buy_number", buyArgs)
	if preview.str("status") != "confirmation_required" {
		t.Fatalf("buy_number: want a preview, got %s", preview.text)
	}
	tok := preview.str("confirmation_token")
	if r := callTool(t, c, "buy_number", with(buyArgs, "confirmation_token", "not-a-token")); !r.isError || r.str("status") != "confirmation_refused" {
		t.Fatalf("wrong token: %s", r.text)
	}
	if r := callTool(t, c, "buy_number", with(with(buyArgs, "area_code", "212"), "confirmation_token", tok)); !r.isError || !strings.Contains(r.text, "mismatch") {
		t.Fatalf("changed arguments with a valid token: %s", r.text)
	}
	// The mismatch used the token up: confirm from a fresh preview.
	if r := callTool(t, c, "buy_number", with(buyArgs, "confirmation_token", tok)); !r.isError || !strings.Contains(r.text, "reused") {
		t.Fatalf("a token presented with other arguments stayed usable: %s", r.text)
	}
	tok = callTool(t, c, "buy_number", buyArgs).str("confirmation_token")
	bought := mustOK(t, callTool(t, c, "buy_number", with(buyArgs, "confirmation_token", tok)), "buy_number")
	if !strings.HasPrefix(bought.str("id"), "num_") || !strings.HasPrefix(bought.str("phone_number"), "+1415") {
		t.Fatalf("buy_number: %v", bought.data)
	}
	if r := callTool(t, c, "buy_number", with(buyArgs, "confirmation_token", tok)); !r.isError || !strings.Contains(r.text, "reused") {
		t.Fatalf("reused token: %s", r.text)
	}

	// send_sms: a letter in the number, emergency, then a real first-contact send.
	if r := callTool(t, c, "send_sms", map[string]any{"agent_id": agentID, "to_number": "415-555-O142", "body": "hi"}); !r.isError || r.str("rule") != "invalid_number" {
		t.Fatalf("letter in the number: %s", r.text)
	}
	if r := callTool(t, c, "send_sms", map[string]any{"agent_id": agentID, "to_number": "911", "body": "hi"}); !r.isError || r.str("rule") != "emergency" {
		t.Fatalf("911: %s", r.text)
	}
	sms := confirmed(t, c, "send_sms", map[string]any{"agent_id": agentID, "to_number": "(415) 555-0142", "body": "See you Tuesday at 3."})
	if !strings.HasPrefix(sms.str("id"), "msg_") || sms.str("to_number") != "+14155550142" {
		t.Fatalf("send_sms: %v", sms.data)
	}

	// make_call: an unknown agent, then a hosted call on a topic, waited for.
	if r := callTool(t, c, "make_call", map[string]any{"agent_id": "agt_unknown", "to_number": "+14155550142", "topic": "x"}); !r.isError || !strings.Contains(r.text, "list_agents") {
		t.Fatalf("unknown agent: %s", r.text)
	}
	call := confirmed(t, c, "make_call", map[string]any{"agent_id": agentID, "to_number": "+14155550142",
		"topic": "Confirm the cleaning on Tuesday at 3 pm", "wait": true, "max_wait_seconds": 60})
	if call.str("status") != "completed" {
		t.Fatalf("make_call wait: %s", call.text)
	}
	tr := mustOK(t, callTool(t, c, "get_transcript", map[string]any{"call_id": call.str("id")}), "get_transcript")
	turns, _ := tr.data["transcript"].([]any)
	if len(turns) < 2 {
		t.Fatalf("get_transcript: %s", tr.text)
	}
	first, _ := turns[0].(map[string]any)
	if first["speaker"] != "agent" || !strings.Contains(first["text"].(string), "AI") {
		t.Fatalf("the call must open with the AI disclosure, got %v", first)
	}
	if r := callTool(t, c, "get_transcript", map[string]any{"call_id": "call_nope"}); !r.isError || !strings.Contains(r.text, "list_calls") {
		t.Fatalf("unknown call: %s", r.text)
	}
}

func TestStdioSandbox(t *testing.T) {
	t.Parallel()
	c := startStdio(t, sandboxEnv(t), "--sandbox")
	coreFlow(t, c)
}

func TestStreamableHTTPSandbox(t *testing.T) {
	t.Parallel()
	c := startHTTP(t, "http", sandboxEnv(t), "--sandbox")
	coreFlow(t, c)
}

func TestSSESandbox(t *testing.T) {
	t.Parallel()
	c := startHTTP(t, "sse", sandboxEnv(t), "--sandbox")
	coreFlow(t, c)
}

// TestToolsListMatchesSnapshots checks tools/list over stdio against the schema snapshot of
// every tool under testdata/toolsnaps.
func TestToolsListMatchesSnapshots(t *testing.T) {
	t.Parallel()
	c := startStdio(t, sandboxEnv(t), "--sandbox")
	res, err := c.ListTools(ctxFor(t), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tools) < 5 {
		t.Fatalf("tools/list: only %d tools", len(res.Tools))
	}
	for _, tool := range res.Tools {
		want, err := os.ReadFile(filepath.Join("..", "testdata", "toolsnaps", tool.Name+".json"))
		if err != nil {
			t.Errorf("%s: no schema snapshot (%v); run UPDATE_TOOLSNAPS=1 go test ./tools/", tool.Name, err)
			continue
		}
		got, _ := json.Marshal(tool)
		if !jsonEqual(t, got, want) {
			t.Errorf("%s: tools/list differs from testdata/toolsnaps/%s.json\n got: %s", tool.Name, tool.Name, got)
		}
	}
}

// jsonEqual compares two tool definitions as JSON values. An empty "required" list or
// "properties" object equals a missing one: mcp-go's client adds them when it decodes a schema.
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb map[string]any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatal(err)
	}
	for _, v := range []map[string]any{va, vb} {
		if schema, ok := v["inputSchema"].(map[string]any); ok {
			if req, ok := schema["required"].([]any); ok && len(req) == 0 {
				delete(schema, "required")
			}
			if props, ok := schema["properties"].(map[string]any); ok && len(props) == 0 {
				delete(schema, "properties")
			}
		}
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return bytes.Equal(ja, jb)
}

// TestStdoutCarriesProtocolOnly speaks raw JSON-RPC to the binary and checks that every line
// on stdout is a JSON-RPC 2.0 message, while the logs go to stderr.
func TestStdoutCarriesProtocolOnly(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(binary, "--sandbox", "--log-level", "debug")
	cmd.Env = append(os.Environ(), sandboxEnv(t)...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	msgs := []string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"create_agent","arguments":{"name":"Raw"}}}`,
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"send_sms","arguments":{"to_number":"911","body":"x","agent_id":"agt_x"}}}`,
		`{"jsonrpc":"2.0","id":5,"method":"resources/list"}`,
		`{"jsonrpc":"2.0","id":6,"method":"prompts/list"}`,
	}
	for _, m := range msgs {
		if _, err := stdin.Write([]byte(m + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[float64]bool{}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	deadline := time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
	defer deadline.Stop()
	for len(seen) < 6 && sc.Scan() {
		var msg map[string]any
		if err := json.Unmarshal(sc.Bytes(), &msg); err != nil {
			t.Fatalf("stdout carried a non-JSON line: %q", sc.Text())
		}
		if msg["jsonrpc"] != "2.0" {
			t.Fatalf("stdout carried a non-JSON-RPC message: %q", sc.Text())
		}
		if id, ok := msg["id"].(float64); ok {
			seen[id] = true
		}
	}
	if len(seen) < 6 {
		t.Fatalf("got replies %v, want ids 1-6; stderr: %s", seen, stderr.String())
	}
	_ = stdin.Close()
	if !strings.Contains(stderr.String(), "SANDBOX MODE") || !strings.Contains(stderr.String(), `"level"`) {
		t.Fatalf("stderr should carry the sandbox notice and JSON logs, got: %s", stderr.String())
	}
}

func TestNoKeyExitsWithAdvice(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(binary)
	cmd.Env = append(os.Environ(), "AGENTPHONE_API_KEY=", "AGENTPHONE_SANDBOX=", "AGENTPHONE_STATE_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("started without a key: %s", out)
	}
	if !strings.Contains(string(out), "AGENTPHONE_API_KEY") || !strings.Contains(string(out), "--sandbox") {
		t.Fatalf("the message should name AGENTPHONE_API_KEY and --sandbox: %s", out)
	}
}

func TestBadBaseURLRefusesToStart(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(binary)
	cmd.Env = append(os.Environ(), "AGENTPHONE_API_KEY=sk_test_abcdefghijklmnop", "AGENTPHONE_BASE_URL=https://evil.example",
		"AGENTPHONE_STATE_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "AGENTPHONE_BASE_URL") {
		t.Fatalf("want a refusal naming AGENTPHONE_BASE_URL, got err=%v: %s", err, out)
	}
	if strings.Contains(string(out), "sk_test_abcdefghijklmnop") {
		t.Fatalf("the key leaked into the output: %s", out)
	}
}
