package tools

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy/text"
)

// CustomToolArg is one HTTPS endpoint a hosted agent may call during its calls (the
// custom_tools argument of update_agent). The type is exported for the schema reflector.
type CustomToolArg struct {
	Name                 string            `json:"name"`
	Description          string            `json:"description"`
	URL                  string            `json:"url"`
	Method               string            `json:"method,omitempty"`
	Headers              map[string]string `json:"headers,omitempty"`
	Parameters           map[string]any    `json:"parameters,omitempty"`
	TimeoutMs            *int              `json:"timeout_ms,omitempty"`
	SpeakDuringExecution *bool             `json:"speak_during_execution,omitempty"`
	ExecutionMessage     string            `json:"execution_message,omitempty"`
}

// Limits on custom tools (the API's, plus a bound on the JSON Schema we pass through).
const (
	maxCustomTools     = 20
	maxToolParamsBytes = 16 << 10
	maxToolHeaders     = 20
)

var (
	toolNameRE   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	headerNameRE = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+.^_|~-]{1,64}$`)
)

// checkCustomTools returns "" or what is wrong with the custom tools, before any policy rule
// runs (the URL rules and the secret check are the policy's).
func checkCustomTools(tools []CustomToolArg) string {
	if len(tools) > maxCustomTools {
		return fmt.Sprintf("custom_tools: at most %d tools", maxCustomTools)
	}
	names := map[string]bool{}
	for i, t := range tools {
		at := fmt.Sprintf("custom_tools[%d]", i)
		switch {
		case !toolNameRE.MatchString(t.Name):
			return at + ".name must be 1-64 letters, digits, _ or -"
		case names[t.Name]:
			return fmt.Sprintf("%s.name %q is used twice", at, t.Name)
		case strings.TrimSpace(t.Description) == "":
			return at + ".description is required (it tells the agent when to use the tool)"
		case strings.TrimSpace(t.URL) == "":
			return at + ".url is required (a public https URL)"
		case t.Method != "" && t.Method != "GET" && t.Method != "POST":
			return at + ".method must be GET or POST"
		case t.TimeoutMs != nil && (*t.TimeoutMs < 1000 || *t.TimeoutMs > 120000):
			return at + ".timeout_ms must be between 1000 and 120000"
		case len(t.Headers) > maxToolHeaders:
			return fmt.Sprintf("%s.headers: at most %d", at, maxToolHeaders)
		}
		for k, v := range t.Headers {
			if !headerNameRE.MatchString(k) || strings.ContainsAny(v, "\r\n\x00") {
				return fmt.Sprintf("%s.headers: %q is not a valid header", at, truncate(text.Visible(k), 40))
			}
		}
		if t.Parameters != nil {
			raw, err := json.Marshal(t.Parameters)
			if err != nil || len(raw) > maxToolParamsBytes {
				return fmt.Sprintf("%s.parameters must be a JSON Schema object of at most %d bytes", at, maxToolParamsBytes)
			}
		}
		names[t.Name] = true
	}
	return ""
}

// customToolsAPI maps the tool's snake_case custom tools onto the API's camelCase ones.
func customToolsAPI(tools []CustomToolArg) []apiclient.CustomTool {
	out := make([]apiclient.CustomTool, 0, len(tools))
	for _, t := range tools {
		out = append(out, apiclient.CustomTool{Name: t.Name, Description: t.Description, URL: strings.TrimSpace(t.URL),
			Method: t.Method, Headers: t.Headers, Parameters: t.Parameters, TimeoutMs: t.TimeoutMs,
			SpeakDuringExecution: t.SpeakDuringExecution, ExecutionMessage: t.ExecutionMessage})
	}
	return out
}

// customToolsPolicy returns what the policy checks of custom tools: the URLs a third party
// will call, every text that leaves (descriptions, messages, header names and values, the
// parameter schema, the URLs decoded), and the preview details that show each tool in full.
func customToolsPolicy(tools []CustomToolArg) (urls, texts []string, details map[string]string) {
	details = map[string]string{}
	if len(tools) == 0 {
		details["custom_tools"] = "(none: every custom tool is removed)"
		return nil, nil, details
	}
	for i, t := range tools {
		u := strings.TrimSpace(t.URL)
		urls = append(urls, u)
		texts = append(texts, t.Name, t.Description, t.ExecutionMessage, u)
		if dec, err := url.QueryUnescape(u); err == nil && dec != u {
			texts = append(texts, dec)
		}
		method := t.Method
		if method == "" {
			method = "POST"
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s %s; %s", t.Name, method, u, t.Description)
		keys := make([]string, 0, len(t.Headers))
		for k := range t.Headers {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			texts = append(texts, k, t.Headers[k])
			fmt.Fprintf(&b, "; header %s: %s", k, t.Headers[k])
		}
		if t.Parameters != nil {
			raw, _ := json.Marshal(t.Parameters)
			texts = append(texts, string(raw))
			fmt.Fprintf(&b, "; parameters %s", raw)
		}
		if t.TimeoutMs != nil {
			fmt.Fprintf(&b, "; timeout %d ms", *t.TimeoutMs)
		}
		if t.SpeakDuringExecution != nil && *t.SpeakDuringExecution {
			fmt.Fprintf(&b, "; says %q while it runs", t.ExecutionMessage)
		}
		details[fmt.Sprintf("custom_tool_%d", i+1)] = b.String()
	}
	return urls, texts, details
}
