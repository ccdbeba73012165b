package tools

import (
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// Paging shared by the list tools: offset and time-cursor arguments, the rendered list
// result and its paging hints.

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

// morePages reports whether a page with a total leaves items after it (the agents list
// answers total without hasMore).
func morePages(total *int, offset, n int) bool {
	return total != nil && n > 0 && offset+n < *total
}

// pageHint says how to fetch the next page of an offset-paged list.
func pageHint(hasMore bool, offset, count int) string {
	if !hasMore {
		return ""
	}
	return fmt.Sprintf("More results: call again with offset=%d.", offset+count)
}

// cursorHint sets the next-page hint of a time-cursor list: older messages come with
// before set to the oldest time on this page.
func cursorHint(l *list, oldest time.Time) {
	if !l.hasMore || oldest.IsZero() {
		return
	}
	ts := oldest.UTC().Format(time.RFC3339Nano)
	l.nextHint = "More results: call again with before=" + ts + "."
	l.extra = map[string]any{"next_before": ts}
}
