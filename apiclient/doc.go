// Package apiclient is a typed client for the AgentPhone REST API
// (https://api.agentphone.ai/v1/...).
//
// It knows nothing of MCP or policy. The HTTP client is handed in: the
// client itself never sets an Authorization header (the key guard's
// transport attaches the API key), so an API key can never appear in an
// error produced here.
//
// JSON casing differs per endpoint (camelCase for most resources,
// snake_case for POST /v1/messages, reactions, voices and registration);
// every struct tag in this package follows the reference exactly.
//
// Every failure is an *Error whose Kind says what happened (a status, a
// timeout, a reset connection, an answer too large, an unreadable answer...)
// and whose Error(), What() and Advice() say it in words, with what to do;
// a read (GET) whose 2xx body is empty, JSON null or not the expected JSON is
// such an error too, never an empty success. Every non-2xx answer becomes an *Error. Idempotent requests (GET, PUT,
// DELETE) are retried on 429 (except the non-retriable iMessage outreach
// codes), 502, 503, 504 and connection errors that happened before the
// request was sent: at most 3 tries and 30 s in all, honouring
// Retry-After, waiting on the injected clock. A POST (and a PATCH) is never
// retried once it may have reached the server; its error then has
// MaybeSent set and says how to check what happened.
//
// Options.SubAccountID scopes every request to a sub-account
// (X-Sub-Account-Id). FollowTranscript follows a call's live transcript over
// SSE, reconnecting when the stream drops and skipping replayed turns.
package apiclient
