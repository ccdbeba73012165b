package apiclient

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// pathOf builds "/v1/<seg>/<seg>..." escaping every segment. Segments that
// are ids must be non-empty; pathOf returns an error naming the first empty
// one (the even-indexed segments are fixed words, the others ids).
func pathOf(segs ...string) (string, error) {
	var b strings.Builder
	b.WriteString("/v1")
	for i, s := range segs {
		if s == "" {
			name := "id"
			if i > 0 {
				name = strings.TrimSuffix(segs[i-1], "s") + " id"
			}
			return "", fmt.Errorf("apiclient: the %s is empty: pass the id of an existing object", name)
		}
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String(), nil
}

func listQuery(limit, offset int) url.Values {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if offset > 0 {
		q.Set("offset", strconv.Itoa(offset))
	}
	return q
}

func cursorQuery(p CursorParams) url.Values {
	q := url.Values{}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if !p.Before.IsZero() {
		q.Set("before", p.Before.UTC().Format(time.RFC3339Nano))
	}
	if !p.After.IsZero() {
		q.Set("after", p.After.UTC().Format(time.RFC3339Nano))
	}
	return q
}

// get, post, patch, put and del are small wrappers around do.
func getJSON[T any](ctx context.Context, c *Client, path string, q url.Values) (*T, error) {
	out := new(T)
	if err := c.do(ctx, call{method: http.MethodGet, path: path, query: q}, out); err != nil {
		return nil, err
	}
	return out, nil
}

// getNullableJSON is getJSON for an endpoint that answers JSON null for "none"
// (GET webhook): *T is then the zero value of T.
func getNullableJSON[T any](ctx context.Context, c *Client, path string, q url.Values) (*T, error) {
	out := new(T)
	if err := c.do(ctx, call{method: http.MethodGet, path: path, query: q, nullable: true}, out); err != nil {
		return nil, err
	}
	return out, nil
}

func sendJSON[T any](ctx context.Context, c *Client, method, path string, q url.Values, body any) (*T, error) {
	out := new(T)
	if err := c.do(ctx, call{method: method, path: path, query: q, body: body}, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Paginate walks an offset-paginated list page by page (pageSize per
// request; 0 = server default), yielding each item. It stops at the end of
// the list (hasMore false and total reached), on an empty page, on the
// first error (yielded once), or when the consumer stops.
//
//	for a, err := range apiclient.Paginate(ctx, 100, c.ListAgents) { ... }
func Paginate[T any](ctx context.Context, pageSize int, fetch func(context.Context, ListParams) (*Page[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		offset := 0
		for {
			page, err := fetch(ctx, ListParams{Limit: pageSize, Offset: offset})
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, item := range page.Data {
				if !yield(item, nil) {
					return
				}
			}
			offset += len(page.Data)
			more := page.HasMore || (page.Total != nil && offset < *page.Total)
			if !more || len(page.Data) == 0 {
				return
			}
		}
	}
}
