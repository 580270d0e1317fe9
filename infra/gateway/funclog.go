package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
)

// lineLogger turns an emulator's output (the function's own log lines and the emulator's) into
// one slog record per line, so `make dev` prints a single JSON stream. A function's JSON log line is
// nested as "log" with its level kept; its content is the function's business: the gateway adds
// nothing from the request to it.
type lineLogger struct {
	log *slog.Logger

	mu    sync.Mutex
	buf   []byte
	lines []string // the last few lines, for start-up errors
}

const maxLineBytes = 256 << 10

func newLineLogger(log *slog.Logger, function string) *lineLogger {
	return &lineLogger{log: log.With("function", function)}
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			if len(l.buf) > maxLineBytes {
				l.emit(l.buf)
				l.buf = l.buf[:0]
			}
			return len(p), nil
		}
		l.emit(l.buf[:i])
		l.buf = l.buf[i+1:]
	}
}

func (l *lineLogger) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.emit(l.buf)
		l.buf = nil
	}
}

func (l *lineLogger) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func (l *lineLogger) emit(line []byte) {
	line = bytes.TrimRight(line, "\r")
	if len(bytes.TrimSpace(line)) == 0 {
		return
	}
	s := string(line)
	l.lines = append(l.lines, s)
	if len(l.lines) > 10 {
		l.lines = l.lines[1:]
	}
	ctx := context.Background()
	switch {
	case line[0] == '{' && json.Valid(line):
		var rec struct {
			Level slog.Level `json:"level"` // the functions log with log/slog
		}
		_ = json.Unmarshal(line, &rec)
		l.log.Log(ctx, rec.Level, "function log", "log", json.RawMessage(line))
	case strings.HasPrefix(s, "START RequestId:"), strings.HasPrefix(s, "END RequestId:"),
		strings.HasPrefix(s, "REPORT RequestId:"):
		l.log.Debug("function report", "line", s)
	case strings.Contains(s, "[ERROR]"), strings.Contains(s, "[WARNING]"), strings.Contains(s, "[FATAL]"):
		l.log.Warn("emulator", "line", s)
	default:
		l.log.Info("function output", "line", s)
	}
}
