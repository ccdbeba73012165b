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

// Toolsets lists every toolset in display order.
func Toolsets() []string {
	return []string{ToolsetAccount, ToolsetAgents, ToolsetNumbers, ToolsetCalls, ToolsetMessages,
		ToolsetConversations, ToolsetContacts, ToolsetWebhooks, ToolsetLive, ToolsetCampaigns}
}

// DefaultToolsets is every toolset except webhooks, the one that can redirect a user's
// inbound traffic to another server, and campaigns (bulk sending is enabled on request,
// and its tools would push the default tools/list past its byte budget).
func DefaultToolsets() []string {
	return slices.DeleteFunc(Toolsets(), func(s string) bool { return s == ToolsetWebhooks || s == ToolsetCampaigns })
}

// Tool is one MCP tool with the metadata the server needs to filter it.
type Tool struct {
	Def      mcp.Tool
	Toolset  string
	ReadOnly bool
	Handler  server.ToolHandlerFunc
}

// effect describes what a tool does to the world; it decides the annotations.
type effect int

const (
	// reads changes nothing.
	reads effect = iota
	// writesLocal changes AgentPhone configuration reversibly and reaches nobody outside.
	writesLocal
	// writesIdempotent is writesLocal that can be repeated with the same result.
	writesIdempotent
	// destroys deletes or releases something that cannot be restored.
	destroys
	// spends costs money but destroys nothing (buying a number).
	spends
	// reachesOut contacts a third party (SMS, call): it cannot be taken back.
	reachesOut
	// hangsUp ends something live for a third party (end_call): destructive, idempotent.
	hangsUp
	// signals touches a third party without harm (a reaction, a test webhook event).
	signals
)

// annotations are the hints a tool sends. readOnlyHint and destructiveHint are always sent:
// clients act on them (auto-approval, Cursor's Ask mode), and mcp-go's own default would call
// every tool destructive. idempotentHint and openWorldHint are sent only where they differ
// from the MCP default (false and true): an omitted hint means exactly its default to every
// client, and every byte of tools/list is paid in every conversation. For read tools
// idempotentHint has no meaning (the spec defines it for writes only), and they keep the
// open-world default on purpose: they return text written by third parties (SMS bodies,
// transcripts), which is what that hint warns a client about.
func annotations(e effect) mcp.ToolAnnotation {
	b := mcp.ToBoolPtr
	switch e {
	case reads:
		return mcp.ToolAnnotation{ReadOnlyHint: b(true), DestructiveHint: b(false)}
	case writesLocal:
		return mcp.ToolAnnotation{ReadOnlyHint: b(false), DestructiveHint: b(false), OpenWorldHint: b(false)}
	case writesIdempotent:
		return mcp.ToolAnnotation{ReadOnlyHint: b(false), DestructiveHint: b(false), IdempotentHint: b(true), OpenWorldHint: b(false)}
	case destroys:
		return mcp.ToolAnnotation{ReadOnlyHint: b(false), DestructiveHint: b(true), IdempotentHint: b(true), OpenWorldHint: b(false)}
	case hangsUp:
		return mcp.ToolAnnotation{ReadOnlyHint: b(false), DestructiveHint: b(true), IdempotentHint: b(true)}
	case spends, signals:
		return mcp.ToolAnnotation{ReadOnlyHint: b(false), DestructiveHint: b(false)}
	default: // reachesOut: destructive, not idempotent, open world.
		return mcp.ToolAnnotation{ReadOnlyHint: b(false), DestructiveHint: b(true)}
	}
}

// Hint values a client assumes when a hint is omitted (MCP specification, ToolAnnotations).
const (
	defaultIdempotentHint = false
	defaultOpenWorldHint  = true
)

// effectiveHints returns the four hints as a client reads them: sent values, else the
// specification's defaults.
func effectiveHints(a mcp.ToolAnnotation) (readOnly, destructive, idempotent, openWorld bool) {
	val := func(p *bool, def bool) bool {
		if p == nil {
			return def
		}
		return *p
	}
	return val(a.ReadOnlyHint, false), val(a.DestructiveHint, true), val(a.IdempotentHint, defaultIdempotentHint), val(a.OpenWorldHint, defaultOpenWorldHint)
}

// spec is the static part of a tool.
type spec struct {
	name    string
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
	// after is the continuation an executed action left for gate (see outcome.after).
	after func(ctx context.Context) *mcp.CallToolResult
}

// define builds a Tool from a spec and a typed handler. The input schema is reflected from A
// (json tags name the properties, jsonschema tags describe them; fields without omitempty are
// required); arguments are bound strictly, so an unknown key is an error that names it.
func define[A any](d *Deps, s spec, h handlerFunc[A]) Tool {
	def := mcp.NewTool(s.name, mcp.WithDescription(s.desc), mcp.WithInputSchema[A]())
	def.RawInputSchema = compactSchema(def.RawInputSchema)
	def.Annotations = annotations(s.effect)
	logger := d.logger()
	return Tool{
		Def:      def,
		Toolset:  s.toolset,
		ReadOnly: s.effect == reads,
		Handler: func(ctx context.Context, req mcp.CallToolRequest) (res *mcp.CallToolResult, err error) {
			defer func() {
				if r := recover(); r != nil {
					logger.Error("tool handler panicked", "tool", s.name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
					res, err = mcp.NewToolResultError(fmt.Sprintf("%s failed with an internal error; nothing further was attempted. Check the server log.", s.name)), nil
				}
			}()
			var args A
			if msg := bindArgs(req.GetArguments(), &args); msg != "" {
				return invalidArgs(s.name, msg), nil
			}
			return h(ctx, &call{req: req, tool: s.name}, args), nil
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
		return fmt.Sprintf("unknown argument %s; this tool accepts: %s", name, accepted)
	case errors.As(err, &typeErr):
		return fmt.Sprintf("argument %q must be %s, not %s", typeErr.Field, jsonKind(typeErr.Type), typeErr.Value)
	default:
		return fmt.Sprintf("the arguments could not be read (%v); this tool accepts: %s", err, accepted)
	}
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

func invalidArgs(tool, msg string) *mcp.CallToolResult {
	return errorResult(fmt.Sprintf("%s: %s. Nothing was done.", tool, msg),
		map[string]any{"status": "invalid_arguments", "error": msg})
}

func (d *Deps) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}

// Byte-level rewrites that shrink a reflected schema without changing what it accepts in
// practice: optional scalar fields are pointers only to tell "absent" from "empty", so their
// "null" alternative is noise, and unknown keys are refused by bindArgs with a message that
// names them, so the top-level additionalProperties:false only costs bytes in every tools/list.
var schemaRewrites = []struct{ from, to string }{
	{`"type":["null","string"]`, `"type":"string"`},
	{`"type":["null","array"]`, `"type":"array"`},
	{`"type":["null","number"]`, `"type":"number"`},
	{`"type":["null","integer"]`, `"type":"integer"`},
	{`"type":["null","boolean"]`, `"type":"boolean"`},
	{`,"additionalProperties":false}`, `}`},
}

// compactSchema applies schemaRewrites to a reflected input schema, and describes each nested
// object argument that carries a description by that description alone: its keys are listed
// there, and bindArgs still refuses unknown or mistyped keys by name.
func compactSchema(raw json.RawMessage) json.RawMessage {
	out := []byte(raw)
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
