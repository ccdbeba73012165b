package server

import (
	"strings"
	"testing"
	"time"
)

// TestTimeoutSettings: AGENTPHONE_TOOL_TIMEOUT and AGENTPHONE_ELICIT_TIMEOUT default to 50 s
// and 2 minutes, read Go durations, and out-of-range values refuse to start with a message
// naming the variable.
func TestTimeoutSettings(t *testing.T) {
	cases := []struct {
		env        []string
		tool, form time.Duration
		wantErr    string
	}{
		{nil, 50 * time.Second, 2 * time.Minute, ""},
		{[]string{"AGENTPHONE_TOOL_TIMEOUT=3s", "AGENTPHONE_ELICIT_TIMEOUT=90s"}, 3 * time.Second, 90 * time.Second, ""},
		{[]string{"AGENTPHONE_TOOL_TIMEOUT=0s"}, 0, 0, "AGENTPHONE_TOOL_TIMEOUT"},
		{[]string{"AGENTPHONE_TOOL_TIMEOUT=11m"}, 0, 0, "AGENTPHONE_TOOL_TIMEOUT"},
		{[]string{"AGENTPHONE_ELICIT_TIMEOUT=500ms"}, 0, 0, "AGENTPHONE_ELICIT_TIMEOUT"},
	}
	for _, tc := range cases {
		cfg, err := ConfigFromEnv(append([]string{"AGENTPHONE_STATE_DIR=" + t.TempDir()}, tc.env...))
		if err != nil {
			t.Fatalf("%v: %v", tc.env, err)
		}
		err = cfg.Validate()
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("%v: want an error naming %s, got %v", tc.env, tc.wantErr, err)
			}
			continue
		}
		if err != nil || cfg.ToolTimeout != tc.tool || cfg.ElicitTimeout != tc.form {
			t.Fatalf("%v: got %s/%s, %v; want %s/%s", tc.env, cfg.ToolTimeout, cfg.ElicitTimeout, err, tc.tool, tc.form)
		}
	}
	if _, err := ConfigFromEnv([]string{"AGENTPHONE_TOOL_TIMEOUT=fifty"}); err == nil {
		t.Fatal("a timeout that is not a duration was accepted")
	}
}
