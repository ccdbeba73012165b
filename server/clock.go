package server

import (
	"time"

	"github.com/jonboulle/clockwork"
)

// offsetClock is real time shifted by a fixed offset: it ticks at real speed from a chosen
// start. Timers and sleeps are real durations, so only Now, Since and Until change.
type offsetClock struct {
	clockwork.Clock
	offset time.Duration
}

func newOffsetClock(start time.Time) clockwork.Clock {
	return &offsetClock{Clock: clockwork.NewRealClock(), offset: time.Until(start)}
}

// Now is the shifted time.
func (c *offsetClock) Now() time.Time { return time.Now().Add(c.offset) }

// Since is measured against the shifted time.
func (c *offsetClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// Until is measured against the shifted time.
func (c *offsetClock) Until(t time.Time) time.Duration { return t.Sub(c.Now()) }
