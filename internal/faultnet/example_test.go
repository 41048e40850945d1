package faultnet_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"time"

	"github.com/longhaul-go/longhaul/internal/faultnet"
)

// fetch returns the body of a GET on url, or the error that ended it.
func fetch(client *http.Client, url string) (string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

// A proxy between an HTTP client and server rejects connections, then
// forwards again on the same address.
func Example() {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "42 in stock")
	}))
	defer server.Close()

	proxy, err := faultnet.New(faultnet.Config{Target: server.Listener.Addr().String()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer proxy.Close()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

	body, err := fetch(client, proxy.URL())
	fmt.Println("before:", body, err)

	if err := proxy.SetRefuse(true); err != nil {
		fmt.Println(err)
		return
	}
	_, err = fetch(client, proxy.URL())
	fmt.Println("refused:", errors.Is(err, syscall.ECONNREFUSED))

	if err := proxy.SetRefuse(false); err != nil {
		fmt.Println(err)
		return
	}
	body, err = fetch(client, proxy.URL())
	fmt.Println("after:", body, err)

	// Output:
	// before: 42 in stock <nil>
	// refused: true
	// after: 42 in stock <nil>
}

// CutAfter cuts a response in the middle of its body. The client gets the
// status line and part of the body, then a reset.
func ExampleProxy_CutAfter() {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "100000")
		fmt.Fprint(w, strings.Repeat("x", 100_000))
	}))
	defer server.Close()

	proxy, err := faultnet.New(faultnet.Config{Target: server.Listener.Addr().String()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer proxy.Close()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

	proxy.CutAfter(10_000)
	body, err := fetch(client, proxy.URL())

	fmt.Println("status and part of the body arrived:", len(body) > 0 && len(body) < 100_000)
	fmt.Println("reset:", errors.Is(err, syscall.ECONNRESET))
	fmt.Println("cuts:", proxy.Stats().Cut)

	// Output:
	// status and part of the body arrived: true
	// reset: true
	// cuts: 1
}

// The black hole stalls a request until the client's own timeout ends it,
// which is the failure that a dropped network path causes.
func ExampleProxy_SetBlackhole() {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "ok")
	}))
	defer server.Close()

	proxy, err := faultnet.New(faultnet.Config{Target: server.Listener.Addr().String()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer proxy.Close()
	client := &http.Client{
		Transport: &http.Transport{DisableKeepAlives: true},
		Timeout:   100 * time.Millisecond,
	}

	proxy.SetBlackhole(true)
	_, err = fetch(client, proxy.URL())
	var timeout interface{ Timeout() bool }
	fmt.Println("timed out:", errors.As(err, &timeout) && timeout.Timeout())

	proxy.SetBlackhole(false)
	body, err := fetch(client, proxy.URL())
	fmt.Println("new connection:", body, err)

	// Output:
	// timed out: true
	// new connection: ok <nil>
}
