package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/agentphone-mcp/agentphone-mcp/clientconfig"
)

// installFlags are the flags of install and uninstall.
type installFlags struct {
	list, sandbox, dryRun, force, keyStdin bool
	name, command                          string
}

func parseInstallFlags(e env, cmd string, args []string) (installFlags, []string, error) {
	var f installFlags
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: agentphone-mcp %s CLIENT [flags]   (CLIENT: %s)\n", cmd, strings.Join(clientconfig.IDs(), ", "))
		if cmd == "install" {
			fmt.Fprintln(e.stderr, "       agentphone-mcp install --list")
		}
		fs.PrintDefaults()
	}
	fs.BoolVar(&f.dryRun, "dry-run", false, "print the change as a diff and write nothing")
	fs.BoolVar(&f.force, "force", false, "replace or remove an entry of that name that runs another program (a backup is kept)")
	fs.StringVar(&f.name, "name", clientconfig.DefaultName, "the entry's name in the client's config")
	if cmd == "install" {
		fs.BoolVar(&f.list, "list", false, "show each client's config file and whether it has an agentphone entry")
		fs.BoolVar(&f.sandbox, "sandbox", false, "install an entry that runs the simulated AgentPhone: no key, nothing real happens")
		fs.BoolVar(&f.keyStdin, "key-stdin", false, "read the API key from standard input (for password managers and scripts)")
		fs.StringVar(&f.command, "command", "", "the agentphone-mcp binary the entry runs (default: this one)")
	}
	pos, err := parseInterspersed(fs, args)
	return f, pos, err
}

// parseInterspersed parses flags before and after positional arguments
// ("install cursor --sandbox" as well as "install --sandbox cursor").
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// platformFromEnv describes this machine as seen through environ.
func platformFromEnv(environ []string) (clientconfig.Platform, error) {
	env := envMap(environ)
	p := clientconfig.Platform{OS: runtime.GOOS, Env: func(k string) string { return env[k] }}
	p.Home = env["HOME"]
	if runtime.GOOS == "windows" && env["USERPROFILE"] != "" {
		p.Home = env["USERPROFILE"]
	}
	if p.Home == "" {
		return p, errors.New("HOME is not set, so the clients' config files cannot be found")
	}
	return p, nil
}

func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// cmdInstall adds the agentphone entry to a client's config (or lists the clients).
func cmdInstall(e env, args []string) error {
	f, pos, err := parseInstallFlags(e, "install", args)
	if err != nil {
		return err
	}
	p, err := platformFromEnv(e.environ)
	if err != nil {
		return err
	}
	if f.list {
		if len(pos) > 0 {
			return usageError{"install --list takes no client"}
		}
		return listClients(e, p, f.name)
	}
	if len(pos) != 1 {
		return usageError{"usage: agentphone-mcp install CLIENT [--sandbox] [--dry-run]; CLIENT is one of " + strings.Join(clientconfig.IDs(), ", ") + " (--list shows them)"}
	}
	c, err := clientconfig.Lookup(pos[0])
	if err != nil {
		return usageError{err.Error()}
	}
	if f.keyStdin && f.sandbox {
		return usageError{"--key-stdin and --sandbox do not go together: a sandbox entry has no key"}
	}
	exe := f.command
	if exe != "" {
		if exe, err = filepath.Abs(exe); err != nil {
			return err
		}
	} else {
		if exe, err = clientconfig.Executable(); err != nil {
			return err
		}
	}
	req := clientconfig.Request{
		Client: c, Platform: p, Executable: exe, Name: f.name,
		Sandbox: f.sandbox, DryRun: f.dryRun, Force: f.force,
		EnvKey: envMap(e.environ)["AGENTPHONE_API_KEY"],
	}
	switch {
	case f.keyStdin:
		req.Prompt = func() (string, error) { return readLine(e.stdin) }
		req.EnvKey = ""
	case isTerminal(e.stdin):
		req.Prompt = func() (string, error) {
			fmt.Fprintf(e.stderr, "AgentPhone API key (from the dashboard; not shown as you type): ")
			b, err := term.ReadPassword(int(e.stdin.(*os.File).Fd()))
			fmt.Fprintln(e.stderr)
			return string(b), err
		}
	}
	res, err := clientconfig.Install(req)
	if err != nil {
		return err
	}
	printInstall(e.stdout, res, f)
	return nil
}

func printInstall(w io.Writer, res clientconfig.Result, f installFlags) {
	c := res.Client
	if f.dryRun {
		if res.Diff == "" {
			fmt.Fprintf(w, "%s already has the agentphone entry in %s: nothing would change.\n", c.Name, res.Path)
		} else {
			fmt.Fprint(w, res.Diff)
			fmt.Fprintf(w, "\nDry run: %s was not changed.\n", res.Path)
		}
		switch {
		case res.KeyFileChanged && strings.HasPrefix(res.KeySource, "the prompt"):
			fmt.Fprintf(w, "install would ask for the API key and keep it in %s (mode 0600).\n", res.KeyFile)
		case res.KeyFileChanged:
			fmt.Fprintf(w, "The key (from %s) would be written to %s (mode 0600).\n", res.KeySource, res.KeyFile)
		}
		return
	}
	switch {
	case !res.Changed:
		fmt.Fprintf(w, "%s already has the agentphone entry in %s: nothing changed.\n", c.Name, res.Path)
	case res.Created:
		fmt.Fprintf(w, "Created %s with the agentphone entry for %s.\n", res.Path, c.Name)
	default:
		fmt.Fprintf(w, "Added the agentphone entry to %s (%s).\n", res.Path, c.Name)
	}
	if res.Backup != "" {
		fmt.Fprintf(w, "The previous version is saved as %s.\n", res.Backup)
	}
	switch {
	case f.sandbox:
		fmt.Fprintln(w, "It runs the sandbox: a simulated AgentPhone, no key, nothing real happens.")
	case res.KeyFileChanged:
		fmt.Fprintf(w, "The API key (from %s) is in %s, readable only by you; the config names that file, never the key.\n", res.KeySource, res.KeyFile)
	default:
		fmt.Fprintf(w, "The API key stays in %s; the config names that file, never the key.\n", res.KeyFile)
	}
	for _, n := range res.Notes {
		fmt.Fprintln(w, "Note: "+n)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Next:")
	fmt.Fprintln(w, "  1. "+c.Reload)
	fmt.Fprintln(w, "  2. Check the set-up: agentphone-mcp doctor"+map[bool]string{true: " --sandbox", false: ""}[f.sandbox])
	fmt.Fprintln(w, `  3. Ask the assistant: "What can you do with agentphone?"`)
}

// cmdUninstall removes the agentphone entry from a client's config.
func cmdUninstall(e env, args []string) error {
	f, pos, err := parseInstallFlags(e, "uninstall", args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"usage: agentphone-mcp uninstall CLIENT [--dry-run]; CLIENT is one of " + strings.Join(clientconfig.IDs(), ", ")}
	}
	c, err := clientconfig.Lookup(pos[0])
	if err != nil {
		return usageError{err.Error()}
	}
	p, err := platformFromEnv(e.environ)
	if err != nil {
		return err
	}
	exe, _ := os.Executable()
	res, err := clientconfig.Uninstall(clientconfig.Request{Client: c, Platform: p, Executable: exe, Name: f.name, DryRun: f.dryRun, Force: f.force})
	if err != nil {
		return err
	}
	if f.dryRun && res.Changed {
		fmt.Fprint(e.stdout, res.Diff)
		fmt.Fprintf(e.stdout, "\nDry run: %s was not changed.\n", res.Path)
	} else if res.Changed {
		fmt.Fprintf(e.stdout, "Removed the %s entry from %s (%s).\n", f.name, res.Path, c.Name)
		if res.Backup != "" {
			fmt.Fprintf(e.stdout, "The previous version is saved as %s.\n", res.Backup)
		}
		fmt.Fprintln(e.stdout, "Next: "+c.Reload)
	}
	for _, n := range res.Notes {
		fmt.Fprintln(e.stdout, n)
	}
	return nil
}

func listClients(e env, p clientconfig.Platform, name string) error {
	exe, _ := os.Executable()
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT\tCONFIG FILE\tAGENTPHONE")
	for _, c := range clientconfig.Clients() {
		st := clientconfig.Inspect(c, p, name)
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.ID, st.Path, describe(st, exe))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "\nInstall with: agentphone-mcp install CLIENT   (add --sandbox to try it without a key)")
	return nil
}

func describe(st clientconfig.Status, exe string) string {
	switch {
	case !st.Exists:
		return "no config file yet"
	case st.Err != nil:
		return "cannot read: " + st.Err.Error()
	case st.Entry == nil:
		return "not installed"
	case !st.Entry.RunsAgentphone(exe):
		return fmt.Sprintf("an entry of that name runs %q", st.Entry.Command)
	}
	var parts []string
	switch {
	case !clientconfig.CommandExists(st.Entry.Command):
		parts = append(parts, "installed, but "+st.Entry.Command+" is missing")
	case exe != "" && clientconfig.SameBinary(st.Entry.Command, exe):
		parts = append(parts, "installed (this binary)")
	default:
		parts = append(parts, "installed ("+st.Entry.Command+")")
	}
	if st.Entry.Sandbox {
		parts = append(parts, "sandbox")
	}
	if st.Entry.PlainKey {
		parts = append(parts, "key in plain text: reinstall to move it")
	}
	return strings.Join(parts, ", ")
}

// isTerminal reports whether r is an interactive terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// readLine reads one line (the key) from r.
func readLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 64<<10)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	if strings.TrimSpace(line) == "" {
		return "", errors.New("standard input held no key")
	}
	return line, nil
}
