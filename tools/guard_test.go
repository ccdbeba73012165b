package tools

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

// allTools builds every tool without any backend: schemas and annotations need none, and
// argument binding refuses bad input before a handler touches Deps.
func allTools(t *testing.T) []Tool {
	t.Helper()
	return All(&Deps{})
}

func TestGuardAnnotations(t *testing.T) {
	for _, tl := range allTools(t) {
		a := tl.Def.Annotations
		// readOnlyHint and destructiveHint are always sent; the other two may be left to the
		// specification's defaults, so what matters is the value a client reads.
		if a.ReadOnlyHint == nil || a.DestructiveHint == nil {
			t.Errorf("%s: readOnlyHint and destructiveHint must be set explicitly", tl.Def.Name)
			continue
		}
		_, destructive, idempotent, openWorld := effectiveHints(a)
		if tl.ReadOnly && (destructive || !openWorld) {
			t.Errorf("%s: a read is not destructive, and is open-world: it returns third-party text", tl.Def.Name)
		}
		switch tl.Def.Name {
		case "send_sms", "make_call", "say":
			if !destructive || idempotent || !openWorld {
				t.Errorf("%s reaches a person and cannot be undone: want destructive, not idempotent, open-world", tl.Def.Name)
			}
		case "buy_number":
			if destructive || idempotent || !openWorld {
				t.Errorf("buy_number spends money: want not destructive, not idempotent, open-world")
			}
		}
		if *a.ReadOnlyHint != tl.ReadOnly {
			t.Errorf("%s: readOnlyHint %t but Tool.ReadOnly %t", tl.Def.Name, *a.ReadOnlyHint, tl.ReadOnly)
		}
		if tl.ReadOnly && *a.DestructiveHint {
			t.Errorf("%s: a read tool must not be destructiveHint", tl.Def.Name)
		}
		// Names say what a tool does: a get_/list_/wait_for_/listen_ tool must be read-only, and
		// the other way round.
		isRead := false
		for _, prefix := range []string{"get_", "list_", "wait_for_", "listen_"} {
			isRead = isRead || strings.HasPrefix(tl.Def.Name, prefix)
		}
		if isRead != tl.ReadOnly {
			t.Errorf("%s: name and readOnly (%t) disagree", tl.Def.Name, tl.ReadOnly)
		}
		if strings.HasPrefix(tl.Def.Name, "delete_") || strings.HasPrefix(tl.Def.Name, "release_") {
			if !*a.DestructiveHint {
				t.Errorf("%s: must be destructiveHint", tl.Def.Name)
			}
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
		if tl.Toolset == "" || !contains(Toolsets(), tl.Toolset) {
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
