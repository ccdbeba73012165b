package apiclient

import "encoding/json"

// Number is a PhoneNumberResponse (camelCase).
type Number struct {
	ID          string       `json:"id"`
	PhoneNumber string       `json:"phoneNumber"`
	Country     string       `json:"country"`
	Status      NumberStatus `json:"status"`
	Type        string       `json:"type,omitempty"`
	AgentID     string       `json:"agentId,omitempty"`
	CreatedAt   Time         `json:"createdAt"`
}

// BuyNumberRequest is the body of POST /v1/numbers. Country defaults to
// "US" on the server; AreaCode is 3 digits (US/CA only).
type BuyNumberRequest struct {
	Country  string `json:"country,omitempty"`
	AreaCode string `json:"areaCode,omitempty"`
	AgentID  string `json:"agentId,omitempty"`
}

// ReleasedNumber is the answer of DELETE /v1/numbers/{id}.
type ReleasedNumber struct {
	Success     bool         `json:"success"`
	PhoneNumber string       `json:"phoneNumber,omitempty"`
	Status      NumberStatus `json:"status,omitempty"`
}

// NumberMessage is one message of GET /v1/numbers/{id}/messages. The sender
// is sent as "from_" (spec) or "from" (docs); both decode into From.
type NumberMessage struct {
	ID         string    `json:"id"`
	From       string    `json:"from"`
	To         string    `json:"to"`
	Body       string    `json:"body"`
	Direction  Direction `json:"direction"`
	Channel    Channel   `json:"channel,omitempty"`
	ReceivedAt Time      `json:"receivedAt"`
}

// UnmarshalJSON accepts both "from" and "from_".
func (m *NumberMessage) UnmarshalJSON(b []byte) error {
	type plain NumberMessage
	var aux struct {
		plain
		FromUnderscore *string `json:"from_"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*m = NumberMessage(aux.plain)
	if m.From == "" && aux.FromUnderscore != nil {
		m.From = *aux.FromUnderscore
	}
	return nil
}

// ContactCard is the iMessage "Share Name and Photo" card of a number.
type ContactCard struct {
	FirstName   string `json:"firstName,omitempty"`
	LastName    string `json:"lastName,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	HasAvatar   bool   `json:"hasAvatar"`
}

// ContactCardRequest is the body of PUT /v1/numbers/{id}/contact-card.
type ContactCardRequest struct {
	FirstName   string `json:"firstName,omitempty"`
	LastName    string `json:"lastName,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	AvatarURL   string `json:"avatarUrl,omitempty"`
}
