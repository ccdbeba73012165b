package policy

import (
	"context"
	"fmt"
)

// OwnNumberChecker tells whether a number is one of the account's own
// AgentPhone numbers (e.g. from the API's number list, cached by the caller).
type OwnNumberChecker interface {
	IsOwnNumber(ctx context.Context, e164 string) (bool, error)
}

// checkOwnNumber denies an SMS or call to one of the account's own numbers
// [own_number]: agent-to-agent loops burn money, and the model can read
// those inboxes. A lookup error is returned: the engine cannot decide.
func (e *Engine) checkOwnNumber(ctx context.Context, v *verdict, e164 string) error {
	if e.own == nil {
		return nil
	}
	own, err := e.own.IsOwnNumber(ctx, e164)
	if err != nil {
		return fmt.Errorf("check whether %s is one of the account's own numbers: %s; try again", e164, e.scrub(err.Error()))
	}
	if own {
		v.denyHit(RuleOwnNumber, fmt.Sprintf("%s is one of this account's own AgentPhone numbers; calling or texting it would make agents talk to each other and burn minutes. Use the number's inbox instead", e164))
	}
	return nil
}
