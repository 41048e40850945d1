package faultnet

import (
	"context"
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// listenTCP listens on addr with SO_REUSEPORT set, so that holdPort can keep the
// port while the listener is closed.
func listenTCP(addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var sockErr error
		err := c.Control(func(fd uintptr) {
			sockErr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		})
		if err != nil {
			return err
		}
		return sockErr
	}}
	return lc.Listen(context.Background(), "tcp", addr)
}

// portHold is a TCP socket bound to a port without listening on it. While it
// exists, the kernel resets connections to the port, so dials fail with
// ECONNREFUSED, and no socket without SO_REUSEPORT can bind the port. Without
// it, another test's server could get the proxy's port while the proxy
// refuses connections, and clients of the proxy would reach that server.
type portHold struct{ fd int }

// holdPort binds a socket to addr, which the proxy's listener holds, without
// listening. Both sockets have SO_REUSEPORT, which lets them share the port.
func holdPort(addr string) (*portHold, error) {
	tcpAddr, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, err
	}

	family, sockaddr := syscall.AF_INET, syscall.Sockaddr(nil)
	if ip4 := tcpAddr.IP.To4(); ip4 != nil {
		sa := &syscall.SockaddrInet4{Port: tcpAddr.Port}
		copy(sa.Addr[:], ip4)
		sockaddr = sa
	} else {
		family = syscall.AF_INET6
		sa := &syscall.SockaddrInet6{Port: tcpAddr.Port}
		copy(sa.Addr[:], tcpAddr.IP.To16())
		sockaddr = sa
	}

	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("faultnet: failed to open a socket to hold %s: %w", addr, err)
	}
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("faultnet: failed to set SO_REUSEPORT to hold %s: %w", addr, err)
	}
	if err := syscall.Bind(fd, sockaddr); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("faultnet: failed to bind a socket to hold %s: %w", addr, err)
	}
	return &portHold{fd: fd}, nil
}

// release closes the socket that holds the port. It is safe on a nil hold.
func (h *portHold) release() {
	if h != nil {
		_ = syscall.Close(h.fd)
	}
}
