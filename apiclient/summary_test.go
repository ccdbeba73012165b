package apiclient

import (
	"encoding/json"
	"testing"
)

func TestCallDecodesSummary(t *testing.T) {
	var c Call
	body := `{"id":"call_1","fromNumber":"+14155550100","toNumber":"+14155550142","status":"completed","summary":"Booked Tuesday 3 pm."}`
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		t.Fatal(err)
	}
	if c.Summary != "Booked Tuesday 3 pm." {
		t.Fatalf("summary = %q", c.Summary)
	}
}
