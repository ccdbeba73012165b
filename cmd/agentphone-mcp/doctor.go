package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/buildinfo"
	"github.com/agentphone-mcp/agentphone-mcp/clientconfig"
	"github.com/agentphone-mcp/agentphone-mcp/doctor"
	"github.com/agentphone-mcp/agentphone-mcp/policy"
	"github.com/agentphone-mcp/agentphone-mcp/policy/audit"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
	"github.com/agentphone-mcp/agentphone-mcp/server"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// cmdDoctor checks the set-up; it exits 1 when something blocks use.
func cmdDoctor(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	asJSON := fs.Bool("json", false, "print the checks as JSON")
	sandboxMode := fs.Bool("sandbox", false, "check a sandbox set-up (no key needed)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"doctor takes no arguments"}
	}
	p, err := platformFromEnv(e.environ)
	if err != nil {
		p.Home = "" // the client checks are skipped; every other check still runs
	}
	exe, _ := os.Executable()
	rep := doctor.Run(ctx, doctorOptions(e.environ, *sandboxMode, p, exe))
	if *asJSON {
		err = rep.WriteJSON(e.stdout)
	} else {
		err = rep.WriteTable(e.stdout)
	}
	if err != nil {
		return err
	}
	if !rep.OK {
		return exitCode(1)
	}
	return nil
}

// doctorOptions wires the checks to this build's packages. The audit, store and policy seams
// are the one place to change when their formats change.
func doctorOptions(environ []string, sandboxMode bool, p clientconfig.Platform, exe string) doctor.Options {
	return doctor.Options{
		Environ: environ, Sandbox: sandboxMode, Platform: p, Executable: exe,
		Build: buildinfo.Read(version, commit, date),
		SandboxTransport: func() (http.RoundTripper, func()) {
			sb := sandbox.New(sandbox.Options{})
			return sb.Transport(), sb.Close
		},
		VerifyAudit: func(path string) (int, error) {
			keyFile := ""
			if cfg, err := server.ConfigFromEnv(environ); err == nil {
				keyFile = cfg.AuditKeyFile
			}
			return audit.Verify(path, audit.WithKeyFile(keyFile))
		},
		OpenState: func(dir string) error {
			st, err := store.Open(dir, store.Options{LockTimeout: 5 * time.Second})
			if err != nil {
				return err
			}
			return st.Close()
		},
		LoadPolicy: func(path string) error {
			_, err := policy.LoadPolicyFile(path)
			return err
		},
	}
}

// exitCode ends the command with this status and no further message (the output said why).
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }
