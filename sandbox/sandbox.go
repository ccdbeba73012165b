package sandbox

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// Options configures a Sandbox. The zero value is usable: real clock, no auto-reply,
// 1 s ring time, 1 s per turn, webhooks delivered to loopback addresses only.
type Options struct {
	// Clock drives every simulated delay. Default: the real clock.
	Clock clockwork.Clock
	// Logger receives debug and warning lines (never an API key). Nil discards.
	Logger *slog.Logger
	// Seed makes ids deterministic: the same seed and the same sequence of requests give the
	// same ids and secrets.
	Seed int64
	// APIKey, when set, is the only bearer token accepted; otherwise any non-empty token is.
	// Ignored when Accounts is set.
	APIKey string
	// Accounts, when set, makes the sandbox serve several accounts, as the real API does for
	// several customers: each key (map key) is its own isolated account (agents, numbers,
	// messages, calls, usage, webhooks, sub-accounts) named by the map value in logs; any other
	// key gets 401 INVALID_API_KEY. Every account shares the simulated outside world (how
	// destinations answer, who uses iMessage, which numbers exist). Empty: one account.
	Accounts map[string]string

	// RingTime is how long a call rings before it is answered or fails. Default 1 s.
	RingTime time.Duration
	// TurnTime is the time between transcript turns of a call. Default 1 s.
	TurnTime time.Duration

	// AutoReply makes the recipient of every outbound SMS answer after ReplyDelay.
	AutoReply bool
	// ReplyDelay is the auto-reply delay. Default 3 s.
	ReplyDelay time.Duration

	// WebhookClient sends webhook deliveries and /test events. Default: a client that connects
	// only to loopback addresses (see DeliverExternal), through no proxy, following no
	// redirect. A client given here replaces that rule: the caller decides where it goes.
	WebhookClient *http.Client
	// DeliverExternal lets the default webhook client reach other hosts than this machine
	// (still never unspecified, multicast or link-local addresses). Off by default: a
	// simulated account never sends anything over the network by surprise.
	DeliverExternal bool
	// WebhookRetryBase is the first retry delay of a failed delivery; it doubles per attempt
	// (6 attempts in all). Default 5 s.
	WebhookRetryBase time.Duration

	// ConcurrentCalls, when positive, is how many outbound calls the account may have ringing
	// or talking at once; one more is refused with 409 CONCURRENCY_LIMIT_REACHED. Zero: no limit.
	ConcurrentCalls int

	// NumberLimit is the number of active numbers an account may hold. Default 10.
	NumberLimit int
	// BalanceCents, when positive, enables balance checks: each number costs 300 cents and a
	// purchase without enough balance fails with 402 INSUFFICIENT_BALANCE. Zero means unlimited
	// (see SetBalanceCents to enforce an empty balance).
	BalanceCents int64
}

const (
	defaultRingTime   = time.Second
	defaultTurnTime   = time.Second
	defaultReplyDelay = 3 * time.Second
	defaultRetryBase  = 5 * time.Second
	numberPriceCents  = 300
	maxDeliveryTries  = 6
)

// Sandbox is the simulated AgentPhone API. It is an http.Handler; all methods are safe for
// concurrent use. Call Close when done to stop background work.
type Sandbox struct {
	opts   Options
	clock  clockwork.Clock
	log    *slog.Logger
	ids    *idGen
	bg     *background
	mux    *http.ServeMux
	faults faultTable
	client *http.Client
	world  *world

	// ctx ends when the sandbox is closed; background HTTP calls use it.
	ctx    context.Context
	cancel context.CancelFunc

	mu sync.Mutex
	st *state

	// root is the master account of a sub-account's Sandbox (nil for the master).
	root *Sandbox
	// subBoxes are the sub-accounts in use, by id (master only; guarded by subMu).
	subMu    sync.Mutex
	subBoxes map[string]*Sandbox

	// keyBoxes are the accounts by API key when Options.Accounts is set (the front Sandbox
	// only; each is a master account of its own). Fixed after New.
	keyBoxes map[string]*Sandbox
}

// New returns a Sandbox with empty state.
func New(opts Options) *Sandbox {
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.RingTime <= 0 {
		opts.RingTime = defaultRingTime
	}
	if opts.TurnTime <= 0 {
		opts.TurnTime = defaultTurnTime
	}
	if opts.ReplyDelay <= 0 {
		opts.ReplyDelay = defaultReplyDelay
	}
	if opts.WebhookRetryBase <= 0 {
		opts.WebhookRetryBase = defaultRetryBase
	}
	if opts.NumberLimit <= 0 {
		opts.NumberLimit = 10
	}
	client := opts.WebhookClient
	if client == nil {
		client = newDeliveryClient(opts.DeliverExternal)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sandbox{
		opts:   opts,
		clock:  opts.Clock,
		log:    opts.Logger,
		ids:    newIDGen(opts.Seed),
		bg:     newBackground(opts.Clock),
		client: client,
		world:  newWorld(),
		ctx:    ctx,
		cancel: cancel,
		st:     newState(),

		subBoxes: map[string]*Sandbox{},
	}
	s.faults.init()
	if opts.BalanceCents > 0 {
		s.st.balanceEnforced = true
		s.st.balanceCents = opts.BalanceCents
	}
	s.routes()
	if len(opts.Accounts) > 0 {
		s.keyBoxes = map[string]*Sandbox{}
		for key, name := range opts.Accounts {
			box := &Sandbox{opts: opts, clock: s.clock, log: s.log.With("account", name), ids: s.ids, bg: s.bg,
				client: client, world: s.world, ctx: ctx, cancel: cancel, st: newState(), subBoxes: map[string]*Sandbox{}}
			box.faults.init()
			if opts.BalanceCents > 0 {
				box.st.balanceEnforced = true
				box.st.balanceCents = opts.BalanceCents
			}
			box.routes()
			s.keyBoxes[key] = box
		}
	}
	return s
}

// Account returns the account of key when the sandbox serves several (Options.Accounts),
// else nil. Tests use it to inspect or drive one account.
func (s *Sandbox) Account(key string) *Sandbox { return s.keyBoxes[key] }

// Close stops scheduled work and cancels in-flight webhook deliveries. The handler keeps
// answering requests afterwards, but nothing is simulated any more.
func (s *Sandbox) Close() {
	s.cancel()
	s.bg.close()
}

// Settle waits until no background work (call steps, auto-replies, webhook deliveries) is
// running and none is due on the clock. Work scheduled for a later clock time does not count.
// Tests call it after advancing a fake clock.
func (s *Sandbox) Settle(ctx context.Context) error {
	return s.bg.settle(ctx)
}

// SetBalanceCents sets the account balance and turns balance checks on.
func (s *Sandbox) SetBalanceCents(cents int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.balanceEnforced = true
	s.st.balanceCents = cents
}

// ServeHTTP serves the API: /v1/... and the /sandbox/... injection routes.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, pattern := s.mux.Handler(r)
	s.log.Debug("sandbox request", "method", r.Method, "path", r.URL.Path, "route", pattern)
	if pattern == "" {
		s.notRouted(w, r)
		return
	}
	if s.keyBoxes != nil {
		box, e := s.accountFor(r, pattern)
		if e != nil {
			writeError(w, e)
			return
		}
		box.serveAccount(w, r, pattern)
		return
	}
	if !isPublic(pattern) {
		if e := s.authorize(r); e != nil {
			writeError(w, e)
			return
		}
	}
	s.serveAccount(w, r, pattern)
}

// accountFor picks the account a request is for when the sandbox serves several: the one
// whose key it carries (401 for any other), or, for the public recording route, the one that
// holds the call.
func (s *Sandbox) accountFor(r *http.Request, pattern string) (*Sandbox, *apiError) {
	if isPublic(pattern) {
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/calls/"), "/recording")
		for _, box := range s.keyBoxes {
			if box.accountWith(func(b *Sandbox) bool { _, ok := b.st.calls[id]; return ok }) != nil {
				return box, nil
			}
		}
		return nil, newError(http.StatusNotFound, "NOT_FOUND", "Call not found")
	}
	if e := s.authorize(r); e != nil {
		return nil, e
	}
	_, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	box, found := s.keyBoxes[strings.TrimSpace(token)]
	if !found {
		return nil, newError(http.StatusUnauthorized, "INVALID_API_KEY", "Invalid API key: check AGENTPHONE_API_KEY")
	}
	return box, nil
}

// serveAccount serves an authorized request on this account (faults, sub-accounts, routes).
func (s *Sandbox) serveAccount(w http.ResponseWriter, r *http.Request, pattern string) {
	if s.applyFault(w, r, pattern) {
		return
	}
	if sub := strings.TrimSpace(r.Header.Get(SubAccountHeader)); sub != "" && scoped(pattern) {
		box, e := s.subAccountBox(sub)
		if e != nil {
			writeError(w, e)
			return
		}
		box.mux.ServeHTTP(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// isPublic reports the routes that need no Authorization header.
func isPublic(pattern string) bool {
	return pattern == "GET /v1/calls/{call_id}/recording"
}

// authorize checks the Bearer token without ever echoing it.
func (s *Sandbox) authorize(r *http.Request) *apiError {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return newError(http.StatusUnauthorized, "", "Missing or malformed Authorization header: send 'Authorization: Bearer <API key>'")
	}
	if s.opts.APIKey != "" && token != s.opts.APIKey {
		return newError(http.StatusUnauthorized, "INVALID_API_KEY", "Invalid API key: check AGENTPHONE_API_KEY")
	}
	return nil
}

// notRouted answers 404 or 405 in the API's JSON shape.
func (s *Sandbox) notRouted(w http.ResponseWriter, r *http.Request) {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := s.mux.Handler(probe); p != "" {
			writeError(w, newError(http.StatusMethodNotAllowed, "", "Method Not Allowed"))
			return
		}
	}
	writeError(w, newError(http.StatusNotFound, "", "Not Found: "+r.URL.Path+" is not an AgentPhone API route"))
}

// jsonHandler is the common handler shape: a status and a body to encode, or an error.
// A nil body with status 204 writes no content.
type jsonHandler func(r *http.Request) (int, any, *apiError)

func (s *Sandbox) j(h jsonHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		status, body, e := h(r)
		if e != nil {
			if e.status >= 500 {
				s.log.Warn("sandbox handler failed", "route", r.Pattern, "err", e.msg)
			}
			writeError(w, e)
			return
		}
		if r.Context().Err() != nil {
			return // client went away during a long-poll
		}
		if status == http.StatusNoContent {
			w.WriteHeader(status)
			return
		}
		writeJSON(w, status, body)
	}
}

// ok wraps a 200 body.
func ok(body any) (int, any, *apiError) { return http.StatusOK, body, nil }

// fail wraps an error.
func fail(e *apiError) (int, any, *apiError) { return 0, nil, e }
