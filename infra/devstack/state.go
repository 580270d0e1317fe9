package devstack

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// State describes a running stack. Start writes it to <StateDir>/stack.json so that other
// commands (make dev-token) find the stack's endpoints and ids.
type State struct {
	PID              int               `json:"pid"`
	URL              string            `json:"url"`  // the first API's
	APIs             map[string]string `json:"apis"` // HttpApi logical id → base URL
	Region           string            `json:"region"`
	Endpoint         string            `json:"endpoint"` // moto: DynamoDB and Cognito
	UserPoolID       string            `json:"user_pool_id"`
	UserPoolClientID string            `json:"user_pool_client_id"`
	Tables           map[string]string `json:"tables"` // logical id → local table name
	// Dashboard is the dashboard's URL, on the origin of the API whose routes it calls; empty
	// when the template has no API with a JWT authorizer.
	Dashboard string `json:"dashboard,omitempty"`
	// Queues are the template's SQS queues and Streams its tables' stream ARNs, by logical id.
	Queues  map[string]QueueState `json:"queues,omitempty"`
	Streams map[string]string     `json:"streams,omitempty"`
}

// QueueState is a local SQS queue.
type QueueState struct {
	URL string `json:"url"`
	ARN string `json:"arn"`
}

const (
	stateFile = "stack.json"
	lockFile  = "lock"
)

// ErrNotRunning is returned by ReadState when no stack holds the state directory.
var ErrNotRunning = errors.New("no dev stack is running: start one with `make dev` (it runs until Ctrl-C)")

// lock takes the state directory's lock. The kernel releases an flock when its holder exits, however
// it exits, so a crashed `make dev` never leaves a stale lock behind.
func lock(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			msg := "a dev stack is already running"
			if st, err := readStateFile(dir); err == nil {
				msg += fmt.Sprintf(" (pid %d, %s)", st.PID, apiList(st.APIs))
			}
			return nil, fmt.Errorf("%s: stop it with Ctrl-C in its terminal first, or use it (state in %s)", msg, dir)
		}
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return f, nil
}

func readStateFile(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, stateFile), err)
	}
	return &st, nil
}

func writeStateFile(dir string, st *State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	// Only its owner may read it: it names the local user pool and client that mint tokens. A
	// temporary file is created 0600 whatever is left in the directory, and renamed into place.
	f, err := os.CreateTemp(dir, stateFile+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after the rename, nothing
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), filepath.Join(dir, stateFile))
}

// ReadState returns the state of the stack running on dir, or ErrNotRunning. The lock, not the
// file, says whether a stack is running: the file of a killed stack may still be there.
func ReadState(dir string) (*State, error) {
	f, err := os.Open(filepath.Join(dir, lockFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotRunning
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err == nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return nil, ErrNotRunning
	}
	st, err := readStateFile(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, errors.New("the dev stack is still starting: try again when `make dev` prints its URL")
	}
	return st, err
}

// apiList renders "HttpApi http://127.0.0.1:3000, PublicApi http://127.0.0.1:3001".
func apiList(apis map[string]string) string {
	var parts []string
	for _, id := range slices.Sorted(maps.Keys(apis)) {
		parts = append(parts, id+" "+apis[id])
	}
	return strings.Join(parts, ", ")
}
