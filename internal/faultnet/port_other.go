//go:build !linux

package faultnet

import "net"

// listenTCP listens on addr.
func listenTCP(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }

// portHold is empty outside Linux: the port is free while the proxy refuses
// connections, and another socket may take it.
type portHold struct{}

// holdPort does nothing outside Linux.
func holdPort(string) (*portHold, error) { return nil, nil }

// release does nothing outside Linux.
func (h *portHold) release() {}
