package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

// scriptBudget is the buy-button script's budget over the wire, gzipped (issue 11); pkg/api and
// e2e/buyer fail above it, the bench shows how close it is.
const scriptBudget = 5 * 1024

// scriptSize is the buy-button script as the stack serves it: the bytes of the body over HTTP,
// gzipped (what a browser receives) and not.
type scriptSize struct{ gzipped, identity int }

func measureScript(ctx context.Context, publicAPI string) (scriptSize, error) {
	get := func(encoding string) (int, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", publicAPI+"/button.js", nil)
		if err != nil {
			return 0, err
		}
		// Set explicitly, so the transport neither adds gzip nor inflates the body.
		req.Header.Set("Accept-Encoding", encoding)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET /button.js: %s", resp.Status)
		}
		return len(b), err
	}
	var s scriptSize
	var err error
	if s.gzipped, err = get("gzip"); err != nil {
		return s, err
	}
	s.identity, err = get("identity")
	return s, err
}
