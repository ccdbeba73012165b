package sandbox

import (
	"net/http"
	"strconv"
	"time"
)

// query reads query parameters with FastAPI-style 422 errors (loc ["query", name]).
type query struct {
	r    *http.Request
	errs []fieldError
}

func newQuery(r *http.Request) *query { return &query{r: r} }

func (q *query) fail(key, msg, typ string) {
	q.errs = append(q.errs, fieldError{Loc: []any{"query", key}, Msg: msg, Type: typ})
}

func (q *query) err() *apiError {
	if len(q.errs) == 0 {
		return nil
	}
	return validation(q.errs...)
}

func (q *query) raw(key string) (string, bool) {
	vals, ok := q.r.URL.Query()[key]
	if !ok || len(vals) == 0 {
		return "", false
	}
	return vals[0], true
}

// integer returns the parameter or def, checking [lo, hi].
func (q *query) integer(key string, def, lo, hi int) int {
	s, ok := q.raw(key)
	if !ok || s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		q.fail(key, "Input should be a valid integer, unable to parse string as an integer", "int_parsing")
		return def
	}
	if n < lo {
		q.fail(key, "Input should be greater than or equal to "+strconv.Itoa(lo), "greater_than_equal")
		return def
	}
	if n > hi {
		q.fail(key, "Input should be less than or equal to "+strconv.Itoa(hi), "less_than_equal")
		return def
	}
	return n
}

// boolean returns the parameter or def.
func (q *query) boolean(key string, def bool) bool {
	s, ok := q.raw(key)
	if !ok || s == "" {
		return def
	}
	switch s {
	case "true", "True", "1", "yes", "on":
		return true
	case "false", "False", "0", "no", "off":
		return false
	}
	q.fail(key, "Input should be a valid boolean, unable to interpret input", "bool_parsing")
	return def
}

// timestamp returns an ISO-8601 date-time parameter.
func (q *query) timestamp(key string) (time.Time, bool) {
	s, ok := q.raw(key)
	if !ok || s == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	q.fail(key, "Input should be a valid datetime", "datetime_parsing")
	return time.Time{}, false
}

// enum returns the parameter if it is one of allowed.
func (q *query) enum(key string, allowed ...string) string {
	s, ok := q.raw(key)
	if !ok || s == "" {
		return ""
	}
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	q.fail(key, "Input should be "+enumList(allowed), "enum")
	return ""
}

// page returns limit and offset.
func (q *query) page(defLimit, maxLimit int) (limit, offset int) {
	limit = q.integer("limit", defLimit, 1, maxLimit)
	offset = q.integer("offset", 0, 0, 1<<30)
	return limit, offset
}

// paginate slices items and reports hasMore.
func paginate[T any](items []T, limit, offset int) ([]T, bool) {
	if offset >= len(items) {
		return []T{}, false
	}
	end := offset + limit
	if end > len(items) {
		end = len(items)
	}
	return items[offset:end], end < len(items)
}

// listPage is the common {data, hasMore, total} envelope.
type listPage[T any] struct {
	Data    []T  `json:"data"`
	HasMore bool `json:"hasMore"`
	Total   int  `json:"total"`
}

func pageOf[T any](items []T, limit, offset int) listPage[T] {
	page, more := paginate(items, limit, offset)
	return listPage[T]{Data: page, HasMore: more, Total: len(items)}
}

// ts formats a time the way the API does (UTC ISO-8601).
func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// tsPtr formats an optional time; the zero time is null.
func tsPtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := ts(t)
	return &s
}
