package tools

import (
	"sync"
	"time"
)

// EventKind says what an inbound event is.
type EventKind string

// Inbound event kinds, published by the webhook receiver.
const (
	EventMessage   EventKind = "message"    // an inbound SMS/MMS/iMessage
	EventCallEnded EventKind = "call_ended" // a call finished
)

// Event is one verified inbound event, as waiting tools see it.
type Event struct {
	Kind           EventKind
	ID             string // message id or call id
	ConversationID string
	CallID         string
	AgentID        string
	NumberID       string
	From, To       string
	Body           string
	At             time.Time
	// OptedOut and PossibleOptOut are what the opt-out check found in Body (messages).
	OptedOut, PossibleOptOut bool
}

// EventHub fans verified webhook events out to the tools waiting for them. Publishing never
// blocks: a subscriber that is not reading misses events rather than stalling the receiver,
// and every waiter also polls the API, so nothing is lost for good.
type EventHub struct {
	mu   sync.Mutex
	next int
	subs map[int]chan Event
}

// NewEventHub returns an empty hub.
func NewEventHub() *EventHub { return &EventHub{subs: map[int]chan Event{}} }

// Publish hands e to every current subscriber without blocking.
func (h *EventHub) Publish(e Event) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range h.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

// Subscribe returns a channel of events and a function that ends the subscription.
func (h *EventHub) Subscribe() (<-chan Event, func()) {
	if h == nil {
		return nil, func() {}
	}
	ch := make(chan Event, 16)
	h.mu.Lock()
	id := h.next
	h.next++
	h.subs[id] = ch
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs, id)
		h.mu.Unlock()
	}
}
