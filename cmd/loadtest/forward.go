package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The baseline: a plain UDP forwarder, one socket and one goroutine per
// call (ReadFrom, WriteTo to the other side), in its own process, carrying
// the same packet rate as the calls through the daemon. Its CPU per call
// is what the relay is compared with.

// runForwarder is the child: it reads "A B" address pairs from stdin, one
// per call, until an empty line; answers each with its socket's address;
// then forwards until stdin closes.
func runForwarder() error {
	in := bufio.NewScanner(os.Stdin)
	var conns []*net.UDPConn
	var wg sync.WaitGroup
	for in.Scan() {
		line := strings.TrimSpace(in.Text())
		if line == "" {
			break
		}
		as, bs, _ := strings.Cut(line, " ")
		a, err := netip.ParseAddrPort(as)
		if err != nil {
			return err
		}
		b, err := netip.ParseAddrPort(bs)
		if err != nil {
			return err
		}
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return err
		}
		conns = append(conns, c)
		fmt.Println(c.LocalAddr().String())
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1500)
			for {
				n, from, err := c.ReadFromUDPAddrPort(buf)
				if err != nil {
					return
				}
				to := a
				if from == a {
					to = b
				}
				_, _ = c.WriteToUDPAddrPort(buf[:n], to)
			}
		}()
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()
	return nil
}

type baselineResult struct {
	cpu       time.Duration // the forwarder's
	wall      time.Duration
	sent      int64
	recv      int64
	others    cpuShare
	lossShare float64
}

// runBaseline drives n calls' worth of packets (50 a second each way)
// through a forwarder child for window.
func runBaseline(ctx context.Context, n int, window time.Duration, payload []byte) (baselineResult, error) {
	self, err := os.Executable()
	if err != nil {
		return baselineResult{}, err
	}
	cmd := exec.CommandContext(ctx, self, "-forwarder")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return baselineResult{}, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return baselineResult{}, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return baselineResult{}, err
	}
	defer func() {
		stdin.Close()
		_ = cmd.Wait()
	}()
	type pair struct {
		a, b *net.UDPConn
		to   netip.AddrPort
	}
	pairs := make([]pair, n)
	var recv atomic.Int64
	var wg sync.WaitGroup
	defer wg.Wait()
	defer func() {
		for _, p := range pairs {
			if p.a != nil {
				p.a.Close()
			}
			if p.b != nil {
				p.b.Close()
			}
		}
	}()
	out := bufio.NewScanner(stdout)
	for i := range pairs {
		for _, c := range []**net.UDPConn{&pairs[i].a, &pairs[i].b} {
			if *c, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
				return baselineResult{}, err
			}
			_ = (*c).SetReadBuffer(1 << 20)
			conn := *c
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 1500)
				for {
					if _, _, err := conn.ReadFromUDPAddrPort(buf); err != nil {
						return
					}
					recv.Add(1)
				}
			}()
		}
		if _, err := fmt.Fprintf(stdin, "%s %s\n", pairs[i].a.LocalAddr(), pairs[i].b.LocalAddr()); err != nil {
			return baselineResult{}, err
		}
		if !out.Scan() {
			return baselineResult{}, errors.New("forwarder: no address")
		}
		if pairs[i].to, err = netip.ParseAddrPort(out.Text()); err != nil {
			return baselineResult{}, err
		}
	}
	if _, err := fmt.Fprintln(stdin); err != nil {
		return baselineResult{}, err
	}
	var sent int64
	send := func() {
		for _, p := range pairs {
			if _, err := p.a.WriteToUDPAddrPort(payload, p.to); err == nil {
				sent++
			}
			if _, err := p.b.WriteToUDPAddrPort(payload, p.to); err == nil {
				sent++
			}
		}
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for range 50 { // one second of warm-up
		<-tick.C
		send()
	}
	meter, err := startCPU(cmd.Process.Pid)
	if err != nil {
		return baselineResult{}, err
	}
	sent0, recv0 := sent, recv.Load()
	end := time.Now().Add(window)
	for time.Now().Before(end) {
		select {
		case <-ctx.Done():
			return baselineResult{}, ctx.Err()
		case <-tick.C:
		}
		send()
	}
	share, err := meter.stop()
	if err != nil {
		return baselineResult{}, err
	}
	sentW := sent - sent0
	time.Sleep(200 * time.Millisecond) // let the last packets arrive before counting
	recvW := recv.Load() - recv0
	return baselineResult{
		cpu: time.Duration(share.Daemon / 100 * float64(share.Wall)), wall: share.Wall,
		sent: sentW, recv: recvW, others: share,
	}, nil
}
