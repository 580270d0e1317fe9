// Package proc runs the local stack's servers (moto and the Lambda emulators) as child processes:
// loopback ports for them, a process group for each, and a backstop that ends them when this
// process dies without stopping them.
package proc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// ErrPortTaken is the race between picking a free port and the server binding it. A start function
// returns it (wrapped) so that RetryPortTaken tries again on other ports.
var ErrPortTaken = errors.New("port already in use")

// FreePorts asks the kernel for n distinct unused loopback ports. They are free only until this
// function returns: another process may take one before the server binds it (see ErrPortTaken).
func FreePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l) // held until all are picked, so the n ports differ
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// RetryPortTaken calls start, and again (at most three more times) while it fails with
// ErrPortTaken. start must pick new ports on each call.
func RetryPortTaken[T any](start func() (T, error)) (T, error) {
	for attempt := 0; ; attempt++ {
		v, err := start()
		if errors.Is(err, ErrPortTaken) && attempt < 3 {
			continue
		}
		return v, err
	}
}

// Stop ends the process group that p leads: Terminate, then Kill if done (closed once p has been
// waited for) is not closed within grace; it returns once done is closed. Call it only while p
// has not been waited for, as Terminate.
func Stop(p *os.Process, done <-chan struct{}, grace time.Duration) {
	Terminate(p)
	select {
	case <-done:
	case <-time.After(grace):
		Kill(p)
		<-done
	}
}

// InterruptContext is cancelled by the first Ctrl-C or SIGTERM, on which the caller stops what it
// started, in order. A second one exits at once (status 130): the children, in process groups of
// their own, never see the Ctrl-C and go with their parent (DiesWithParent, or their Watchdog).
func InterruptContext() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		again := make(chan os.Signal, 1)
		signal.Notify(again, os.Interrupt, syscall.SIGTERM)
		<-again
		fmt.Fprintln(os.Stderr, "second interrupt, exiting now")
		os.Exit(130)
	}()
	return ctx, stop
}
