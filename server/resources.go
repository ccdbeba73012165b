package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/tools"
)

// Resource URIs.
const (
	ResourceAccount       = "agentphone://account"
	ResourceAgents        = "agentphone://agents"
	ResourceNumbers       = "agentphone://numbers"
	ResourceInbox         = "agentphone://inbox"
	ResourceCallTmpl      = "agentphone://calls/{id}"
	ResourceConversationT = "agentphone://conversations/{id}"
	ResourceCampaignTmpl  = "agentphone://campaigns/{id}"
	resourceCampaignPre   = "agentphone://campaigns/"
)

// snapshot reads one view of the account for a resource, with the request's own deps (the
// operator's, or in caller mode the caller's tenant's).
type snapshot func(ctx context.Context, d *tools.Deps, id string) (any, error)

func (a *App) addResources(s *mcpserver.MCPServer) {
	static := []struct {
		uri, name, desc string
		read            snapshot
	}{
		{ResourceAccount, "Account overview", "The account in use, number quota, usage, agents, numbers and webhook status.", func(ctx context.Context, d *tools.Deps, _ string) (any, error) { return d.AccountOverview(ctx) }},
		{ResourceAgents, "Agents", "Every agent with its voice mode and numbers.", func(ctx context.Context, d *tools.Deps, _ string) (any, error) { return d.AgentsSnapshot(ctx) }},
		{ResourceNumbers, "Numbers", "Every active phone number and the agent it belongs to.", func(ctx context.Context, d *tools.Deps, _ string) (any, error) { return d.NumbersSnapshot(ctx) }},
		{ResourceInbox, "Inbox", "Recent inbound messages and ended calls received by the webhook receiver.", func(ctx context.Context, d *tools.Deps, _ string) (any, error) {
			if d.Received != nil {
				return d.Inbox(ctx) // what the webhook receiver got
			}
			return d.InboxSnapshot(ctx)
		}},
	}
	for _, r := range static {
		read := r.read
		s.AddResource(mcp.NewResource(r.uri, r.name, mcp.WithResourceDescription(r.desc), mcp.WithMIMEType("application/json")),
			func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
				return a.jsonResource(ctx, req.Params.URI, "", read)
			})
	}
	templates := []struct {
		tmpl, prefix, name, desc string
		read                     snapshot
	}{
		{ResourceCallTmpl, "agentphone://calls/", "Call", "A call with its transcript and summary.", func(ctx context.Context, d *tools.Deps, id string) (any, error) { return d.CallSnapshot(ctx, id) }},
		{ResourceConversationT, "agentphone://conversations/", "Conversation", "A conversation with its recent messages.", func(ctx context.Context, d *tools.Deps, id string) (any, error) {
			return d.ConversationSnapshot(ctx, id)
		}},
		{ResourceCampaignTmpl, resourceCampaignPre, "Campaign", "A campaign's status, counts, problems and replies.", func(ctx context.Context, d *tools.Deps, id string) (any, error) { return d.CampaignSnapshot(ctx, id) }},
	}
	for _, t := range templates {
		if t.tmpl == ResourceCampaignTmpl && a.cfg.KeyMode == KeyModeCaller {
			continue // no campaigns in caller mode (callers.go)
		}
		read, prefix := t.read, t.prefix
		s.AddResourceTemplate(mcp.NewResourceTemplate(t.tmpl, t.name, mcp.WithTemplateDescription(t.desc), mcp.WithTemplateMIMEType("application/json")),
			func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
				id := strings.TrimPrefix(req.Params.URI, prefix)
				if id == "" || strings.ContainsAny(id, "/?#") {
					return nil, resourceNotFound(ctx, req.Params.URI)
				}
				return a.jsonResource(ctx, req.Params.URI, id, read)
			})
	}
}

// jsonResource reads one resource. An id the API does not know is "resource not found"
// (-32002, or -32602 from 2026-07-28 on); any other failure says what went wrong without the
// API's internals (no method, path or raw body).
func (a *App) jsonResource(ctx context.Context, uri, id string, read snapshot) ([]mcp.ResourceContents, error) {
	d, release, err := a.depsFor(ctx)
	if err != nil {
		return nil, fmt.Errorf("could not read %s: %s", uri, callerErrorText(err))
	}
	defer release()
	v, err := read(ctx, d, id)
	if err != nil {
		if id != "" && (apiclient.IsNotFound(err) || apiclient.IsValidation(err) || apiclient.StatusOf(err) == http.StatusBadRequest) {
			return nil, resourceNotFound(ctx, uri)
		}
		return nil, errors.New(resourceFailure(uri, err))
	}
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", uri, err)
	}
	return []mcp.ResourceContents{mcp.TextResourceContents{URI: uri, MIMEType: "application/json", Text: string(body)}}, nil
}

// resourceFailure is the message of a resource read that failed for another reason than an
// unknown id: the HTTP status class and what to do, never the request line or the body.
func resourceFailure(uri string, err error) string {
	switch status := apiclient.StatusOf(err); {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("reading %s was cancelled or timed out; try again", uri)
	case apiclient.IsUnauthorized(err), apiclient.IsForbidden(err):
		return fmt.Sprintf("could not read %s: the AgentPhone API refused the API key (HTTP %d); check AGENTPHONE_API_KEY", uri, status)
	case apiclient.IsRateLimited(err):
		return fmt.Sprintf("could not read %s: the AgentPhone API is rate limiting (HTTP 429); try again shortly", uri)
	case status >= 500:
		return fmt.Sprintf("could not read %s: the AgentPhone API failed (HTTP %d); try again later", uri, status)
	case status > 0:
		return fmt.Sprintf("could not read %s: the AgentPhone API answered HTTP %d", uri, status)
	default:
		return fmt.Sprintf("could not read %s: the AgentPhone API could not be reached; check the network and try again", uri)
	}
}
