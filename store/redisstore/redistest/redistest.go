// Package redistest starts a real redis-server on a free loopback port for tests. The
// server keeps nothing on disk and is stopped when the test (or TestMain) ends.
//
// redis-server must be installed (Debian: apt-get install -y redis-server; .ci/run does it).
package redistest

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config asks for a password and/or TLS.
type Config struct {
	// Password is required of clients (requirepass) when set.
	Password string
	// MaxMemoryPolicy sets maxmemory-policy (default: Redis's, noeviction).
	MaxMemoryPolicy string
	// TLS serves TLS only (no plain port), with a certificate for 127.0.0.1 signed by a
	// fresh CA written to CAFile.
	TLS bool
}

// Server is one redis-server process on 127.0.0.1:Port.
type Server struct {
	Port int
	// CAFile is the PEM file of the CA that signed the server's certificate (TLS only).
	CAFile string
	dir    string
	cfg    Config

	mu  sync.Mutex
	cmd *exec.Cmd
	log *os.File
}

// Start starts redis-server on a free loopback port in dir (a scratch directory) and waits
// until it answers PING.
func Start(dir string) (*Server, error) { return StartWith(dir, Config{}) }

// StartWith is Start with a password and/or TLS.
func StartWith(dir string, cfg Config) (*Server, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, errors.New("redistest: redis-server is not installed; install it with `apt-get install -y redis-server` (.ci/run does)")
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{Port: port, dir: dir, cfg: cfg}
	if cfg.TLS {
		if s.CAFile, err = writeCerts(dir); err != nil {
			return nil, err
		}
	}
	if err := s.Restart(); err != nil {
		return nil, err
	}
	return s, nil
}

// Addr is host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// URL is the redis:// (rediss:// with TLS) URL of the server, without the password.
func (s *Server) URL() string {
	if s.cfg.TLS {
		return "rediss://" + s.Addr() + "/0"
	}
	return "redis://" + s.Addr() + "/0"
}

// Restart starts the server again on the same port after Stop (with empty data: like a
// Redis that lost its memory; tests that need data kept must not stop it).
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("redistest: already running")
	}
	logf, err := os.OpenFile(filepath.Join(s.dir, "redis.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	args := []string{"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--daemonize", "no",
		"--protected-mode", "yes", "--loglevel", "warning"}
	if s.cfg.Password != "" {
		args = append(args, "--requirepass", s.cfg.Password)
	}
	if s.cfg.MaxMemoryPolicy != "" {
		args = append(args, "--maxmemory-policy", s.cfg.MaxMemoryPolicy)
	}
	if s.cfg.TLS {
		args[1] = "0"
		args = append(args, "--tls-port", strconv.Itoa(s.Port), "--tls-auth-clients", "no",
			"--tls-cert-file", filepath.Join(s.dir, "server.crt"), "--tls-key-file", filepath.Join(s.dir, "server.key"),
			"--tls-ca-cert-file", s.CAFile)
	}
	cmd := exec.Command("redis-server", args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return fmt.Errorf("redistest: start redis-server: %w", err)
	}
	s.cmd, s.log = cmd, logf
	deadline := time.Now().Add(10 * time.Second)
	for {
		if s.ping() == nil {
			return nil
		}
		if time.Now().After(deadline) {
			s.stopLocked()
			return fmt.Errorf("redistest: redis-server on %s did not answer within 10 s (log: %s)", s.Addr(), filepath.Join(s.dir, "redis.log"))
		}
		time.Sleep(20 * time.Millisecond) // waiting for a real process to listen
	}
}

// Stop kills the server (as a crash or an outage would) and waits for it to exit.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

func (s *Server) stopLocked() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	_ = s.log.Close()
	s.cmd, s.log = nil, nil
}

// ping sends a PING in RESP and waits for +PONG (or -NOAUTH: up, but wants a password).
func (s *Server) ping() error {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", s.Addr())
	if err != nil {
		return err
	}
	c := raw
	if s.cfg.TLS {
		pool := x509.NewCertPool()
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			raw.Close()
			return err
		}
		pool.AppendCertsFromPEM(pem)
		c = tls.Client(raw, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") && !strings.HasPrefix(line, "-NOAUTH") {
		return fmt.Errorf("answered %q", strings.TrimSpace(line))
	}
	return nil
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("redistest: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
