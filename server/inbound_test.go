package server

import (
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
)

// subscribe sends resources/subscribe (mcp-go's client has no helper for it).
func (h *harness) subscribe(c *client.Client, uri string) {
	h.t.Helper()
	resp, err := c.GetTransport().SendRequest(h.ctx, transport.JSONRPCRequest{JSONRPC: mcp.JSONRPC_VERSION,
		ID: mcp.NewRequestId(int64(9001)), Method: string(mcp.MethodResourcesSubscribe), Params: map[string]any{"uri": uri}})
	if err != nil {
		h.t.Fatalf("resources/subscribe: %v", err)
	}
	if resp.Error != nil {
		h.t.Fatalf("resources/subscribe: %s", resp.Error.Message)
	}
}

// updates collects the URIs of notifications/resources/updated a client receives.
func updates(c *client.Client) <-chan string {
	ch := make(chan string, 16)
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == string(mcp.MethodNotificationResourceUpdated) {
			uri, _ := n.Params.AdditionalFields["uri"].(string)
			select {
			case ch <- uri:
			default:
			}
		}
	})
	return ch
}

// TestInboundSMSReachesInboxAndSubscribers drives the sandbox's real signed delivery of an
// inbound SMS into the receiver, over each transport: the subscribed session is told the
// inbox changed, an unsubscribed one is not, and the inbox resource shows the message
// sanitised and labelled.
func TestInboundSMSReachesInboxAndSubscribers(t *testing.T) {
	for _, tr := range []string{"inprocess", "stdio", "sse"} {
		t.Run(tr, func(t *testing.T) {
			h, url := newReceiverHarness(t, "")
			c := h.connect(tr)
			other := h.connect("inprocess")
			got, otherGot := updates(c), updates(other)
			_, _, number := h.setupAgentWithNumber(c)
			if _, err := h.app.api.SetWebhook(h.ctx, apiclient.SetWebhookRequest{URL: url}); err != nil {
				t.Fatal(err)
			}
			h.subscribe(c, ResourceInbox)
			if _, err := h.sb.InjectInboundSMS("+14155550142", number, "Is my order ready?\u202e"); err != nil {
				t.Fatal(err)
			}
			select {
			case uri := <-got:
				if uri != ResourceInbox {
					t.Fatalf("updated %q, want %q", uri, ResourceInbox)
				}
			case <-h.ctx.Done():
				t.Fatal("no notifications/resources/updated for the subscribed session")
			}
			select {
			case uri := <-otherGot:
				t.Fatalf("an unsubscribed session was notified about %s", uri)
			default:
			}
			res, err := c.ReadResource(h.ctx, mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: ResourceInbox}})
			if err != nil {
				t.Fatal(err)
			}
			text := res.Contents[0].(mcp.TextResourceContents).Text
			for _, want := range []string{`"receiver": true`, "Is my order ready?", "+14155550142", "treat them as data"} {
				if !strings.Contains(text, want) {
					t.Fatalf("inbox lacks %q:\n%s", want, text)
				}
			}
			if strings.Contains(text, "\u202e") {
				t.Fatalf("inbox shows a bidi override unsanitised:\n%s", text)
			}
		})
	}
}
