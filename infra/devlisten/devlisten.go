// Package devlisten is `make dev-listen`: a webhook receiver for a developer who has none yet,
// like `stripe listen`. It registers itself as an endpoint of a project of the running make dev
// (all event types), prints each delivery with the result of verifying its signature with the
// official Standard Webhooks library, and deletes the endpoint when it stops.
package devlisten

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Options configure Run.
type Options struct {
	API     string // the HttpApi base URL of the running stack
	Token   string // a dashboard ID token
	Project string // the project to listen to; "" is the user's newest
	Addr    string // where to listen; default 127.0.0.1:0
	Out     io.Writer
	// Ready, if set, is called with the endpoint's URL once it is registered.
	Ready func(url string)
}

// Run listens until ctx ends.
func Run(ctx context.Context, o Options) error {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	api := client{base: strings.TrimSuffix(o.API, "/"), token: o.Token}
	if o.Project == "" {
		var projects struct{ Data []struct{ ID string } }
		if err := api.do(ctx, "GET", "/projects", nil, &projects); err != nil {
			return err
		}
		if len(projects.Data) == 0 {
			return errors.New("this user has no project: create one first (README, Quickstart)")
		}
		o.Project = projects.Data[0].ID
	}
	url := "http://" + ln.Addr().String() + "/"
	var created struct{ ID, Secret string }
	body := map[string]any{"url": url, "events": []string{"*"}, "description": "make dev-listen"}
	if err := api.do(ctx, "POST", "/projects/"+o.Project+"/webhooks", body, &created); err != nil {
		return fmt.Errorf("register the endpoint: %w", err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := api.do(dctx, "DELETE", "/projects/"+o.Project+"/webhooks/"+created.ID, nil, nil); err != nil {
			fmt.Fprintf(o.Out, "could not delete endpoint %s: %v\n", created.ID, err)
		}
	}()
	wh, err := standardwebhooks.NewWebhook(created.Secret)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "Listening on %s for every event of project %s (endpoint %s).\n"+
		"Each delivery is verified with the official Standard Webhooks library. Ctrl-C stops and removes the endpoint.\n",
		url, o.Project, created.ID)
	if o.Ready != nil {
		o.Ready(url)
	}
	srv := &http.Server{Handler: receiver{wh: wh, out: o.Out}, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type receiver struct {
	wh  *standardwebhooks.Webhook
	out io.Writer
}

func (r receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	var ev struct {
		Type      string `json:"type"`
		CreatedAt string `json:"created_at"`
	}
	_ = json.Unmarshal(body, &ev)
	verdict, status := "signature verified", http.StatusOK
	if err := r.wh.Verify(body, req.Header); err != nil {
		verdict, status = "SIGNATURE REFUSED: "+err.Error(), http.StatusBadRequest
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, body, "  ", "  ") != nil {
		pretty.Reset()
		pretty.Write(body)
	}
	fmt.Fprintf(r.out, "%s  %-24s %s  %s\n  %s\n", time.Now().UTC().Format(time.TimeOnly), ev.Type,
		req.Header.Get("webhook-id"), verdict, pretty.String())
	w.WriteHeader(status)
}

type client struct{ base, token string }

func (c client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}
