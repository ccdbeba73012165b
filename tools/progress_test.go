package tools

import (
	"context"
	"errors"
	"testing"
)

func TestSendProgress(t *testing.T) {
	t.Parallel()
	var sent []map[string]any
	send := func(method string, params map[string]any) error {
		if method != "notifications/progress" {
			t.Fatalf("method %q", method)
		}
		sent = append(sent, params)
		return nil
	}
	if err := SendProgress(context.Background(), 1, 2, "no reporter"); err != nil {
		t.Fatalf("without a reporter SendProgress is a no-op: %v", err)
	}
	ctx, finish := WithProgress(context.Background(), nil, send)
	if err := SendProgress(ctx, 1, 2, "no token"); err != nil || len(sent) != 0 {
		t.Fatalf("without a progress token nothing is sent: %v %v", err, sent)
	}
	finish()

	ctx, finish = WithProgress(context.Background(), "tok", send)
	steps := []struct{ progress, total float64 }{{0, 0}, {5, 10}, {5, 10}, {3, 0}, {10, 10}, {10, 10}}
	for _, s := range steps {
		if err := SendProgress(ctx, s.progress, s.total, "step"); err != nil {
			t.Fatal(err)
		}
	}
	want := []struct {
		progress float64
		total    any
	}{{0, nil}, {5, 10.0}, {6, 10.0}, {7, nil}, {10, 10.0}, {11, nil}}
	for i, w := range want {
		if sent[i]["progressToken"] != "tok" || sent[i]["progress"] != w.progress || sent[i]["total"] != w.total || sent[i]["message"] != "step" {
			t.Fatalf("notification %d: %v, want progress %v total %v (progress must increase; a total below it is dropped)", i, sent[i], w.progress, w.total)
		}
	}
	finish()
	if err := SendProgress(ctx, 20, 0, "late"); !errors.Is(err, ErrRequestDone) || len(sent) != len(want) {
		t.Fatalf("after the call returned: %v", err)
	}
	failing := func(string, map[string]any) error { return errors.New("stream gone") }
	ctx, finish = WithProgress(context.Background(), 7, failing)
	defer finish()
	if err := SendProgress(ctx, 1, 0, ""); err == nil {
		t.Fatal("a failed write must be reported")
	}
}
