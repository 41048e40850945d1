package websocket

import "testing"

func TestSocketURL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		base, socket, target string
	}{
		{"http://127.0.0.1:8080", "ws://127.0.0.1:8080/ws", "http://127.0.0.1:8080"},
		{"http://127.0.0.1:8080/", "ws://127.0.0.1:8080/ws", "http://127.0.0.1:8080"},
		{"http://127.0.0.1:8080/api", "ws://127.0.0.1:8080/api/ws", "http://127.0.0.1:8080"},
		{"http://127.0.0.1:8080/api/", "ws://127.0.0.1:8080/api/ws", "http://127.0.0.1:8080"},
		{"https://example.test/a/b", "wss://example.test/a/b/ws", "https://example.test"},
		{"ws://[::1]:9000/x", "ws://[::1]:9000/x/ws", "http://[::1]:9000"},
		{"wss://example.test", "wss://example.test/ws", "https://example.test"},
		{"http://example.test/stock%2Fapi", "ws://example.test/stock%2Fapi/ws", "http://example.test"},
	}
	for _, tc := range cases {
		socket, target, err := socketURL(tc.base)
		if err != nil {
			t.Errorf("socketURL(%q) failed: %v", tc.base, err)
			continue
		}
		if socket != tc.socket {
			t.Errorf("socketURL(%q) socket = %q, want %q", tc.base, socket, tc.socket)
		}
		if target != tc.target {
			t.Errorf("socketURL(%q) target = %q, want %q", tc.base, target, tc.target)
		}
	}
}
