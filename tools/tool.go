// Package tools defines every MCP tool agentphone-mcp offers: its schema, its annotations and
// its handler. A handler binds its typed arguments strictly, asks the policy engine, calls the
// AgentPhone API client, and renders the result as short text plus structuredContent.
//
// Tool descriptions are static and short on purpose: every byte of tools/list is paid for in
// every conversation of every user.
package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Toolset names. A toolset is a group of tools the operator enables or disables together.
const (
	ToolsetAccount       = "account"
	ToolsetAgents        = "agents"
	ToolsetNumbers       = "numbers"
	ToolsetCalls         = "calls"
	ToolsetMessages      = "messages"
	ToolsetConversations = "conversations"
	ToolsetContacts      = "contacts"
	ToolsetWebhooks      = "webhooks"
	ToolsetLive          = "live"
	ToolsetCampaigns     = "campaigns"
)

// ToolsetInfo describes a toolset: what it holds and how it is offered.
type ToolsetInfo struct {
	// Name is the toolset's name in AGENTPHONE_TOOLSETS and enable_toolset.
	Name string
	// Description says what its tools do (README, docs).
	Description string
	// Brief is the few words enable_toolset's description gives it, if its name needs any.
	Brief string
	// Default toolsets are listed from the start when the operator names no toolsets (or
	// names "default"). Their tools/list must fit the default budget (9 KB).
	Default bool
	// OnRequest toolsets are not listed from the start under the default, but a session may
	// add them with enable_toolset. A toolset that is neither Default nor OnRequest is offered
	// only when the operator names it.
	OnRequest bool
	// NeedsReceiver toolsets work only with the webhook receiver; without it they are not
	// offered at all.
	NeedsReceiver bool
}

// ToolsetInfos lists every toolset in display order. It is the one place a toolset's
// membership in the default set is decided.
func ToolsetInfos() []ToolsetInfo {
	return []ToolsetInfo{
		{Name: ToolsetAccount, Default: true,
			Description: "Plan, quota and usage, with an overview of agents, numbers and the webhook."},
		{Name: ToolsetAgents, OnRequest: true,
			Description: "Create, change and delete AI voice agents; list voices."},
		{Name: ToolsetNumbers, OnRequest: true,
			Description: "List, buy, route and release phone numbers."},
		{Name: ToolsetCalls, Default: true,
			Description: "Place calls, wait for them, read transcripts, hang up."},
		{Name: ToolsetMessages, Default: true,
			Description: "Send texts, wait for replies, list texts, react to iMessages."},
		{Name: ToolsetConversations, Default: true,
			Description: "Read SMS conversations and set their metadata."},
		{Name: ToolsetContacts, OnRequest: true,
			Description: "Look up, add, change and delete contacts."},
		{Name: ToolsetWebhooks,
			Description: "Read and change where inbound events go. Only the operator can enable it: it can redirect a user's inbound traffic."},
		{Name: ToolsetLive, OnRequest: true, NeedsReceiver: true, Brief: "webhook-mode calls",
			Description: "Answer webhook-mode calls turn by turn. Offered only when the webhook receiver runs."},
		{Name: ToolsetCampaigns, Default: true,
			Description: "Plan, approve once, run and watch texts to a contact list, paced and within local hours."},
	}
}

// Toolsets lists every toolset name in display order.
func Toolsets() []string {
	var out []string
	for _, ts := range ToolsetInfos() {
		out = append(out, ts.Name)
	}
	return out
}

// DefaultToolsets lists the toolsets listed from the start when the operator names none.
func DefaultToolsets() []string {
	var out []string
	for _, ts := range ToolsetInfos() {
		if ts.Default {
			out = append(out, ts.Name)
		}
	}
	return out
}

// toolsetInfo returns the named toolset's description.
func toolsetInfo(name string) (ToolsetInfo, bool) {
	for _, ts := range ToolsetInfos() {
		if ts.Name == name {
			return ts, true
		}
	}
	return ToolsetInfo{}, false
}

// Tool is one MCP tool with the metadata the server needs to filter it.
type Tool struct {
	Def      mcp.Tool
	Toolset  string
	ReadOnly bool
	Handler  server.ToolHandlerFunc
}

// effect describes what a tool does to the world; it alone decides the four hints, so they
// cannot contradict each other. Every hint is sent explicitly on every tool (clients act on
// them: auto-approval, Cursor's Ask mode, Claude's connector directory), with the meanings of
// the MCP specification's ToolAnnotations:
//
//   - readOnlyHint: the tool does not modify its environment (the AgentPhone account, the
//     people it reaches, the policy state the operator sees).
//   - destructiveHint: a write may overwrite or remove something that cannot be got back
//     (an update replaces values; a text or call cannot be unsent), rather than only add.
//   - idempotentHint: repeating the same call with the same arguments has no further effect.
//   - openWorldHint: the tool reaches outside this server: it calls the AgentPhone API and,
//     through it, people and phone networks (and reads return third-party text). Only tools
//     that act on this MCP session alone are closed-world.
type effect int

const (
	// reads changes nothing: RO, not destructive, idempotent, open world.
	reads effect = iota
	// takesTurn reads and hands over the next queued item (listen_call takes the next caller
	// turn, so a repeat returns a different one): RO, not idempotent, open world.
	takesTurn
	// creates adds a new object through the API (an agent, a contact); a repeat adds another.
	creates
	// replaces overwrites settings through the API (update_*): destructive (the old values are
	// gone), idempotent.
	replaces
	// rotates replaces a webhook and makes a new signing secret on every call: destructive,
	// not idempotent.
	rotates
	// destroys deletes, releases or ends something for good (an agent, a number, a live
	// call): destructive, idempotent (a second call finds it gone).
	destroys
	// spends costs money but destroys nothing (buying a number): not idempotent.
	spends
	// reachesOut contacts a person (SMS, call, speech on a live call): cannot be taken back,
	// destructive, not idempotent.
	reachesOut
	// signals touches a third party without harm (a reaction, a test webhook event); each call
	// sends another: not idempotent.
	signals
	// sessionOnly changes only what this MCP session sees (enable_toolset): read-only for the
	// account, idempotent, closed world.
	sessionOnly
	// steers pauses or resumes work this server runs (a campaign): it changes what reaches
	// people next, takes nothing back, and a repeat has no further effect.
	steers
)

// hints are the four behaviour hints of an effect.
type hints struct{ readOnly, destructive, idempotent, openWorld bool }

// hints returns e's four hints (see effect).
func (e effect) hints() hints {
	switch e {
	case reads:
		return hints{readOnly: true, idempotent: true, openWorld: true}
	case takesTurn:
		return hints{readOnly: true, openWorld: true}
	case creates, spends, signals:
		return hints{openWorld: true}
	case replaces, destroys:
		return hints{destructive: true, idempotent: true, openWorld: true}
	case rotates, reachesOut:
		return hints{destructive: true, openWorld: true}
	case sessionOnly:
		return hints{readOnly: true, idempotent: true}
	case steers:
		return hints{idempotent: true, openWorld: true}
	default:
		panic(fmt.Sprintf("tools: effect %d has no hints", e))
	}
}

// annotations are the hints a tool sends, every one of them explicitly (mcp-go's NewTool
// defaults would otherwise call every tool destructive and open-world).
func annotations(e effect) mcp.ToolAnnotation {
	h := e.hints()
	b := mcp.ToBoolPtr
	return mcp.ToolAnnotation{ReadOnlyHint: b(h.readOnly), DestructiveHint: b(h.destructive),
		IdempotentHint: b(h.idempotent), OpenWorldHint: b(h.openWorld)}
}

// spec is the static part of a tool.
type spec struct {
	name string
	// title is the display name clients show (tools/list "title"): a few words, Title case
	// on the first word only.
	title string
	// toolset is normally left empty: the toolset's list (members) sets it. A spec that names
	// one must agree with its list.
	toolset string
	desc    string
	effect  effect
}

// handlerFunc is what a tool implements: typed arguments in, a result out. It never returns
// a Go error: every failure is an isError result the model can read.
type handlerFunc[A any] func(ctx context.Context, c *call, args A) *mcp.CallToolResult

// call carries the request-scoped facts a handler may need.
type call struct {
	req  mcp.CallToolRequest
	tool string
	// budget is the time the call may still take (AGENTPHONE_TOOL_TIMEOUT); waits fit in it.
	budget *budget
	// prog reports progress when the request asked for it; nil otherwise (its methods accept
	// a nil receiver).
	prog *progress
	// after is the continuation an executed action left for gate (see outcome.after).
	after func(ctx context.Context) *mcp.CallToolResult
}

// define builds a Tool from a spec and a typed handler. The input schema is reflected from A
// (json tags name the properties, jsonschema tags describe them; fields without omitempty are
// required); arguments are bound strictly, so an unknown key is an error that names it.
func define[A any](d *Deps, s spec, h handlerFunc[A]) Tool {
	def := mcp.NewTool(s.name, mcp.WithToolTitle(s.title), mcp.WithDescription(s.desc), mcp.WithInputSchema[A]())
	def.RawInputSchema = compactSchema(def.RawInputSchema)
	def.Annotations = annotations(s.effect)
	logger := d.logger()
	return Tool{
		Def:      def,
		Toolset:  s.toolset,
		ReadOnly: s.effect.hints().readOnly,
		Handler: func(ctx context.Context, req mcp.CallToolRequest) (res *mcp.CallToolResult, err error) {
			defer func() {
				if r := recover(); r != nil {
					logger.Error("tool handler panicked", "tool", s.name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
					res, err = errorNext(fmt.Sprintf("%s failed with an internal error; nothing further was attempted.", s.name),
						"Tell the user; the operator finds the details in the server log.", map[string]any{"status": "internal_error"}), nil
				}
			}()
			var args A
			if msg := bindArgs(req.GetArguments(), &args); msg != "" {
				return invalidArgs(s.name, msg), nil
			}
			return d.run(ctx, &call{req: req, tool: s.name}, func(ctx context.Context, c *call) *mcp.CallToolResult {
				return h(ctx, c, args)
			}), nil
		},
	}
}

// bindArgs decodes raw into dst, refusing unknown keys and wrong types. It returns "" on
// success, otherwise a message naming the offending argument.
func bindArgs(raw map[string]any, dst any) string {
	if raw == nil {
		raw = map[string]any{}
	}
	buf, err := json.Marshal(raw)
	if err != nil {
		return "the arguments are not valid JSON"
	}
	dec := json.NewDecoder(bytes.NewReader(buf))
	dec.DisallowUnknownFields()
	err = dec.Decode(dst)
	if err == nil {
		return ""
	}
	accepted := strings.Join(argNames(dst), ", ")
	var typeErr *json.UnmarshalTypeError
	switch {
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		if parent, keys := nestedUnknown(raw, dst); parent != "" {
			return fmt.Sprintf("unknown key %s in %s; %s accepts: %s", name, parent, parent, strings.Join(keys, ", "))
		}
		return fmt.Sprintf("unknown argument %s; this tool accepts: %s", name, accepted)
	case errors.As(err, &typeErr):
		if argKind(dst, typeErr.Field) == reflect.Map && typeErr.Type.Kind() != reflect.Map {
			return fmt.Sprintf("each value of argument %q must be %s, not %s", typeErr.Field, jsonKind(typeErr.Type), typeErr.Value)
		}
		return fmt.Sprintf("argument %q must be %s, not %s", typeErr.Field, jsonKind(typeErr.Type), typeErr.Value)
	default:
		return fmt.Sprintf("the arguments could not be read (%v); this tool accepts: %s", err, accepted)
	}
}

// nestedUnknown finds the object argument of raw that holds a key its struct lacks, and
// returns its name and the keys it accepts ("" when every object argument is clean): schemas
// describe object arguments briefly, so the error is where their keys are listed in full.
func nestedUnknown(raw map[string]any, dst any) (string, []string) {
	t := reflect.TypeOf(dst)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			if parent, keys := nestedUnknown(raw, reflect.New(ft).Interface()); parent != "" {
				return parent, keys
			}
			continue
		}
		if name == "" || name == "-" || ft.Kind() != reflect.Struct {
			continue
		}
		var objs []map[string]any
		switch v := raw[name].(type) {
		case map[string]any:
			objs = append(objs, v)
		case []any:
			for _, e := range v {
				if m, ok := e.(map[string]any); ok {
					objs = append(objs, m)
				}
			}
		}
		keys := argNames(reflect.New(ft).Interface())
		for _, o := range objs {
			for k := range o {
				if !slices.Contains(keys, k) {
					return name, keys
				}
			}
		}
	}
	return "", nil
}

// argKind is the kind of dst's argument named name (pointers followed), or Invalid.
func argKind(dst any, name string) reflect.Kind {
	t := reflect.TypeOf(dst)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
			if k := argKind(reflect.New(f.Type).Interface(), name); k != reflect.Invalid {
				return k
			}
			continue
		}
		if tag == name {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			return ft.Kind()
		}
	}
	return reflect.Invalid
}

func argNames(dst any) []string {
	t := reflect.TypeOf(dst)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			names = append(names, argNames(reflect.New(f.Type).Interface())...)
			continue
		}
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	default:
		return "an object"
	}
}

// invalidArgs is the result for arguments that cannot be used: what is wrong, that nothing
// was done, and the next step.
func invalidArgs(tool, msg string) *mcp.CallToolResult {
	return errorNext(fmt.Sprintf("%s: %s. Nothing was done.", tool, msg), "Correct the arguments and call "+tool+" again.",
		map[string]any{"status": "invalid_arguments", "error": msg})
}

func (d *Deps) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}

// Byte-level rewrites that shrink a reflected schema without changing what it accepts in
// practice. Optional fields are pointers or slices only to tell "absent" from "empty", so the
// reflector's "null" alternative is noise, and a type array ("type":["null","array"]) is
// rejected outright by some clients: every nullable type becomes its plain type (bindArgs still
// reads a JSON null as absent). Unknown keys are refused by bindArgs with a message that names
// them, so the top-level additionalProperties:false only costs bytes in every tools/list, and
// additionalProperties:true is the JSON Schema default.
var (
	nullableType   = regexp.MustCompile(`"type":\["null","(\w+)"\]|"type":\["(\w+)","null"\]`)
	schemaRewrites = []struct{ from, to string }{
		{`,"additionalProperties":false}`, `}`},
		{`,"additionalProperties":true`, ``},
		// A map of strings (template variables): the values are text anyway, and bindArgs names
		// a value of another type.
		{`,"additionalProperties":{"type":"string"}`, ``},
	}
)

// compactSchema applies schemaRewrites to a reflected input schema, and describes each nested
// object argument (or list of objects) that carries a description by that description alone:
// its keys are listed there, and bindArgs still refuses unknown or mistyped keys by name.
func compactSchema(raw json.RawMessage) json.RawMessage {
	out := nullableType.ReplaceAll(raw, []byte(`"type":"$1$2"`))
	for _, r := range schemaRewrites {
		out = bytes.ReplaceAll(out, []byte(r.from), []byte(r.to))
	}
	var schema map[string]json.RawMessage
	if json.Unmarshal(out, &schema) != nil {
		return out
	}
	var props map[string]map[string]any
	if json.Unmarshal(schema["properties"], &props) != nil {
		return out
	}
	changed := false
	for name, p := range props {
		desc, hasDesc := p["description"].(string)
		if _, nested := p["properties"]; nested && hasDesc {
			props[name] = map[string]any{"type": "object", "description": desc}
			changed = true
		}
		// A described list of objects likewise: its description lists the objects' keys.
		if items, ok := p["items"].(map[string]any); ok && hasDesc {
			if _, nested := items["properties"]; nested {
				props[name] = map[string]any{"type": "array", "description": desc}
				changed = true
			}
		}
	}
	if !changed {
		return out
	}
	// Re-encode the properties in their original order: tools/list must stay deterministic and
	// read in the order the struct declares.
	var order []string
	dec := json.NewDecoder(bytes.NewReader(schema["properties"]))
	if _, err := dec.Token(); err != nil {
		return out
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return out
		}
		order = append(order, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return out
		}
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, name := range order {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(name)
		v, _ := json.Marshal(props[name])
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	// Rebuild the schema with type, properties, required in the reflector's order.
	var res bytes.Buffer
	res.WriteString(`{"type":"object","properties":`)
	res.Write(buf.Bytes())
	if req, ok := schema["required"]; ok {
		res.WriteString(`,"required":`)
		res.Write(req)
	}
	res.WriteByte('}')
	return res.Bytes()
}

// members is the list of a toolset: it marks each tool as the toolset's. A tool whose spec
// already names another toolset is a programming error.
func members(toolset string, tools ...Tool) []Tool {
	for i := range tools {
		if t := tools[i].Toolset; t != "" && t != toolset {
			panic(fmt.Sprintf("tools: %s is listed in %s but its spec says %s", tools[i].Def.Name, toolset, t))
		}
		tools[i].Toolset = toolset
	}
	return tools
}
