package server

import (
	"io"
	"log/slog"
	"strings"

	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
)

// NewLogger returns the structured stderr logger: JSON lines at the given level, every string
// scrubbed of the configured secrets. stdout is never written: it belongs to the stdio protocol.
func NewLogger(w io.Writer, level string, scrubber *keyguard.Scrubber) *slog.Logger {
	var lv slog.Level
	switch strings.ToLower(level) {
	case "debug":
		lv = slog.LevelDebug
	case "warn":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	default:
		lv = slog.LevelInfo
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lv})
	return slog.New(keyguard.NewScrubbingHandler(h, scrubber))
}

// scrubbingWriter scrubs each write: the operator notices the server prints to stderr go
// through the same scrubber as its logs (the process-wide stderr guard scrubs again).
type scrubbingWriter struct {
	w io.Writer
	s *keyguard.Scrubber
}

func (sw scrubbingWriter) Write(p []byte) (int, error) {
	if _, err := sw.w.Write(sw.s.ScrubBytes(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}
