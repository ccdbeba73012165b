package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// mcp-go v1.2.1 answers every error a resource or prompt handler returns with JSON-RPC
// -32603 (internal error). The spec wants -32002 for an unknown resource (-32602 from
// 2026-07-28 on) and -32602 for missing or bad prompt arguments. A handler returns an
// rpcError; its text carries a marker that the transports' writers (the stdio line writer,
// the Streamable HTTP POST stream, the SSE event stream) turn back into the code, removing
// the marker, before a byte reaches the client. On Streamable HTTP the status of a
// 2026-07-28 JSON response follows the rewritten code, as mcp-go maps codes to statuses.

// rpcMarker starts the text of an rpcError: "[agentphone-rpc:<base64url JSON {code,data}>]
// message". Base64url keeps the marker free of the characters that end it or that JSON
// escapes.
const rpcMarker = "[agentphone-rpc:"

// rpcError is a handler error that must reach the client with a specific JSON-RPC code (and
// optional data).
type rpcError struct {
	code int
	msg  string
	data any
}

func (e *rpcError) Error() string {
	head, _ := json.Marshal(rpcHead{Code: e.code, Data: e.data})
	return rpcMarker + base64.RawURLEncoding.EncodeToString(head) + "] " + e.msg
}

type rpcHead struct {
	Code int `json:"code"`
	Data any `json:"data,omitempty"`
}

// invalidParams is a -32602 error (bad or missing arguments).
func invalidParams(format string, args ...any) error {
	return &rpcError{code: mcp.INVALID_PARAMS, msg: fmt.Sprintf(format, args...)}
}

// resourceNotFound is the "resource not found" error of the request's protocol version:
// -32002 up to 2025-11-25, -32602 from 2026-07-28 on (as mcp-go does for unknown URIs).
// The error's data names the URI, as the spec's example does.
func resourceNotFound(ctx context.Context, uri string) error {
	code := mcp.RESOURCE_NOT_FOUND
	if mcp.IsModernProtocol(mcpserver.RequestProtocolVersion(ctx)) {
		code = mcp.INVALID_PARAMS
	}
	return &rpcError{code: code, msg: fmt.Sprintf("Resource not found: %s", uri), data: map[string]any{"uri": uri}}
}

// mcpgoNotFound matches the message mcp-go gives a URI no resource or template matches; the
// writers add the URI as the error's data (the spec's SHOULD) to that answer too.
var mcpgoNotFound = regexp.MustCompile(`^handler not found for resource URI '(.*)': resource not found$`)

// rewriteRPCFrame applies rpcError markers in one outgoing unit: a JSON-RPC message (a stdio
// line or a JSON response body) or an SSE event ("event: message\ndata: {...}\n\n"). It
// returns p unchanged, without parsing, when no marker is present; code is the applied
// JSON-RPC code (0 when nothing changed).
func rewriteRPCFrame(p []byte) (out []byte, code int) {
	if !bytes.Contains(p, []byte(rpcMarker)) && !bytes.Contains(p, []byte(": resource not found")) {
		return p, 0
	}
	trimmed := bytes.TrimSpace(p)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		msg, c := rewriteRPCMessage(trimmed)
		if c == 0 {
			return p, 0
		}
		suffix := p[len(bytes.TrimRight(p, " \r\n")):]
		return append(msg, suffix...), c
	}
	// An SSE event: rewrite each data line.
	lines := bytes.SplitAfter(p, []byte("\n"))
	var buf bytes.Buffer
	for _, line := range lines {
		body, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok {
			buf.Write(line)
			continue
		}
		end := body[len(bytes.TrimRight(body, "\r\n")):]
		payload := bytes.TrimSpace(body)
		if msg, c := rewriteRPCMessage(payload); c != 0 {
			code = c
			buf.WriteString("data: ")
			buf.Write(msg)
			buf.Write(end)
			continue
		}
		buf.Write(line)
	}
	return buf.Bytes(), code
}

// rewriteRPCMessage rewrites one JSON-RPC error response whose message carries the marker.
func rewriteRPCMessage(msg []byte) ([]byte, int) {
	var m map[string]json.RawMessage
	if json.Unmarshal(msg, &m) != nil || m["error"] == nil {
		return msg, 0
	}
	var e struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data,omitempty"`
	}
	if json.Unmarshal(m["error"], &e) != nil {
		return msg, 0
	}
	i := strings.Index(e.Message, rpcMarker)
	if i < 0 {
		return resourceNotFoundData(m, e.Code, e.Message, e.Data)
	}
	rest := e.Message[i+len(rpcMarker):]
	end := strings.IndexByte(rest, ']')
	if end < 0 {
		return msg, 0
	}
	encoded, err := base64.RawURLEncoding.DecodeString(rest[:end])
	if err != nil {
		return msg, 0
	}
	var head struct {
		Code int             `json:"code"`
		Data json.RawMessage `json:"data,omitempty"`
	}
	if json.Unmarshal(encoded, &head) != nil || head.Code == 0 {
		return msg, 0
	}
	// Drop the marker and whatever a wrapping error put before it ("read x: ").
	e.Code, e.Message = head.Code, strings.TrimSpace(rest[end+1:])
	if len(head.Data) > 0 {
		e.Data = head.Data
	}
	code := head.Code
	raw, err := json.Marshal(e)
	if err != nil {
		return msg, 0
	}
	m["error"] = raw
	out, err := json.Marshal(m)
	if err != nil {
		return msg, 0
	}
	return out, code
}

// httpStatusForCode is the status a 2026-07-28 JSON response carries for an error code (the
// mapping mcp-go applies to the codes it chooses itself).
func httpStatusForCode(code int) int {
	switch code {
	case mcp.METHOD_NOT_FOUND:
		return http.StatusNotFound
	case mcp.HEADER_MISMATCH, mcp.MISSING_REQUIRED_CLIENT_CAPABILITY, mcp.UNSUPPORTED_PROTOCOL_VERSION,
		mcp.INVALID_REQUEST, mcp.INVALID_PARAMS, mcp.PARSE_ERROR:
		return http.StatusBadRequest
	default:
		return http.StatusOK
	}
}

// resourceNotFoundData adds {"uri": ...} to mcp-go's own resource-not-found error.
func resourceNotFoundData(m map[string]json.RawMessage, code int, message string, data json.RawMessage) ([]byte, int) {
	match := mcpgoNotFound.FindStringSubmatch(message)
	if match == nil || len(data) > 0 || (code != mcp.RESOURCE_NOT_FOUND && code != mcp.INVALID_PARAMS) {
		return nil, 0
	}
	raw, err := json.Marshal(map[string]any{"code": code, "message": message, "data": map[string]any{"uri": match[1]}})
	if err != nil {
		return nil, 0
	}
	m["error"] = raw
	out, err := json.Marshal(m)
	if err != nil {
		return nil, 0
	}
	return out, code
}
