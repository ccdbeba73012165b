package tools

import (
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

// CheckNextStep is the next-step guard (nextstep_test.go) for the tests that reach the tools
// through a server (package tools_test).
func CheckNextStep(t *testing.T, tool string, res *mcp.CallToolResult) { checkNextStep(t, tool, res) }

// OpenTurns counts the caller turns held open for an answer (tests use it to stop driving
// the fake clock once a turn is waiting, so its filler timer does not fire early).
func (l *LiveCalls) OpenTurns() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.open)
}
