package apiclient

// Webhook is a WebhookResponse. Secret is the signing secret (whsec_...):
// callers must treat it as sensitive.
type Webhook struct {
	ID           string `json:"id"`
	URL          string `json:"url"`
	Secret       string `json:"secret"`
	Status       string `json:"status"`
	ContextLimit int    `json:"contextLimit"`
	Timeout      int    `json:"timeout"`
	CreatedAt    Time   `json:"createdAt"`
}

// SetWebhookRequest is the body of POST /v1/webhooks and POST
// /v1/agents/{id}/webhook (create or replace; a new secret every time).
// ContextLimit is 0–50 (0 = no history); Timeout is in seconds (5–120).
type SetWebhookRequest struct {
	URL          string `json:"url"`
	ContextLimit *int   `json:"contextLimit,omitempty"`
	Timeout      *int   `json:"timeout,omitempty"`
}

// WebhookDelivery is one delivery attempt record.
type WebhookDelivery struct {
	ID            string `json:"id"`
	MessageID     string `json:"messageId,omitempty"`
	EventType     string `json:"eventType,omitempty"`
	Channel       string `json:"channel,omitempty"`
	Status        string `json:"status"`
	HTTPStatus    *int   `json:"httpStatus,omitempty"`
	ErrorMessage  string `json:"errorMessage,omitempty"`
	ResponseBody  string `json:"responseBody,omitempty"`
	AttemptCount  int    `json:"attemptCount"`
	LastAttemptAt Time   `json:"lastAttemptAt"`
	NextRetryAt   Time   `json:"nextRetryAt"`
	CreatedAt     Time   `json:"createdAt"`
}

// DeliveryParams are the query parameters of GET /v1/webhooks/deliveries
// (server default limit 50). Hours 0 = not sent.
type DeliveryParams struct {
	Limit  int
	Offset int
	Hours  int
}

// DeliveryList is the answer of GET /v1/webhooks/deliveries (note: "items").
type DeliveryList struct {
	Items  []WebhookDelivery `json:"items"`
	Total  int               `json:"total"`
	Offset int               `json:"offset"`
	Limit  int               `json:"limit"`
}

// DeliveryStats is the answer of GET /v1/webhooks/deliveries/stats.
type DeliveryStats struct {
	Total       int                       `json:"total"`
	Success     int                       `json:"success"`
	Failed      int                       `json:"failed"`
	Pending     int                       `json:"pending"`
	SuccessRate float64                   `json:"successRate"`
	ByEventType map[string]map[string]int `json:"byEventType,omitempty"`
	ByHour      []map[string]any          `json:"byHour,omitempty"`
}

// WebhookTestResult is the answer of the webhook test endpoints.
type WebhookTestResult struct {
	Success    bool   `json:"success"`
	StatusCode *int   `json:"statusCode,omitempty"`
	ResponseMs *int   `json:"responseMs,omitempty"`
	Error      string `json:"error,omitempty"`
	// Sandbox is sent only by the built-in sandbox: where the test event went.
	Sandbox *SandboxDelivery `json:"sandbox,omitempty"`
}

// SandboxDelivery says where the built-in sandbox sent a webhook test event: DeliveredTo is
// the address it connected to ("" when none); Refused says why it sent nothing.
type SandboxDelivery struct {
	URL         string `json:"url"`
	DeliveredTo string `json:"deliveredTo,omitempty"`
	Refused     string `json:"refused,omitempty"`
}
