package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/clientconfig"
	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
	"github.com/agentphone-mcp/agentphone-mcp/server"
)

// keyInfo is what the key checks found.
type keyInfo struct {
	key    keyguard.Secret
	source string // "AGENTPHONE_API_KEY", "AGENTPHONE_API_KEY_FILE", "the key file install wrote"
	file   string
}

const installFix = "run `agentphone-mcp install CLIENT` (it asks for the key and keeps it in a private key file), or set AGENTPHONE_API_KEY_FILE to a chmod-600 file holding it"

func (r *run) key() {
	envKey := strings.TrimSpace(r.getenv(server.EnvAPIKey))
	envFile := strings.TrimSpace(r.getenv("AGENTPHONE_API_KEY_FILE"))
	switch {
	case envFile != "":
		r.keyInfo.source, r.keyInfo.file = "AGENTPHONE_API_KEY_FILE", envFile
	case envKey != "":
		r.keyInfo.source = server.EnvAPIKey
	default:
		if def := r.o.Platform.KeyFilePath(); r.o.Platform.Home != "" {
			if _, err := os.Lstat(def); err == nil {
				r.keyInfo.source, r.keyInfo.file = "the key file install wrote", def
			}
		}
	}
	if r.o.Sandbox || r.cfg.Sandbox {
		detail := "not needed: the sandbox accepts any key and nothing real happens"
		if r.keyInfo.source != "" {
			detail = "set (" + r.keyInfo.source + ") but unused in the sandbox"
		}
		r.add(Check{ID: "api_key", Name: "API key", Status: Skip, Detail: detail})
		return
	}
	if r.keyInfo.source == "" {
		r.add(Check{ID: "api_key", Name: "API key", Status: Fail,
			Detail: "no key: AGENTPHONE_API_KEY and AGENTPHONE_API_KEY_FILE are unset and there is no key file at " + r.o.Platform.KeyFilePath(),
			Fix:    installFix + "; or try everything without a key: agentphone-mcp doctor --sandbox"})
		return
	}
	if r.keyInfo.file == "" {
		s, err := keyguard.LoadKey(envKey, "")
		if err != nil {
			r.add(Check{ID: "api_key", Name: "API key", Status: Fail, Detail: err.Error(), Fix: "set AGENTPHONE_API_KEY to the key exactly as the dashboard shows it (one token, no spaces)"})
			return
		}
		r.keyInfo.key = s
		r.add(Check{ID: "api_key", Name: "API key", Status: OK, Detail: "set in AGENTPHONE_API_KEY (environment)"})
		r.add(Check{ID: "key_file", Name: "key file", Status: Skip, Detail: "none: the key comes from the environment; `agentphone-mcp install CLIENT` keeps it in a private file instead"})
		return
	}
	detail := "from " + r.keyInfo.source + " (" + r.keyInfo.file + ")"
	if envKey != "" && envFile != "" {
		detail += "; AGENTPHONE_API_KEY is also set and ignored (the file wins)"
	}
	r.add(Check{ID: "api_key", Name: "API key", Status: OK, Detail: detail})
	r.keyFile()
}

// keyFile checks the key file the way the server will read it.
func (r *run) keyFile() {
	path := r.keyInfo.file
	c := Check{ID: "key_file", Name: "key file"}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.Status, c.Detail, c.Fix = Fail, path+" does not exist", installFix
	case err != nil:
		c.Status, c.Detail, c.Fix = Fail, err.Error(), "make "+path+" readable by you (and only you)"
	case !fi.Mode().IsRegular():
		c.Status, c.Detail, c.Fix = Fail, path+" is not a regular file", "point AGENTPHONE_API_KEY_FILE at a file holding only the key"
	case runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0:
		c.Status = Fail
		c.Detail = fmt.Sprintf("%s has mode %04o: other users can read the key", path, fi.Mode().Perm())
		c.Fix = "run: chmod 600 " + path + " (then consider creating a new key in the AgentPhone dashboard, since others could read this one)"
	default:
		s, err := keyguard.LoadKey("", path)
		if err != nil {
			c.Status, c.Detail, c.Fix = Fail, err.Error(), installFix
			break
		}
		if s.IsZero() {
			c.Status, c.Detail, c.Fix = Fail, path+" is empty", installFix
			break
		}
		r.keyInfo.key = s
		c.Status, c.Detail = OK, fmt.Sprintf("%s, mode %04o, private to you", path, fi.Mode().Perm())
	}
	r.add(c)
}

// apiErrorCode reads the error code of an API error body ({"error": {"code": ...}} or
// {"code": ...}), bounded, and closes the body. It returns the HTTP status text otherwise.
func apiErrorCode(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body struct {
		Code  string `json:"code"`
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &body) == nil {
		code := body.Error.Code
		if code == "" {
			code = body.Code
		}
		if code != "" && len(code) < 64 && strings.IndexFunc(code, func(r rune) bool {
			return !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
		}) < 0 {
			return code
		}
	}
	return http.StatusText(resp.StatusCode)
}

// endpointInfo is the parsed base URL.
type endpointInfo struct{ ep keyguard.Endpoint }

func (r *run) baseURL() {
	raw := r.cfg.BaseURL
	ep, err := keyguard.ParseBaseURL(raw)
	if err != nil {
		r.add(Check{ID: "base_url", Name: "API base URL", Status: Fail, Detail: err.Error(),
			Fix: "unset AGENTPHONE_BASE_URL (the default is " + keyguard.DefaultBaseURL + "), or set it to one of the allowed values: the key is only ever sent to the AgentPhone API"})
		return
	}
	r.endpoint = &endpointInfo{ep: ep}
	switch {
	case ep.Loopback:
		r.add(Check{ID: "base_url", Name: "API base URL", Status: Warn, Detail: ep.BaseURL + " is a local test server: the key is sent there",
			Fix: "for real use unset AGENTPHONE_BASE_URL"})
	default:
		r.add(Check{ID: "base_url", Name: "API base URL", Status: OK, Detail: ep.BaseURL + " (the key goes to this host only)"})
	}
}

// dateRecorder remembers the Date header of the last response.
type dateRecorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	date string
}

func (d *dateRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := d.base.RoundTrip(req)
	if resp != nil {
		d.mu.Lock()
		d.date = resp.Header.Get("Date")
		d.mu.Unlock()
	}
	return resp, err
}

// api makes one read request through the key guard: does the API answer, does it accept the
// key, and how far is this machine's clock from the API's.
func (r *run) api() {
	sandbox := r.o.Sandbox || r.cfg.Sandbox
	reach := Check{ID: "api_reachable", Name: "API reachable"}
	accept := Check{ID: "key_accepted", Name: "key accepted"}
	skew := Check{ID: "clock", Name: "clock"}
	defer func() { r.add(reach); r.add(accept); r.add(skew) }()
	if r.endpoint == nil {
		reach.Status, reach.Detail = Skip, "the base URL is refused"
		accept.Status, accept.Detail = Skip, "the base URL is refused"
		skew.Status, skew.Detail = Skip, "no API answer to compare with"
		return
	}
	ep := r.endpoint.ep
	base := r.o.Transport
	key := r.keyInfo.key
	if sandbox {
		if r.o.SandboxTransport == nil {
			reach.Status, reach.Detail = Skip, "no sandbox in this build"
			accept.Status, accept.Detail = Skip, "sandbox"
			skew.Status, skew.Detail = Skip, "sandbox"
			return
		}
		t, stop := r.o.SandboxTransport()
		defer stop()
		base, key = t, keyguard.NewSecret(server.SandboxKey)
		ep, _ = keyguard.ParseBaseURL("")
	} else if key.IsZero() {
		reach.Status, reach.Detail = Skip, "no usable key to ask with (see above)"
		accept.Status, accept.Detail = Skip, "no usable key"
		skew.Status, skew.Detail = Skip, "no API answer to compare with"
		return
	}
	if base == nil {
		base = http.DefaultTransport
	}
	rec := &dateRecorder{base: base}
	hc := keyguard.NewHTTPClient(ep, key, rec)
	ctx, cancel := context.WithTimeout(r.ctx, r.o.Timeout)
	defer cancel()
	// One read request, not retried: GET /v1/agents?limit=1 through the key guard.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ep.BaseURL+"/v1/agents?limit=1", nil)
	if err != nil {
		reach.Status, reach.Detail = Fail, err.Error()
		accept.Status, accept.Detail = Skip, "no request"
		skew.Status, skew.Detail = Skip, "no API answer"
		return
	}
	req.Header.Set("User-Agent", "agentphone-mcp-doctor/"+r.o.Build.Version)
	req.Header.Set("Accept", "application/json")
	start := time.Now()
	resp, err := hc.Do(req)
	elapsed := time.Since(start).Round(time.Millisecond)
	switch {
	case err != nil:
		reach.Status = Fail
		reach.Detail = fmt.Sprintf("no answer from %s: %v", ep.Host, err)
		reach.Fix = "check the network connection, any proxy (HTTPS_PROXY) and firewall, then run doctor again"
		accept.Status, accept.Detail = Skip, "the API did not answer"
	default:
		code := apiErrorCode(resp)
		reach.Status, reach.Detail = OK, fmt.Sprintf("%s answered in %s", ep.Host, elapsed)
		switch {
		case resp.StatusCode/100 == 2:
			accept.Status, accept.Detail = OK, fmt.Sprintf("GET /v1/agents with the key: %d", resp.StatusCode)
			if sandbox {
				reach.Detail = "the simulated AgentPhone answered (nothing real happens)"
				accept.Detail = "the sandbox accepts any key"
			}
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			accept.Status = Fail
			accept.Detail = fmt.Sprintf("the API refused the key (%d %s)", resp.StatusCode, code)
			accept.Fix = "create a new API key in the AgentPhone dashboard, then run `agentphone-mcp install CLIENT` again with it"
			if r.keyInfo.file != "" {
				accept.Fix += " (or put it in " + r.keyInfo.file + ")"
			}
		default:
			accept.Status = Fail
			accept.Detail = fmt.Sprintf("the API answered %d %s", resp.StatusCode, code)
			accept.Fix = "try again in a minute; if it persists, check the AgentPhone status page"
		}
	}
	rec.mu.Lock()
	date := rec.date
	rec.mu.Unlock()
	if date == "" {
		skew.Status, skew.Detail = Skip, "the API sent no Date header"
		if sandbox {
			skew.Detail = "the in-process sandbox runs on this machine's clock"
		}
		return
	}
	t, err := http.ParseTime(date)
	if err != nil {
		skew.Status, skew.Detail = Skip, "the API's Date header is unreadable"
		return
	}
	d := r.o.Clock.Now().Sub(t)
	abs := d
	if abs < 0 {
		abs = -abs
	}
	dir := "ahead of"
	if d < 0 {
		dir = "behind"
	}
	switch {
	case abs > apiclient.WebhookTolerance:
		skew.Status = Fail
		skew.Detail = fmt.Sprintf("this machine is %s %s the API: every signed webhook would be refused as stale", abs.Round(time.Second), dir)
		skew.Fix = "set the clock automatically (Linux: timedatectl set-ntp true; macOS and Windows: Date & Time settings, set automatically)"
	case abs > 30*time.Second:
		skew.Status = Warn
		skew.Detail = fmt.Sprintf("this machine is %s %s the API", abs.Round(time.Second), dir)
		skew.Fix = "set the clock automatically; at more than 5 minutes signed webhooks are refused"
	default:
		skew.Status, skew.Detail = OK, fmt.Sprintf("within %s of the API's clock (HTTP dates have 1 s resolution)", abs.Round(time.Second))
	}
}

func (r *run) stateDir() string {
	if r.cfg.Sandbox {
		return filepath.Join(r.cfg.StateDir, "sandbox")
	}
	return r.cfg.StateDir
}

func (r *run) state() {
	c := Check{ID: "state_dir", Name: "state directory"}
	defer func() { r.add(c) }()
	if !r.cfgOK || r.cfg.StateDir == "" {
		c.Status, c.Detail = Skip, "no state directory (see settings)"
		return
	}
	dir := r.stateDir()
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		parent := dir
		for {
			parent = filepath.Dir(parent)
			if pfi, err := os.Stat(parent); err == nil {
				if !pfi.IsDir() || !writable(parent) {
					c.Status, c.Detail = Fail, dir+" does not exist and cannot be created in "+parent
					c.Fix = "set AGENTPHONE_STATE_DIR to a folder you can write"
					return
				}
				break
			}
			if parent == filepath.Dir(parent) {
				break
			}
		}
		c.Status, c.Detail = OK, dir+" will be created (0700) at the first start"
		return
	}
	switch {
	case err != nil:
		c.Status, c.Detail, c.Fix = Fail, err.Error(), "set AGENTPHONE_STATE_DIR to a folder you can write"
		return
	case !fi.IsDir():
		c.Status, c.Detail, c.Fix = Fail, dir+" is not a directory", "set AGENTPHONE_STATE_DIR to a folder"
		return
	case runtime.GOOS != "windows" && fi.Mode().Perm()&0o022 != 0:
		c.Status = Fail
		c.Detail = fmt.Sprintf("%s has mode %04o: other users could change the caps, opt-outs and audit log", dir, fi.Mode().Perm())
		c.Fix = "run: chmod 700 " + dir
		return
	case !writable(dir):
		c.Status, c.Detail, c.Fix = Fail, dir+" is not writable", "fix its owner or set AGENTPHONE_STATE_DIR to a folder you can write"
		return
	}
	if r.o.OpenState != nil {
		if _, err := os.Stat(filepath.Join(dir, "state.db")); err == nil {
			if err := r.o.OpenState(dir); err != nil {
				c.Status, c.Detail = Fail, "the state store does not open: "+err.Error()
				c.Fix = "stop other agentphone-mcp processes that may hold it, then run doctor again; `agentphone-mcp state rebuild` recreates a damaged store from the audit log where this version has it"
				return
			}
			c.Status, c.Detail = OK, dir+": writable, the state store opens"
			return
		}
	}
	c.Status, c.Detail = OK, dir+": writable, no state yet"
}

// writable reports whether a file can be created in dir.
func writable(dir string) bool {
	f, err := os.CreateTemp(dir, ".agentphone-doctor-*")
	if err != nil {
		return false
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return true
}

func (r *run) audit() {
	c := Check{ID: "audit_log", Name: "audit log"}
	defer func() { r.add(c) }()
	if !r.cfgOK || r.cfg.AuditLog == "" {
		c.Status, c.Detail = Skip, "no audit log path (see settings)"
		return
	}
	path := r.cfg.AuditLog
	if r.o.VerifyAudit == nil {
		c.Status, c.Detail = Skip, "no verifier in this build"
		return
	}
	n, err := r.o.VerifyAudit(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.Status, c.Detail = OK, path+": nothing recorded yet"
		return
	case err != nil:
		c.Status = Fail
		c.Detail = fmt.Sprintf("%s: %v (%d good lines before it)", path, err, n)
		c.Fix = "keep a copy of " + path + " for the record; `agentphone-mcp audit verify " + path + "` names the first bad line; once saved, move the file aside (the server starts a new chain) or repair it with `agentphone-mcp audit repair` where this version has it"
		return
	}
	c.Status, c.Detail = OK, fmt.Sprintf("%s: %d lines, hash chain intact", path, n)
	if fi, err := os.Stat(path); err == nil && runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		c.Status = Warn
		c.Detail += fmt.Sprintf("; mode %04o lets other users read it", fi.Mode().Perm())
		c.Fix = "run: chmod 600 " + path
	}
}

func (r *run) policyFile() {
	c := Check{ID: "policy_file", Name: "policy file"}
	defer func() { r.add(c) }()
	switch {
	case !r.cfgOK:
		c.Status, c.Detail = Skip, "see settings"
	case r.cfg.PolicyFile == "":
		c.Status, c.Detail = OK, "none: the built-in caps, quiet hours and countries apply"
	case r.o.LoadPolicy == nil:
		c.Status, c.Detail = Skip, "no policy reader in this build"
	default:
		if err := r.o.LoadPolicy(r.cfg.PolicyFile); err != nil {
			c.Status, c.Detail = Fail, err.Error()
			c.Fix = "correct the file as the message says (every key is described in the README's policy file section), or unset AGENTPHONE_POLICY_FILE"
			return
		}
		c.Status, c.Detail = OK, r.cfg.PolicyFile+": valid"
	}
}

func (r *run) webhooks() {
	c := Check{ID: "webhooks", Name: "webhook receiver"}
	defer func() { r.add(c) }()
	addr := r.cfg.WebhookListen
	if !r.cfgOK {
		c.Status, c.Detail = Skip, "see settings"
		return
	}
	if addr == "" {
		c.Status, c.Detail = Skip, "off (AGENTPHONE_WEBHOOK_LISTEN unset): call and message state is read by polling"
		return
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		c.Status, c.Detail, c.Fix = Fail, fmt.Sprintf("AGENTPHONE_WEBHOOK_LISTEN %q is not host:port", addr), "set it like 127.0.0.1:8090"
		return
	}
	var notes []string
	status := OK
	var fixes []string
	if ln, err := net.Listen("tcp", addr); err != nil {
		status = Warn
		notes = append(notes, fmt.Sprintf("%s is taken (%v): is agentphone-mcp already running?", addr, err))
		fixes = append(fixes, "stop the other process or pick another address")
	} else {
		ln.Close()
		notes = append(notes, "listens on "+addr)
	}
	if !isLoopback(host) {
		status = Warn
		notes = append(notes, "reachable from other machines")
		fixes = append(fixes, "listen on 127.0.0.1 and expose it through an HTTPS tunnel or reverse proxy")
	}
	if strings.TrimSpace(r.getenv(server.EnvWebhookSecret)) != "" {
		notes = append(notes, "signing secret from AGENTPHONE_WEBHOOK_SECRET")
	} else {
		notes = append(notes, "signing secrets are read from the API at start (set_webhook configures one)")
	}
	c.Status, c.Detail, c.Fix = status, strings.Join(notes, "; "), strings.Join(fixes, "; ")
}

func (r *run) transport() {
	c := Check{ID: "transport", Name: "transport"}
	defer func() { r.add(c) }()
	if !r.cfgOK {
		c.Status, c.Detail = Skip, "see settings"
		return
	}
	if r.cfg.Transport == "stdio" {
		c.Status, c.Detail = OK, "stdio (the client starts the server)"
		return
	}
	host, _, err := net.SplitHostPort(r.cfg.Listen)
	if err != nil {
		c.Status, c.Detail, c.Fix = Fail, fmt.Sprintf("listen address %q is not host:port", r.cfg.Listen), "set AGENTPHONE_HTTP_LISTEN like 127.0.0.1:8080"
		return
	}
	token := strings.TrimSpace(r.getenv(server.EnvHTTPToken))
	switch {
	case isLoopback(host):
		c.Status, c.Detail = OK, r.cfg.Transport+" on "+r.cfg.Listen+" (this machine only)"
	case !r.cfg.AllowRemote:
		c.Status = Fail
		c.Detail = r.cfg.Listen + " is not a loopback address and AGENTPHONE_HTTP_ALLOW_REMOTE is not set: the server refuses to start"
		c.Fix = "listen on 127.0.0.1, or set AGENTPHONE_HTTP_ALLOW_REMOTE=true with AGENTPHONE_HTTP_TOKEN"
	case token == "":
		c.Status = Fail
		c.Detail = "remote HTTP access without AGENTPHONE_HTTP_TOKEN: the server refuses to start"
		c.Fix = "set AGENTPHONE_HTTP_TOKEN to a random value of at least 32 characters (openssl rand -hex 32)"
	case len(token) < 32:
		c.Status = Warn
		c.Detail = fmt.Sprintf("AGENTPHONE_HTTP_TOKEN is %d characters", len(token))
		c.Fix = "use at least 32 random characters (openssl rand -hex 32)"
	default:
		c.Status, c.Detail = OK, r.cfg.Transport+" on "+r.cfg.Listen+", bearer token required"
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (r *run) clients() {
	if r.o.Platform.Home == "" {
		r.add(Check{ID: "clients", Name: "clients", Status: Skip, Detail: "no home directory known"})
		return
	}
	var configured []string
	var absent []string
	for _, cl := range clientconfig.Clients() {
		st := clientconfig.Inspect(cl, r.o.Platform, "")
		c := Check{ID: "client_" + strings.ReplaceAll(cl.ID, "-", "_"), Name: cl.Name}
		switch {
		case !st.Exists:
			absent = append(absent, cl.ID)
			continue
		case st.Err != nil:
			c.Status, c.Detail = Warn, st.Err.Error()
			c.Fix = "fix " + st.Path + " so that " + cl.Name + " can read it"
		case st.Entry == nil:
			c.Status, c.Detail = Skip, "no agentphone entry in "+st.Path
		case !st.Entry.RunsAgentphone(r.o.Executable):
			c.Status = Warn
			c.Detail = fmt.Sprintf("the agentphone entry in %s runs %q, not agentphone-mcp", st.Path, st.Entry.Command)
			c.Fix = "agentphone-mcp install " + cl.ID + " --name agentphone-mcp adds this server beside it"
		default:
			configured = append(configured, cl.ID)
			c = r.clientEntry(c, cl, st)
		}
		r.add(c)
	}
	if len(configured) == 0 {
		c := Check{ID: "clients", Name: "clients", Status: Warn, Detail: "no client has an agentphone entry",
			Fix: "run `agentphone-mcp install CLIENT` with one of " + strings.Join(clientconfig.IDs(), ", ")}
		if len(absent) > 0 {
			c.Detail += " (no config file for " + strings.Join(absent, ", ") + ")"
		}
		r.add(c)
	}
}

func (r *run) clientEntry(c Check, cl clientconfig.Client, st clientconfig.Status) Check {
	e := st.Entry
	var notes []string
	c.Status = OK
	switch {
	case !clientconfig.CommandExists(e.Command):
		c.Status = Fail
		c.Detail = fmt.Sprintf("the entry runs %s, which does not exist", e.Command)
		c.Fix = "agentphone-mcp install " + cl.ID + " points it at this binary"
		return c
	case r.o.Executable != "" && clientconfig.SameBinary(e.Command, r.o.Executable):
		notes = append(notes, "runs this binary")
	case r.o.Executable != "":
		c.Status = Warn
		notes = append(notes, "runs "+e.Command+", not this binary ("+r.o.Executable+")")
		c.Fix = "if this binary is the one to use, run: agentphone-mcp install " + cl.ID
	default:
		notes = append(notes, "runs "+e.Command)
	}
	if e.Sandbox {
		notes = append(notes, "sandbox")
	}
	if e.PlainKey {
		c.Status = Warn
		notes = append(notes, "the API key is written in plain text in "+st.Path)
		c.Fix = "agentphone-mcp install " + cl.ID + " moves it into a private key file"
	}
	if e.KeyFile != "" {
		if _, err := keyguard.LoadKey("", e.KeyFile); err != nil {
			c.Status = Fail
			notes = append(notes, "its key file: "+err.Error())
			c.Fix = "run: chmod 600 " + e.KeyFile + ", or agentphone-mcp install " + cl.ID + " to rewrite it"
		} else {
			notes = append(notes, "key file "+e.KeyFile)
		}
	} else if !e.Sandbox && !e.PlainKey {
		notes = append(notes, "names no key file (the client's environment must carry the key)")
	}
	c.Detail = strings.Join(notes, "; ")
	return c
}
