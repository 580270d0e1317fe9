package proc

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"testing"
)

func TestFreePorts(t *testing.T) {
	ports, err := FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Errorf("port %d twice in %v", p, ports)
		}
		seen[p] = true
		// Released: a server can bind it now.
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Errorf("port %d is not free: %v", p, err)
			continue
		}
		l.Close()
	}
	if len(ports) != 3 {
		t.Errorf("got %d ports, want 3", len(ports))
	}
}

func TestRetryPortTaken(t *testing.T) {
	calls := 0
	_, err := RetryPortTaken(func() (int, error) {
		calls++
		return 0, fmt.Errorf("server on 127.0.0.1:1: %w", ErrPortTaken)
	})
	if !errors.Is(err, ErrPortTaken) || calls != 4 {
		t.Errorf("always taken: %d calls, err %v; want 4 calls and ErrPortTaken", calls, err)
	}

	calls = 0
	v, err := RetryPortTaken(func() (int, error) {
		calls++
		if calls < 3 {
			return 0, ErrPortTaken
		}
		return 42, nil
	})
	if v != 42 || err != nil || calls != 3 {
		t.Errorf("taken twice: %d, %v after %d calls; want 42 after 3", v, err, calls)
	}

	calls = 0
	other := errors.New("no such binary")
	if _, err := RetryPortTaken(func() (int, error) { calls++; return 0, other }); err != other || calls != 1 {
		t.Errorf("other error: %d calls, err %v; want 1 call", calls, err)
	}
}
