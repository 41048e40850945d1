package callback

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
)

// ErrForbiddenAddress means a callback URL resolved to an address that the
// server does not deliver to, such as a loopback, private or link-local one.
var ErrForbiddenAddress = errors.New("callback: callback address is not allowed")

// AddressError reports a delivery that was refused before it was sent,
// because its URL resolved to a forbidden address. It matches
// ErrForbiddenAddress with errors.Is.
type AddressError struct {
	Addr   netip.Addr // the address the host name resolved to
	Reason string     // the kind of address, such as "loopback" or "private (RFC 1918)"
}

func (e *AddressError) Error() string {
	return fmt.Sprintf("callback: refused to connect to %s: %s address; set HandlerConfig.AllowPrivateCallbacks to deliver to it", e.Addr, e.Reason)
}

// Is reports whether target is ErrForbiddenAddress.
func (e *AddressError) Is(target error) bool { return target == ErrForbiddenAddress }

// blockedRange is a range of addresses that callbacks must not reach.
type blockedRange struct {
	prefix netip.Prefix
	reason string
}

// blockedIPv4 lists the IPv4 ranges of the IANA IPv4 Special-Purpose Address
// Registry that are not globally reachable, plus multicast and the reserved
// class E block. Order matters only for the reason reported.
var blockedIPv4 = []blockedRange{
	{netip.MustParsePrefix("0.0.0.0/8"), `"this network" (0.0.0.0/8, unspecified)`},
	{netip.MustParsePrefix("10.0.0.0/8"), "private (RFC 1918)"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT (RFC 6598)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local (including cloud metadata endpoints)"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private (RFC 1918)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignment (reserved)"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation (TEST-NET-1)"},
	{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay anycast (reserved)"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private (RFC 1918)"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking (reserved)"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation (TEST-NET-2)"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation (TEST-NET-3)"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved (240.0.0.0/4)"},
}

// blockedIPv6 lists IPv6 ranges inside 2000::/3 that are not globally
// reachable or that hide another address. Every IPv6 address outside
// 2000::/3 is refused as well, except the forms that embed an IPv4 address,
// which are judged by that address.
var blockedIPv6 = []blockedRange{
	{netip.MustParsePrefix("2001:db8::/32"), "documentation (2001:db8::/32)"},
	{netip.MustParsePrefix("2001::/23"), "IETF protocol assignment, including Teredo (reserved)"},
	{netip.MustParsePrefix("2002::/16"), "6to4 (deprecated, embeds an IPv4 address)"},
	{netip.MustParsePrefix("3fff::/20"), "documentation (3fff::/20)"},
}

// namedIPv6 names the common IPv6 ranges outside 2000::/3 for the error message.
var namedIPv6 = []blockedRange{
	{netip.MustParsePrefix("100::/64"), "discard-only (reserved)"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64 (RFC 8215)"},
	{netip.MustParsePrefix("fc00::/7"), "unique local (private, fc00::/7)"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "site-local (deprecated)"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

var (
	globalUnicastIPv6 = netip.MustParsePrefix("2000::/3")
	ipv4Compatible    = netip.MustParsePrefix("::/96")
	nat64WellKnown    = netip.MustParsePrefix("64:ff9b::/96")
)

// CheckAddress returns nil when a delivery may connect to addr, and an
// *AddressError otherwise. It refuses loopback, private (RFC 1918 and
// fc00::/7), link-local (169.254.0.0/16, which holds the cloud metadata
// address 169.254.169.254, and fe80::/10), carrier-grade NAT (100.64.0.0/10),
// multicast, unspecified, broadcast, documentation, benchmarking and other
// reserved ranges, and IPv6 outside 2000::/3. IPv4-mapped (::ffff:a.b.c.d),
// IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) addresses are
// judged by the IPv4 address they contain. An IPv6 zone is ignored.
func CheckAddress(addr netip.Addr) error {
	if reason := blockedReason(addr); reason != "" {
		return &AddressError{Addr: addr, Reason: reason}
	}
	return nil
}

// blockedReason returns why addr is refused, or "" when it is allowed.
func blockedReason(addr netip.Addr) string {
	if !addr.IsValid() {
		return "invalid"
	}
	// netip.Prefix.Contains never matches an address with a zone.
	addr = addr.WithZone("")

	if addr.Is4() {
		return findRange(blockedIPv4, addr)
	}
	if embedded, ok := embeddedIPv4(addr); ok {
		if reason := blockedReason(embedded); reason != "" {
			return reason + " in IPv6 form"
		}
		return ""
	}

	switch {
	case addr == netip.IPv6Unspecified():
		return "unspecified"
	case addr == netip.IPv6Loopback():
		return "loopback"
	case !globalUnicastIPv6.Contains(addr):
		if reason := findRange(namedIPv6, addr); reason != "" {
			return reason
		}
		return "reserved IPv6 (outside the global unicast range 2000::/3)"
	}
	return findRange(blockedIPv6, addr)
}

// embeddedIPv4 returns the IPv4 address inside an IPv4-mapped,
// IPv4-compatible or well-known NAT64 IPv6 address. The IPv4-compatible
// range ::/96 also holds :: and ::1, which are left to their own names.
func embeddedIPv4(addr netip.Addr) (netip.Addr, bool) {
	switch {
	case addr.Is4In6():
		return addr.Unmap(), true
	case addr == netip.IPv6Unspecified(), addr == netip.IPv6Loopback():
		return netip.Addr{}, false
	case ipv4Compatible.Contains(addr), nat64WellKnown.Contains(addr):
		b := addr.As16()
		return netip.AddrFrom4([4]byte(b[12:16])), true
	}
	return netip.Addr{}, false
}

func findRange(ranges []blockedRange, addr netip.Addr) string {
	for _, r := range ranges {
		if r.prefix.Contains(addr) {
			return r.reason
		}
	}
	return ""
}

// DialControl is a net.Dialer Control function that refuses connections to
// the addresses CheckAddress refuses. The dialer calls it after DNS
// resolution with the actual address of each connection attempt, so a host
// name that resolves to a private address is caught too. Use it in the
// transport of your own HandlerConfig.HTTPClient:
//
//	dialer := &net.Dialer{Control: callback.DialControl}
//	transport := &http.Transport{DialContext: dialer.DialContext} // and no Proxy
//
// A proxy defeats the check, because the dialer then connects to the proxy,
// not to the callback's host.
func DialControl(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse dial address %q on %s: %v", ErrForbiddenAddress, address, network, err)
	}
	return CheckAddress(ap.Addr())
}
