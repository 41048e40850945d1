package faultnet

import (
	"errors"
	"net"
	"syscall"
	"testing"
)

func TestRefuseHoldsPort(t *testing.T) {
	target, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	p, err := New(Config{Target: target.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	if err := p.SetRefuse(true); err != nil {
		t.Fatalf("SetRefuse(true): %v", err)
	}

	// Another server, such as a test's httptest server, must not get the port.
	if ln, err := net.Listen("tcp", p.Addr()); err == nil {
		ln.Close()
		t.Fatalf("net.Listen(%s) while refusing succeeded, want the port held", p.Addr())
	}
	_, err = net.Dial("tcp", p.Addr())
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial while refusing: got %v, want ECONNREFUSED", err)
	}

	if err := p.SetRefuse(false); err != nil {
		t.Fatalf("SetRefuse(false): %v", err)
	}
	conn, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatalf("dial after SetRefuse(false): %v", err)
	}
	conn.Close()
}
