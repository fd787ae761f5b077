package testdb

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// Proxy is a TCP proxy in front of a database server for fault tests. It
// forwards every connection until a test breaks it in one of the two ways a
// database host fails:
//
//   - Stall: the host hangs. Every connection stays open but no byte
//     passes in either direction, so only a deadline reveals it.
//   - Cut: the host goes away. The listener and every connection close,
//     so clients see resets and refused dials.
//
// Restore ends either, on the same address, so a client configured once
// finds the database again by itself.
type Proxy struct {
	target string

	mu      sync.Mutex
	resumed *sync.Cond // broadcast when stalled turns false or the proxy closes
	addr    string     // fixed by the first listen, kept across cuts
	ln      net.Listener
	gen     int // listen generation: a connection accepted before a cut dies with it
	conns   map[net.Conn]bool
	stalled bool
	closed  bool
}

// NewProxy starts a proxy on a free port of 127.0.0.1 forwarding to target
// (host:port). It is closed when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p := &Proxy{target: target, addr: "127.0.0.1:0", conns: map[net.Conn]bool{}}
	p.resumed = sync.NewCond(&p.mu)
	if err := p.listen(); err != nil {
		t.Fatalf("proxy for %s: %v", target, err)
	}
	t.Cleanup(p.Close)
	return p
}

// Addr is the address clients dial (host:port); it stays the same across
// Cut and Restore.
func (p *Proxy) Addr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addr
}

// Stall holds every byte in flight from now on, in both directions and on
// new connections too, keeping all connections open, until Restore.
func (p *Proxy) Stall() {
	p.mu.Lock()
	p.stalled = true
	p.mu.Unlock()
}

// Cut closes the listener and every connection: dials are refused and
// every open connection ends, until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutLocked()
}

// Restore ends a stall (held bytes flow on) and, after a Cut, listens
// again on the same address. It fails only if that address cannot be
// bound again.
func (p *Proxy) Restore() error {
	p.mu.Lock()
	p.stalled = false
	p.resumed.Broadcast()
	listening := p.ln != nil
	p.mu.Unlock()
	if listening {
		return nil
	}
	return p.listen()
}

// Close stops the proxy for good: it cuts everything and releases any
// stalled bytes so that no goroutine is left waiting. Restore after Close
// is an error.
func (p *Proxy) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.cutLocked()
	p.resumed.Broadcast()
}

func (p *Proxy) cutLocked() {
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}

// listen binds p.addr and serves it in a new generation.
func (p *Proxy) listen() error {
	p.mu.Lock()
	addr, closed := p.addr, p.closed
	p.mu.Unlock()
	if closed {
		return fmt.Errorf("proxy for %s is closed", p.target)
	}
	var (
		ln  net.Listener
		err error
	)
	for range 50 { // the port was ours a moment ago: retry a bind that races the close
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	p.mu.Lock()
	if p.closed || p.ln != nil { // closed or restored concurrently: keep one listener
		p.mu.Unlock()
		_ = ln.Close()
		return nil
	}
	p.ln, p.addr = ln, ln.Addr().String()
	p.gen++
	gen := p.gen
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c, gen)
		}
	}()
	return nil
}

// forward joins c to a new connection to the target until either side
// ends or a cut closes both.
func (p *Proxy) forward(c net.Conn, gen int) {
	u, err := net.DialTimeout("tcp", p.target, 2*time.Second)
	if err != nil {
		_ = c.Close()
		return
	}
	p.mu.Lock()
	if p.gen != gen || p.ln == nil { // cut while dialing
		p.mu.Unlock()
		_ = c.Close()
		_ = u.Close()
		return
	}
	p.conns[c], p.conns[u] = true, true
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(func() { p.copy(u, c) })
	p.copy(c, u)
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, u)
	p.mu.Unlock()
}

// copy moves bytes from src to dst, holding each chunk while the proxy is
// stalled, and closes both ends when either fails so the other direction
// ends too.
func (p *Proxy) copy(dst, src net.Conn) {
	defer func() { _ = dst.Close(); _ = src.Close() }()
	buf := make([]byte, 32*1024)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.stalled && !p.closed {
				p.resumed.Wait()
			}
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
