package sandbox

import (
	"sort"
	"time"
)

// state is all in-memory data. It is guarded by Sandbox.mu.
type state struct {
	seq int64

	agents     map[string]*agent
	numbers    map[string]*number
	calls      map[string]*call
	convs      map[string]*conversation
	messages   map[string]*message
	contacts   map[string]*contact
	deliveries map[string]*delivery
	subs       map[string]*subAccount

	projectHook *webhook
	outcomes    map[string]string   // destination E.164 -> forced call status
	calleeLines map[string][]string // destination E.164 -> what the callee says on outbound calls
	// outActive counts outbound calls ringing or talking now; outPeak the most at once.
	outActive, outPeak int

	balanceEnforced bool
	balanceCents    int64

	registration  registration
	registerTimes []time.Time
}

func newState() *state {
	return &state{
		agents:      map[string]*agent{},
		numbers:     map[string]*number{},
		calls:       map[string]*call{},
		convs:       map[string]*conversation{},
		messages:    map[string]*message{},
		contacts:    map[string]*contact{},
		deliveries:  map[string]*delivery{},
		subs:        map[string]*subAccount{},
		outcomes:    map[string]string{},
		calleeLines: map[string][]string{},
		registration: registration{CampaignStatus: "none",
			Message: "No A2P 10DLC registration found. Submit one with POST /v1/register before sending SMS at volume."},
	}
}

// next returns an increasing sequence number used to order objects created at the same time.
func (st *state) next() int64 {
	st.seq++
	return st.seq
}

// sortedBySeq returns the map's values ordered by creation.
func sortedBySeq[T any](m map[string]T, seq func(T) int64) []T {
	out := make([]T, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return seq(out[i]) < seq(out[j]) })
	return out
}

// strPtr returns a pointer to a copy of s, or nil for "".
func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
