//go:build cgo

package alog

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
	"weak"
)

// Go never runs C exit hooks: returning from main, os.Exit and a signal's default action
// end the process without the engine's exit-time flush. The registry below lets Shutdown and
// FlushOnSignal close every open logger instead. It holds weak pointers, so that an engine
// nobody references is still closed by its cleanup.
var registry struct {
	mu     sync.Mutex
	nextID uint64
	open   map[uint64]weak.Pointer[engine]
}

func register(e *engine) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if registry.open == nil {
		registry.open = make(map[uint64]weak.Pointer[engine])
	}
	registry.nextID++
	e.res.id = registry.nextID
	registry.open[e.res.id] = weak.Make(e)
}

func unregister(id uint64) {
	if id == 0 {
		return
	}
	registry.mu.Lock()
	delete(registry.open, id)
	registry.mu.Unlock()
}

// openEngines returns the engines still open, oldest first.
func openEngines() []*engine {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	var out []*engine
	for id := uint64(1); id <= registry.nextID && len(out) < len(registry.open); id++ {
		if p, ok := registry.open[id]; ok {
			if e := p.Value(); e != nil {
				out = append(out, e)
			}
		}
	}
	return out
}

// Shutdown closes every Logger of the process that is still open, as Close does, and returns
// their errors joined. When ctx ends first it returns an error matching ErrTimeout and
// ctx.Err(), and the engines not yet drained keep draining in the background (a later
// Shutdown or Close waits for them). Call it before os.Exit, which does not run deferred
// calls:
//
//	if err := run(); err != nil {
//		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
//		alog.Shutdown(ctx)
//		cancel()
//		os.Exit(1)
//	}
func Shutdown(ctx context.Context) error {
	var errs []error
	for _, e := range openEngines() {
		if err := e.close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// SignalTimeout bounds how long FlushOnSignal drains the loggers before the process exits.
const SignalTimeout = 5 * time.Second

// FlushOnSignal makes the given signals (SIGTERM and SIGINT when none are given) close every
// open Logger, for at most SignalTimeout, and then end the process the way Go's default
// handling would have: the signal is raised again with Go's default action, so the exit
// status still says "killed by SIGTERM". Signals the process ignored when FlushOnSignal was
// called (a program started with nohup, say) stay ignored. Call it once, early in main;
// stop undoes it.
func FlushOnSignal(sigs ...os.Signal) (stop func()) {
	if len(sigs) == 0 {
		sigs = []os.Signal{syscall.SIGTERM, syscall.SIGINT}
	}
	var watched []os.Signal
	for _, s := range sigs {
		if !signal.Ignored(s) {
			watched = append(watched, s)
		}
	}
	if len(watched) == 0 {
		return func() {}
	}
	ch := make(chan os.Signal, 1)
	quit := make(chan struct{})
	signal.Notify(ch, watched...)
	go func() {
		select {
		case s := <-ch:
			ctx, cancel := context.WithTimeout(context.Background(), SignalTimeout)
			_ = Shutdown(ctx)
			cancel()
			signal.Reset(s)
			if sys, ok := s.(syscall.Signal); ok {
				_ = syscall.Kill(os.Getpid(), sys)
				time.Sleep(time.Second) // the default action ends the process meanwhile
			}
			os.Exit(2) // a signal without a default that ends the process
		case <-quit:
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			signal.Stop(ch)
			close(quit)
		})
	}
}
