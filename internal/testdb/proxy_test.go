package testdb

import (
	"bufio"
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// echoServer answers every line it reads with the same line.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := c.Write([]byte(line)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// roundTrip sends line on c and returns the echo, or the error by the
// deadline.
func roundTrip(c net.Conn, r *bufio.Reader, line string, within time.Duration) (string, error) {
	_ = c.SetDeadline(time.Now().Add(within))
	defer func() { _ = c.SetDeadline(time.Time{}) }()
	if _, err := c.Write([]byte(line + "\n")); err != nil {
		return "", err
	}
	got, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return got[:len(got)-1], nil
}

func dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, bufio.NewReader(c)
}

// TestProxyStallCutRestore: the proxy forwards; a stall holds bytes on an
// open connection and lets them through on Restore; a cut ends open
// connections and refuses dials; Restore listens again on the same address.
func TestProxyStallCutRestore(t *testing.T) {
	p := NewProxy(t, echoServer(t))
	addr := p.Addr()
	c, r := dial(t, addr)
	if got, err := roundTrip(c, r, "one", time.Second); err != nil || got != "one" {
		t.Fatalf("forwarding: %q, %v", got, err)
	}

	p.Stall()
	_, err := roundTrip(c, r, "two", 200*time.Millisecond)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a stalled proxy answered: %v", err)
	}
	stalledDial, stalledReader := dial(t, addr)
	if _, err := roundTrip(stalledDial, stalledReader, "new", 200*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a connection opened during the stall was answered: %v", err)
	}
	if err := p.Restore(); err != nil {
		t.Fatal(err)
	}
	// The held "two" arrives first, then the next exchange goes through.
	if got, err := roundTrip(c, r, "three", time.Second); err != nil || got != "two" {
		t.Fatalf("after the stall: %q, %v", got, err)
	}
	if got, err := r.ReadString('\n'); err != nil || got != "three\n" {
		t.Fatalf("after the stall: %q, %v", got, err)
	}

	p.Cut()
	if _, err := roundTrip(c, r, "four", time.Second); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a connection survived the cut: %v", err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		_ = c.Close()
		t.Fatal("a cut proxy accepted a connection")
	}

	if err := p.Restore(); err != nil {
		t.Fatal(err)
	}
	if p.Addr() != addr {
		t.Fatalf("restored on %s, not %s", p.Addr(), addr)
	}
	c, r = dial(t, addr)
	if got, err := roundTrip(c, r, "five", time.Second); err != nil || got != "five" {
		t.Fatalf("after the restore: %q, %v", got, err)
	}
}
