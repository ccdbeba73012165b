package apiclient

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Page is one page of an offset-paginated list ({"data","hasMore","total"}).
// Total is nil when the endpoint did not report it. GET /v1/agents reports
// no hasMore; the iterator (Paginate) then relies on Total.
type Page[T any] struct {
	Data    []T  `json:"data"`
	HasMore bool `json:"hasMore"`
	Total   *int `json:"total,omitempty"`
}

// UnmarshalJSON requires the "data" array: a list answer without it (such as
// {} or {"data":null}) is not an empty list but an unusable answer.
func (p *Page[T]) UnmarshalJSON(b []byte) error {
	type plain Page[T]
	var v plain
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if err := requireArray(b, "data"); err != nil {
		return err
	}
	*p = Page[T](v)
	return nil
}

// requireArray checks that the JSON object b has key holding an array.
func requireArray(b []byte, key string) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	raw, ok := obj[key]
	if !ok {
		return fmt.Errorf("the list has no %q array", key)
	}
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '[' {
		return fmt.Errorf("%q is %s, not an array", key, bound(string(t), 40))
	}
	return nil
}

// dataList is a {"data":[...]} answer whose "data" array is required.
type dataList[T any] struct {
	Data []T `json:"data"`
}

// UnmarshalJSON requires the "data" array (see Page.UnmarshalJSON).
func (d *dataList[T]) UnmarshalJSON(b []byte) error {
	var v struct {
		Data []T `json:"data"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if err := requireArray(b, "data"); err != nil {
		return err
	}
	d.Data = v.Data
	return nil
}

// CursorPage is one page of a time-cursor list (messages): newest first;
// ask for older items with Before set to the oldest ReceivedAt seen.
type CursorPage[T any] struct {
	Data    []T  `json:"data"`
	HasMore bool `json:"hasMore"`
}

// UnmarshalJSON requires the "data" array (see Page.UnmarshalJSON).
func (p *CursorPage[T]) UnmarshalJSON(b []byte) error {
	type plain CursorPage[T]
	var v plain
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if err := requireArray(b, "data"); err != nil {
		return err
	}
	*p = CursorPage[T](v)
	return nil
}

// ListParams are the offset-pagination query parameters. Zero values are
// omitted, so the server defaults apply (limit 20, or 50 for contacts).
type ListParams struct {
	Limit  int
	Offset int
}

// CursorParams are the time-cursor query parameters of the message lists.
// Zero values are omitted (server default limit 50, max 200).
type CursorParams struct {
	Limit  int
	Before time.Time
	After  time.Time
}

// SuccessResult is the loosely specified {"success":true} answer of several
// DELETE endpoints ("Any" in the spec).
type SuccessResult struct {
	Success bool `json:"success"`
}

// Time is a timestamp decoded leniently: RFC 3339 with or without a zone,
// fractional seconds, or a bare date. A value that cannot be parsed leaves
// the time zero and is kept in Raw, so an odd timestamp never fails a whole
// response. JSON null gives the zero Time.
type Time struct {
	time.Time
	// Raw is the original string when it could not be parsed.
	Raw string
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// UnmarshalJSON implements json.Unmarshaler leniently (see Time).
func (t *Time) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*t = Time{}
		return nil
	}
	if b[0] != '"' {
		// A number: Unix seconds (the webhook timestamp header style).
		var n float64
		if err := json.Unmarshal(b, &n); err == nil {
			sec := int64(n)
			*t = Time{Time: time.Unix(sec, int64((n-float64(sec))*1e9)).UTC()}
			return nil
		}
		*t = Time{Raw: string(b)}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		*t = Time{Raw: string(b)}
		return nil
	}
	*t = ParseTime(s)
	return nil
}

// MarshalJSON writes RFC 3339 (or the Raw text, or null when zero).
func (t Time) MarshalJSON() ([]byte, error) {
	if t.Time.IsZero() {
		if t.Raw != "" {
			return json.Marshal(t.Raw)
		}
		return []byte("null"), nil
	}
	return json.Marshal(t.Time.Format(time.RFC3339Nano))
}

// String returns RFC 3339, the raw text, or "" when unknown.
func (t Time) String() string {
	if t.Time.IsZero() {
		return t.Raw
	}
	return t.Time.Format(time.RFC3339)
}

// ParseTime parses s leniently (see Time). Times without a zone are UTC.
func ParseTime(s string) Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return Time{}
	}
	for _, layout := range timeLayouts {
		if v, err := time.Parse(layout, s); err == nil {
			return Time{Time: v}
		}
	}
	return Time{Raw: s}
}
