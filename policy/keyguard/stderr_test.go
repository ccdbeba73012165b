//go:build unix

package keyguard

import (
	"bytes"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// stderrHelperEnv makes the test binary act as a process that writes secrets to stderr in
// every way a Go program can.
const stderrHelperEnv = "KEYGUARD_STDERR_HELPER"

const unconfiguredToken = "sk_test_Unconfigured0123456789abcd"

func TestMain(m *testing.M) {
	if os.Getenv(stderrHelperEnv) == "1" {
		stderrHelper()
		return
	}
	os.Exit(m.Run())
}

func stderrHelper() {
	g, err := GuardStderr(NewScrubber(testKey).WithCredentials())
	if err != nil {
		fmt.Println("guard:", err)
		os.Exit(3)
	}
	fmt.Fprintln(os.Stderr, "fmt:", testKey)
	_, _ = syscall.Write(2, []byte("raw fd 2: "+testKey+"\n"))
	log.Print("log: ", testKey)
	slog.New(slog.NewTextHandler(os.Stderr, nil)).Info("slog", "key", testKey)
	println("runtime println:", testKey)
	fmt.Fprint(os.Stderr, "split: "+testKey[:12])
	fmt.Fprintln(os.Stderr, testKey[12:])
	fmt.Fprintln(os.Stderr, "zero-width:", strings.Join(strings.Split(testKey, ""), "\u200b"))
	fmt.Fprintln(os.Stderr, "pasted elsewhere:", unconfiguredToken)
	fmt.Fprint(os.Stderr, "last line without newline "+testKey)
	g.Close()
	fmt.Fprintln(os.Stderr, "after close")
}

// TestStderrGuard runs a helper process that writes the key to stderr through fmt, a raw
// write to fd 2, log, slog, the runtime's println, split across writes and disguised: none of
// it may reach the real stderr, and everything else must.
func TestStderrGuard(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), stderrHelperEnv+"=1")
	var stderr, stdout bytes.Buffer
	cmd.Stderr, cmd.Stdout = &stderr, &stdout
	if err := cmd.Run(); err != nil {
		t.Fatalf("helper: %v\nstdout %s\nstderr %s", err, stdout.String(), stderr.String())
	}
	out := stderr.String()
	for _, bad := range []string{testKey, testKey[:12], testKey[12:], unconfiguredToken, testKey[8:16]} {
		if strings.Contains(out, bad) {
			t.Errorf("stderr carries %q:\n%s", bad, out)
		}
	}
	for _, want := range []string{"fmt: [REDACTED]", "raw fd 2: [REDACTED]", "log: [REDACTED]", "slog", "runtime println: [REDACTED]",
		"split: [REDACTED]", "zero-width: ", "pasted elsewhere: [REDACTED]", "last line without newline [REDACTED]", "after close"} {
		if !strings.Contains(out, want) {
			t.Errorf("stderr lacks %q:\n%s", want, out)
		}
	}
	if _, line, _ := strings.Cut(out, "zero-width: "); !strings.Contains(line[:strings.IndexByte(line+"\n", '\n')], "[REDACTED]") {
		t.Errorf("the disguised key's line is not redacted:\n%s", out)
	}
}
