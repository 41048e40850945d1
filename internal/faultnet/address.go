package faultnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"
)

// ErrNotLoopback means an address given to New, or an address that a name
// resolved to when dialing, is not a loopback address. The proxy only listens
// on and forwards to the local machine.
var ErrNotLoopback = errors.New("faultnet: address is not a loopback address")

// validateAddress checks that addr is a host:port whose host is a loopback IP
// literal or "localhost". A zero port is accepted only when allowZeroPort is
// true, because a listener can pick a free port but a target cannot.
func validateAddress(field, addr string, allowZeroPort bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("faultnet: invalid %s %q: %w", field, addr, err)
	}

	number, err := strconv.ParseUint(port, 10, 16)
	if err != nil || (number == 0 && !allowZeroPort) {
		return fmt.Errorf("faultnet: invalid %s %q: port must be a number from 1 to 65535", field, addr)
	}

	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return fmt.Errorf("faultnet: invalid %s %q: %w: use 127.0.0.1, ::1 or localhost", field, addr, ErrNotLoopback)
	}
	return nil
}

// requireLoopbackDial is a net.Dialer Control function. It runs after name
// resolution, so a "localhost" that resolves to another host is still rejected.
func requireLoopbackDial(_, address string, _ syscall.RawConn) error {
	addrPort, err := netip.ParseAddrPort(address)
	if err != nil || !addrPort.Addr().Unmap().IsLoopback() {
		return fmt.Errorf("faultnet: dial %s: %w", address, ErrNotLoopback)
	}
	return nil
}

// requireLoopbackListener returns an error wrapping ErrNotLoopback unless ln
// listens on a loopback address.
func requireLoopbackListener(ln net.Listener) error {
	tcpAddr, ok := ln.Addr().(*net.TCPAddr)
	if !ok || !tcpAddr.IP.IsLoopback() {
		return fmt.Errorf("faultnet: listen on %s: %w", ln.Addr(), ErrNotLoopback)
	}
	return nil
}
