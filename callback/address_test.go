package callback

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests only classify addresses; nothing connects to them.
func TestCheckAddress(t *testing.T) {
	tests := []struct {
		addr    string
		allowed bool
		reason  string // a part of the reason, for refused addresses
	}{
		{"8.8.8.8", true, ""},
		{"1.1.1.1", true, ""},
		{"93.184.215.14", true, ""},
		{"2606:4700:4700::1111", true, ""},
		{"2a00:1450:4001:80e::200e", true, ""},
		{"::ffff:8.8.8.8", true, ""},
		{"64:ff9b::808:808", true, ""},

		{"127.0.0.1", false, "loopback"},
		{"127.255.255.254", false, "loopback"},
		{"10.1.2.3", false, "private"},
		{"172.16.0.1", false, "private"},
		{"172.31.255.255", false, "private"},
		{"192.168.1.1", false, "private"},
		{"169.254.169.254", false, "link-local"},
		{"169.254.0.1", false, "link-local"},
		{"100.64.0.1", false, "carrier-grade NAT"},
		{"100.127.255.255", false, "carrier-grade NAT"},
		{"0.0.0.0", false, "unspecified"},
		{"0.1.2.3", false, "this network"},
		{"224.0.0.1", false, "multicast"},
		{"239.255.255.250", false, "multicast"},
		{"255.255.255.255", false, "broadcast"},
		{"240.0.0.1", false, "reserved"},
		{"192.0.0.8", false, "IETF"},
		{"192.0.2.1", false, "documentation"},
		{"198.18.0.1", false, "benchmarking"},
		{"198.51.100.7", false, "documentation"},
		{"203.0.113.9", false, "documentation"},

		{"::", false, "unspecified"},
		{"::1", false, "loopback"},
		{"fc00::1", false, "unique local"},
		{"fd12:3456:789a::1", false, "unique local"},
		{"fe80::1", false, "link-local"},
		{"fe80::1%eth0", false, "link-local"},
		{"fec0::1", false, "site-local"},
		{"ff02::1", false, "multicast"},
		{"100::1", false, "discard-only"},
		{"2001:db8::1", false, "documentation"},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", false, "Teredo"},
		{"2002:7f00:1::1", false, "6to4"},
		{"3fff::1", false, "documentation"},
		{"64:ff9b:1::1", false, "NAT64"},
		{"4000::1", false, "outside the global unicast range"},

		{"::ffff:127.0.0.1", false, "loopback in IPv6 form"},
		{"::ffff:169.254.169.254", false, "link-local"},
		{"::ffff:10.0.0.1", false, "private"},
		{"::ffff:100.64.0.1", false, "carrier-grade NAT"},
		{"::127.0.0.1", false, "loopback in IPv6 form"},
		{"::169.254.169.254", false, "link-local"},
		{"64:ff9b::7f00:1", false, "loopback in IPv6 form"},
		{"64:ff9b::a9fe:a9fe", false, "link-local"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			addr := netip.MustParseAddr(tt.addr)
			err := CheckAddress(addr)
			if tt.allowed {
				assert.NoError(t, err)
				return
			}

			require.Error(t, err)
			assert.ErrorIs(t, err, ErrForbiddenAddress)
			var addrErr *AddressError
			require.True(t, errors.As(err, &addrErr), "error type %T", err)
			assert.Contains(t, addrErr.Reason, tt.reason)
			assert.Contains(t, err.Error(), addr.String(), "the error names the address")
		})
	}
}

func TestCheckAddressInvalid(t *testing.T) {
	assert.ErrorIs(t, CheckAddress(netip.Addr{}), ErrForbiddenAddress)
}

func TestDialControl(t *testing.T) {
	tests := []struct {
		address string
		allowed bool
	}{
		{"8.8.8.8:443", true},
		{"[2606:4700:4700::1111]:443", true},
		{"127.0.0.1:80", false},
		{"[::1]:80", false},
		{"[fe80::1%eth0]:80", false},
		{"[::ffff:169.254.169.254]:80", false},
		{"not an address", false},
	}
	for _, tt := range tests {
		err := DialControl("tcp", tt.address, nil)
		if tt.allowed {
			assert.NoError(t, err, tt.address)
		} else {
			assert.ErrorIs(t, err, ErrForbiddenAddress, tt.address)
		}
	}
}
