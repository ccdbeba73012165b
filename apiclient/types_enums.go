package apiclient

// VoiceMode says who drives an agent's calls.
type VoiceMode string

// Voice modes.
const (
	VoiceModeWebhook VoiceMode = "webhook" // each caller utterance goes to your webhook
	VoiceModeHosted  VoiceMode = "hosted"  // the built-in LLM runs the call with systemPrompt
)

// ModelTier selects the hosted LLM tier.
type ModelTier string

// Model tiers.
const (
	ModelTierTurbo    ModelTier = "turbo"
	ModelTierBalanced ModelTier = "balanced"
	ModelTierMax      ModelTier = "max"
)

// STTMode selects speech-to-text speed versus accuracy.
type STTMode string

// Speech-to-text modes.
const (
	STTModeFast     STTMode = "fast"
	STTModeAccurate STTMode = "accurate"
)

// AmbientSound is background sound played during calls.
type AmbientSound string

// Ambient sounds.
const (
	AmbientNone       AmbientSound = "none"
	AmbientOffice     AmbientSound = "office"
	AmbientCoffeeShop AmbientSound = "coffee-shop"
	AmbientOutdoor    AmbientSound = "outdoor"
)

// DenoisingMode is the call audio noise filter.
type DenoisingMode string

// Denoising modes.
const (
	DenoisingNoise              DenoisingMode = "noise-cancellation"
	DenoisingNoiseAndBackSpeech DenoisingMode = "noise-and-background-speech-cancellation"
)

// CallStatus is the state of a call.
type CallStatus string

// Call statuses. Every status but Ringing and InProgress is terminal
// (Canceled: ended before it was answered, by the caller's side).
const (
	CallRinging    CallStatus = "ringing"
	CallInProgress CallStatus = "in-progress"
	CallCompleted  CallStatus = "completed"
	CallFailed     CallStatus = "failed"
	CallBusy       CallStatus = "busy"
	CallNoAnswer   CallStatus = "no-answer"
	CallCanceled   CallStatus = "canceled"
)

// Terminal reports whether the call has ended: any status other than ringing
// and in-progress (also one this client does not know, such as "ended"), but
// not an empty status.
func (s CallStatus) Terminal() bool {
	switch s {
	case "", CallRinging, CallInProgress, "in_progress", "queued", "initiated", "dialing", "registered", "ongoing":
		return false
	}
	return true
}

// Direction is the direction of a call or message.
type Direction string

// Directions ("web" only for calls).
const (
	DirectionInbound  Direction = "inbound"
	DirectionOutbound Direction = "outbound"
	DirectionWeb      Direction = "web"
)

// CallType filters calls by medium.
type CallType string

// Call types.
const (
	CallTypePSTN CallType = "pstn"
	CallTypeWeb  CallType = "web"
)

// Channel is the medium of a message or event.
type Channel string

// Channels.
const (
	ChannelSMS      Channel = "sms"
	ChannelMMS      Channel = "mms"
	ChannelIMessage Channel = "imessage"
	ChannelVoice    Channel = "voice"
)

// NumberStatus is the state of a phone number.
type NumberStatus string

// Number statuses.
const (
	NumberActive   NumberStatus = "active"
	NumberReleased NumberStatus = "released"
)

// SendStyle is an iMessage effect (dropped when delivered as SMS).
type SendStyle string

// iMessage send styles.
const (
	StyleCelebration SendStyle = "celebration"
	StyleFireworks   SendStyle = "fireworks"
	StyleLasers      SendStyle = "lasers"
	StyleLove        SendStyle = "love"
	StyleConfetti    SendStyle = "confetti"
	StyleBalloons    SendStyle = "balloons"
	StyleSpotlight   SendStyle = "spotlight"
	StyleEcho        SendStyle = "echo"
	StyleInvisible   SendStyle = "invisible"
	StyleGentle      SendStyle = "gentle"
	StyleLoud        SendStyle = "loud"
	StyleSlam        SendStyle = "slam"
)

// ReactionType is an iMessage tapback; newer lines also accept a custom
// emoji as a ReactionType.
type ReactionType string

// Classic tapbacks.
const (
	ReactionLove      ReactionType = "love"
	ReactionLike      ReactionType = "like"
	ReactionDislike   ReactionType = "dislike"
	ReactionLaugh     ReactionType = "laugh"
	ReactionEmphasize ReactionType = "emphasize"
	ReactionQuestion  ReactionType = "question"
)

// UsagePeriod is the window of GET /v1/usage/by-agent.
type UsagePeriod string

// Usage periods.
const (
	PeriodWeek  UsagePeriod = "week"
	PeriodMonth UsagePeriod = "month"
	PeriodYear  UsagePeriod = "year"
)

// CampaignStatus is the A2P 10DLC campaign state.
type CampaignStatus string

// Campaign statuses.
const (
	CampaignNone     CampaignStatus = "none"
	CampaignPending  CampaignStatus = "pending"
	CampaignApproved CampaignStatus = "approved"
)

// EventType names a webhook event.
type EventType string

// Webhook event types.
const (
	EventMessage   EventType = "agent.message"
	EventCallEnded EventType = "agent.call_ended"
	EventReaction  EventType = "agent.reaction"
)

// TurnRole is the speaker of a transcript turn in streams and call_ended.
type TurnRole string

// Turn roles.
const (
	RoleUser  TurnRole = "user"
	RoleAgent TurnRole = "agent"
)
