// Package sandbox is a simulated AgentPhone REST API: an http.Handler with in-memory state that
// answers every endpoint of the API reference (agents, voices, numbers, calls, messages,
// reactions, conversations, contacts, contact cards, webhooks, deliveries, usage, registration,
// sub-accounts, location) with the reference's exact JSON casing, status codes and error shapes.
//
// Nothing leaves the process except webhook deliveries, which are POSTed with
// Options.WebhookClient to the URLs configured through the API, signed as the real service does
// (X-Webhook-Signature: sha256=hex(HMAC-SHA256(secret, timestamp + "." + body))).
//
// # Time
//
// Every delay (ringing, call turns, SMS auto-replies, webhook retries, long-polls, SSE heartbeats,
// fault latency) runs on Options.Clock. Tests pass a clockwork fake clock, advance it, and call
// [Sandbox.Settle] to wait until the background work that became due has run.
//
// # Calls
//
// POST /v1/calls creates a call in status "ringing". After Options.RingTime it is answered
// ("in-progress") or ends busy / no-answer / failed, then a turn is spoken every
// Options.TurnTime and the call ends "completed". A call is hosted (built-in LLM) when the
// request carries systemPrompt or the agent's voiceMode is "hosted"; its transcript is a short
// deterministic dialogue about the topic found in the prompt (the text between
// "--- CALL OBJECTIVE" and "--- END OBJECTIVE ---" when present). Other calls are
// webhook-driven: each caller utterance is POSTed as agent.message (channel voice) to the
// agent's webhook (else the project webhook) and the reply object or NDJSON stream is spoken.
//
// Outcomes other than "completed" are chosen per destination with [Sandbox.SetCallOutcome], or
// with the well-known sandbox numbers: any destination whose last seven digits are 5550197 is
// busy, 5550198 does not answer, 5550199 fails (for example +14155550197). Numbers bought from
// the sandbox are +1 <area code> 555-01xx with xx below 97, so they never collide with these.
//
// # Messages
//
// POST /v1/messages stores an outbound message in the conversation keyed by (our number,
// participant). With Options.AutoReply the participant answers after Options.ReplyDelay.
// Inbound traffic is injected with [Sandbox.InjectInboundSMS], [Sandbox.InjectInboundMessage],
// [Sandbox.InjectInboundCall], or over HTTP with POST /sandbox/inbound/sms and
// POST /sandbox/inbound/call (Bearer auth required like every /v1 route).
//
// # Running it
//
// In-process with [Sandbox.Transport] (streaming-capable, no network), or standalone with
// [ListenAndServe].
package sandbox
