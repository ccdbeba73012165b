package apiclient

// Agent is an AgentResponse (camelCase). Nullable strings decode to "".
type Agent struct {
	ID                      string        `json:"id"`
	Name                    string        `json:"name"`
	Description             string        `json:"description,omitempty"`
	VoiceMode               VoiceMode     `json:"voiceMode"`
	EnableMessaging         bool          `json:"enableMessaging"`
	ModelTier               ModelTier     `json:"modelTier,omitempty"`
	SystemPrompt            string        `json:"systemPrompt,omitempty"`
	BeginMessage            string        `json:"beginMessage,omitempty"`
	Voice                   string        `json:"voice"`
	TransferNumber          string        `json:"transferNumber,omitempty"`
	CustomTools             []CustomTool  `json:"customTools,omitempty"`
	VoicemailMessage        string        `json:"voicemailMessage,omitempty"`
	CallScreeningIdentity   string        `json:"callScreeningIdentity,omitempty"`
	CallScreeningPurpose    string        `json:"callScreeningPurpose,omitempty"`
	STTMode                 STTMode       `json:"sttMode,omitempty"`
	AmbientSound            AmbientSound  `json:"ambientSound,omitempty"`
	DenoisingMode           DenoisingMode `json:"denoisingMode,omitempty"`
	MaxSilenceMs            int           `json:"maxSilenceMs,omitempty"`
	VoiceSpeed              float64       `json:"voiceSpeed,omitempty"`
	InterruptionSensitivity float64       `json:"interruptionSensitivity"`
	EnableBackchannel       bool          `json:"enableBackchannel"`
	Language                string        `json:"language,omitempty"`
	CreatedAt               Time          `json:"createdAt"`
	Numbers                 []AgentNumber `json:"numbers,omitempty"`
}

// AgentNumber is the short number object embedded in an agent.
type AgentNumber struct {
	ID          string       `json:"id"`
	PhoneNumber string       `json:"phoneNumber"`
	Status      NumberStatus `json:"status"`
	Type        string       `json:"type,omitempty"`
}

// CustomTool is an HTTP tool a hosted agent may call during a call.
type CustomTool struct {
	Name                 string            `json:"name"`
	Description          string            `json:"description"`
	URL                  string            `json:"url"`
	Method               string            `json:"method,omitempty"`
	Headers              map[string]string `json:"headers,omitempty"`
	Parameters           map[string]any    `json:"parameters,omitempty"`
	TimeoutMs            *int              `json:"timeoutMs,omitempty"`
	SpeakDuringExecution *bool             `json:"speakDuringExecution,omitempty"`
	ExecutionMessage     string            `json:"executionMessage,omitempty"`
}

// AgentSettings are the optional agent fields shared by create and update.
// A nil pointer is not sent; a pointer to a zero value is sent (so
// InterruptionSensitivity 0 and EnableMessaging false are expressible, and
// an empty TransferNumber / VoicemailMessage clears them).
type AgentSettings struct {
	Description             *string        `json:"description,omitempty"`
	VoiceMode               *VoiceMode     `json:"voiceMode,omitempty"`
	EnableMessaging         *bool          `json:"enableMessaging,omitempty"`
	ModelTier               *ModelTier     `json:"modelTier,omitempty"`
	SystemPrompt            *string        `json:"systemPrompt,omitempty"`
	BeginMessage            *string        `json:"beginMessage,omitempty"`
	Voice                   *string        `json:"voice,omitempty"`
	TransferNumber          *string        `json:"transferNumber,omitempty"`
	VoicemailMessage        *string        `json:"voicemailMessage,omitempty"`
	CallScreeningIdentity   *string        `json:"callScreeningIdentity,omitempty"`
	CallScreeningPurpose    *string        `json:"callScreeningPurpose,omitempty"`
	STTMode                 *STTMode       `json:"sttMode,omitempty"`
	AmbientSound            *AmbientSound  `json:"ambientSound,omitempty"`
	DenoisingMode           *DenoisingMode `json:"denoisingMode,omitempty"`
	MaxSilenceMs            *int           `json:"maxSilenceMs,omitempty"`
	VoiceSpeed              *float64       `json:"voiceSpeed,omitempty"`
	InterruptionSensitivity *float64       `json:"interruptionSensitivity,omitempty"`
	EnableBackchannel       *bool          `json:"enableBackchannel,omitempty"`
	Language                *string        `json:"language,omitempty"`
	// CustomTools: nil = not sent (unchanged), non-nil empty = sent as []
	// (clears the set on update), otherwise replaces the whole set.
	CustomTools *[]CustomTool `json:"customTools,omitempty"`
}

// CreateAgentRequest is the body of POST /v1/agents. Name is required.
type CreateAgentRequest struct {
	Name string `json:"name"`
	AgentSettings
}

// UpdateAgentRequest is the partial body of PATCH /v1/agents/{id}: only
// non-nil fields are sent.
type UpdateAgentRequest struct {
	Name *string `json:"name,omitempty"`
	AgentSettings
}

// DeletedAgent is the answer of DELETE /v1/agents/{id}.
type DeletedAgent struct {
	Success bool   `json:"success"`
	ID      string `json:"id"`
	Name    string `json:"name"`
}

// AttachedNumber is the answer of POST /v1/agents/{id}/numbers.
type AttachedNumber struct {
	AgentID string      `json:"agentId"`
	Number  AgentNumber `json:"number"`
}

// Voice is one entry of GET /v1/agents/voices (snake_case).
type Voice struct {
	VoiceID         string `json:"voice_id"`
	VoiceName       string `json:"voice_name"`
	Provider        string `json:"provider"`
	Gender          string `json:"gender,omitempty"`
	Accent          string `json:"accent,omitempty"`
	PreviewAudioURL string `json:"preview_audio_url,omitempty"`
}
