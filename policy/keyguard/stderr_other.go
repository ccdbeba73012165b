//go:build !unix

package keyguard

import "os"

// GuardStderr starts a StderrGuard. Here (no Unix file descriptors to take over) it covers
// what the program writes through Writer.
func GuardStderr(s *Scrubber) (*StderrGuard, error) {
	g := &StderrGuard{out: os.Stderr}
	g.scrubber.Store(s)
	lines := &lineScrubber{g: g}
	g.in = lines
	g.closeFn = lines.flush
	return g, nil
}
