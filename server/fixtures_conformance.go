//go:build conformance

package server

// The official MCP conformance suite (@modelcontextprotocol/conformance) calls fixtures it
// defines: tools named test_*, resources under test://, prompts named test_*. This file,
// compiled only with the "conformance" build tag, registers them on the product's own MCP
// server, so that every scenario runs through this server's transports, middleware (request
// context, scrubber, recovery, logging, sandbox notice), session table and HTTP guard. The
// product build (fixtures_product.go) registers none; scripts/conformance builds a separate
// binary with -tags conformance.

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/agentphone-mcp/agentphone-mcp/tools"
)

const (
	fixtureImage = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
	fixtureAudio = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA="
)

// fixtureServerOptions declares list-changed for tools and prompts, so the suite's
// subscription scenarios exercise test_trigger_tool_change / test_trigger_prompt_change.
func fixtureServerOptions() []mcpserver.ServerOption {
	return []mcpserver.ServerOption{
		mcpserver.WithToolCapabilities(true),
		mcpserver.WithPromptCapabilities(true),
	}
}

func (a *App) registerFixtures(s *mcpserver.MCPServer) {
	stateKey := make([]byte, 32)
	_, _ = rand.Read(stateKey)
	f := &fixtures{srv: s, stateKey: stateKey}
	f.tools()
	f.mrtrTools()
	f.resources()
	f.prompts()
}

type fixtures struct {
	srv      *mcpserver.MCPServer
	stateKey []byte
}

func text(s string) *mcp.CallToolResult { return mcp.NewToolResultText(s) }

func noArgs(name, desc string) mcp.Tool {
	return mcp.NewTool(name, mcp.WithDescription(desc), mcp.WithReadOnlyHintAnnotation(true))
}

func (f *fixtures) tools() {
	s := f.srv
	s.AddTool(noArgs("test_simple_text", "Returns a simple text response"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return text("This is a simple text response for testing."), nil
	})
	s.AddTool(noArgs("test_image_content", "Returns image content"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewImageContent(fixtureImage, "image/png")}}, nil
	})
	s.AddTool(noArgs("test_audio_content", "Returns audio content"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewAudioContent(fixtureAudio, "audio/wav")}}, nil
	})
	s.AddTool(noArgs("test_embedded_resource", "Returns an embedded text resource"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewEmbeddedResource(mcp.TextResourceContents{
			URI: "test://embedded-resource", MIMEType: "text/plain", Text: "This is an embedded resource content.",
		})}}, nil
	})
	s.AddTool(noArgs("test_multiple_content_types", "Returns text, image and an embedded resource"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{
			mcp.NewTextContent("Multiple content types test:"),
			mcp.NewImageContent(fixtureImage, "image/png"),
			mcp.NewEmbeddedResource(mcp.TextResourceContents{URI: "test://mixed-content-resource", MIMEType: "application/json", Text: `{"test":"data","value":123}`}),
		}}, nil
	})
	s.AddTool(noArgs("test_error_handling", "Returns a tool error"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultError("This tool intentionally returns an error for testing"), nil
	})
	// Log messages of a call go on the call's own stream, like progress.
	s.AddTool(noArgs("test_tool_with_logging", "Emits log messages during execution"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		route := notifyRoute(ctx)
		for i, msg := range []string{"Tool execution started", "Tool processing data", "Tool execution completed"} {
			if i > 0 {
				time.Sleep(50 * time.Millisecond)
			}
			if err := route(string(mcp.MethodNotificationMessage), map[string]any{"level": "info", "logger": "conformance", "data": msg}); err != nil {
				return nil, err
			}
		}
		return text("Tool with logging executed successfully"), nil
	})
	// Logs only when the request asked for a level (2026-07-28 rule): mcp-go's filter.
	s.AddTool(noArgs("test_logging_tool", "Logs through the level filter"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		for _, msg := range []string{"first log line", "second log line"} {
			_ = f.srv.SendLogMessageToClient(ctx, mcp.NewLoggingMessageNotification(mcp.LoggingLevelInfo, "conformance", msg))
		}
		return text("logging tool done"), nil
	})
	s.AddTool(noArgs("test_tool_with_progress", "Reports progress through tools.SendProgress"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		for i, p := range []float64{0, 50, 100} {
			if i > 0 {
				time.Sleep(50 * time.Millisecond)
			}
			if err := tools.SendProgress(ctx, p, 100, fmt.Sprintf("step %d", i+1)); err != nil {
				return nil, err
			}
		}
		return text("progress reported"), nil
	})
	s.AddTool(mcp.NewTool("test_sampling", mcp.WithDescription("Asks the client's LLM"),
		mcp.WithString("prompt", mcp.Required(), mcp.Description("Prompt to send to the LLM"))),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if r := mcpserver.SamplingResponse(req.Params.InputResponses, "sample"); r != nil {
				return text("LLM response: " + samplingText(r)), nil
			}
			return mcpserver.NewInputRequestBuilder("").Sample("sample", sampling(req.GetString("prompt", ""), 100)).ToolResult(), nil
		})
	s.AddTool(mcp.NewTool("test_elicitation", mcp.WithDescription("Asks the user"),
		mcp.WithString("message", mcp.Required(), mcp.Description("Message to show the user"))),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if r := mcpserver.ElicitationResponse(req.Params.InputResponses, "ask"); r != nil {
				return text(fmt.Sprintf("User response: action=%s, content=%v", r.Action, r.Content)), nil
			}
			return f.elicit("", "ask", req.GetString("message", ""), map[string]any{
				"username": map[string]any{"type": "string", "description": "User's response"},
				"email":    map[string]any{"type": "string", "description": "User's email address"},
			}, []string{"username", "email"}), nil
		})
	s.AddTool(noArgs("test_elicitation_sep1034_defaults", "Elicits with primitive defaults"), func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if r := mcpserver.ElicitationResponse(req.Params.InputResponses, "defaults"); r != nil {
			return text(fmt.Sprintf("Elicitation completed: action=%s, content=%v", r.Action, r.Content)), nil
		}
		return f.elicit("", "defaults", "Provide your information", map[string]any{
			"name":     map[string]any{"type": "string", "default": "John Doe"},
			"age":      map[string]any{"type": "integer", "default": 30},
			"score":    map[string]any{"type": "number", "default": 95.5},
			"status":   map[string]any{"type": "string", "enum": []string{"active", "inactive", "pending"}, "default": "active"},
			"verified": map[string]any{"type": "boolean", "default": true},
		}, nil), nil
	})
	s.AddTool(noArgs("test_elicitation_sep1330_enums", "Elicits with enum schemas"), func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if r := mcpserver.ElicitationResponse(req.Params.InputResponses, "enums"); r != nil {
			return text(fmt.Sprintf("Elicitation completed: action=%s, content=%v", r.Action, r.Content)), nil
		}
		return f.elicit("", "enums", "Select options", map[string]any{
			"untitledSingle": map[string]any{"type": "string", "enum": []string{"option1", "option2"}},
			"titledSingle":   map[string]any{"type": "string", "oneOf": []any{map[string]any{"const": "value1", "title": "Value One"}, map[string]any{"const": "value2", "title": "Value Two"}}},
			"legacyEnum":     map[string]any{"type": "string", "enum": []string{"opt1", "opt2"}, "enumNames": []string{"Option One", "Option Two"}},
			"untitledMulti":  map[string]any{"type": "array", "items": map[string]any{"type": "string", "enum": []string{"option1", "option2"}}},
			"titledMulti":    map[string]any{"type": "array", "items": map[string]any{"anyOf": []any{map[string]any{"const": "value1", "title": "Value One"}, map[string]any{"const": "value2", "title": "Value Two"}}}},
		}, nil), nil
	})
	s.AddTool(noArgs("test_missing_capability", "Needs the client's sampling capability"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if caps := clientCapabilities(ctx); caps == nil || caps.Sampling == nil {
			return nil, &rpcError{code: mcp.MISSING_REQUIRED_CLIENT_CAPABILITY, msg: "this tool needs the client's sampling capability",
				data: map[string]any{"requiredCapabilities": map[string]any{"sampling": map[string]any{}}}}
		}
		return text("sampling capability present"), nil
	})
	// A modern request that needs input gets an input_required result on its own stream,
	// never an independent elicitation/create request.
	s.AddTool(noArgs("test_streaming_elicitation", "Streams progress, then asks for input"), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if r := mcpserver.ElicitationResponse(req.Params.InputResponses, "stream"); r != nil {
			return text("streaming elicitation answered"), nil
		}
		_ = tools.SendProgress(ctx, 1, 2, "asking")
		return f.elicit("", "stream", "Continue?", map[string]any{"ok": map[string]any{"type": "boolean"}}, []string{"ok"}), nil
	})
	s.AddTool(noArgs("test_trigger_tool_change", "Changes the tool list"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		f.srv.AddTool(noArgs("test_dynamic_tool", "Added by test_trigger_tool_change"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return text("dynamic"), nil
		})
		return text("tools changed"), nil
	})
	s.AddTool(noArgs("test_trigger_prompt_change", "Changes the prompt list"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		f.srv.AddPrompt(mcp.NewPrompt("test_dynamic_prompt", mcp.WithPromptDescription("Added by test_trigger_prompt_change")),
			func(context.Context, mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
				return mcp.NewGetPromptResult("dynamic", []mcp.PromptMessage{mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent("dynamic"))}), nil
			})
		return text("prompts changed"), nil
	})
	s.AddTool(mcp.NewToolWithRawSchema("json_schema_2020_12_tool", "Tool with JSON Schema 2020-12 features", json.RawMessage(`{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"type": "object",
		"$defs": {"address": {"$anchor": "addressDef", "type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}},
		"properties": {
			"name": {"type": "string"},
			"address": {"$ref": "#/$defs/address"},
			"contactMethod": {"type": "string", "enum": ["phone", "email"]},
			"phone": {"type": "string"},
			"email": {"type": "string"}
		},
		"allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
		"if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
		"then": {"required": ["phone"]},
		"else": {"required": ["email"]},
		"additionalProperties": false
	}`)), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return text("schema tool called"), nil
	})
	s.AddTool(mcp.NewToolWithRawSchema("test_header_echo", "Echoes a parameter mirrored into an Mcp-Param header", json.RawMessage(`{
		"type": "object", "properties": {"text": {"type": "string", "x-mcp-header": "Text"}}
	}`)), func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return text(req.GetString("text", "")), nil
	})
}

// mrtrTools are the multi-round-trip (SEP-2322) fixtures.
func (f *fixtures) mrtrTools() {
	s := f.srv
	name := map[string]any{"name": map[string]any{"type": "string"}}
	s.AddTool(noArgs("test_input_required_result_elicitation", "Asks for a name"), func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if n := acceptedString(req.Params.InputResponses, "user_name", "name"); n != "" {
			return text("Hello, " + n + "!"), nil
		}
		return f.elicit("", "user_name", "What is your name?", name, []string{"name"}), nil
	})
	s.AddTool(noArgs("test_input_required_result_sampling", "Asks the client's LLM"), func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if r := mcpserver.SamplingResponse(req.Params.InputResponses, "capital_question"); r != nil {
			return text("Sampling response: " + samplingText(r)), nil
		}
		return mcpserver.NewInputRequestBuilder("").Sample("capital_question", sampling("What is the capital of France?", 100)).ToolResult(), nil
	})
	s.AddTool(noArgs("test_input_required_result_list_roots", "Asks for the client's roots"), func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if r := mcpserver.RootsResponse(req.Params.InputResponses, "client_roots"); r != nil {
			uris := make([]string, 0, len(r.Roots))
			for _, root := range r.Roots {
				uris = append(uris, root.URI)
			}
			return text("Client roots: " + strings.Join(uris, ", ")), nil
		}
		return mcpserver.NewInputRequestBuilder("").Roots("client_roots").ToolResult(), nil
	})
	confirm := map[string]any{"ok": map[string]any{"type": "boolean"}}
	s.AddTool(noArgs("test_input_required_result_request_state", "Round-trips request state"), func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if mcpserver.ElicitationResponse(req.Params.InputResponses, "confirm") != nil {
			if req.Params.RequestState != "request-state-v1" {
				return nil, invalidParams("requestState %q is not the one this tool issued", req.Params.RequestState)
			}
			return text("state-ok: the echoed request state verified"), nil
		}
		return f.elicit("request-state-v1", "confirm", "Please confirm", confirm, []string{"ok"}), nil
	})
	s.AddTool(noArgs("test_input_required_result_tampered_state", "Signs its request state"), func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if mcpserver.ElicitationResponse(req.Params.InputResponses, "confirm") != nil {
			if !f.verifyState(req.Params.RequestState) {
				return nil, invalidParams("requestState failed its integrity check")
			}
			return text("state-ok: request state verified"), nil
		}
		return f.elicit(f.signState("tamper-test"), "confirm", "Please confirm", confirm, []string{"ok"}), nil
	})
	s.AddTool(noArgs("test_input_required_result_multiple_inputs", "Asks for three inputs at once"), func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		in := req.Params.InputResponses
		if mcpserver.ElicitationResponse(in, "user_name") != nil && mcpserver.SamplingResponse(in, "greeting") != nil && mcpserver.RootsResponse(in, "client_roots") != nil {
			return text("All requested inputs received"), nil
		}
		return mcpserver.NewInputRequestBuilder("multiple-inputs-v1").
			Elicit("user_name", form("What is your name?", name, []string{"name"})).
			Sample("greeting", sampling("Generate a greeting", 50)).
			Roots("client_roots").ToolResult(), nil
	})
	s.AddTool(noArgs("test_input_required_result_multi_round", "Asks in two rounds"), func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		switch req.Params.RequestState {
		case "":
			return f.elicit("multi-round-1", "step1", "Step 1: What is your name?", name, []string{"name"}), nil
		case "multi-round-1":
			return f.elicit("multi-round-2", "step2", "Step 2: What is your favorite color?",
				map[string]any{"color": map[string]any{"type": "string"}}, []string{"color"}), nil
		case "multi-round-2":
			return text("Multi-round input complete"), nil
		}
		return nil, invalidParams("requestState %q is not one this tool issued", req.Params.RequestState)
	})
	s.AddTool(noArgs("test_input_required_result_capabilities", "Asks only for what the client declared"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		b := mcpserver.NewInputRequestBuilder("")
		caps := clientCapabilities(ctx)
		if caps != nil && caps.Sampling != nil {
			b.Sample("sampling", sampling("Generate a greeting", 100))
		}
		if caps != nil && caps.Elicitation != nil {
			b.Elicit("elicitation", form("What is your name?", name, []string{"name"}))
		}
		if caps != nil && caps.Roots != nil {
			b.Roots("roots")
		}
		return b.ToolResult(), nil
	})
}

func (f *fixtures) resources() {
	s := f.srv
	s.AddResource(mcp.NewResource("test://static-text", "static-text", mcp.WithResourceDescription("A static text resource"), mcp.WithMIMEType("text/plain")),
		func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			return []mcp.ResourceContents{mcp.TextResourceContents{URI: "test://static-text", MIMEType: "text/plain", Text: "This is the content of the static text resource."}}, nil
		})
	s.AddResource(mcp.NewResource("test://static-binary", "static-binary", mcp.WithResourceDescription("A static binary resource"), mcp.WithMIMEType("image/png")),
		func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			return []mcp.ResourceContents{mcp.BlobResourceContents{URI: "test://static-binary", MIMEType: "image/png", Blob: fixtureImage}}, nil
		})
	s.AddResource(mcp.NewResource("test://watched-resource", "watched-resource", mcp.WithResourceDescription("A resource to subscribe to"), mcp.WithMIMEType("text/plain")),
		func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			return []mcp.ResourceContents{mcp.TextResourceContents{URI: "test://watched-resource", MIMEType: "text/plain", Text: "Watched resource content."}}, nil
		})
	s.AddResourceTemplate(mcp.NewResourceTemplate("test://template/{id}/data", "template", mcp.WithTemplateDescription("A template with parameter substitution"), mcp.WithTemplateMIMEType("application/json")),
		func(_ context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			id := strings.TrimSuffix(strings.TrimPrefix(req.Params.URI, "test://template/"), "/data")
			return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, MIMEType: "application/json",
				Text: fmt.Sprintf(`{"id":%q,"templateTest":true,"data":%q}`, id, "Data for ID: "+id)}}, nil
		})
}

func (f *fixtures) prompts() {
	s := f.srv
	user := func(c mcp.Content) mcp.PromptMessage { return mcp.NewPromptMessage(mcp.RoleUser, c) }
	s.AddPrompt(mcp.NewPrompt("test_simple_prompt", mcp.WithPromptDescription("A simple prompt without arguments")),
		func(context.Context, mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return mcp.NewGetPromptResult("simple", []mcp.PromptMessage{user(mcp.NewTextContent("This is a simple prompt for testing."))}), nil
		})
	s.AddPrompt(mcp.NewPrompt("test_prompt_with_arguments", mcp.WithPromptDescription("A prompt with required arguments"),
		mcp.WithArgument("arg1", mcp.ArgumentDescription("First test argument"), mcp.RequiredArgument()),
		mcp.WithArgument("arg2", mcp.ArgumentDescription("Second test argument"), mcp.RequiredArgument())),
		func(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			a := req.Params.Arguments
			if a["arg1"] == "" || a["arg2"] == "" {
				return nil, invalidParams("test_prompt_with_arguments needs arg1 and arg2")
			}
			return mcp.NewGetPromptResult("with arguments", []mcp.PromptMessage{user(mcp.NewTextContent(
				fmt.Sprintf("Prompt with arguments: arg1='%s', arg2='%s'", a["arg1"], a["arg2"])))}), nil
		})
	s.AddPrompt(mcp.NewPrompt("test_prompt_with_embedded_resource", mcp.WithPromptDescription("A prompt with an embedded resource"),
		mcp.WithArgument("resourceUri", mcp.ArgumentDescription("URI of the resource to embed"), mcp.RequiredArgument())),
		func(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			uri := req.Params.Arguments["resourceUri"]
			if uri == "" {
				return nil, invalidParams("test_prompt_with_embedded_resource needs resourceUri")
			}
			return mcp.NewGetPromptResult("embedded", []mcp.PromptMessage{
				user(mcp.NewEmbeddedResource(mcp.TextResourceContents{URI: uri, MIMEType: "text/plain", Text: "Embedded resource content for testing."})),
				user(mcp.NewTextContent("Please process the embedded resource above.")),
			}), nil
		})
	s.AddPrompt(mcp.NewPrompt("test_prompt_with_image", mcp.WithPromptDescription("A prompt with image content")),
		func(context.Context, mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return mcp.NewGetPromptResult("image", []mcp.PromptMessage{
				user(mcp.NewImageContent(fixtureImage, "image/png")),
				user(mcp.NewTextContent("Please analyze the image above.")),
			}), nil
		})
	s.AddPrompt(mcp.NewPrompt("test_input_required_result_prompt", mcp.WithPromptDescription("A prompt that asks for context first")),
		func(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			if c := acceptedString(req.Params.InputResponses, "user_context", "context"); c != "" {
				return mcp.NewGetPromptResult("with context", []mcp.PromptMessage{user(mcp.NewTextContent("Use this context: " + c))}), nil
			}
			return mcpserver.NewInputRequestBuilder("").Elicit("user_context", form("What context should the prompt use?",
				map[string]any{"context": map[string]any{"type": "string"}}, []string{"context"})).PromptResult(), nil
		})
}

func form(message string, properties map[string]any, required []string) mcp.ElicitationParams {
	schema := map[string]any{"type": "object", "properties": properties}
	if len(required) > 0 {
		schema["required"] = required
	}
	return mcp.ElicitationParams{Message: message, RequestedSchema: schema}
}

func (f *fixtures) elicit(state, id, message string, properties map[string]any, required []string) *mcp.CallToolResult {
	return mcpserver.NewInputRequestBuilder(state).Elicit(id, form(message, properties, required)).ToolResult()
}

func sampling(prompt string, maxTokens int) mcp.CreateMessageParams {
	return mcp.CreateMessageParams{
		Messages:  []mcp.SamplingMessage{{Role: mcp.RoleUser, Content: mcp.NewTextContent(prompt)}},
		MaxTokens: maxTokens,
	}
}

func samplingText(r *mcp.CreateMessageResult) string {
	switch c := r.Content.(type) {
	case mcp.TextContent:
		return c.Text
	case map[string]any:
		s, _ := c["text"].(string)
		return s
	}
	return ""
}

// acceptedString is the string field of an accepted elicitation answer, or "".
func acceptedString(in mcp.InputResponses, id, field string) string {
	r := mcpserver.ElicitationResponse(in, id)
	if r == nil || r.Action != mcp.ElicitationResponseActionAccept {
		return ""
	}
	content, _ := r.Content.(map[string]any)
	s, _ := content[field].(string)
	return s
}

// clientCapabilities are the request's declared capabilities (2026-07-28) or the session's.
func clientCapabilities(ctx context.Context) *mcp.ClientCapabilities {
	if info := mcpserver.RequestProtocolInfoFromContext(ctx); info != nil && info.ClientCapabilities != nil {
		return info.ClientCapabilities
	}
	if s, ok := mcpserver.ClientSessionFromContext(ctx).(mcpserver.SessionWithClientInfo); ok {
		caps := s.GetClientCapabilities()
		return &caps
	}
	return nil
}

func (f *fixtures) signState(payload string) string {
	m := hmac.New(sha256.New, f.stateKey)
	m.Write([]byte(payload))
	return payload + "." + hex.EncodeToString(m.Sum(nil))
}

func (f *fixtures) verifyState(state string) bool {
	payload, _, ok := strings.Cut(state, ".")
	return ok && hmac.Equal([]byte(f.signState(payload)), []byte(state))
}
