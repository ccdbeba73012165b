package sandbox

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
)

// Transport returns an http.RoundTripper that serves requests with the sandbox handler inside
// the process: nothing touches the network. Responses stream through a pipe, so SSE streams
// and long-polls work, and cancelling the request context (or closing the body) cancels the
// handler.
func (s *Sandbox) Transport() http.RoundTripper { return &pipeTransport{h: s} }

type pipeTransport struct{ h http.Handler }

// RoundTrip implements http.RoundTripper.
func (t *pipeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil {
		return nil, fmt.Errorf("sandbox transport: request has no URL")
	}
	ctx, cancel := context.WithCancel(req.Context())
	sreq := req.Clone(ctx)
	sreq.RequestURI = req.URL.RequestURI()
	sreq.RemoteAddr = "127.0.0.1:0"
	if sreq.Host == "" {
		sreq.Host = req.URL.Host
	}
	if sreq.Body == nil {
		sreq.Body = http.NoBody
	}
	if sreq.Proto == "" {
		sreq.Proto, sreq.ProtoMajor, sreq.ProtoMinor = "HTTP/1.1", 1, 1
	}

	pr, pw := io.Pipe()
	rw := &pipeWriter{header: http.Header{}, pw: pw, ready: make(chan struct{})}
	go func() {
		defer cancel()
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler { //nolint:errorlint // the sentinel is panicked as is
					// The handler dropped the connection: the client sees a reset.
					rw.abort(errConnReset)
					_ = pw.CloseWithError(errConnReset)
				} else {
					if !rw.wrote {
						rw.WriteHeader(http.StatusInternalServerError)
					}
					_ = pw.CloseWithError(fmt.Errorf("sandbox handler panicked: %v", p))
				}
			}
			if req.Body != nil {
				_ = req.Body.Close()
			}
		}()
		t.h.ServeHTTP(rw, sreq)
		rw.WriteHeader(http.StatusOK) // no-op if already written
		if err := req.Context().Err(); err != nil {
			_ = pw.CloseWithError(err) // a cancelled stream ends with an error, not a clean EOF
			return
		}
		_ = pw.Close()
	}()

	select {
	case <-rw.ready:
	case <-ctx.Done():
	}
	if err := req.Context().Err(); err != nil {
		_ = pr.CloseWithError(err)
		cancel()
		return nil, fmt.Errorf("sandbox transport %s %s: %w", req.Method, req.URL.Path, err)
	}
	if rw.aborted != nil {
		cancel()
		return nil, rw.aborted
	}
	var body io.ReadCloser = &pipeBody{pr: pr, cancel: cancel}
	if req.Method == http.MethodHead {
		body = http.NoBody
		_ = pr.Close()
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", rw.status, http.StatusText(rw.status)),
		StatusCode:    rw.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rw.sent,
		Body:          body,
		ContentLength: -1,
		Request:       req,
	}, nil
}

// pipeWriter is the handler's ResponseWriter: the header is published on the first write and
// the body goes through the pipe.
type pipeWriter struct {
	mu     sync.Mutex
	header http.Header
	sent   http.Header
	status int
	wrote  bool
	pw     *io.PipeWriter
	ready  chan struct{}
	// aborted is set when the handler dropped the connection before answering.
	aborted error
}

// errConnReset is what a client sees when the sandbox drops a connection (Fault.Reset).
var errConnReset = &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}

// abort publishes a dropped connection, if no answer was started.
func (w *pipeWriter) abort(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.wrote {
		return
	}
	w.wrote = true
	w.aborted = err
	close(w.ready)
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.wrote {
		return
	}
	w.wrote = true
	w.status = code
	w.sent = w.header.Clone()
	close(w.ready)
}

func (w *pipeWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.pw.Write(b)
}

// Flush is a no-op: every Write already blocks until the client has read it.
func (w *pipeWriter) Flush() {}

// pipeBody cancels the handler when the client closes the body.
type pipeBody struct {
	pr     *io.PipeReader
	cancel context.CancelFunc
	once   sync.Once
}

func (b *pipeBody) Read(p []byte) (int, error) { return b.pr.Read(p) }

func (b *pipeBody) Close() error {
	b.once.Do(func() {
		_ = b.pr.Close()
		b.cancel()
	})
	return nil
}
