package keyguard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testKey = "sk_live_Q7xv2LmN9pRt4WzK8bYc3HdF"

func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	s := NewSecret(testKey)
	type exported struct {
		Name string
		Key  Secret
	}
	type unexported struct {
		name string
		key  Secret
	}
	type ptr struct{ Key *Secret }
	values := []any{s, &s, exported{"a", s}, &exported{"a", s}, unexported{"a", s}, &unexported{"a", s},
		[]Secret{s}, map[string]Secret{"k": s}, ptr{&s}}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T", "%10.3v", "%-20s", "%#q"}
	for _, v := range values {
		for _, verb := range verbs {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, testKey) || strings.Contains(out, fmt.Sprintf("%x", testKey)) || strings.Contains(out, "Q7xv2") {
				t.Errorf("fmt %s of %T leaks the key: %s", verb, v, out)
			}
		}
	}
	if got := fmt.Sprint(s); got != Redacted {
		t.Errorf("Sprint = %q", got)
	}
	if got := fmt.Sprintf("%q", s); got != `"[REDACTED]"` {
		t.Errorf("%%q = %q", got)
	}
	err := fmt.Errorf("calling API with %v: %w", s, errors.New("boom"))
	if strings.Contains(err.Error(), testKey) {
		t.Errorf("error leaks key: %v", err)
	}
	for _, v := range []any{s, exported{"a", s}, map[string]any{"key": s}, []any{s}} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), testKey) || !strings.Contains(string(b), Redacted) {
			t.Errorf("json.Marshal(%T) = %s", v, b)
		}
	}
	txt, _ := s.MarshalText()
	if string(txt) != Redacted {
		t.Errorf("MarshalText = %q", txt)
	}
	for _, mk := range []func(*bytes.Buffer) slog.Handler{
		func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
	} {
		var buf bytes.Buffer
		l := slog.New(mk(&buf))
		l.Info("start", "key", s, "cfg", exported{"a", s}, "ucfg", unexported{"a", s}, slog.Group("g", "k", s))
		if strings.Contains(buf.String(), testKey) || !strings.Contains(buf.String(), Redacted) {
			t.Errorf("slog output leaks or lacks redaction: %s", buf.String())
		}
	}
	if s.Reveal() != testKey || s.IsZero() {
		t.Error("Reveal/IsZero wrong for a set secret")
	}
	var zero Secret
	if zero.Reveal() != "" || !zero.IsZero() || !NewSecret("").IsZero() {
		t.Error("zero Secret not zero")
	}
}

func TestLoadKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good", "  "+testKey+"\n", 0o600)
	readOnly := write("ro", testKey, 0o400)
	groupReadable := write("group", testKey, 0o640)
	worldReadable := write("world", testKey, 0o644)
	empty := write("empty", " \n", 0o600)
	inner := write("inner", "sk_live_abc def", 0o600)
	tests := []struct {
		name, env, file string
		want            string
		wantErr         string
	}{
		{name: "env", env: testKey, want: testKey},
		{name: "env trimmed", env: "\t" + testKey + "\n", want: testKey},
		{name: "both empty", want: ""},
		{name: "env whitespace only", env: "  ", want: ""},
		{name: "file wins over env", env: "sk_live_other_key_value", file: good, want: testKey},
		{name: "file 0400", file: readOnly, want: testKey},
		{name: "file group readable", file: groupReadable, wantErr: "chmod 600"},
		{name: "file world readable", file: worldReadable, wantErr: "chmod 600"},
		{name: "file empty", file: empty, wantErr: "is empty"},
		{name: "file missing", file: filepath.Join(dir, "nope"), wantErr: "no such file"},
		{name: "file is a directory", file: dir, wantErr: "not a regular file"},
		{name: "inner space in file", file: inner, wantErr: "spaces or control characters"},
		{name: "inner newline in env", env: "sk_live_a\nInjected: x", wantErr: "spaces or control characters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LoadKey(tc.env, tc.file)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("LoadKey error = %v, want it to contain %q", err, tc.wantErr)
				}
				for _, secretish := range []string{testKey, "sk_live_abc", "Injected"} {
					if strings.Contains(err.Error(), secretish) {
						t.Errorf("error leaks key material: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Reveal() != tc.want {
				t.Errorf("LoadKey = %q, want %q", got.Reveal(), tc.want)
			}
		})
	}
}
