package apiclient

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Usage is the answer of GET /v1/usage. Today's API sends numbers, stats and
// the period; the legacy plan block was removed (Plan is nil then) and is
// still read if an old deployment sends it. "numbers" and "stats" are
// required: an answer without them is unusable, not a zero account.
type Usage struct {
	// Plan is the legacy plan block, nil when absent (the current API).
	Plan    *UsagePlan `json:"plan,omitempty"`
	Numbers struct {
		Used      int `json:"used"`
		Limit     int `json:"limit"`
		Remaining int `json:"remaining"`
	} `json:"numbers"`
	Stats struct {
		TotalMessages   int `json:"totalMessages"`
		MessagesLast24h int `json:"messagesLast24h"`
		MessagesLast7d  int `json:"messagesLast7d"`
		MessagesLast30d int `json:"messagesLast30d"`
		// SMSSegmentsLast30d counts billed SMS segments; nil when the API does not send it.
		SMSSegmentsLast30d          *int `json:"smsSegmentsLast30d,omitempty"`
		TotalCalls                  int  `json:"totalCalls"`
		CallsLast24h                int  `json:"callsLast24h"`
		CallsLast7d                 int  `json:"callsLast7d"`
		CallsLast30d                int  `json:"callsLast30d"`
		TotalWebhookDeliveries      int  `json:"totalWebhookDeliveries"`
		SuccessfulWebhookDeliveries int  `json:"successfulWebhookDeliveries"`
		FailedWebhookDeliveries     int  `json:"failedWebhookDeliveries"`
	} `json:"stats"`
	PeriodStart Time `json:"periodStart"`
	PeriodEnd   Time `json:"periodEnd"`
}

// UsagePlan is the legacy plan block of GET /v1/usage (no longer sent).
type UsagePlan struct {
	Name   string `json:"name"`
	Limits struct {
		Numbers                int `json:"numbers"`
		MessagesPerMonth       int `json:"messagesPerMonth"`
		VoiceMinutesPerMonth   int `json:"voiceMinutesPerMonth"`
		MaxCallDurationMinutes int `json:"maxCallDurationMinutes"`
		ConcurrentCalls        int `json:"concurrentCalls"`
	} `json:"limits"`
}

// UnmarshalJSON requires the "numbers" and "stats" objects.
func (u *Usage) UnmarshalJSON(b []byte) error {
	type plain Usage
	var v plain
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	for _, k := range []string{"numbers", "stats"} {
		if t := bytes.TrimSpace(obj[k]); len(t) == 0 || t[0] != '{' {
			return fmt.Errorf("the usage answer has no %q object", k)
		}
	}
	*u = Usage(v)
	return nil
}

// UsagePoint is one day (Date) or month (Month) of usage.
type UsagePoint struct {
	Date     string `json:"date,omitempty"`
	Month    string `json:"month,omitempty"`
	Messages int    `json:"messages"`
	Calls    int    `json:"calls"`
	Webhooks int    `json:"webhooks"`
}

// DailyUsage is the answer of GET /v1/usage/daily.
type DailyUsage struct {
	Data []UsagePoint `json:"data"`
	Days int          `json:"days"`
}

// MonthlyUsage is the answer of GET /v1/usage/monthly.
type MonthlyUsage struct {
	Data   []UsagePoint `json:"data"`
	Months int          `json:"months"`
}

// NumberUsage is one row of GET /v1/usage/by-number.
type NumberUsage struct {
	NumberID    string       `json:"numberId"`
	PhoneNumber string       `json:"phoneNumber"`
	Country     string       `json:"country"`
	Status      NumberStatus `json:"status"`
	AgentID     string       `json:"agentId,omitempty"`
	AgentName   string       `json:"agentName,omitempty"`
	Messages    int          `json:"messages"`
	Calls       int          `json:"calls"`
}

// AgentUsage is one row of GET /v1/usage/by-agent; AgentID is empty for
// the "Unassigned" group (IsOrphan).
type AgentUsage struct {
	AgentID      string  `json:"agentId,omitempty"`
	AgentName    string  `json:"agentName"`
	Messages     int     `json:"messages"`
	Calls        int     `json:"calls"`
	TotalSeconds float64 `json:"totalSeconds"`
	IsOrphan     bool    `json:"isOrphan"`
}

// UsageByAgent is the answer of GET /v1/usage/by-agent.
type UsageByAgent struct {
	Data        []AgentUsage `json:"data"`
	Period      UsagePeriod  `json:"period"`
	PeriodStart Time         `json:"periodStart"`
	PeriodEnd   Time         `json:"periodEnd"`
}

// UsageByAgentParams are the query parameters of GET /v1/usage/by-agent.
// Period is required; TZ is an optional IANA zone name.
type UsageByAgentParams struct {
	Period UsagePeriod
	TZ     string
}

// Registration is the answer of GET /v1/register/status (snake_case).
type Registration struct {
	CampaignStatus CampaignStatus `json:"campaign_status"`
	Message        string         `json:"message,omitempty"`
	Stage          string         `json:"stage,omitempty"`
}
