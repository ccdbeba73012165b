package clientconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
)

// Environment variables the entry uses.
const (
	envKey     = "AGENTPHONE_API_KEY"
	envKeyFile = "AGENTPHONE_API_KEY_FILE"
	envSandbox = "AGENTPHONE_SANDBOX"
)

// Entry is a server entry found in a client's config.
type Entry struct {
	Name    string   `json:"name"`
	Command string   `json:"command,omitempty"`
	Args    []string `json:"args,omitempty"`
	// Ours: the entry runs a binary named agentphone-mcp (see also RunsAgentphone).
	Ours bool `json:"ours"`
	// KeyFile is the entry's AGENTPHONE_API_KEY_FILE.
	KeyFile string `json:"key_file,omitempty"`
	// PlainKey: AGENTPHONE_API_KEY holds a key in plain text (not a ${...} reference).
	PlainKey bool `json:"plain_key"`
	// Sandbox: the entry runs the simulated AgentPhone.
	Sandbox bool `json:"sandbox"`
	// Remote: the entry names a URL rather than a command.
	Remote bool `json:"remote"`

	plainKey keyguard.Secret
}

// Status is what a client's config says about agentphone.
type Status struct {
	Client Client `json:"-"`
	Path   string `json:"path"`
	Exists bool   `json:"exists"`
	// Err: the file exists but cannot be read or parsed.
	Err   error  `json:"-"`
	Entry *Entry `json:"entry,omitempty"`
}

// Inspect reads a client's config file and reports the entry called name ("" = DefaultName).
func Inspect(c Client, p Platform, name string) Status {
	if name == "" {
		name = DefaultName
	}
	s := Status{Client: c, Path: c.ConfigPath(p)}
	st, err := readConfig(s.Path)
	if err != nil {
		s.Exists, s.Err = true, err
		return s
	}
	if !st.exists {
		return s
	}
	s.Exists = true
	doc, err := parseDocument(s.Path, st.data, !c.Comments)
	if err != nil {
		s.Err = err
		return s
	}
	s.Entry, s.Err = findEntry(doc, c, s.Path, name)
	return s
}

// findEntry returns the entry called name, or nil.
func findEntry(doc *document, c Client, path, name string) (*Entry, error) {
	servers, ok, err := doc.child(doc.rootObject(), c.ServersKey, path)
	if err != nil || !ok {
		return nil, err
	}
	if servers.index(name) < 0 {
		return nil, nil
	}
	e := &Entry{Name: name}
	eo, _, err := doc.child(servers, name, path)
	if err != nil {
		// Not an object: certainly not ours.
		return e, nil
	}
	_, _ = eo.value("command", &e.Command)
	_, _ = eo.value("args", &e.Args)
	var u1, u2 string
	_, _ = eo.value("url", &u1)
	_, _ = eo.value("serverUrl", &u2)
	e.Remote = u1 != "" || u2 != ""
	e.Ours = isOurCommand(e.Command)
	var env map[string]any
	_, _ = eo.value("env", &env)
	if v, ok := env[envKeyFile].(string); ok {
		e.KeyFile = v
	}
	if v, ok := env[envKey].(string); ok && v != "" && !strings.Contains(v, "${") {
		if s, err := checkKeyText(v, "the entry"); err == nil {
			e.PlainKey, e.plainKey = true, s
		}
	}
	if v, ok := env[envSandbox].(string); ok && (strings.EqualFold(v, "true") || v == "1") {
		e.Sandbox = true
	}
	for _, a := range e.Args {
		if a == "--sandbox" || a == "-sandbox" || a == "--sandbox=true" {
			e.Sandbox = true
		}
	}
	return e, nil
}

// RunsAgentphone reports whether the entry runs agentphone-mcp: a binary of that name, or
// exe itself whatever it is called.
func (e *Entry) RunsAgentphone(exe string) bool {
	return e.Ours || (exe != "" && e.Command != "" && SameBinary(e.Command, exe))
}

// isOurCommand reports whether a command is named like an agentphone-mcp binary
// (agentphone-mcp, agentphone-mcp.exe, agentphone-mcp-darwin-arm64, ...).
func isOurCommand(cmd string) bool {
	base := cmd
	if i := strings.LastIndexAny(base, `/\`); i >= 0 {
		base = base[i+1:]
	}
	base = strings.TrimSuffix(strings.ToLower(base), ".exe")
	rest, ok := strings.CutPrefix(base, "agentphone-mcp")
	return ok && (rest == "" || strings.ContainsAny(rest[:1], "-_."))
}

// SameBinary reports whether command (an absolute path, or a name looked up in PATH) is the
// same file as exe.
func SameBinary(command, exe string) bool {
	a, err := os.Stat(resolveCommand(command))
	if err != nil {
		return false
	}
	b, err := os.Stat(exe)
	if err != nil {
		return false
	}
	return os.SameFile(a, b)
}

// CommandExists reports whether command names an executable file.
func CommandExists(command string) bool {
	fi, err := os.Stat(resolveCommand(command))
	return err == nil && fi.Mode().IsRegular()
}

func resolveCommand(command string) string {
	if filepath.IsAbs(command) || strings.ContainsAny(command, `/\`) {
		return command
	}
	if p, err := lookPath(command); err == nil {
		return p
	}
	return command
}

var errNoPath = errors.New("not found in PATH")

// lookPath finds a bare command name in PATH without executing anything.
func lookPath(name string) (string, error) {
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if dir == "" {
			continue
		}
		for _, cand := range []string{name, name + ".exe"} {
			p := filepath.Join(dir, cand)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				return p, nil
			}
		}
	}
	return "", errNoPath
}
