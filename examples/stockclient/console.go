package main

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/longhaul-go/longhaul/transport"
)

// barWidth is the width of the progress bar in characters, without its labels.
const barWidth = 30

// eraseLine moves the cursor to the start of the line and clears the line.
const eraseLine = "\r\x1b[K"

// console writes log lines to stderr and, on a terminal, keeps a progress bar
// on the last line: each log line erases the bar, prints itself and draws the
// bar again below it. It is safe for concurrent use, because the client logs
// and reports progress from its own goroutines.
type console struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	bar      string // the bar as drawn, "" when none is on screen
}

func newConsole(w io.Writer, terminal bool) *console {
	return &console{w: w, terminal: terminal}
}

// drawsBar reports whether the console draws a progress bar.
func (c *console) drawsBar() bool { return c.terminal }

// Write writes p, a log line, above the progress bar.
func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()

	if c.bar != "" {
		_, _ = io.WriteString(c.w, eraseLine)
	}
	n, err := c.w.Write(p)
	if c.bar != "" {
		_, _ = io.WriteString(c.w, c.bar)
	}
	return n, err
}

// progress draws the bar for p. It does nothing when stderr is not a terminal.
func (c *console) progress(p transport.Progress) {
	if !c.terminal {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()

	c.bar = renderBar(p)
	_, _ = io.WriteString(c.w, eraseLine+c.bar)
}

// clearBar erases the bar, so that the output that follows starts on a clean line.
func (c *console) clearBar() {
	c.mu.Lock()
	defer c.mu.Unlock()

	if c.bar != "" {
		_, _ = io.WriteString(c.w, eraseLine)
		c.bar = ""
	}
}

// renderBar returns the bar for p, such as
// "[##################------------]  3/5 IDs   60%".
func renderBar(p transport.Progress) string {
	if p.Total <= 0 {
		return "[" + strings.Repeat("-", barWidth) + "]  waiting for the server"
	}

	done := min(max(p.Done, 0), p.Total)
	filled := done * barWidth / p.Total
	return fmt.Sprintf("[%s%s]  %d/%d IDs  %3d%%",
		strings.Repeat("#", filled), strings.Repeat("-", barWidth-filled),
		done, p.Total, done*100/p.Total)
}
