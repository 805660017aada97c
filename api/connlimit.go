package api

import (
	"net"
	"sync"
)

// Connection caps: how many connections one address (an IPv4 address or
// an IPv6 /64) may hold open, and all of them together. A browser needs a
// handful (HTTP/1.1 opens up to six, plus the WebSocket); the total is
// far above any hotline's team.
const (
	maxConnsPerAddr = 64
	maxConns        = 4096
)

// capListener closes connections past the caps as soon as they are
// accepted, so a flood from a few addresses cannot take every slot, and a
// full server refuses quickly instead of queueing.
type capListener struct {
	net.Listener
	perAddr, total int

	mu     sync.Mutex
	open   int
	byAddr map[string]int
}

func limitConns(ln net.Listener, perAddr, total int) net.Listener {
	return &capListener{Listener: ln, perAddr: perAddr, total: total, byAddr: map[string]int{}}
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := addrKey(c.RemoteAddr().String())
		l.mu.Lock()
		ok := l.open < l.total && l.byAddr[key] < l.perAddr
		if ok {
			l.open++
			l.byAddr[key]++
		}
		l.mu.Unlock()
		if !ok {
			c.Close()
			continue
		}
		return &cappedConn{Conn: c, release: func() { l.release(key) }}, nil
	}
}

func (l *capListener) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byAddr[key]--; l.byAddr[key] <= 0 {
		delete(l.byAddr, key)
	}
}

type cappedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *cappedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
