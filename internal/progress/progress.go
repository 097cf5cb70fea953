// Package progress draws one-line terminal progress bars for downloads.
//
// It is small on purpose: one bar at a time, redrawn in place with a carriage
// return, throttled so that a fast local copy does not flood the terminal.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// redrawEvery bounds the redraw rate; humans cannot read faster and slow
// terminals (ssh, CI logs) would otherwise become the bottleneck.
const redrawEvery = 100 * time.Millisecond

// Bar is a progress bar for one file. It is safe for concurrent use.
type Bar struct {
	mu       sync.Mutex
	w        io.Writer
	name     string
	total    int64 // <= 0 when unknown
	done     int64
	resumed  int64 // bytes already on disk when the bar started
	began    time.Time
	lastDraw time.Time
	width    int
	finished bool
	now      func() time.Time
}

// New starts a bar for name on w. total is the full size (<= 0 if unknown)
// and already is how much of it was on disk before this run, so that a
// resumed download shows the true fraction but a speed that counts only the
// bytes moved now.
func New(w io.Writer, name string, total, already int64) *Bar {
	b := &Bar{w: w, name: name, total: total, done: already, resumed: already, width: termWidth(w), now: time.Now}
	b.began = b.now()
	b.draw(true)
	return b
}

// Write counts len(p) bytes, so a Bar can sit in an io.MultiWriter or
// io.TeeReader beside the real destination.
func (b *Bar) Write(p []byte) (int, error) {
	b.Add(int64(len(p)))
	return len(p), nil
}

// Add counts n more bytes.
func (b *Bar) Add(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	b.done += n
	b.draw(false)
}

// Finish draws the final state and ends the line. Later calls do nothing.
func (b *Bar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	b.draw(true)
	b.finished = true
	fmt.Fprint(b.w, "\n")
}

// draw must be called with mu held.
func (b *Bar) draw(force bool) {
	now := b.now()
	if !force && now.Sub(b.lastDraw) < redrawEvery {
		return
	}
	b.lastDraw = now
	fmt.Fprint(b.w, "\r"+b.line(now))
}

func (b *Bar) line(now time.Time) string {
	elapsed := now.Sub(b.began).Seconds()
	var speed float64
	if elapsed > 0 {
		speed = float64(b.done-b.resumed) / elapsed
	}
	var stats string
	if b.total > 0 {
		eta := "--"
		if speed > 0 && b.done <= b.total {
			eta = (time.Duration(float64(b.total-b.done)/speed) * time.Second).Round(time.Second).String()
		}
		stats = fmt.Sprintf(" %s/%s  %s/s  %s left", FormatBytes(b.done), FormatBytes(b.total), FormatBytes(int64(speed)), eta)
	} else {
		stats = fmt.Sprintf(" %s  %s/s", FormatBytes(b.done), FormatBytes(int64(speed)))
	}

	name := b.name
	const nameMax = 32
	if len(name) > nameMax {
		name = "…" + name[len(name)-nameMax+1:]
	}
	if b.total <= 0 {
		return pad(name+stats, b.width)
	}
	pct := float64(b.done) / float64(b.total)
	pct = min(max(pct, 0), 1)
	head := fmt.Sprintf("%s %3d%% ", name, int(pct*100))
	barWidth := b.width - len([]rune(head)) - len(stats) - 3
	if barWidth < 5 {
		return pad(head+stats, b.width)
	}
	fill := int(pct * float64(barWidth))
	return pad(head+"["+strings.Repeat("=", fill)+strings.Repeat(" ", barWidth-fill)+"]"+stats, b.width)
}

// pad overwrites whatever a longer previous line left behind.
func pad(s string, width int) string {
	if n := len([]rune(s)); n < width-1 {
		return s + strings.Repeat(" ", width-1-n)
	}
	return s
}

// IsTerminal reports whether w is a terminal; bars written anywhere else
// (a pipe, a log file, a test buffer) would only be noise.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func termWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if width, _, err := term.GetSize(int(f.Fd())); err == nil && width > 20 {
			return width
		}
	}
	return 80
}

// FormatBytes renders n with a decimal unit ("1.5 GB"), the units the Hub's
// web pages use, so sizes can be compared at a glance.
func FormatBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
