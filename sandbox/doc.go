// Package sandbox is a simulated AgentPhone REST API: an http.Handler with in-memory state that
// answers every endpoint of the API reference (agents, voices, numbers, calls, messages,
// reactions, conversations, contacts, contact cards, webhooks, deliveries, usage, registration,
// sub-accounts, location) with the reference's exact JSON casing, status codes and error shapes.
//
// Nothing leaves the process except webhook deliveries, which are POSTed to the URLs configured
// through the API, signed as the real service does (X-Webhook-Signature:
// sha256=hex(HMAC-SHA256(secret, timestamp + "." + body))). By default they reach loopback
// addresses only (this machine; no other host name is even looked up); Options.DeliverExternal
// lets them reach other hosts except unspecified, multicast and link-local ones. The /test
// endpoints answer, besides the API's fields, a "sandbox" object saying where the event went
// (the address connected to) or why it was not sent. Options.WebhookClient replaces all that.
//
// # Accounts
//
// A request carrying X-Sub-Account-Id acts on that sub-account (created with POST
// /v1/sub-accounts; an unknown id is 404 SUB_ACCOUNT_NOT_FOUND): each sub-account has its own
// agents, numbers, calls, messages, contacts, webhooks and usage, and numbers are unique
// across all of them. Without the header a request acts on the master account.
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
// Outcomes other than a person answering are chosen per destination with
// [Sandbox.SetCallOutcome], or with the well-known sandbox numbers: any destination whose last
// seven digits are 5550196 is answered by a voicemail greeting (the agent leaves its
// voicemailMessage; status completed, disconnectionReason voicemail_reached, callAnalysis
// inVoicemail true), 5550197 is busy, 5550198 does not answer, 5550199 fails (for example
// +14155550197). A call ended while it still rings is "canceled". Ended calls carry
// disconnectionReason, userSentiment, callSuccessful and, when answered, callAnalysis. Per-call
// variables fill {{name}} in the prompt, greeting and voicemail message (they need a
// systemPrompt or a hosted agent). GET /v1/calls/{id}/transcript/stream replays the stored
// turns, then streams live ones as they happen on the clock, with a heartbeat every 15 s.
// The simulated people (PeoplePrefix: last seven digits 55502xx, e.g. +16505550200 to
// +16505550209) answer by themselves, by the last digit of their number: 0-3 reply to a
// text and answer calls (a short talk on the topic), 4 replies STOP and answers calls, 5-6
// send calls to voicemail, 7 does not answer a first call but answers one placed at least an
// hour after it, 8 never answers, 9 is busy; 5-9 never reply to texts. A ten-person campaign
// to +1 NPA 555-0200..0209 therefore meets replies, a STOP, voicemail, no-answer (one a
// retry reaches) and busy without anything injected. [Sandbox.CallsInProgress] counts the
// outbound calls ringing or talking, and the most ever at once; Options.ConcurrentCalls
// refuses one call more with 409 CONCURRENCY_LIMIT_REACHED.
// Numbers bought from the sandbox are +1 <area code> 555-01xx with xx below 96 and outside
// 30-39, so they never collide with these or with the iMessage users.
//
// # Messages
//
// POST /v1/messages stores an outbound message in the conversation keyed by (our number,
// participant). Every sandbox line can send iMessage: a recipient that uses it (a phone whose
// last seven digits start with IMessagePrefix 555013, any email address, or one set with
// [Sandbox.SetIMessage]) gets channel imessage, with send_style kept and reply_to_message_id
// threaded under a message of the same conversation (else reply_parent_unresolved true);
// others get SMS (MMS with media), where the style is dropped and replies are never threaded.
// recipients (2 to 32 iMessage users) starts a group: the answer's to_number is the new grp_
// id, and later messages to that id go to the group. GET /v1/contacts/capabilities answers
// from the same rule. With Options.AutoReply the participant (a group's first member)
// answers after Options.ReplyDelay (a simulated person answers by their own rule instead).
// Inbound traffic is injected with [Sandbox.InjectInboundSMS], [Sandbox.InjectInboundMessage],
// [Sandbox.InjectInboundCall], or over HTTP with POST /sandbox/inbound/sms and
// POST /sandbox/inbound/call (Bearer auth required like every /v1 route).
//
// # Running it
//
// In-process with [Sandbox.Transport] (streaming-capable, no network), or standalone with
// [ListenAndServe].
package sandbox
