package e2e

// The built binary's transports as a client sees them (issue 10 items 5 and 6): sessions do
// not survive a restart, SIGTERM ends the process with 0 promptly (an open GET stream or a
// call in flight does not hold it), and over stdio nothing is written after stdin closes.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// server is the binary running an HTTP transport.
type server struct {
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:port
	exited chan struct{}
	err    error
	stderr *lockedBuffer
}

// startServer runs the binary on kind (http or sse) at listen (127.0.0.1:0 for any port).
func startServer(t testing.TB, kind, listen string, env []string, args ...string) *server {
	t.Helper()
	return startListening(t, env, append([]string{"--transport", kind, "--listen", listen, "--sandbox"}, args...)...)
}

// startListening runs the binary with args and env and returns it once its stderr says where
// it listens (its stderr is kept in server.stderr).
func startListening(t testing.TB, env []string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	s := &server{cmd: cmd, exited: make(chan struct{}), stderr: &lockedBuffer{}}
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.err = cmd.Wait(); _ = pw.Close(); close(s.exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-s.exited })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
			_, _ = s.stderr.Write([]byte(sc.Text() + "\n"))
			if m := listening.FindStringSubmatch(sc.Text()); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
	}()
	select {
	case s.base = <-found:
		return s
	case <-s.exited:
		t.Fatalf("the server exited: %v\n%s", s.err, s.stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("the server did not say where it listens:\n%s", s.stderr.String())
	}
	return nil
}

// stop sends sig and returns the exit code and how long the process took to exit (bounded).
func (s *server) stop(t testing.TB, sig os.Signal, bound time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
	case <-time.After(bound):
		t.Fatalf("still running %s after %v:\n%s", bound, sig, s.stderr.String())
	}
	return s.cmd.ProcessState.ExitCode(), time.Since(start)
}

func httpPost(t *testing.T, url, sid, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

const initMsg = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}`

func openSession(t *testing.T, base string) string {
	t.Helper()
	resp, body := httpPost(t, base+"/mcp", "", initMsg)
	sid := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != http.StatusOK || sid == "" {
		t.Fatalf("initialize: %d %s", resp.StatusCode, body)
	}
	httpPost(t, base+"/mcp", sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return sid
}

func TestSessionsDoNotSurviveARestart(t *testing.T) {
	t.Parallel()
	env := sandboxEnv(t)
	first := startServer(t, "http", "127.0.0.1:0", env)
	sid := openSession(t, first.base)
	if resp, body := httpPost(t, first.base+"/mcp", sid, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("tools/list: %d %s", resp.StatusCode, body)
	}
	if code, _ := first.stop(t, syscall.SIGTERM, 15*time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	second := startServer(t, "http", strings.TrimPrefix(first.base, "http://"), env)
	resp, body := httpPost(t, second.base+"/mcp", sid, `{"jsonrpc":"2.0","id":3,"method":"tools/list"}`)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "initialize a new session") {
		t.Fatalf("an id from before the restart: %d %s (want 404 so the client initializes again)", resp.StatusCode, body)
	}
	openSession(t, second.base) // and initializing again works
}

func TestSIGTERMWithAnOpenGETStream(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"http", "sse"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			// A long grace: with nothing in flight, shutdown must not wait for it.
			s := startServer(t, kind, "127.0.0.1:0", sandboxEnv(t, "AGENTPHONE_SHUTDOWN_GRACE=60s"))
			req, _ := http.NewRequest(http.MethodGet, s.base+"/sse", nil)
			if kind == "http" {
				req, _ = http.NewRequest(http.MethodGet, s.base+"/mcp", nil)
				req.Header.Set("Mcp-Session-Id", openSession(t, s.base))
			}
			req.Header.Set("Accept", "text/event-stream")
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("GET stream: %v %v", resp, err)
			}
			defer resp.Body.Close()
			streamEnded := make(chan struct{})
			go func() { _, _ = io.Copy(io.Discard, resp.Body); close(streamEnded) }()
			code, took := s.stop(t, syscall.SIGTERM, 10*time.Second)
			if code != 0 {
				t.Fatalf("exit code %d after SIGTERM with an open GET stream:\n%s", code, s.stderr.String())
			}
			<-streamEnded
			t.Logf("%s: exited 0 in %s with a GET stream open", kind, took.Round(time.Millisecond))
		})
	}
}

// stdioProc drives the binary over stdio byte by byte.
type stdioProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	in     io.WriteCloser
	lines  chan string // every stdout line, closed at EOF
	mu     sync.Mutex
	all    []string
	exited chan struct{}
	stderr lockedBuffer
}

func startStdioProc(t *testing.T, env []string) *stdioProc {
	t.Helper()
	cmd := exec.Command(binary, "--sandbox")
	cmd.Env = append(os.Environ(), env...)
	p := &stdioProc{t: t, cmd: cmd, lines: make(chan string, 4096), exited: make(chan struct{})}
	cmd.Stderr = &p.stderr
	var err error
	if p.in, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.all = append(p.all, sc.Text())
			p.mu.Unlock()
			p.lines <- sc.Text()
		}
		close(p.lines)
		_ = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-p.exited })
	return p
}

func (p *stdioProc) send(msg string) {
	p.t.Helper()
	if _, err := io.WriteString(p.in, msg+"\n"); err != nil {
		p.t.Fatalf("write stdin: %v", err)
	}
}

// await reads stdout until a line satisfies match (bounded) and returns it.
func (p *stdioProc) await(match func(string) bool, what string) string {
	p.t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("stdout ended while waiting for %s:\n%s", what, p.stderr.String())
			}
			if match(line) {
				return line
			}
		case <-deadline:
			p.t.Fatalf("no %s on stdout", what)
		}
	}
}

// call sends a tools/call and returns its result's structuredContent.
func (p *stdioProc) call(id int, name string, args map[string]any) map[string]any {
	p.t.Helper()
	msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": map[string]any{"name": name, "arguments": args}})
	p.send(string(msg))
	line := p.await(func(l string) bool { return strings.Contains(l, fmt.Sprintf(`"id":%d,`, id)) }, name+" result")
	var r struct {
		Result struct {
			IsError           bool           `json:"isError"`
			StructuredContent map[string]any `json:"structuredContent"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(line), &r); err != nil || r.Result.IsError {
		p.t.Fatalf("%s: %s", name, line)
	}
	return r.Result.StructuredContent
}

func (p *stdioProc) initialize() {
	p.t.Helper()
	p.send(initMsg)
	p.await(func(l string) bool { return strings.Contains(l, `"id":1,`) }, "the initialize result")
	p.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
}

// startWait sets up an agent with a number and starts a wait_for_reply nobody answers, with
// a progress token; it returns once the first progress shows the call is running.
func (p *stdioProc) startWait(id int) {
	p.t.Helper()
	agent := p.call(2, "create_agent", map[string]any{"name": "Desk", "voice_mode": "hosted", "system_prompt": "Be brief."})
	p.call(3, "buy_number", map[string]any{"agent_id": agent["id"], "area_code": "415"})
	msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": map[string]any{
		"name": "wait_for_reply", "arguments": map[string]any{"agent_id": agent["id"], "participant": "+14155550177", "timeout_seconds": 120},
		"_meta": map[string]any{"progressToken": "waiting"}}})
	p.send(string(msg))
	p.await(func(l string) bool {
		return strings.Contains(l, "notifications/progress") && strings.Contains(l, `"waiting"`)
	}, "progress from wait_for_reply")
}

func TestStdioWritesNothingAfterStdinCloses(t *testing.T) {
	t.Parallel()
	p := startStdioProc(t, sandboxEnv(t, "AGENTPHONE_CONFIRM_MODE=off"))
	p.initialize()
	p.startWait(9)
	// The call is running. The client closes stdin: the server must exit 0 and write nothing
	// more, in particular not the result of the call it cancels.
	_ = p.in.Close()
	var after []string
	deadline := time.After(15 * time.Second)
	for done := false; !done; {
		select {
		case line, ok := <-p.lines:
			if !ok {
				done = true
				break
			}
			after = append(after, line)
		case <-deadline:
			t.Fatalf("the server did not exit within 15 s of stdin closing:\n%s", p.stderr.String())
		}
	}
	<-p.exited
	if len(after) > 0 {
		t.Fatalf("written to stdout after stdin closed: %q", after)
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d after stdin closed:\n%s", code, p.stderr.String())
	}
}

func TestStdioSIGTERMWithACallInFlight(t *testing.T) {
	t.Parallel()
	p := startStdioProc(t, sandboxEnv(t, "AGENTPHONE_CONFIRM_MODE=off", "AGENTPHONE_SHUTDOWN_GRACE=1s"))
	p.initialize()
	p.startWait(9)
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		t.Fatalf("still running 15 s after SIGTERM:\n%s", p.stderr.String())
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM:\n%s", code, p.stderr.String())
	}
	// The call was given the grace period, then cancelled: its answer (a cancellation
	// result) went out before the output closed, while stdin was still open.
	p.mu.Lock()
	defer p.mu.Unlock()
	answered := false
	for _, l := range p.all {
		if strings.Contains(l, `"id":9,`) {
			answered = true
		}
	}
	if !answered {
		t.Fatalf("the in-flight call got no answer before shutdown; stdout: %q", p.all)
	}
	t.Logf("exited 0 %s after SIGTERM with a call in flight (grace 1 s)", time.Since(start).Round(time.Millisecond))
}

func TestHTTPSIGTERMWithACallInFlight(t *testing.T) {
	t.Parallel()
	s := startServer(t, "http", "127.0.0.1:0", sandboxEnv(t, "AGENTPHONE_CONFIRM_MODE=off", "AGENTPHONE_SHUTDOWN_GRACE=1s"))
	sid := openSession(t, s.base)
	call := func(id int, name string, args map[string]any) map[string]any {
		msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": map[string]any{"name": name, "arguments": args}})
		_, body := httpPost(t, s.base+"/mcp", sid, string(msg))
		var r struct {
			Result struct {
				StructuredContent map[string]any `json:"structuredContent"`
			} `json:"result"`
		}
		_ = json.Unmarshal([]byte(body), &r)
		return r.Result.StructuredContent
	}
	agent := call(2, "create_agent", map[string]any{"name": "Desk", "voice_mode": "hosted", "system_prompt": "Be brief."})
	call(3, "buy_number", map[string]any{"agent_id": agent["id"], "area_code": "415"})

	msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": map[string]any{
		"name": "wait_for_reply", "arguments": map[string]any{"agent_id": agent["id"], "participant": "+14155550177", "timeout_seconds": 120},
		"_meta": map[string]any{"progressToken": "waiting"}}})
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, s.base+"/mcp", strings.NewReader(string(msg)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Session-Id", sid)
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data:"); ok {
				events <- d
			}
		}
		close(events)
	}()
	select {
	case e := <-events:
		if !strings.Contains(e, "notifications/progress") {
			t.Fatalf("first event on the POST stream: %s", e)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no progress from the running call")
	}
	code, took := s.stop(t, syscall.SIGTERM, 15*time.Second)
	if code != 0 {
		t.Fatalf("exit code %d after SIGTERM with a call in flight:\n%s", code, s.stderr.String())
	}
	var last string
	for e := range events {
		last = e
	}
	if !strings.Contains(last, `"id":9`) {
		t.Fatalf("the in-flight call's stream ended without its answer (last event %q)", last)
	}
	t.Logf("exited 0 in %s with a call in flight (grace 1 s)", took.Round(time.Millisecond))
}

// conformanceFixtures are fixture names of the official conformance suite.
var conformanceFixtures = []string{"test_simple_text", "test_image_content", "test_tool_with_progress", "test_tool_with_logging",
	"test_error_handling", "test_sampling", "test_elicitation", "test_missing_capability", "test_input_required_result_elicitation",
	"json_schema_2020_12_tool", "test_header_echo", "test_trigger_tool_change"}

func TestProductBinaryHasNoConformanceFixtures(t *testing.T) {
	t.Parallel()
	list := func(bin string) (tools, resources, prompts string) {
		t.Helper()
		cmd := exec.Command(bin, "--sandbox")
		cmd.Env = append(os.Environ(), sandboxEnv(t)...)
		// stdin stays open until every answer is read: the server writes nothing after it closes.
		pr, pw := io.Pipe()
		cmd.Stdin = pr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() {
			_, _ = io.WriteString(pw, initMsg+"\n"+`{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n"+
				`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`+"\n"+`{"jsonrpc":"2.0","id":3,"method":"resources/list"}`+"\n"+
				`{"jsonrpc":"2.0","id":4,"method":"prompts/list"}`+"\n"+`{"jsonrpc":"2.0","id":5,"method":"resources/templates/list"}`+"\n")
		}()
		got := map[string]string{}
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 4<<20), 4<<20)
		for len(got) < 4 && sc.Scan() {
			for _, id := range []string{"2", "3", "4", "5"} {
				if strings.Contains(sc.Text(), `"id":`+id+`,`) {
					got[id] = sc.Text()
				}
			}
		}
		_ = pw.Close()
		if err := cmd.Wait(); err != nil && !errors.Is(err, os.ErrClosed) {
			t.Logf("%s exited: %v", bin, err)
		}
		return got["2"], got["3"] + got["5"], got["4"]
	}
	productTools, productResources, productPrompts := list(binary)
	if !strings.Contains(productTools, `"send_sms"`) {
		t.Fatalf("product tools/list: %.300s", productTools)
	}
	for _, name := range conformanceFixtures {
		if strings.Contains(productTools, `"`+name+`"`) {
			t.Fatalf("the product binary exposes the conformance fixture %s", name)
		}
	}
	if strings.Contains(productResources, "test://") || strings.Contains(productPrompts, `"test_`) {
		t.Fatalf("the product binary exposes conformance resources or prompts: %s %s", productResources, productPrompts)
	}

	// The same check passes because the fixtures are absent, not because the listing is
	// broken: the conformance build lists them.
	fixtureBin := binary + "-conformance"
	build := exec.Command("go", "build", "-tags", "conformance", "-o", fixtureBin, "../cmd/agentphone-mcp")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the conformance binary: %v\n%s", err, out)
	}
	fixtureTools, fixtureResources, fixturePrompts := list(fixtureBin)
	for _, name := range conformanceFixtures {
		if !strings.Contains(fixtureTools, `"`+name+`"`) {
			t.Fatalf("the conformance build lacks %s", name)
		}
	}
	if !strings.Contains(fixtureResources, "test://static-text") || !strings.Contains(fixturePrompts, `"test_simple_prompt"`) {
		t.Fatal("the conformance build lacks the fixture resources or prompts")
	}
}

func TestSSESIGTERMWithACallInFlight(t *testing.T) {
	t.Parallel()
	s := startServer(t, "sse", "127.0.0.1:0", sandboxEnv(t, "AGENTPHONE_CONFIRM_MODE=off", "AGENTPHONE_SHUTDOWN_GRACE=1s"))
	req, _ := http.NewRequest(http.MethodGet, s.base+"/sse", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /sse: %v %v", resp, err)
	}
	defer resp.Body.Close()
	events := make(chan string, 256)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data:"); ok {
				events <- strings.TrimSpace(d)
			}
		}
		close(events)
	}()
	next := func(match func(string) bool, what string) string {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case e, ok := <-events:
				if !ok {
					t.Fatalf("the stream ended while waiting for %s", what)
				}
				if match(e) {
					return e
				}
			case <-deadline:
				t.Fatalf("no %s on the SSE stream", what)
			}
		}
	}
	endpoint := next(func(e string) bool { return strings.HasPrefix(e, "/message") }, "endpoint")
	post := func(id int, msg string) map[string]any {
		t.Helper()
		r, body := httpPost(t, s.base+endpoint, "", msg)
		if r.StatusCode != http.StatusAccepted {
			t.Fatalf("POST: %d %s", r.StatusCode, body)
		}
		if id == 0 {
			return nil
		}
		line := next(func(e string) bool { return strings.Contains(e, fmt.Sprintf(`"id":%d,`, id)) }, fmt.Sprintf("answer %d", id))
		var a struct {
			Result struct {
				StructuredContent map[string]any `json:"structuredContent"`
			} `json:"result"`
		}
		_ = json.Unmarshal([]byte(line), &a)
		return a.Result.StructuredContent
	}
	tool := func(id int, name string, args map[string]any, meta map[string]any) string {
		params := map[string]any{"name": name, "arguments": args}
		if meta != nil {
			params["_meta"] = meta
		}
		b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params})
		return string(b)
	}
	post(1, strings.Replace(initMsg, "2025-11-25", "2024-11-05", 1))
	post(0, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	agent := post(2, tool(2, "create_agent", map[string]any{"name": "Desk", "voice_mode": "hosted", "system_prompt": "Be brief."}, nil))
	post(3, tool(3, "buy_number", map[string]any{"agent_id": agent["id"], "area_code": "415"}, nil))
	post(0, tool(9, "wait_for_reply", map[string]any{"agent_id": agent["id"], "participant": "+14155550177", "timeout_seconds": 120},
		map[string]any{"progressToken": "waiting"}))
	next(func(e string) bool { return strings.Contains(e, "notifications/progress") }, "progress from the running call")
	code, took := s.stop(t, syscall.SIGTERM, 15*time.Second)
	if code != 0 {
		t.Fatalf("exit code %d after SIGTERM with an SSE call in flight:\n%s", code, s.stderr.String())
	}
	next(func(e string) bool { return strings.Contains(e, `"id":9,`) }, "the in-flight call's answer before the stream closed")
	t.Logf("exited 0 in %s with an SSE call in flight (grace 1 s)", took.Round(time.Millisecond))
}
