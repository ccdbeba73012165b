package tools

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
)

func TestZZDump(t *testing.T) {
	f, _ := os.Create("/tmp/tools_dump.txt")
	defer f.Close()
	for _, tl := range listed(t, Selection{Toolsets: []string{"all"}, Receiver: true}) {
		raw, _ := json.Marshal(tl.Def)
		fmt.Fprintf(f, "%d %s\n", len(raw), raw)
	}
	for _, tl := range listed(t, Selection{}) {
		raw, _ := json.Marshal(tl.Def)
		fmt.Fprintf(f, "D %d %s\n", len(raw), raw)
	}
}
