// Package doctor checks an agentphone-mcp set-up and says, for each thing that is wrong, what
// to do about it: the API key and its file, the base URL, whether the API answers and accepts
// the key, the clock, the state directory and audit chain, the policy file, the webhook
// receiver and HTTP settings, and which MCP clients have an entry pointing at this binary.
//
// The checks that read formats other packages own (the audit chain, the state store, the
// policy file) are functions handed in, so this package does not change when those formats do.
package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/buildinfo"
	"github.com/agentphone-mcp/agentphone-mcp/clientconfig"
	"github.com/agentphone-mcp/agentphone-mcp/server"
)

// Status is a check's outcome. Only Fail blocks use (and makes doctor exit non-zero).
type Status string

// Check outcomes.
const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Check is one line of the report.
type Check struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	// Fix says what to do; set for every Fail and Warn.
	Fix string `json:"fix,omitempty"`
}

// Report is the result of Run.
type Report struct {
	// OK is false when any check failed.
	OK      bool           `json:"ok"`
	Sandbox bool           `json:"sandbox"`
	Version buildinfo.Info `json:"version"`
	Checks  []Check        `json:"checks"`
}

// Options are what the checks look at, and the seams onto other packages.
type Options struct {
	// Environ is the environment to check (os.Environ()-shaped).
	Environ []string
	// Sandbox checks a sandbox set-up: no key needed, the API is the simulated one.
	Sandbox bool
	// Build is the running binary's build.
	Build buildinfo.Info
	// Executable is this binary's path; client entries are compared with it ("" skips that).
	Executable string
	// Platform locates the client configs and the default key file.
	Platform clientconfig.Platform
	// Clock is compared with the API's Date header; nil means real time.
	Clock clockwork.Clock
	// Transport carries the API request (nil: http.DefaultTransport); in sandbox mode
	// SandboxTransport is used instead.
	Transport http.RoundTripper
	// SandboxTransport returns the simulated API's transport and a function that stops it.
	SandboxTransport func() (http.RoundTripper, func())
	// Timeout bounds the API request; 0 means 15 s.
	Timeout time.Duration

	// VerifyAudit checks the audit log's chain and returns the number of good lines; a
	// missing file must give an error satisfying errors.Is(err, fs.ErrNotExist).
	VerifyAudit func(path string) (int, error)
	// OpenState opens and closes the state store in dir (called only when dir holds one).
	OpenState func(dir string) error
	// LoadPolicy reads and checks the operator policy file.
	LoadPolicy func(path string) error
}

// Run performs every check.
func Run(ctx context.Context, o Options) Report {
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Second
	}
	r := &run{o: o, ctx: ctx}
	r.report.Sandbox = o.Sandbox
	r.report.Version = o.Build
	r.add(Check{ID: "version", Name: "version", Status: OK, Detail: o.Build.String()})
	r.config()
	r.key()
	r.baseURL()
	r.api()
	r.state()
	r.audit()
	r.policyFile()
	r.webhooks()
	r.transport()
	r.clients()
	r.report.OK = true
	for _, c := range r.report.Checks {
		if c.Status == Fail {
			r.report.OK = false
		}
	}
	return r.report
}

// run carries what one check finds out for the next.
type run struct {
	o      Options
	ctx    context.Context
	report Report

	cfg      server.Config
	cfgOK    bool
	keyInfo  keyInfo
	endpoint *endpointInfo
}

func (r *run) add(c Check) { r.report.Checks = append(r.report.Checks, c) }

func (r *run) getenv(name string) string {
	for _, kv := range r.o.Environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

func (r *run) config() {
	cfg, err := server.ConfigFromEnv(r.o.Environ)
	if err == nil {
		cfg.Sandbox = cfg.Sandbox || r.o.Sandbox
		err = cfg.Validate()
	}
	r.cfg = cfg
	if err != nil {
		r.add(Check{ID: "config", Name: "settings", Status: Fail, Detail: err.Error(),
			Fix: "correct the AGENTPHONE_* variable named above (agentphone-mcp serve -h lists every setting)"})
		return
	}
	r.cfgOK = true
	mode := "real AgentPhone"
	if cfg.Sandbox {
		mode = "sandbox (simulated AgentPhone: nothing real happens)"
	}
	r.add(Check{ID: "config", Name: "settings", Status: OK, Detail: mode + ", confirm mode " + cfg.ConfirmMode})
}

// WriteJSON writes the report as one indented JSON object.
func (rep Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteTable writes the report for people: a table, then what to do for each problem.
func (rep Report) WriteTable(w io.Writer) error {
	title := "agentphone-mcp doctor"
	if rep.Sandbox {
		title += " (sandbox set-up)"
	}
	fmt.Fprintln(w, title)
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tSTATUS\tDETAIL")
	for _, c := range rep.Checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, label(c.Status), oneLine(c.Detail))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var fixes []Check
	for _, c := range rep.Checks {
		if (c.Status == Fail || c.Status == Warn) && c.Fix != "" {
			fixes = append(fixes, c)
		}
	}
	if len(fixes) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "What to do:")
		for _, c := range fixes {
			fmt.Fprintf(w, "  %s %s: %s\n", label(c.Status), c.Name, c.Fix)
		}
	}
	fmt.Fprintln(w)
	if rep.OK {
		fmt.Fprintln(w, "Nothing blocks agentphone-mcp.")
	} else {
		fmt.Fprintln(w, "Something blocks agentphone-mcp: fix the FAIL lines above, then run doctor again.")
	}
	return nil
}

func label(s Status) string {
	switch s {
	case Fail:
		return "FAIL"
	case Warn:
		return "WARN"
	default:
		return string(s)
	}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
