package tools

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy"
)

// webhookTools is the webhooks toolset, in tools/list order (reads first). This list is
// the one place a tool's toolset is written.
func webhookTools(d *Deps) []Tool {
	return members(ToolsetWebhooks,
		getWebhookTool(d), listWebhookDeliveriesTool(d), setWebhookTool(d), deleteWebhookTool(d), testWebhookTool(d))
}

// secretHint tells where the operator reads a webhook's signing secret; tools never show it.
func secretHint(agentID string) string {
	cmd := "agentphone-mcp webhook-secret"
	if agentID != "" {
		cmd += " --agent " + agentID
	}
	return "The signing secret is never shown here; the operator reads it with `" + cmd + "`."
}

// webhookView is a webhook without its secret.
func webhookView(w *apiclient.Webhook, agentID string) map[string]any {
	v := map[string]any{"id": w.ID, "url": w.URL, "status": w.Status, "context_limit": w.ContextLimit,
		"timeout": w.Timeout, "created_at": w.CreatedAt, "secret": "hidden", "secret_hint": secretHint(agentID)}
	if agentID != "" {
		v["agent_id"] = agentID
	}
	return v
}

func webhookScope(agentID string) string {
	if agentID == "" {
		return "project webhook"
	}
	return "webhook of agent " + agentID
}

type webhookScopeArgs struct {
	AgentID string `json:"agent_id,omitempty"`
}

func getWebhookTool(d *Deps) Tool {
	return define(d, spec{
		name: "get_webhook", title: "Get webhook", effect: reads,
		desc: "The project's or an agent's webhook (no secret).",
	}, func(ctx context.Context, c *call, args webhookScopeArgs) *mcp.CallToolResult {
		var (
			w   *apiclient.Webhook
			err error
		)
		if args.AgentID != "" {
			w, err = d.API.GetAgentWebhook(ctx, args.AgentID)
		} else {
			w, err = d.API.GetWebhook(ctx)
		}
		if err != nil {
			return apiFailure(c.tool, err, "list_agents")
		}
		if w == nil {
			return okResult(fmt.Sprintf("No %s is configured.", webhookScope(args.AgentID)), map[string]any{"configured": false})
		}
		return okResult(fmt.Sprintf("The %s is %s (%s, context %d messages, timeout %d s). %s",
			webhookScope(args.AgentID), w.URL, w.Status, w.ContextLimit, w.Timeout, secretHint(args.AgentID)), webhookView(w, args.AgentID))
	})
}

type setWebhookArgs struct {
	URL               string `json:"url"`
	AgentID           string `json:"agent_id,omitempty"`
	ContextLimit      *int   `json:"context_limit,omitempty" jsonschema:"history items per event"`
	Timeout           *int   `json:"timeout,omitempty" jsonschema:"seconds"`
	ConfirmationToken string `json:"confirmation_token,omitempty"`
}

func (a setWebhookArgs) check() string {
	u, err := url.Parse(strings.TrimSpace(a.URL))
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return fmt.Sprintf("url %q must be an https URL without credentials, such as https://example.com/agentphone", truncate(a.URL, 80))
	}
	if a.ContextLimit != nil && (*a.ContextLimit < 0 || *a.ContextLimit > 50) {
		return "context_limit must be between 0 and 50"
	}
	if a.Timeout != nil && (*a.Timeout < 5 || *a.Timeout > 120) {
		return "timeout must be between 5 and 120 seconds"
	}
	return ""
}

func setWebhookTool(d *Deps) Tool {
	return define(d, spec{
		name: "set_webhook", title: "Set webhook", effect: rotates,
		desc: "Send inbound events to an https URL.",
	}, func(ctx context.Context, c *call, args setWebhookArgs) *mcp.CallToolResult {
		if msg := args.check(); msg != "" {
			return invalidArgs(c.tool, msg)
		}
		target := strings.TrimSpace(args.URL)
		// The URL leaves with the request: a key hidden in it (query, path, encoded) is refused.
		texts := []string{target}
		if dec, err := url.PathUnescape(target); err == nil && dec != target {
			texts = append(texts, dec)
		}
		action := policy.Action{Kind: policy.KindWebhookChange, Texts: texts, Args: canonicalArgs(c),
			Details: map[string]string{"webhook": webhookScope(args.AgentID), "new_url": target}}
		return d.gate(ctx, c, action, args.ConfirmationToken, func(ctx context.Context) outcome {
			req := apiclient.SetWebhookRequest{URL: target, ContextLimit: args.ContextLimit, Timeout: args.Timeout}
			var (
				w   *apiclient.Webhook
				err error
			)
			if args.AgentID != "" {
				w, err = d.API.SetAgentWebhook(ctx, args.AgentID, req)
			} else {
				w, err = d.API.SetWebhook(ctx, req)
			}
			if err != nil {
				return outcome{result: apiFailure(c.tool, err, "list_agents"), err: err}
			}
			return outcome{result: okResult(fmt.Sprintf("The %s now sends to %s (%s). A new signing secret was generated. %s",
				webhookScope(args.AgentID), w.URL, w.Status, secretHint(args.AgentID)), webhookView(w, args.AgentID)), apiID: w.ID, apiStatus: w.Status}
		})
	})
}

type deleteWebhookArgs struct {
	AgentID           string `json:"agent_id,omitempty"`
	ConfirmationToken string `json:"confirmation_token,omitempty"`
}

func deleteWebhookTool(d *Deps) Tool {
	return define(d, spec{
		name: "delete_webhook", title: "Delete webhook", effect: destroys,
		desc: "Stop sending inbound events.",
	}, func(ctx context.Context, c *call, args deleteWebhookArgs) *mcp.CallToolResult {
		action := policy.Action{Kind: policy.KindWebhookChange, Args: canonicalArgs(c),
			Details: map[string]string{"webhook": webhookScope(args.AgentID), "change": "delete"}}
		return d.gate(ctx, c, action, args.ConfirmationToken, func(ctx context.Context) outcome {
			var err error
			if args.AgentID != "" {
				_, err = d.API.DeleteAgentWebhook(ctx, args.AgentID)
			} else {
				_, err = d.API.DeleteWebhook(ctx)
			}
			if err != nil {
				return outcome{result: apiFailure(c.tool, err, "list_agents"), err: err}
			}
			view := map[string]any{"deleted": true}
			if args.AgentID != "" {
				view["agent_id"] = args.AgentID
			}
			return outcome{result: okResult(fmt.Sprintf("Deleted the %s.", webhookScope(args.AgentID)), view), apiStatus: "deleted"}
		})
	})
}

func testWebhookTool(d *Deps) Tool {
	return define(d, spec{
		name: "test_webhook", title: "Test webhook", effect: signals,
		desc: "Send a test event.",
	}, func(ctx context.Context, c *call, args webhookScopeArgs) *mcp.CallToolResult {
		action := policyAudited(c, map[string]string{"webhook": webhookScope(args.AgentID)})
		return d.gate(ctx, c, action, "", func(ctx context.Context) outcome {
			var (
				r   *apiclient.WebhookTestResult
				err error
			)
			if args.AgentID != "" {
				r, err = d.API.TestAgentWebhook(ctx, args.AgentID)
			} else {
				r, err = d.API.TestWebhook(ctx, "")
			}
			if err != nil {
				return outcome{result: apiFailure(c.tool, err, "get_webhook"), err: err}
			}
			view := map[string]any{"success": r.Success}
			text := fmt.Sprintf("Test event to the %s: ", webhookScope(args.AgentID))
			if r.Success {
				text += "delivered"
			} else {
				text += "FAILED"
			}
			if r.StatusCode != nil {
				view["http_status"] = *r.StatusCode
				text += fmt.Sprintf(", HTTP %d", *r.StatusCode)
			}
			if r.ResponseMs != nil {
				view["response_ms"] = *r.ResponseMs
				text += fmt.Sprintf(", %d ms", *r.ResponseMs)
			}
			if r.Error != "" {
				view["error"] = untrusted(r.Error, maxAPIMessage)
				text += fmt.Sprintf(", error %q", view["error"])
			}
			text += "."
			if w := r.Sandbox; w != nil {
				// The sandbox says where its test event really went.
				where := map[string]any{"url": untrusted(w.URL, maxSnippet)}
				switch {
				case w.Refused != "":
					where["sent"] = false
					where["refused"] = untrusted(w.Refused, maxAPIMessage)
					text += fmt.Sprintf(" Sandbox: nothing left this machine; the event was not sent to %s (%s).", where["url"], where["refused"])
				case w.DeliveredTo != "":
					where["sent"] = true
					where["delivered_to"] = untrusted(w.DeliveredTo, maxSnippet)
					text += fmt.Sprintf(" Sandbox: the test event was really POSTed to %s (connected to %s).", where["url"], where["delivered_to"])
				default:
					where["sent"] = r.StatusCode != nil
				}
				view["sandbox_delivery"] = where
			}
			return outcome{result: okResult(text, view), apiStatus: fmt.Sprint(r.Success)}
		})
	})
}

type listDeliveriesArgs struct {
	AgentID string `json:"agent_id,omitempty"`
	Limit   int    `json:"limit,omitempty"`
	Hours   int    `json:"hours,omitempty"`
}

func listWebhookDeliveriesTool(d *Deps) Tool {
	return define(d, spec{
		name: "list_webhook_deliveries", title: "List deliveries", effect: reads,
		desc: "Recent webhook delivery attempts.",
	}, func(ctx context.Context, c *call, args listDeliveriesArgs) *mcp.CallToolResult {
		if args.Limit < 0 || args.Limit > maxPage {
			return invalidArgs(c.tool, "limit must be between 1 and 100")
		}
		if args.Hours < 0 || args.Hours > 24*90 {
			return invalidArgs(c.tool, "hours must be between 1 and 2160")
		}
		var (
			items []apiclient.WebhookDelivery
			total int
			note  string
		)
		if args.AgentID != "" {
			list, err := d.API.ListAgentWebhookDeliveries(ctx, args.AgentID, args.Limit)
			if err != nil {
				return apiFailure(c.tool, err, "list_agents")
			}
			items, total = list, len(list)
			if args.Hours > 0 {
				note = "hours applies to the project webhook only; showing the agent's latest deliveries."
			}
		} else {
			page, err := d.API.ListWebhookDeliveries(ctx, apiclient.DeliveryParams{Limit: args.Limit, Hours: args.Hours})
			if err != nil {
				return apiFailure(c.tool, err, "")
			}
			items, total = page.Items, page.Total
		}
		l := list{noun: "deliveries", hasMore: total > len(items), untrusted: true, extra: map[string]any{"total": total}}
		for _, dl := range items {
			line := fmt.Sprintf("%s %s %s %s, %d attempts", dl.ID, when(dl.CreatedAt), dl.EventType, dl.Status, dl.AttemptCount)
			v := map[string]any{"id": dl.ID, "event_type": dl.EventType, "status": dl.Status, "attempts": dl.AttemptCount,
				"created_at": dl.CreatedAt, "last_attempt_at": dl.LastAttemptAt}
			if dl.MessageID != "" {
				v["message_id"] = dl.MessageID
			}
			if dl.HTTPStatus != nil {
				v["http_status"] = *dl.HTTPStatus
				line += fmt.Sprintf(", HTTP %d", *dl.HTTPStatus)
			}
			if dl.ErrorMessage != "" {
				v["error"] = untrusted(dl.ErrorMessage, maxSnippet)
				line += fmt.Sprintf(", error %q", v["error"])
			}
			if dl.ResponseBody != "" {
				v["response_body"] = untrusted(dl.ResponseBody, maxSnippet)
			}
			if !dl.NextRetryAt.IsZero() {
				v["next_retry_at"] = dl.NextRetryAt
			}
			l.lines = append(l.lines, line)
			l.items = append(l.items, v)
		}
		if l.hasMore {
			l.nextHint = fmt.Sprintf("Showing %d of %d; raise limit (up to 100) for more.", len(items), total)
		}
		if note != "" {
			l.nextHint = strings.TrimSpace(l.nextHint + " " + note)
		}
		return l.result()
	})
}
