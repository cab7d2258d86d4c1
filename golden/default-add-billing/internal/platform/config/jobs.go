package config

import (
	"fmt"
	"time"
)

// Jobs configures the background job queue (package jobs) and its workers.
type Jobs struct {
	InProcess       bool          `env:"IN_PROCESS" envDefault:"false" desc:"Whether serve also runs the job workers, for small deployments; otherwise run the worker command beside it."`
	Concurrency     int           `env:"CONCURRENCY" envDefault:"10" desc:"Jobs one worker process runs at the same time."`
	MaxAttempts     int           `env:"MAX_ATTEMPTS" envDefault:"5" desc:"Attempts a job gets, retries with exponential backoff included, before it is marked failed."`
	RetryBackoff    time.Duration `env:"RETRY_BACKOFF" envDefault:"10s" desc:"Wait before the first retry of a failed job; it doubles with each further attempt, up to an hour."`
	Timeout         time.Duration `env:"TIMEOUT" envDefault:"10m" desc:"Longest one attempt of a job may run before its context is cancelled and the attempt counts as failed."`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"30s" desc:"Time running jobs get to finish after SIGTERM; jobs still running then are cancelled and handed back to the queue."`
	Queue           string        `env:"QUEUE" envDefault:"default" desc:"Name of the queue jobs are enqueued to and worked from."`
	RescueAfter     time.Duration `env:"RESCUE_AFTER" envDefault:"15m" desc:"River: a job still running this long after it started is taken for the job of a dead worker and retried; must exceed JOBS_TIMEOUT."`
	PollOnly        bool          `env:"POLL_ONLY" envDefault:"false" desc:"River: find new jobs by polling instead of LISTEN/NOTIFY; required behind PgBouncer in transaction mode."`
	PollInterval    time.Duration `env:"POLL_INTERVAL" envDefault:"1s" desc:"River: how often workers look for new jobs when notifications are off or missed."`
}

// problems reports the job settings that are out of range or inconsistent.
func (j Jobs) problems(values map[string]string) []Problem {
	var problems []Problem
	add := func(name, reason, accepted string) {
		v, set := values[name]
		problems = append(problems, Problem{Name: name, Value: v, Set: set, Reason: reason, Accepted: accepted})
	}
	if j.Concurrency < 1 {
		add("JOBS_CONCURRENCY", "must be at least 1", "a positive integer")
	}
	if j.MaxAttempts < 1 || j.MaxAttempts > 25 {
		add("JOBS_MAX_ATTEMPTS", "must be between 1 and 25", "an integer from 1 to 25")
	}
	if j.Queue == "" {
		add("JOBS_QUEUE", "must not be empty", "a queue name such as default")
	}
	for _, d := range []struct {
		name  string
		value time.Duration
	}{
		{"JOBS_RETRY_BACKOFF", j.RetryBackoff},
		{"JOBS_TIMEOUT", j.Timeout},
		{"JOBS_SHUTDOWN_TIMEOUT", j.ShutdownTimeout},
		{"JOBS_RESCUE_AFTER", j.RescueAfter},
		{"JOBS_POLL_INTERVAL", j.PollInterval},
	} {
		if d.value <= 0 {
			add(d.name, "must be positive", "a duration greater than zero such as 30s or 5m")
		}
	}
	if j.Timeout > 0 && j.RescueAfter > 0 && j.RescueAfter <= j.Timeout {
		add("JOBS_RESCUE_AFTER", fmt.Sprintf("must exceed JOBS_TIMEOUT (%s), or jobs still running would be started a second time", j.Timeout), "a duration longer than JOBS_TIMEOUT")
	}
	return problems
}
