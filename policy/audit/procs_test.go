package audit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

const procsHelperEnv = "AUDIT_HELPER_LOG"

// TestProcessesShareKeyAndAnchor starts several processes on a fresh state directory at
// once: they agree on one key (made by whichever came first), append into one chain, and
// leave an anchor at its true head.
func TestProcessesShareKeyAndAnchor(t *testing.T) {
	path := filepath.Join(t.TempDir(), DefaultFileName)
	const procs, each = 3, 20
	cmds := make([]*exec.Cmd, procs)
	for i := range cmds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAuditHelperProcess$", "-test.count=1", "-test.bench=^$")
		cmd.Env = append(os.Environ(), procsHelperEnv+"="+path, "AUDIT_HELPER_N="+strconv.Itoa(each), "AUDIT_HELPER_TAG="+strconv.Itoa(i))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
	}
	n, err := Verify(path)
	if err != nil || n != procs*each {
		t.Fatalf("Verify = %d, %v; want %d lines in one keyed chain", n, err, procs*each)
	}
	an, err := readAnchor(path, keyOf(path))
	if err != nil || an == nil {
		t.Fatalf("anchor = %v, %v", an, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if an.Seq != procs*each || an.Size != fi.Size() {
		t.Errorf("anchor at seq %d size %d; the log ends at seq %d size %d", an.Seq, an.Size, procs*each, fi.Size())
	}
}

// TestAuditHelperProcess is one appending process of TestProcessesShareKeyAndAnchor.
func TestAuditHelperProcess(t *testing.T) {
	path := os.Getenv(procsHelperEnv)
	if path == "" {
		t.Skip("helper process only")
	}
	n, _ := strconv.Atoi(os.Getenv("AUDIT_HELPER_N"))
	l, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range n {
		if _, _, err := l.Append(Entry{Tool: fmt.Sprintf("proc%s-%d", os.Getenv("AUDIT_HELPER_TAG"), i), Decision: "allow"}); err != nil {
			t.Fatal(err)
		}
	}
}
