//go:build unix

package main

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// handOffSecrets makes the README's promise true: no secret stays in the process environment
// (/proc/PID/environ keeps the environment a process was started with, whatever os.Unsetenv
// does). When environ holds a secret variable, the binary re-executes itself in place (same
// PID, same stdin/stdout/stderr, same arguments) with those variables removed, and the secrets
// written to a pipe the new image inherits. The re-executed process reads them and returns
// them in its environ slice only. On success the first call never returns.
//
// Any failure keeps the secrets where they are and returns a warning to print.
func handOffSecrets(environ []string) ([]string, string) {
	if envValue(environ, handoffEnv) != "" {
		out, err := readHandoff(environ)
		if err != nil {
			return out, err.Error()
		}
		return out, ""
	}
	secrets := takenSecrets(environ)
	if len(secrets) == 0 {
		return environ, ""
	}
	if err := reexec(environ, secrets); err != nil {
		return environ, fmt.Sprintf("the secrets stay in this process's environment (/proc/%d/environ): %v; prefer AGENTPHONE_API_KEY_FILE", os.Getpid(), err)
	}
	return environ, "" // not reached
}

// reexec writes secrets to a pipe and executes this binary again without them.
func reexec(environ []string, secrets map[string]string) error {
	payload, err := encodeHandoff(secrets)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this binary: %w", err)
	}
	r, w, err := os.Pipe() // both ends close on exec...
	if err != nil {
		return fmt.Errorf("make a pipe: %w", err)
	}
	defer r.Close()
	_, err = w.Write(payload)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write the secrets to the pipe: %w", err)
	}
	fd := int(r.Fd())
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil { // ...but the read end survives it
		return fmt.Errorf("keep the pipe across exec: %w", err)
	}
	env := append(withoutVars(environ, append([]string{handoffEnv}, secretVars...)...), handoffEnv+"="+strconv.Itoa(fd))
	err = unix.Exec(exe, os.Args, env)
	return fmt.Errorf("re-execute %s: %w", exe, err)
}
