package apiclient

import (
	"encoding/json"
	"time"
)

// Call is a call object (GET /v1/calls/{id}, create, end) or a call summary
// in lists (then Transcripts is empty and LastTranscriptSnippet may be set).
type Call struct {
	ID                    string     `json:"id"`
	AgentID               string     `json:"agentId,omitempty"`
	PhoneNumberID         string     `json:"phoneNumberId,omitempty"`
	PhoneNumber           string     `json:"phoneNumber,omitempty"`
	FromNumber            string     `json:"fromNumber"`
	ToNumber              string     `json:"toNumber"`
	Direction             Direction  `json:"direction,omitempty"`
	Status                CallStatus `json:"status"`
	StartedAt             Time       `json:"startedAt"`
	EndedAt               Time       `json:"endedAt"`
	DurationSeconds       *int       `json:"durationSeconds,omitempty"`
	RecordingURL          string     `json:"recordingUrl,omitempty"`
	RecordingAvailable    bool       `json:"recordingAvailable"`
	RetellCallID          string     `json:"retellCallId,omitempty"`
	LastTranscriptSnippet string     `json:"lastTranscriptSnippet,omitempty"`
	// Summary is the provider's summary of an ended call, where the API gives one.
	Summary string `json:"summary,omitempty"`
	// DisconnectionReason is why an ended call ended (the voice provider's
	// words: user_hangup, agent_hangup, voicemail_reached, dial_busy,
	// dial_no_answer, dial_failed, ...), where the API gives it.
	DisconnectionReason string `json:"disconnectionReason,omitempty"`
	// UserSentiment is the analysed sentiment of the other party (e.g. "Positive").
	UserSentiment string `json:"userSentiment,omitempty"`
	// CallSuccessful is the analysis verdict on whether the call reached its goal.
	CallSuccessful *bool `json:"callSuccessful,omitempty"`
	// Analysis is the post-call analysis block, where the API gives one (read
	// from "analysis" or "callAnalysis").
	Analysis    *CallAnalysis    `json:"analysis,omitempty"`
	Transcripts []TranscriptTurn `json:"transcripts,omitempty"`
}

// CallAnalysis is the post-call analysis of the voice provider.
type CallAnalysis struct {
	Summary        string         `json:"summary,omitempty"`
	UserSentiment  string         `json:"userSentiment,omitempty"`
	CallSuccessful *bool          `json:"callSuccessful,omitempty"`
	InVoicemail    *bool          `json:"inVoicemail,omitempty"`
	Custom         map[string]any `json:"custom,omitempty"`
}

// UnmarshalJSON reads a call, taking the analysis from "analysis" or
// "callAnalysis" (summary also as callSummary, custom also as
// customAnalysisData).
func (c *Call) UnmarshalJSON(b []byte) error {
	type plain Call
	var v struct {
		plain
		Analysis     *analysisWire `json:"analysis"`
		CallAnalysis *analysisWire `json:"callAnalysis"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*c = Call(v.plain)
	w := v.Analysis
	if w == nil {
		w = v.CallAnalysis
	}
	c.Analysis = w.analysis()
	return nil
}

// analysisWire accepts both spellings of the analysis fields.
type analysisWire struct {
	Summary            string         `json:"summary"`
	CallSummary        string         `json:"callSummary"`
	UserSentiment      string         `json:"userSentiment"`
	CallSuccessful     *bool          `json:"callSuccessful"`
	InVoicemail        *bool          `json:"inVoicemail"`
	Custom             map[string]any `json:"custom"`
	CustomAnalysisData map[string]any `json:"customAnalysisData"`
}

func (w *analysisWire) analysis() *CallAnalysis {
	if w == nil {
		return nil
	}
	a := &CallAnalysis{Summary: w.Summary, UserSentiment: w.UserSentiment, CallSuccessful: w.CallSuccessful,
		InVoicemail: w.InVoicemail, Custom: w.Custom}
	if a.Summary == "" {
		a.Summary = w.CallSummary
	}
	if a.Custom == nil {
		a.Custom = w.CustomAnalysisData
	}
	return a
}

// TranscriptTurn is one stored turn: Transcript is what the human said,
// Response the agent's reply (either may be empty). Some sources use the
// {role, content} shape instead; those decode into Role and Content.
type TranscriptTurn struct {
	ID         string   `json:"id,omitempty"`
	Transcript string   `json:"transcript,omitempty"`
	Response   string   `json:"response,omitempty"`
	Confidence *float64 `json:"confidence,omitempty"`
	Role       TurnRole `json:"role,omitempty"`
	Content    string   `json:"content,omitempty"`
	CreatedAt  Time     `json:"createdAt"`
}

// Transcript is the answer of GET /v1/calls/{id}/transcript. The body shape
// is unconfirmed: turns are read from "data" or "transcripts" (whichever is
// non-empty, "data" first).
type Transcript struct {
	CallID string           `json:"callId,omitempty"`
	Turns  []TranscriptTurn `json:"data"`
}

// UnmarshalJSON accepts {"data":[...]}, {"transcripts":[...]}, both, or a
// bare array of turns.
func (t *Transcript) UnmarshalJSON(b []byte) error {
	var arr []TranscriptTurn
	if err := json.Unmarshal(b, &arr); err == nil {
		*t = Transcript{Turns: arr}
		return nil
	}
	var aux struct {
		CallID      string           `json:"callId"`
		Data        []TranscriptTurn `json:"data"`
		Transcripts []TranscriptTurn `json:"transcripts"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	t.CallID = aux.CallID
	t.Turns = aux.Data
	if len(t.Turns) == 0 {
		t.Turns = aux.Transcripts
	}
	return nil
}

// ListCallsParams filters GET /v1/calls. Zero values are omitted.
type ListCallsParams struct {
	Limit     int
	Offset    int
	Status    CallStatus
	Direction Direction
	Type      CallType
	// Search is a substring of fromNumber/toNumber.
	Search string
}

// CreateCallRequest is the body of POST /v1/calls (camelCase). Without
// SystemPrompt the call is webhook-driven; with it the built-in LLM runs
// the call. WaitForCompletion makes the POST block until the call ends
// (up to MaxWaitSeconds); the client then uses its long-poll deadline.
type CreateCallRequest struct {
	AgentID               string            `json:"agentId"`
	ToNumber              string            `json:"toNumber"`
	FromNumberID          string            `json:"fromNumberId,omitempty"`
	InitialGreeting       string            `json:"initialGreeting,omitempty"`
	Voice                 string            `json:"voice,omitempty"`
	SystemPrompt          string            `json:"systemPrompt,omitempty"`
	ModelTier             ModelTier         `json:"modelTier,omitempty"`
	Variables             map[string]string `json:"variables,omitempty"`
	CallScreeningIdentity string            `json:"callScreeningIdentity,omitempty"`
	CallScreeningPurpose  string            `json:"callScreeningPurpose,omitempty"`
	WaitForCompletion     bool              `json:"waitForCompletion,omitempty"`
	MaxWaitSeconds        int               `json:"maxWaitSeconds,omitempty"`
}

// GetCallParams asks GET /v1/calls/{id} to long-poll until the call ends
// (wait=true&timeout=<seconds>, 10–300 s per the official MCP).
type GetCallParams struct {
	Wait    bool
	Timeout time.Duration
}

// StreamEventType names a transcript stream (SSE) event.
type StreamEventType string

// Transcript stream event types.
const (
	StreamConnected StreamEventType = "connected"
	StreamTurn      StreamEventType = "turn"
	StreamEnded     StreamEventType = "ended"
)

// StreamEvent is one event of GET /v1/calls/{id}/transcript/stream.
// Exactly one of Connected, Turn, Ended is set for the known types; Data
// always holds the raw JSON. Heartbeat comments are not reported.
type StreamEvent struct {
	Type      StreamEventType
	Connected *StreamConnectedData
	Turn      *StreamTurnData
	Ended     *StreamEndedData
	Data      json.RawMessage
}

// StreamConnectedData is the payload of the "connected" event.
type StreamConnectedData struct {
	CallID     string     `json:"callId"`
	Status     CallStatus `json:"status"`
	AgentID    string     `json:"agentId,omitempty"`
	AgentName  string     `json:"agentName,omitempty"`
	Direction  Direction  `json:"direction,omitempty"`
	FromNumber string     `json:"fromNumber,omitempty"`
	ToNumber   string     `json:"toNumber,omitempty"`
	StartedAt  Time       `json:"startedAt"`
}

// StreamTurnData is the payload of the "turn" event.
type StreamTurnData struct {
	Role      TurnRole `json:"role"`
	Content   string   `json:"content"`
	CreatedAt Time     `json:"createdAt"`
}

// StreamEndedData is the payload of the "ended" event.
type StreamEndedData struct {
	CallID          string     `json:"callId"`
	Status          CallStatus `json:"status"`
	EndedAt         Time       `json:"endedAt"`
	DurationSeconds *int       `json:"durationSeconds,omitempty"`
}
