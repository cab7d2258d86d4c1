package fsx

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// Lock is the project lock: held by the one saasgen command that changes a
// tree. It is an flock(2) on the tree's directory itself, so it leaves no
// file behind and the kernel releases it when its process dies, however it
// dies: a lock can never be stale.
type Lock struct {
	f *os.File
}

// lockPoll is how often a waiting command tries the lock again.
const lockPoll = 100 * time.Millisecond

// Acquire takes the lock of the directory dir, waiting while another process
// holds it: waiting is called once, before the first wait, so the user can
// be told. A cancelled ctx stops the wait with ctx's error.
func Acquire(ctx context.Context, dir string, waiting func()) (*Lock, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	told := false
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", dir, err)
		}
		if ok {
			return &Lock{f: f}, nil
		}
		if !told && waiting != nil {
			waiting()
			told = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(lockPoll):
		}
	}
}

// TryAcquire takes the lock of dir if it is free; ErrLocked when another
// process holds it.
func TryAcquire(dir string) (*Lock, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	ok, err := tryLock(f)
	if err != nil || !ok {
		f.Close()
		return nil, errors.Join(err, ErrLocked)
	}
	return &Lock{f: f}, nil
}

// ErrLocked is returned by TryAcquire when another process holds the lock.
var ErrLocked = errors.New("locked by another process")

// Release gives the lock up. A nil Lock is a no-op.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the descriptor releases the flock
	l.f = nil
	return err
}
