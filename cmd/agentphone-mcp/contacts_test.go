package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy/audit"
	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
)

const importKey = "sk_test_import_0123456789abcdef"

// TestContactsImport shows the plan (what it imports, what it refuses and why) and writes
// nothing without --yes; with --yes the API gets exactly the good rows.
func TestContactsImport(t *testing.T) {
	sb := sandbox.New(sandbox.Options{APIKey: importKey})
	t.Cleanup(sb.Close)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "list.csv")
	body := "First_Name,Last_Name,Mobile\n" +
		"Ada,Lovelace,(650) 253-0001\n" +
		"Alan,Turing,+1 650 253 0002\n" +
		"Bad,Row,call me\n" +
		"Police,,911\n" +
		"Ada,Again,+16502530001\n" +
		"Esc,Ape,\x1b[2J650 253 0009\n" +
		"Grace,Hopper,650-253-0003\n"
	if err := os.WriteFile(csvPath, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"AGENTPHONE_API_KEY=" + importKey, "AGENTPHONE_BASE_URL=" + srv.URL, "AGENTPHONE_STATE_DIR=" + filepath.Join(dir, "state")}

	contacts := func() []apiclient.Contact {
		ep, err := keyguard.ParseBaseURL(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		api, err := apiclient.New(apiclient.Options{BaseURL: ep.BaseURL, HTTPClient: keyguard.NewHTTPClient(ep, keyguard.NewSecret(importKey), nil)})
		if err != nil {
			t.Fatal(err)
		}
		page, err := api.ListContacts(context.Background(), apiclient.ListContactsParams{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return page.Data
	}
	before := len(contacts())

	code, out, errOut := runCmd(t, env, "contacts", "import", csvPath)
	if code != 0 {
		t.Fatalf("dry run exited %d: %s %s", code, out, errOut)
	}
	for _, want := range []string{"3 contacts to import", "+16502530001  Ada Lovelace", "+16502530003  Grace Hopper",
		"4 rows refused", "call me", "unsafe_text", "invalid_number", "911", "emergency", "duplicate", "the same number as line 2", "Nothing was written"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Fatalf("the dry run printed a refused row's terminal escape to the operator's terminal:\n%q", out)
	}
	if got := len(contacts()); got != before {
		t.Fatalf("the dry run wrote %d contacts", got-before)
	}

	code, out, errOut = runCmd(t, env, "contacts", "import", "--yes", csvPath)
	if code != 0 {
		t.Fatalf("import exited %d: %s %s", code, out, errOut)
	}
	got := map[string]string{}
	for _, c := range contacts() {
		got[c.PhoneNumber] = c.Name
	}
	if len(got) != before+3 || got["+16502530001"] != "Ada Lovelace" || got["+16502530002"] != "Alan Turing" || got["+16502530003"] != "Grace Hopper" {
		t.Fatalf("contacts after the import: %v", got)
	}
	// Again: every row is now refused as an existing contact; nothing is written twice.
	code, out, _ = runCmd(t, env, "contacts", "import", "--yes", csvPath)
	if code != 0 || !strings.Contains(out, "0 contacts to import") || !strings.Contains(out, "already_a_contact") {
		t.Fatalf("second import: %d %s", code, out)
	}
	if code, _, _ := runCmd(t, env, "contacts", "import"); code != 2 {
		t.Fatalf("no file: exit %d, want 2", code)
	}
}

// TestDemoCampaign runs `demo campaign` end to end: the plan's exclusions, the approval,
// the paced run with a STOP the simulated recipient sends by itself and an operator opt-out
// mid-run, the report.
func TestDemoCampaign(t *testing.T) {
	code, out, errOut := runCmd(t, nil, "demo", "campaign")
	if code != 0 {
		t.Fatalf("demo campaign exited %d: %s\n%s", code, errOut, out)
	}
	for _, want := range []string{"reach 10 of 13", "[duplicate_in_list]", "[first_contact]", "[emergency]",
		"is running: 10 recipients at 6 a minute", "a STOP came in by itself", "is completed: 9 sent", "1 skipped", "5 replied, 2 opted out"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}

// TestDemoCallCampaign runs `demo campaign --call`: two calls at once, every outcome, the
// no_answer retried once an hour later.
func TestDemoCallCampaign(t *testing.T) {
	code, out, errOut := runCmd(t, nil, "demo", "campaign", "--call")
	if code != 0 {
		t.Fatalf("demo campaign --call exited %d: %s\n%s", code, errOut, out)
	}
	for _, want := range []string{"at most 2 calls at once", "greeting: Hi, quick heads-up: I'm an AI assistant", "topic:    remind Ada",
		"in progress 2,", "the clock jumps there", "is completed: 10 sent", "2 retried; outcomes human 6, voicemail 2, no_answer 1, busy 1",
		"+16505550207  human     (2 call(s))"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "in progress 3") {
		t.Errorf("more than two calls at once:\n%s", out)
	}
}

// TestReadContactsCSVHostileRows: a spreadsheet's export (a UTF-8 BOM, CRLF line ends,
// quoted commas, a quoted field across lines) reads as the operator wrote it; a name that a
// spreadsheet would run as a formula (=cmd|..., @SUM, +, -) or that carries terminal control
// or hidden characters is refused with its rule, never imported (it would be stored in the
// account, shown in every later export, and texted as {{name}}).
func TestReadContactsCSVHostileRows(t *testing.T) {
	body := "\ufeffName,Phone\r\n" +
		"\"Lovelace, Ada\",(650) 253-0001\r\n" +
		"\"Multi\nLine\",+1 650 253 0002\r\n" +
		"=cmd|' /C calc'!A0,+1 650 253 0003\r\n" +
		"@SUM(1+1)*cmd|' /C calc'!A0,+1 650 253 0004\r\n" +
		"Eve\x1b]0;pwned\x07,+1 650 253 0005\r\n" +
		"Mal\u202eecnav,+1 650 253 0006\r\n" +
		"Grace Hopper,\"=HYPERLINK(\"\"http://x\"\")\"\r\n" +
		"\"Turing, Alan\",650.253.0007\r\n" +
		"Toll Fraud,+1 900 555 0123\r\n" +
		"Satellite,+881 6 1234 5678\r\n"
	rows, err := readContactsCSV(strings.NewReader(body), "", "", "US")
	if err != nil {
		t.Fatalf("a BOM-prefixed CRLF export was refused: %v", err)
	}
	type want struct {
		line       int
		name, e164 string
		skip       string
	}
	wants := []want{
		{2, "Lovelace, Ada", "+16502530001", ""},
		{3, "Multi\nLine", "", "unsafe_text"},
		{5, "", "", "formula"},
		{6, "", "", "formula"},
		{7, "", "", "unsafe_text"},
		{8, "", "", "unsafe_text"},
		{9, "", "", "formula"},
		{10, "Turing, Alan", "+16502530007", ""},
		{11, "", "", "number_type"},
		{12, "", "", "global_network"},
	}
	if len(rows) != len(wants) {
		t.Fatalf("%d rows, want %d: %+v", len(rows), len(wants), rows)
	}
	for i, w := range wants {
		r := rows[i]
		if r.line != w.line || r.skip != w.skip || (w.skip == "" && (r.name != w.name || r.e164 != w.e164)) {
			t.Errorf("row %d: got line %d name %q e164 %q skip %q (%s); want %+v", i, r.line, r.name, r.e164, r.skip, r.why, w)
		}
		if r.skip != "" && r.why == "" {
			t.Errorf("row %d refused without a reason", i)
		}
		if strings.ContainsAny(r.raw, "\x1b\x07") || strings.ContainsAny(r.name, "\x1b\x07") && r.skip == "" {
			t.Errorf("row %d keeps control characters: %q", i, r.name)
		}
	}
}

// TestAuditShowCampaignIncludesItsPreview: `audit show --campaign ID` prints the lines
// carrying the id and the create_campaign preview of the same plan (written before the
// campaign had an id), and nothing of another campaign.
func TestAuditShowCampaignIncludesItsPreview(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	l, err := audit.Open(path, clockwork.NewFakeClock())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []audit.Entry{
		{Tool: "create_campaign", Decision: "confirm", Rules: []string{"campaign"}, Details: map[string]string{"plan_hash": "aaaa"}},
		{Tool: "create_campaign", Decision: "confirm", Rules: []string{"campaign"}, Details: map[string]string{"plan_hash": "bbbb"}},
		{Tool: "create_campaign", Decision: "confirm", Rules: []string{"campaign"}, Campaign: "cmp_1", Details: map[string]string{"plan_hash": "aaaa"}},
		{Tool: "campaign", Decision: "allow", Rules: []string{}, Campaign: "cmp_1", Target: "+16502530001"},
		{Tool: "campaign", Decision: "allow", Rules: []string{}, Campaign: "cmp_2", Target: "+16502530002"},
		{Tool: "send_sms", Decision: "allow", Rules: []string{}, Target: "+16502530003"},
	} {
		if _, _, err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd(t, []string{"AGENTPHONE_STATE_DIR=" + dir, "AGENTPHONE_AUDIT_LOG=" + path}, "audit", "show", "--campaign", "cmp_1", path)
	if code != 0 {
		t.Fatalf("audit show = %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], `"aaaa"`) || strings.Contains(out, "bbbb") || strings.Contains(out, "cmp_2") || strings.Contains(out, "send_sms") {
		t.Fatalf("audit show --campaign cmp_1:\n%s", out)
	}
}
