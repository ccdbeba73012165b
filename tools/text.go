package tools

// Text helpers shared by the tools: bounding, formatting and cleaning strings for results.

// truncate cuts s to n runes, marking a cut with an ellipsis.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
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

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}
