package callback_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	"github.com/longhaul-go/longhaul/callback"
	"github.com/longhaul-go/longhaul/lookup"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

func Example() {
	// The server: a job runtime with the stock lookup engine, and the callback
	// handler. Private callbacks are allowed because the client's receiver
	// listens on loopback in this example.
	inv, err := lookup.NewInventory(
		[]lookup.Product{{ID: "A-1", Name: "Cordless Drill"}},
		[]lookup.StockRow{{ProductID: "A-1", Name: "Cordless Drill", Location: "Warehouse A, Rotterdam", Quantity: 12}})
	if err != nil {
		log.Fatal(err)
	}
	rt := jobs.New(jobs.EngineRunner[lookup.Request, lookup.Result](&lookup.Engine{Source: inv}), jobs.Config{})
	handler := callback.NewHandler(rt, callback.HandlerConfig{AllowPrivateCallbacks: true})
	server := httptest.NewServer(handler)
	defer func() {
		server.Close()
		_ = rt.Shutdown(context.Background())
		_ = handler.Shutdown(context.Background())
	}()

	// The client: its receiver starts on a free loopback port on the first call.
	client, err := callback.NewClient[lookup.Request, lookup.Result](server.URL, callback.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := client.Do(ctx, lookup.Request{ProductIDs: []string{"A-1", "Z-9"}},
		transport.WithOnAccepted(func(jobID string) { fmt.Println("accepted a job of", len(jobID), "hex digits") }))
	if err != nil {
		log.Fatal(err)
	}
	for _, item := range res.Items {
		fmt.Printf("%s known=%t quantity=%d\n", item.ProductID, item.Known, item.Quantity)
	}
	// Output:
	// accepted a job of 32 hex digits
	// A-1 known=true quantity=12
	// Z-9 known=false quantity=0
}

func ExampleVerify() {
	// A receiver written without this package's Client checks each delivery
	// with the secret it sent in Longhaul-Callback-Secret.
	secret := callback.NewSecret()
	body := []byte(`{"id":"0123456789abcdef0123456789abcdef","state":"succeeded","result":{}}`)

	now := time.Now()
	signature, err := callback.Sign(secret, "msg_0123456789abcdef0123456789abcdef", now, body)
	if err != nil {
		log.Fatal(err)
	}
	header := http.Header{}
	header.Set(callback.HeaderWebhookID, "msg_0123456789abcdef0123456789abcdef")
	header.Set(callback.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
	header.Set(callback.HeaderWebhookSignature, signature)

	fmt.Println("genuine:", callback.Verify(secret, header, body, 0))
	fmt.Println("tampered:", callback.Verify(secret, header, []byte(`{"id":"x"}`), 0))
	// Output:
	// genuine: <nil>
	// tampered: callback: no matching webhook signature: checked the v1 signatures of webhook-id "msg_0123456789abcdef0123456789abcdef"
}
