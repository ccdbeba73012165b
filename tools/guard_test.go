package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

// allTools builds every tool without any backend: schemas and annotations need none, and
// argument binding refuses bad input before a handler touches Deps. It is the Catalog:
// All's tools and enable_toolset.
func allTools(t *testing.T) []Tool {
	t.Helper()
	return Catalog(&Deps{})
}

// wantHint is what a tool's four hints must say (see effect for their meanings).
type wantHint struct{ readOnly, destructive, idempotent, openWorld bool }

// wantHints is written out by hand, tool by tool, so a wrong effect in a spec fails here rather
// than being checked against itself. A new tool must be added.
var wantHints = map[string]wantHint{
	// Reads: they change nothing, so a repeat has no effect; they call the AgentPhone API and
	// return third-party text, so they are open-world.
	"get_account_overview":    {readOnly: true, idempotent: true, openWorld: true},
	"list_agents":             {readOnly: true, idempotent: true, openWorld: true},
	"get_agent":               {readOnly: true, idempotent: true, openWorld: true},
	"list_voices":             {readOnly: true, idempotent: true, openWorld: true},
	"list_numbers":            {readOnly: true, idempotent: true, openWorld: true},
	"get_number":              {readOnly: true, idempotent: true, openWorld: true},
	"list_calls":              {readOnly: true, idempotent: true, openWorld: true},
	"get_transcript":          {readOnly: true, idempotent: true, openWorld: true},
	"wait_for_call":           {readOnly: true, idempotent: true, openWorld: true},
	"list_messages":           {readOnly: true, idempotent: true, openWorld: true},
	"wait_for_reply":          {readOnly: true, idempotent: true, openWorld: true},
	"list_conversations":      {readOnly: true, idempotent: true, openWorld: true},
	"get_conversation":        {readOnly: true, idempotent: true, openWorld: true},
	"list_contacts":           {readOnly: true, idempotent: true, openWorld: true},
	"get_contact":             {readOnly: true, idempotent: true, openWorld: true},
	"create_campaign":         {destructive: true, openWorld: true},
	"get_campaign":            {readOnly: true, idempotent: true, openWorld: true},
	"list_campaigns":          {readOnly: true, idempotent: true, openWorld: true},
	"wait_for_campaign":       {readOnly: true, idempotent: true, openWorld: true},
	"pause_campaign":          {idempotent: true, openWorld: true},
	"resume_campaign":         {idempotent: true, openWorld: true},
	"cancel_campaign":         {destructive: true, idempotent: true, openWorld: true},
	"get_capabilities":        {readOnly: true, idempotent: true, openWorld: true},
	"get_webhook":             {readOnly: true, idempotent: true, openWorld: true},
	"list_webhook_deliveries": {readOnly: true, idempotent: true, openWorld: true},
	// listen_call hands out the next caller turn: a repeat returns the one after.
	"listen_call": {readOnly: true, openWorld: true},
	// Creates: each call adds another object.
	"create_agent":   {openWorld: true},
	"create_contact": {openWorld: true},
	// Updates replace the stored values: destructive, idempotent.
	"update_agent":        {destructive: true, idempotent: true, openWorld: true},
	"update_number":       {destructive: true, idempotent: true, openWorld: true},
	"update_conversation": {destructive: true, idempotent: true, openWorld: true},
	"update_contact":      {destructive: true, idempotent: true, openWorld: true},
	// set_webhook replaces the webhook and makes a new signing secret on every call.
	"set_webhook": {destructive: true, openWorld: true},
	// Deletes, releases and hang-ups: gone for good; a repeat finds nothing more to do.
	"delete_agent":   {destructive: true, idempotent: true, openWorld: true},
	"release_number": {destructive: true, idempotent: true, openWorld: true},
	"delete_contact": {destructive: true, idempotent: true, openWorld: true},
	"delete_webhook": {destructive: true, idempotent: true, openWorld: true},
	"end_call":       {destructive: true, idempotent: true, openWorld: true},
	// Spending: adds a number, destroys nothing; a repeat buys another.
	"buy_number": {openWorld: true},
	// Reaching a person cannot be taken back, and a repeat reaches them again.
	"send_sms":  {destructive: true, openWorld: true},
	"make_call": {destructive: true, openWorld: true},
	"say":       {destructive: true, openWorld: true},
	// Harmless signals to a third party; each call sends another.
	"react_to_message": {openWorld: true},
	"test_webhook":     {openWorld: true},
	// enable_toolset changes only what this MCP session lists.
	"enable_toolset": {readOnly: true, idempotent: true},
}

// TestGuardAnnotations checks every tool's title and its four hints: each sent explicitly,
// and equal to wantHints.
func TestGuardAnnotations(t *testing.T) {
	seen := map[string]bool{}
	for _, tl := range allTools(t) {
		name, a := tl.Def.Name, tl.Def.Annotations
		seen[name] = true
		if title := strings.TrimSpace(tl.Def.Title); title == "" || len(title) > 40 || title == name {
			t.Errorf("%s: title %q must be a short display name (1-40 characters, not the tool name)", name, tl.Def.Title)
		}
		if a.ReadOnlyHint == nil || a.DestructiveHint == nil || a.IdempotentHint == nil || a.OpenWorldHint == nil {
			t.Errorf("%s: all four hints must be sent explicitly: %+v", name, a)
			continue
		}
		got := wantHint{*a.ReadOnlyHint, *a.DestructiveHint, *a.IdempotentHint, *a.OpenWorldHint}
		want, ok := wantHints[name]
		if !ok {
			t.Errorf("%s: not in wantHints; add its expected hints (%+v today)", name, got)
			continue
		}
		if got != want {
			t.Errorf("%s: hints %+v, want %+v", name, got, want)
		}
		if *a.ReadOnlyHint != tl.ReadOnly {
			t.Errorf("%s: readOnlyHint %t but Tool.ReadOnly %t (read-only mode filters on the latter)", name, *a.ReadOnlyHint, tl.ReadOnly)
		}
		if *a.ReadOnlyHint && *a.DestructiveHint {
			t.Errorf("%s: a read-only tool cannot be destructive", name)
		}
		// Names say what a tool does: a get_/list_/wait_for_/listen_ tool must be read-only.
		for _, prefix := range []string{"get_", "list_", "wait_for_", "listen_"} {
			if strings.HasPrefix(name, prefix) && !tl.ReadOnly {
				t.Errorf("%s: the name says read, the tool writes", name)
			}
		}
		for _, prefix := range []string{"delete_", "release_", "send_", "make_"} {
			if strings.HasPrefix(name, prefix) && !*a.DestructiveHint {
				t.Errorf("%s: must be destructiveHint", name)
			}
		}
	}
	for name := range wantHints {
		if !seen[name] {
			t.Errorf("wantHints lists %s, which is not a tool", name)
		}
	}
}

var (
	toolNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	propKeyPattern  = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,64}$`)
)

func TestGuardNamesAndSchemas(t *testing.T) {
	seen := map[string]bool{}
	for _, tl := range allTools(t) {
		name := tl.Def.Name
		if seen[name] {
			t.Errorf("tool name %q is used twice", name)
		}
		seen[name] = true
		if len(name) > 40 || !toolNamePattern.MatchString(name) {
			t.Errorf("tool name %q must be snake_case and at most 40 characters", name)
		}
		if (tl.Toolset == "" && name != "enable_toolset") || (tl.Toolset != "" && !contains(Toolsets(), tl.Toolset)) {
			t.Errorf("%s: unknown toolset %q", name, tl.Toolset)
		}
		if strings.TrimSpace(tl.Def.Description) == "" {
			t.Errorf("%s: no description", name)
		}
		schema := schemaOf(t, tl)
		for _, k := range []string{"oneOf", "anyOf", "allOf"} {
			if _, bad := schema[k]; bad {
				t.Errorf("%s: top-level %s in the input schema", name, k)
			}
		}
		if schema["type"] != "object" {
			t.Errorf("%s: input schema type %v, want object", name, schema["type"])
		}
		walkSchema(schema, name, func(path string, node map[string]any) {
			if _, isArray := node["type"].([]any); isArray {
				t.Errorf("%s: %s has a type array %v; some clients reject them (use one type; bindArgs reads null as absent)", name, path, node["type"])
			}
			if typ, has := node["type"]; has {
				if _, isString := typ.(string); !isString {
					t.Errorf("%s: %s has a type that is not a string: %v", name, path, typ)
				}
			}
		})
		props, _ := schema["properties"].(map[string]any)
		for key := range props {
			if !propKeyPattern.MatchString(key) {
				t.Errorf("%s: property key %q does not match %s", name, key, propKeyPattern)
			}
		}
		// Every argument the handler binds must be in the schema, and nothing else: the
		// reflector silently drops embedded unexported structs in some cases.
		accepted := acceptedArgs(t, tl)
		for _, a := range accepted {
			if _, ok := props[a]; !ok {
				t.Errorf("%s: argument %q is accepted but missing from the schema", name, a)
			}
		}
		if len(props) != len(accepted) {
			t.Errorf("%s: schema has %d properties, the handler accepts %d (%v)", name, len(props), len(accepted), accepted)
		}
	}
}

// walkSchema calls visit on every schema object in a JSON Schema, depth first: properties,
// items, additionalProperties, definitions and combinators included.
func walkSchema(node any, path string, visit func(path string, node map[string]any)) {
	switch n := node.(type) {
	case map[string]any:
		visit(path, n)
		for k, v := range n {
			switch k {
			case "properties", "$defs", "definitions", "patternProperties":
				if m, ok := v.(map[string]any); ok {
					for name, sub := range m {
						walkSchema(sub, path+"."+name, visit)
					}
				}
			case "items", "additionalProperties", "not", "if", "then", "else", "contains":
				walkSchema(v, path+"."+k, visit)
			case "anyOf", "oneOf", "allOf", "prefixItems":
				walkSchema(v, path+"."+k, visit)
			}
		}
	case []any:
		for i, v := range n {
			walkSchema(v, fmt.Sprintf("%s[%d]", path, i), visit)
		}
	}
}

// TestGuardWalkSchemaFindsTypeArrays proves the walker reaches nested type arrays, so the
// schema guard cannot pass by not looking.
func TestGuardWalkSchemaFindsTypeArrays(t *testing.T) {
	var schema map[string]any
	raw := `{"type":"object","properties":{"a":{"type":"array","items":{"type":["null","string"]}},"b":{"anyOf":[{"type":["integer","null"]}]}}}`
	if err := json.Unmarshal([]byte(raw), &schema); err != nil {
		t.Fatal(err)
	}
	var found []string
	walkSchema(schema, "in", func(path string, node map[string]any) {
		if _, isArray := node["type"].([]any); isArray {
			found = append(found, path)
		}
	})
	slices.Sort(found)
	if want := []string{"in.a.items", "in.b.anyOf[0]"}; !slices.Equal(found, want) {
		t.Fatalf("type arrays found at %v, want %v", found, want)
	}
	// compactSchema removes them from what the reflector makes.
	if out := string(compactSchema(json.RawMessage(raw))); strings.Contains(out, `"type":[`) {
		t.Fatalf("compactSchema left a type array: %s", out)
	}
}

// acceptedArgs reads the accepted argument names from the unknown-key error message.
func acceptedArgs(t *testing.T, tl Tool) []string {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Arguments = map[string]any{"bogus_key": 1}
	res, err := tl.Handler(t.Context(), req)
	if err != nil || !res.IsError {
		t.Fatalf("%s: unknown key not refused", tl.Def.Name)
	}
	txt := textOf(res)
	_, list, found := strings.Cut(txt, "this tool accepts: ")
	if !found {
		t.Fatalf("%s: the error does not list the accepted arguments: %s", tl.Def.Name, txt)
	}
	list, _, _ = strings.Cut(list, ". Nothing was done.")
	if strings.TrimSpace(list) == "" {
		return nil
	}
	return strings.Split(list, ", ")
}

func schemaOf(t *testing.T, tl Tool) map[string]any {
	t.Helper()
	raw, err := json.Marshal(tl.Def)
	if err != nil {
		t.Fatalf("%s: %v", tl.Def.Name, err)
	}
	var def struct {
		InputSchema map[string]any `json:"inputSchema"`
	}
	if err := json.Unmarshal(raw, &def); err != nil {
		t.Fatalf("%s: %v", tl.Def.Name, err)
	}
	return def.InputSchema
}

func TestGuardUnknownArgument(t *testing.T) {
	for _, tl := range allTools(t) {
		req := mcp.CallToolRequest{}
		req.Params.Name = tl.Def.Name
		req.Params.Arguments = map[string]any{"bogus_key": 1}
		res, err := tl.Handler(t.Context(), req)
		if err != nil {
			t.Errorf("%s: Go error %v", tl.Def.Name, err)
			continue
		}
		if !res.IsError {
			t.Errorf("%s: an unknown argument was accepted", tl.Def.Name)
			continue
		}
		if txt := textOf(res); !strings.Contains(txt, "bogus_key") {
			t.Errorf("%s: the error does not name the unknown key: %s", tl.Def.Name, txt)
		}
	}
}

// snapshotDir holds one indented JSON file per tool definition.
var snapshotDir = filepath.Join("..", "testdata", "toolsnaps")

// TestGuardSchemaSnapshots compares every tool definition with its snapshot. Run
// UPDATE_TOOLSNAPS=1 go test ./tools/ to rewrite them after an intended change.
func TestGuardSchemaSnapshots(t *testing.T) {
	update := os.Getenv("UPDATE_TOOLSNAPS") == "1"
	if update {
		if err := os.MkdirAll(snapshotDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	names := map[string]bool{}
	for _, tl := range allTools(t) {
		names[tl.Def.Name+".json"] = true
		got, err := json.MarshalIndent(tl.Def, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, '\n')
		path := filepath.Join(snapshotDir, tl.Def.Name+".json")
		if update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			t.Errorf("%s: no schema snapshot at %s; run UPDATE_TOOLSNAPS=1 go test ./tools/ and review the new file", tl.Def.Name, path)
		case err != nil:
			t.Errorf("%s: %v", tl.Def.Name, err)
		case !bytes.Equal(got, want):
			t.Errorf("%s: the tool definition differs from %s; if the change is intended run UPDATE_TOOLSNAPS=1 go test ./tools/ and review the diff.\ngot:\n%s", tl.Def.Name, path, got)
		}
	}
	entries, err := os.ReadDir(snapshotDir)
	if err != nil {
		if !update {
			t.Errorf("read %s: %v", snapshotDir, err)
		}
		return
	}
	for _, e := range entries {
		if !names[e.Name()] {
			if update {
				_ = os.Remove(filepath.Join(snapshotDir, e.Name()))
				continue
			}
			t.Errorf("%s: snapshot of a tool that no longer exists; run UPDATE_TOOLSNAPS=1 go test ./tools/ to remove it", e.Name())
		}
	}
}

// TestGuardReadOnlySelection checks that read-only mode leaves no write tool, whatever else
// is selected.
func TestGuardReadOnlySelection(t *testing.T) {
	all := allTools(t)
	var writes []string
	for _, tl := range all {
		if !tl.ReadOnly {
			writes = append(writes, tl.Def.Name)
		}
	}
	sel, err := Select(all, Selection{Toolsets: []string{"all"}, Tools: writes, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(sel) == 0 {
		t.Fatal("read-only selection is empty")
	}
	for _, tl := range sel {
		if !tl.ReadOnly {
			t.Errorf("read-only mode lists write tool %s", tl.Def.Name)
		}
	}
}

// TestGuardCoverage checks that every tool of the official server is covered by name here.
func TestGuardCoverage(t *testing.T) {
	covered := map[string][]string{
		"account_overview": {"get_account_overview"}, "list_numbers": {"list_numbers"}, "buy_number": {"buy_number"},
		"send_message": {"send_sms"}, "get_messages": {"list_messages"}, "list_calls": {"list_calls"}, "get_call": {"get_transcript", "wait_for_call"},
		"make_call": {"make_call"}, "make_conversation_call": {"make_call"}, "list_agents": {"list_agents"},
		"create_agent": {"create_agent"}, "update_agent": {"update_agent"}, "delete_agent": {"delete_agent"},
		"get_agent": {"get_agent"}, "attach_number": {"update_number"}, "detach_number": {"update_number"},
		"list_voices": {"list_voices"}, "list_conversations": {"list_conversations"}, "get_conversation": {"get_conversation"},
		"update_conversation": {"update_conversation"}, "list_contacts": {"list_contacts"},
		"manage_contact": {"create_contact", "update_contact", "delete_contact"}, "get_usage": {"get_account_overview"},
		"get_webhook": {"get_webhook"}, "set_webhook": {"set_webhook"}, "delete_webhook": {"delete_webhook"},
		"test_webhook": {"test_webhook"}, "list_webhook_deliveries": {"list_webhook_deliveries"},
	}
	if len(covered) != 28 {
		t.Fatalf("the official server has 28 tools; the table has %d", len(covered))
	}
	have := map[string]bool{}
	for _, tl := range allTools(t) {
		have[tl.Def.Name] = true
	}
	for official, ours := range covered {
		for _, n := range ours {
			if !have[n] {
				t.Errorf("official %s: tool %s is missing", official, n)
			}
		}
	}
	for _, extra := range []string{"release_number", "end_call", "get_number", "get_contact",
		"react_to_message", "wait_for_reply", "listen_call", "say"} {
		if !have[extra] {
			t.Errorf("tool %s is missing", extra)
		}
	}
}

// TestGuardToolsetLists: each toolset's list (the xxxTools function at the top of its file,
// where members marks its tools) agrees with the toolset every tool reports, every toolset of
// ToolsetInfos has a list, and the lists together are All, each tool once.
func TestGuardToolsetLists(t *testing.T) {
	d := &Deps{}
	lists := map[string][]Tool{
		ToolsetAccount: accountTools(d), ToolsetAgents: agentTools(d), ToolsetNumbers: numberTools(d),
		ToolsetCalls: callTools(d), ToolsetMessages: messageTools(d), ToolsetConversations: conversationTools(d),
		ToolsetContacts: contactTools(d), ToolsetWebhooks: webhookTools(d), ToolsetLive: liveTools(d),
		ToolsetCampaigns: campaignTools(d),
	}
	total := 0
	for _, ts := range Toolsets() {
		list, ok := lists[ts]
		if !ok || len(list) == 0 {
			t.Errorf("toolset %s has no tools list", ts)
		}
		for _, tl := range list {
			if tl.Toolset != ts {
				t.Errorf("%s is in the %s list but its spec says toolset %q", tl.Def.Name, ts, tl.Toolset)
			}
		}
		total += len(list)
	}
	if n := len(All(d)); n != total {
		t.Errorf("All has %d tools, the toolset lists %d", n, total)
	}
	seen := map[string]string{}
	for _, tl := range All(d) {
		if prev, dup := seen[tl.Def.Name]; dup {
			t.Errorf("%s is listed twice (%s and %s)", tl.Def.Name, prev, tl.Toolset)
		}
		seen[tl.Def.Name] = tl.Toolset
	}
}

// TestMembersRefusesADisagreeingSpec: a spec naming another toolset than its list is caught
// when the list is built, not later in a filter.
func TestMembersRefusesADisagreeingSpec(t *testing.T) {
	d := &Deps{}
	tl := define(d, spec{name: "x_probe", title: "Probe", toolset: ToolsetCalls, desc: "Probe.", effect: reads},
		func(context.Context, *call, noArgs) *mcp.CallToolResult { return nil })
	defer func() {
		if recover() == nil {
			t.Error("members accepted a tool whose spec names another toolset")
		}
	}()
	members(ToolsetMessages, tl)
}
