module github.com/longhaul-go/longhaul

go 1.26.0

require (
	github.com/coder/websocket v1.8.15
	github.com/sony/gobreaker/v2 v2.4.0
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
	golang.org/x/sync v0.25.0
	golang.org/x/sys v0.50.0
	golang.org/x/term v0.48.0
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
