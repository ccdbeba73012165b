package filelock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// open returns two separate open file descriptions of one file, as two
// processes would have.
func open2(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.lock")
	a, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func TestLockMatrix(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name          string
		first, second bool // exclusive?
		wantSecond    bool // second lock granted while the first is held
	}{
		{"shared+shared", false, false, true},
		{"shared+exclusive", false, true, false},
		{"exclusive+shared", true, false, false},
		{"exclusive+exclusive", true, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := open2(t)
			if err := Lock(ctx, a, tt.first, 0); err != nil {
				t.Fatal(err)
			}
			err := Lock(ctx, b, tt.second, 0)
			if got := err == nil; got != tt.wantSecond {
				t.Fatalf("second lock granted = %v (err %v), want %v", got, err, tt.wantSecond)
			}
			if err != nil && !errors.Is(err, ErrTimeout) {
				t.Fatalf("err = %v, want ErrTimeout", err)
			}
			if err := Unlock(a); err != nil {
				t.Fatal(err)
			}
			if err := Lock(ctx, b, tt.second, 0); err != nil {
				t.Fatalf("after unlock: %v", err)
			}
		})
	}
}

func TestLockCancelled(t *testing.T) {
	a, b := open2(t)
	if err := Lock(context.Background(), a, true, 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Lock(ctx, b, true, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestLockWaitsForRelease(t *testing.T) {
	a, b := open2(t)
	ctx := context.Background()
	if err := Lock(ctx, a, true, 0); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Lock(ctx, b, true, time.Minute) }()
	if err := Unlock(a); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("waiting lock: %v", err)
	}
}
