package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
)

const maxBodyBytes = 1 << 20

// form is a decoded JSON object body that validates fields one by one the way pydantic does:
// unknown keys are ignored, wrong types and out-of-range values collect 422 field errors.
type form struct {
	m    map[string]json.RawMessage
	errs []fieldError
}

// readForm decodes the request body as a JSON object. An empty body counts as {}.
func readForm(r *http.Request) (*form, *apiError) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, badRequest("could not read the request body: " + err.Error())
	}
	if len(data) > maxBodyBytes {
		return nil, newError(http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", "request body exceeds 1 MiB")
	}
	return parseForm(data)
}

func parseForm(data []byte) (*form, *apiError) {
	f := &form{m: map[string]json.RawMessage{}}
	if len(bytes.TrimSpace(data)) == 0 {
		return f, nil
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, validation(fieldError{Loc: []any{"body", 0}, Msg: "JSON decode error", Type: "json_invalid"})
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, validation(fieldError{Loc: []any{"body"},
			Msg: "Input should be a valid dictionary or object to extract fields from", Type: "model_attributes_type"})
	}
	if err := json.Unmarshal(data, &f.m); err != nil {
		return nil, validation(fieldError{Loc: []any{"body", 0}, Msg: "JSON decode error", Type: "json_invalid"})
	}
	return f, nil
}

func (f *form) fail(key, msg, typ string) {
	f.errs = append(f.errs, fieldError{Loc: []any{"body", key}, Msg: msg, Type: typ})
}

// err returns the collected 422, or nil.
func (f *form) err() *apiError {
	if len(f.errs) == 0 {
		return nil
	}
	return validation(f.errs...)
}

// isNull reports whether key is present with the value null.
func (f *form) isNull(key string) bool {
	raw, ok := f.m[key]
	return ok && string(bytes.TrimSpace(raw)) == "null"
}

// value returns the raw value when the key is present and not null.
func (f *form) value(key string) (json.RawMessage, bool) {
	raw, ok := f.m[key]
	if !ok || string(bytes.TrimSpace(raw)) == "null" {
		return nil, false
	}
	return raw, true
}

// require records a "Field required" error when key is missing or null.
func (f *form) require(key string) bool {
	if _, ok := f.value(key); !ok {
		f.fail(key, "Field required", "missing")
		return false
	}
	return true
}

// str returns a string field; ok is false when absent, null or of the wrong type.
func (f *form) str(key string) (string, bool) {
	raw, ok := f.value(key)
	if !ok {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		f.fail(key, "Input should be a valid string", "string_type")
		return "", false
	}
	return s, true
}

// enum returns a string field that must be one of allowed.
func (f *form) enum(key string, allowed ...string) (string, bool) {
	s, ok := f.str(key)
	if !ok {
		return "", false
	}
	for _, a := range allowed {
		if s == a {
			return s, true
		}
	}
	f.fail(key, "Input should be "+enumList(allowed), "enum")
	return "", false
}

// enumList renders 'a', 'b' or 'c' like pydantic.
func enumList(allowed []string) string {
	q := make([]string, len(allowed))
	for i, a := range allowed {
		q[i] = "'" + a + "'"
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// number returns a numeric field within [lo, hi].
func (f *form) number(key string, lo, hi float64) (float64, bool) {
	raw, ok := f.value(key)
	if !ok {
		return 0, false
	}
	var x float64
	if err := json.Unmarshal(raw, &x); err != nil {
		f.fail(key, "Input should be a valid number", "float_type")
		return 0, false
	}
	return x, f.inRange(key, x, lo, hi)
}

// integer returns an integer field within [lo, hi].
func (f *form) integer(key string, lo, hi int64) (int64, bool) {
	raw, ok := f.value(key)
	if !ok {
		return 0, false
	}
	var x float64
	if err := json.Unmarshal(raw, &x); err != nil || x != math.Trunc(x) || math.IsInf(x, 0) {
		f.fail(key, "Input should be a valid integer", "int_type")
		return 0, false
	}
	return int64(x), f.inRange(key, x, float64(lo), float64(hi))
}

func (f *form) inRange(key string, x, lo, hi float64) bool {
	if x < lo {
		f.fail(key, "Input should be greater than or equal to "+fmtNum(lo), "greater_than_equal")
		return false
	}
	if x > hi {
		f.fail(key, "Input should be less than or equal to "+fmtNum(hi), "less_than_equal")
		return false
	}
	return true
}

func fmtNum(x float64) string {
	if x == math.Trunc(x) {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%g", x)
}

// boolean returns a boolean field.
func (f *form) boolean(key string) (bool, bool) {
	raw, ok := f.value(key)
	if !ok {
		return false, false
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		f.fail(key, "Input should be a valid boolean", "bool_type")
		return false, false
	}
	return b, true
}

// object returns an object field as raw JSON (re-encoded compactly).
func (f *form) object(key string) (map[string]any, bool) {
	raw, ok := f.value(key)
	if !ok {
		return nil, false
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		f.fail(key, "Input should be a valid dictionary", "dict_type")
		return nil, false
	}
	return m, true
}

// stringMap returns an object whose values must all be strings.
func (f *form) stringMap(key string) (map[string]string, bool) {
	raw, ok := f.value(key)
	if !ok {
		return nil, false
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		f.fail(key, "Input should be a valid dictionary with string values", "dict_type")
		return nil, false
	}
	return m, true
}

// strings returns a list of strings.
func (f *form) strings(key string) ([]string, bool) {
	raw, ok := f.value(key)
	if !ok {
		return nil, false
	}
	var l []string
	if err := json.Unmarshal(raw, &l); err != nil {
		f.fail(key, "Input should be a valid list of strings", "list_type")
		return nil, false
	}
	return l, true
}

// rawList returns a list of arbitrary JSON values.
func (f *form) rawList(key string) ([]json.RawMessage, bool) {
	raw, ok := f.value(key)
	if !ok {
		return nil, false
	}
	var l []json.RawMessage
	if err := json.Unmarshal(raw, &l); err != nil {
		f.fail(key, "Input should be a valid list", "list_type")
		return nil, false
	}
	return l, true
}

// httpsURL checks that s is an absolute https URL.
func httpsURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != ""
}

// webURL checks that s is an absolute http or https URL.
func webURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
