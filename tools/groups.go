package tools

import (
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// Each toolset's tools, in tools/list order: reads first, then writes.

func accountTools(d *Deps) []Tool {
	return []Tool{getAccountOverviewTool(d)}
}

func agentTools(d *Deps) []Tool {
	return []Tool{listAgentsTool(d), getAgentTool(d), listVoicesTool(d), createAgentTool(d), updateAgentTool(d),
		deleteAgentTool(d)}
}

func numberTools(d *Deps) []Tool {
	return []Tool{listNumbersTool(d), getNumberTool(d), buyNumberTool(d), updateNumberTool(d), releaseNumberTool(d)}
}

func callTools(d *Deps) []Tool {
	return []Tool{listCallsTool(d), getTranscriptTool(d), waitForCallTool(d), makeCallTool(d), endCallTool(d)}
}

func messageTools(d *Deps) []Tool {
	return []Tool{listMessagesTool(d), waitForReplyTool(d), sendSMSTool(d), reactToMessageTool(d)}
}

func conversationTools(d *Deps) []Tool {
	return []Tool{listConversationsTool(d), getConversationTool(d), updateConversationTool(d)}
}

func contactTools(d *Deps) []Tool {
	return []Tool{listContactsTool(d), getContactTool(d), getCapabilitiesTool(d), createContactTool(d), updateContactTool(d),
		deleteContactTool(d)}
}

func webhookTools(d *Deps) []Tool {
	return []Tool{getWebhookTool(d), listWebhookDeliveriesTool(d), setWebhookTool(d), deleteWebhookTool(d), testWebhookTool(d)}
}

func liveTools(d *Deps) []Tool { return []Tool{listenCallTool(d), sayTool(d)} }

// Paging bounds shared by the list tools.
const (
	maxPage       = 100 // offset-paged lists
	maxCursorPage = 200 // time-cursor message lists
)

// pageArgs are the arguments of an offset-paged list tool.
type pageArgs struct {
	Limit  int `json:"limit,omitempty"`
	Offset int `json:"offset,omitempty"`
}

// check returns "" or a message naming the bad argument.
func (p pageArgs) check() string {
	if p.Limit < 0 || p.Limit > maxPage {
		return fmt.Sprintf("limit must be between 1 and %d", maxPage)
	}
	if p.Offset < 0 {
		return "offset must be 0 or more"
	}
	return ""
}

// cursorArgs are the arguments of a time-cursor message list.
type cursorArgs struct {
	Limit  int    `json:"limit,omitempty"`
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
}

// params checks the cursor arguments and converts them; msg is "" or names the bad argument.
func (a cursorArgs) params() (p cursorParams, msg string) {
	if a.Limit < 0 || a.Limit > maxCursorPage {
		return p, fmt.Sprintf("limit must be between 1 and %d", maxCursorPage)
	}
	p.limit = a.Limit
	for _, f := range []struct {
		name, raw string
		dst       *time.Time
	}{{"before", a.Before, &p.before}, {"after", a.After, &p.after}} {
		if strings.TrimSpace(f.raw) == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, strings.TrimSpace(f.raw))
		if err != nil {
			return p, fmt.Sprintf("%s %q is not an RFC 3339 time such as 2026-01-15T14:00:00Z", f.name, truncate(f.raw, 40))
		}
		*f.dst = t
	}
	if !p.before.IsZero() && !p.after.IsZero() && !p.after.Before(p.before) {
		return p, "after must be earlier than before"
	}
	return p, ""
}

type cursorParams struct {
	limit         int
	before, after time.Time
}

// requireID returns "" when v is set, else a message that says where ids come from.
func requireID(name, v, finder string) string {
	if strings.TrimSpace(v) != "" {
		return ""
	}
	if finder == "" {
		return name + " is required"
	}
	return fmt.Sprintf("%s is required (%s shows them)", name, finder)
}

// list is a rendered list result: one line per item, the full items as structuredContent.
type list struct {
	noun      string           // plural noun for the header, e.g. "agents"
	lines     []string         // one per item, each with the item's id
	items     []map[string]any // structured items
	hasMore   bool
	offset    int    // offset of this page (offset-paged lists)
	nextHint  string // overrides the offset paging hint (cursor lists)
	untrusted bool   // items carry third-party text
	extra     map[string]any
}

// result renders l: "N noun:" then the lines, a paging hint when there is more, and the
// untrusted-text notice when the items quote third parties.
func (l list) result() *mcp.CallToolResult {
	items := l.items
	if items == nil {
		items = []map[string]any{}
	}
	data := map[string]any{"items": items, "has_more": l.hasMore}
	for k, v := range l.extra {
		data[k] = v
	}
	var b strings.Builder
	if len(l.lines) == 0 {
		fmt.Fprintf(&b, "No %s found.", l.noun)
	} else {
		fmt.Fprintf(&b, "%d %s:\n%s", len(l.lines), l.noun, strings.Join(l.lines, "\n"))
	}
	if l.untrusted && len(l.lines) > 0 {
		data["notice"] = UntrustedNotice
		b.WriteString("\n" + UntrustedNotice)
	}
	hint := l.nextHint
	if hint == "" && l.hasMore {
		hint = pageHint(true, l.offset, len(l.items))
		data["next_offset"] = l.offset + len(l.items)
	}
	// The paging hint is the next step: the last line, and next_step in structuredContent.
	return okNext(b.String(), hint, data)
}

// when formats a time for a list line.
func when(t interface{ String() string }) string {
	s := t.String()
	if s == "" {
		return "-"
	}
	return s
}

// sanitizeValue bounds and cleans third-party JSON (conversation metadata): every string,
// key included, is sanitised, and nesting deeper than a few levels is cut.
func sanitizeValue(v any, depth int) any {
	if depth > 4 {
		return "…"
	}
	switch x := v.(type) {
	case string:
		return untrusted(x, maxNotes)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[untrusted(k, maxSnippet)] = sanitizeValue(val, depth+1)
		}
		return out
	case []any:
		out := make([]any, 0, len(x))
		for i, val := range x {
			if i >= 50 {
				out = append(out, "…")
				break
			}
			out = append(out, sanitizeValue(val, depth+1))
		}
		return out
	default:
		return v
	}
}
