package clientconfig

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tailscale/hujson"
)

// document is a config file parsed so that it can be changed in place: everything not
// touched is written back byte for byte (comments, order, spacing, line endings, a BOM).
type document struct {
	root   hujson.Value
	bom    bool
	nl     string // "\n" or "\r\n", as the file uses
	unit   string // one level of indentation, as the file uses
	strict bool   // standard JSON only (no comments, no trailing commas)
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// ParseError says why a config file cannot be edited. The file is left as it is.
type ParseError struct {
	Path   string
	Reason string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s: %s; the file was not changed", e.Path, e.Reason)
}

// parseDocument reads a config file's bytes. An empty file is an empty object. strict refuses
// comments and trailing commas (the client parses plain JSON and could not read them).
func parseDocument(path string, b []byte, strict bool) (*document, error) {
	d := &document{nl: "\n", unit: "  ", strict: strict}
	if bytes.HasPrefix(b, utf8BOM) {
		d.bom, b = true, b[len(utf8BOM):]
	}
	if bytes.Contains(b, []byte("\r\n")) {
		d.nl = "\r\n"
	}
	if len(bytes.TrimSpace(b)) == 0 {
		b = []byte("{}" + d.nl)
	}
	v, err := hujson.Parse(b)
	if err != nil {
		how := "JSON"
		if !strict {
			how = "JSON with comments"
		}
		return nil, &ParseError{Path: path, Reason: fmt.Sprintf("it is not valid %s (%v); fix or move it, then run this again", how, err)}
	}
	if strict && !v.IsStandard() {
		return nil, &ParseError{Path: path, Reason: "it contains comments or trailing commas, which this client's JSON parser does not accept; remove them (the client cannot read the file as it is), then run this again"}
	}
	root, ok := v.Value.(*hujson.Object)
	if !ok {
		return nil, &ParseError{Path: path, Reason: "its top level is not a JSON object"}
	}
	if dup := duplicateName(root); dup != "" {
		return nil, &ParseError{Path: path, Reason: fmt.Sprintf("the key %q appears twice at the top level, so it is unclear which one the client uses", dup)}
	}
	d.root = v
	if len(root.Members) > 0 {
		if ind, ok := lineIndent(root.Members[0].Name.BeforeExtra); ok && ind != "" {
			d.unit = ind
		}
	}
	return d, nil
}

// bytes packs the document back into a file's contents.
func (d *document) bytes() []byte {
	out := d.root.Pack()
	if d.bom {
		out = append(append([]byte(nil), utf8BOM...), out...)
	}
	return out
}

// object is an object value in the document with the indentation of its members.
type object struct {
	obj    *hujson.Object
	indent string // indentation of the line that holds the closing brace
	inner  string // indentation of the members
	inline bool   // the members sit on one line: {"a": 1, "b": 2}
}

func (d *document) rootObject() *object {
	o := d.root.Value.(*hujson.Object)
	return d.wrap(o, "")
}

func (d *document) wrap(o *hujson.Object, indent string) *object {
	w := &object{obj: o, indent: indent, inner: indent + d.unit}
	if len(o.Members) > 0 {
		if ind, ok := lineIndent(o.Members[0].Name.BeforeExtra); ok {
			w.inner = ind
		} else {
			w.inline = true
		}
	}
	return w
}

// lineIndent returns the whitespace after the last newline of extra, and whether there is one.
func lineIndent(extra hujson.Extra) (string, bool) {
	i := bytes.LastIndexByte(extra, '\n')
	if i < 0 {
		return "", false
	}
	rest := string(extra[i+1:])
	return rest[:len(rest)-len(strings.TrimLeft(rest, " \t"))], true
}

func duplicateName(o *hujson.Object) string {
	seen := map[string]bool{}
	for _, m := range o.Members {
		n := memberName(m)
		if seen[n] {
			return n
		}
		seen[n] = true
	}
	return ""
}

func memberName(m hujson.ObjectMember) string {
	lit, ok := m.Name.Value.(hujson.Literal)
	if !ok {
		return ""
	}
	return lit.String()
}

func (o *object) index(name string) int {
	for i, m := range o.obj.Members {
		if memberName(m) == name {
			return i
		}
	}
	return -1
}

// child returns the object held by member name; ok is false when there is no such member.
// A member that holds something other than an object is an error.
func (d *document) child(o *object, name, path string) (c *object, ok bool, err error) {
	i := o.index(name)
	if i < 0 {
		return nil, false, nil
	}
	obj, isObj := o.obj.Members[i].Value.Value.(*hujson.Object)
	if !isObj {
		return nil, true, &ParseError{Path: path, Reason: fmt.Sprintf("%q is not a JSON object", name)}
	}
	if dup := duplicateName(obj); dup != "" {
		return nil, true, &ParseError{Path: path, Reason: fmt.Sprintf("the key %q appears twice in %q, so it is unclear which one the client uses", dup, name)}
	}
	ind := o.inner
	if o.inline {
		ind = o.indent
	}
	return d.wrap(obj, ind), true, nil
}

// value decodes member name into dst (standard JSON of the member, comments stripped).
func (o *object) value(name string, dst any) (bool, error) {
	i := o.index(name)
	if i < 0 {
		return false, nil
	}
	v := o.obj.Members[i].Value.Clone()
	v.Standardize()
	return true, json.Unmarshal(v.Pack(), dst)
}

// set makes member name hold val, rendered in the file's style. An existing member keeps its
// place, its comments and, when it already holds an equal value, its exact bytes. A new
// member goes last.
func (d *document) set(o *object, name string, val any) error {
	if i := o.index(name); i >= 0 {
		cur := o.obj.Members[i].Value.Clone()
		cur.Standardize()
		if jsonEqual(cur.Pack(), val) {
			return nil
		}
		nv, err := d.render(val, o.memberIndent(), o.inline)
		if err != nil {
			return err
		}
		o.obj.Members[i].Value.Value = nv.Value
		return nil
	}
	nv, err := d.render(val, o.memberIndent(), o.inline)
	if err != nil {
		return err
	}
	key, _ := json.Marshal(name)
	m := hujson.ObjectMember{
		Name:  hujson.Value{Value: hujson.Literal(key)},
		Value: hujson.Value{BeforeExtra: hujson.Extra(" "), Value: nv.Value},
	}
	n := len(o.obj.Members)
	switch {
	case o.inline:
		m.Name.BeforeExtra = hujson.Extra(" ")
	default:
		m.Name.BeforeExtra = hujson.Extra(d.nl + o.inner)
	}
	if n > 0 && o.obj.Members[n-1].Value.AfterExtra != nil {
		// The file ends its members with a trailing comma; keep doing so.
		m.Value.AfterExtra = hujson.Extra{}
	}
	if n == 0 && !o.inline && !bytes.Contains(o.obj.AfterExtra, []byte("\n")) {
		o.obj.AfterExtra = append(hujson.Extra(d.nl+o.indent), bytes.TrimLeft(o.obj.AfterExtra, " \t")...)
	}
	o.obj.Members = append(o.obj.Members, m)
	return nil
}

// memberIndent is the indentation a member's nested lines are rendered at.
func (o *object) memberIndent() string {
	if o.inline {
		return o.indent
	}
	return o.inner
}

// remove deletes member name; it reports whether there was one.
func (d *document) remove(o *object, name string) bool {
	i := o.index(name)
	if i < 0 {
		return false
	}
	members := o.obj.Members
	last := i == len(members)-1
	removed := members[i]
	// A comment on the same line after the removed member belongs to it.
	next := &o.obj.AfterExtra
	if !last {
		next = &members[i+1].Name.BeforeExtra
	}
	*next = dropSameLineComment(*next)
	o.obj.Members = append(members[:i:i], members[i+1:]...)
	if last && len(o.obj.Members) > 0 {
		// The new last member ends the list: a trailing comma only if the file had one.
		prev := &o.obj.Members[len(o.obj.Members)-1].Value
		if removed.Value.AfterExtra == nil {
			prev.AfterExtra = nil
		} else if prev.AfterExtra == nil {
			prev.AfterExtra = hujson.Extra{}
		}
	}
	if len(o.obj.Members) == 0 && len(bytes.TrimSpace(o.obj.AfterExtra)) == 0 {
		o.obj.AfterExtra = nil // "{}"
	}
	return true
}

// dropSameLineComment removes a // or /* */ comment that starts extra before its first newline.
func dropSameLineComment(extra hujson.Extra) hujson.Extra {
	s := string(extra)
	trimmed := strings.TrimLeft(s, " \t")
	if !strings.HasPrefix(trimmed, "//") && !strings.HasPrefix(trimmed, "/*") {
		return extra
	}
	nl := strings.IndexByte(s, '\n')
	if nl < 0 {
		return extra
	}
	if strings.HasPrefix(trimmed, "/*") && !strings.Contains(s[:nl], "*/") {
		return extra
	}
	return hujson.Extra(s[nl:])
}

// render formats val (string, []string, bool, or orderedMap) the way the file is written:
// nested lines at indent, or all on one line when compact.
func (d *document) render(val any, indent string, compact bool) (hujson.Value, error) {
	var b strings.Builder
	if err := d.write(&b, val, indent, compact); err != nil {
		return hujson.Value{}, err
	}
	v, err := hujson.Parse([]byte(b.String()))
	if err != nil {
		return hujson.Value{}, fmt.Errorf("render %T: %w", val, err)
	}
	return v, nil
}

// orderedMap is a JSON object whose keys keep the order given.
type orderedMap []keyValue

type keyValue struct {
	Key   string
	Value any
}

func (d *document) write(b *strings.Builder, val any, indent string, compact bool) error {
	switch v := val.(type) {
	case orderedMap:
		if len(v) == 0 {
			b.WriteString("{}")
			return nil
		}
		b.WriteString("{")
		for i, kv := range v {
			switch {
			case compact && i > 0:
				b.WriteString(", ")
			case !compact && i > 0:
				b.WriteString(",")
			}
			if !compact {
				b.WriteString(d.nl + indent + d.unit)
			}
			writeJSON(b, kv.Key)
			b.WriteString(": ")
			if err := d.write(b, kv.Value, indent+d.unit, compact); err != nil {
				return err
			}
		}
		if !compact {
			b.WriteString(d.nl + indent)
		}
		b.WriteString("}")
		return nil
	case []string:
		b.WriteString("[")
		for i, s := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSON(b, s)
		}
		b.WriteString("]")
		return nil
	case string, bool:
		writeJSON(b, v)
		return nil
	default:
		return fmt.Errorf("render: unsupported type %T", val)
	}
}

func writeJSON(b *strings.Builder, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	b.Write(bytes.TrimRight(buf.Bytes(), "\n"))
}

// jsonEqual compares standard JSON bytes with a value set() understands.
func jsonEqual(raw []byte, val any) bool {
	var have any
	if err := json.Unmarshal(raw, &have); err != nil {
		return false
	}
	want, err := json.Marshal(toPlain(val))
	if err != nil {
		return false
	}
	var w any
	if err := json.Unmarshal(want, &w); err != nil {
		return false
	}
	a, _ := json.Marshal(have)
	c, _ := json.Marshal(w)
	return bytes.Equal(a, c)
}

func toPlain(val any) any {
	if m, ok := val.(orderedMap); ok {
		out := make(map[string]any, len(m))
		for _, kv := range m {
			out[kv.Key] = toPlain(kv.Value)
		}
		return out
	}
	return val
}
