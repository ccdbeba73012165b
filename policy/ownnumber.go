package policy

import (
	"context"
)

// OwnNumberChecker tells whether a number is one of the account's own
// AgentPhone numbers (e.g. from the API's number list, cached by the caller).
type OwnNumberChecker interface {
	IsOwnNumber(ctx context.Context, e164 string) (bool, error)
}
