package apiclient

// Contact is a saved contact (camelCase); PhoneNumber is E.164.
type Contact struct {
	ID          string `json:"id"`
	PhoneNumber string `json:"phoneNumber"`
	Name        string `json:"name"`
	Email       string `json:"email,omitempty"`
	Notes       string `json:"notes,omitempty"`
	CreatedAt   Time   `json:"createdAt"`
	UpdatedAt   Time   `json:"updatedAt"`
}

// ListContactsParams are the query parameters of GET /v1/contacts
// (server default limit 50). Search is a case-insensitive substring of
// name or phone.
type ListContactsParams struct {
	Limit  int
	Offset int
	Search string
}

// CreateContactRequest is the body of POST /v1/contacts (201; 409 when the
// phone already exists).
type CreateContactRequest struct {
	PhoneNumber string `json:"phoneNumber"`
	Name        string `json:"name"`
	Email       string `json:"email,omitempty"`
	Notes       string `json:"notes,omitempty"`
}

// UpdateContactRequest is the partial body of PATCH /v1/contacts/{id}.
type UpdateContactRequest struct {
	PhoneNumber *string `json:"phoneNumber,omitempty"`
	Name        *string `json:"name,omitempty"`
	Email       *string `json:"email,omitempty"`
	Notes       *string `json:"notes,omitempty"`
}

// Capabilities is the answer of GET /v1/contacts/capabilities.
type Capabilities struct {
	PhoneNumber  string `json:"phoneNumber"`
	Capabilities struct {
		IMessage bool `json:"imessage"`
		SMS      bool `json:"sms"`
	} `json:"capabilities"`
	CheckedAt Time `json:"checkedAt"`
}
