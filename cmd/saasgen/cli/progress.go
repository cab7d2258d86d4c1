package cli

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/saasgen/saasgen/generator"
)

// newProgress returns how long steps are shown: a spinner with the step name
// and elapsed time on a terminal, plain timestamped lines elsewhere. With
// --json the lines go to stderr so stdout carries only the JSON document.
func newProgress(w io.Writer, tty bool) generator.Progress {
	if tty {
		return (&spinner{w: w}).event
	}
	return func(ev generator.Event) {
		ts := time.Now().Format("15:04:05")
		switch {
		case !ev.Done:
			fmt.Fprintf(w, "%s %s ...\n", ts, ev.Step)
		case ev.Err != nil:
			fmt.Fprintf(w, "%s %s failed after %s\n", ts, ev.Step, ev.Elapsed.Round(10*time.Millisecond))
		default:
			fmt.Fprintf(w, "%s %s ok (%s)\n", ts, ev.Step, ev.Elapsed.Round(10*time.Millisecond))
		}
	}
}

// spinner redraws one line per running step until it is done.
type spinner struct {
	w    io.Writer
	mu   sync.Mutex
	stop chan struct{}
	done chan struct{}
}

var spinFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func (s *spinner) event(ev generator.Event) {
	if !ev.Done {
		s.start(ev.Step)
		return
	}
	s.halt()
	mark, how := "✓", ev.Elapsed.Round(10*time.Millisecond).String()
	if ev.Err != nil {
		mark, how = "✗", "failed after "+how
	}
	fmt.Fprintf(s.w, "\r\033[K%s %s %s\n", mark, ev.Step, how)
}

func (s *spinner) start(step string) {
	s.halt()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	begin := time.Now()
	go func(stop, done chan struct{}) {
		defer close(done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			fmt.Fprintf(s.w, "\r\033[K%s %s %s", spinFrames[i%len(spinFrames)], step, time.Since(begin).Round(time.Second))
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}(s.stop, s.done)
}

func (s *spinner) halt() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop != nil {
		close(s.stop)
		<-s.done
		s.stop = nil
	}
}
