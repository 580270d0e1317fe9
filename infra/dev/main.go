// Command dev runs the local stack: `make dev` runs `dev serve` and `make dev-token` runs
// `dev token`. See the README's "Quickstart" and docs/local-stack.md.
//
//	dev serve [-addr 127.0.0.1:3000] [-state .dev] [-v]   the whole API until Ctrl-C
//	dev token [-user alice] [-state .dev]                 an ID token of a local user, on stdout
//	dev sam-env [-state .dev] [-host h] [-o file]         sam local's --env-vars file for the stack
//	dev web [-o web/dist] [-region ... -public-origin ...] the dashboard's static files (and config.json)
//	dev listen [-user alice] [-project prj_...] [-addr a]  print the stack's webhooks, verified
//
// serve refuses an -addr off loopback unless -allow-non-loopback is given, and then warns.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"codex/infra/dashboard"
	"codex/infra/devlisten"
	"codex/infra/devstack"
	"codex/infra/internal/proc"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "token":
		err = token(os.Args[2:])
	case "sam-env":
		err = samEnv(os.Args[2:])
	case "web":
		err = web(os.Args[2:])
	case "listen":
		err = listen(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dev:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: dev serve [-addr host:port] [-allow-non-loopback] [-state dir] [-v] | dev token [-user name] [-state dir] | dev sam-env | dev web [-o dir]")
	os.Exit(2)
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:3000", "listen address (on loopback unless "+devstack.AllowNonLoopbackFlag+")")
	anyAddr := fs.Bool(devstack.AllowNonLoopbackFlag[1:], false, "allow an -addr off loopback, reachable from other machines")
	state := fs.String("state", ".dev", "state directory: lock, stack.json, built functions")
	verbose := fs.Bool("v", false, "debug logs (the emulator's START/END/REPORT lines)")
	_ = fs.Parse(args)

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := proc.InterruptContext()
	defer stop()

	stateDir, err := filepath.Abs(*state)
	if err != nil {
		return err
	}
	// GitHub's secret scanning keys: a stand-in on loopback, so make dev never needs the internet.
	github, err := devstack.StartGitHubKeys()
	if err != nil {
		return err
	}
	defer github.Close()
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return err
	}
	if err := github.WritePrivateKey(filepath.Join(stateDir, "github-signing-key.pem")); err != nil {
		return err
	}
	s, err := devstack.Start(ctx, devstack.Options{Addr: *addr, AllowNonLoopback: *anyAddr, StateDir: stateDir, Log: log,
		Parameters: map[string]string{devstack.GitHubKeysParameter: github.URL}})
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return errors.New("interrupted while starting; everything started was stopped")
		}
		return err
	}
	if s.Dashboard != "" {
		if err := s.AddDashboardUser(ctx, "demo"); err != nil {
			log.Warn("no local dashboard user", "error", err.Error())
		}
	}
	fmt.Print(s.Describe())

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("stopping")
	case serveErr = <-s.Served():
	}
	start := time.Now()
	if err := s.Close(); err != nil {
		return err
	}
	log.Info("stopped", "seconds", time.Since(start).Round(10*time.Millisecond).Seconds())
	return serveErr
}

func token(args []string) error {
	fs := flag.NewFlagSet("token", flag.ExitOnError)
	user := fs.String("user", "alice", "local user name; created on first use")
	state := fs.String("state", ".dev", "state directory of the running stack")
	_ = fs.Parse(args)

	st, err := devstack.ReadState(*state)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := st.Token(ctx, st.Cognito(), *user)
	if err != nil {
		return err
	}
	// Only the token goes to stdout, so that TOKEN=$(make -s dev-token) works.
	fmt.Println(tok)
	return nil
}

// samEnv writes the --env-vars file of `sam local` for the running stack; see devstack.SAMEnv
// and docs/sam-local.md.
func samEnv(args []string) error {
	fs := flag.NewFlagSet("sam-env", flag.ExitOnError)
	state := fs.String("state", ".dev", "state directory of the running stack")
	// Docker Desktop (macOS, Windows) reaches the host's loopback as host.docker.internal; on
	// Linux, sam local --docker-network host shares it as 127.0.0.1.
	defaultHost := "host.docker.internal"
	if runtime.GOOS == "linux" {
		defaultHost = "127.0.0.1"
	}
	host := fs.String("host", defaultHost, "the host name of this machine's loopback as sam local's containers see it")
	out := fs.String("o", "", "file to write (default: stdout)")
	_ = fs.Parse(args)

	st, err := devstack.ReadState(*state)
	if err != nil {
		return err
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	env, err := st.SAMEnv(root, *host)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if *out == "" {
		_, err = os.Stdout.Write(b)
		return err
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "dev: wrote %s (%d functions, DynamoDB at %s, region %s)\n", *out, len(env), *host, st.Region)
	return nil
}

// web writes the dashboard's static files (infra/dashboard) for a deploy to upload and, given the
// stack's outputs, its /config.json (docs/dashboard.md).
func web(args []string) error {
	fs := flag.NewFlagSet("web", flag.ExitOnError)
	out := fs.String("o", "web/dist", "directory to write")
	var cfg dashboard.Config
	fs.StringVar(&cfg.Region, "region", "", "the stack's region; with the three below, config.json is written too")
	fs.StringVar(&cfg.UserPoolID, "user-pool-id", "", "the stack's UserPoolId output")
	fs.StringVar(&cfg.ClientID, "client-id", "", "the stack's UserPoolClientId output")
	fs.StringVar(&cfg.PublicOrigin, "public-origin", "", "where buy buttons load from: the DashboardUrl output when the distribution fronts the public routes")
	_ = fs.Parse(args)
	withConfig := cfg.Region != "" || cfg.UserPoolID != "" || cfg.ClientID != "" || cfg.PublicOrigin != ""
	if withConfig && (cfg.Region == "" || cfg.UserPoolID == "" || cfg.ClientID == "" || cfg.PublicOrigin == "") {
		return errors.New("web: -region, -user-pool-id, -client-id and -public-origin go together")
	}
	site, err := dashboard.Build(".")
	if err != nil {
		return err
	}
	if err := site.Write(*out); err != nil {
		return err
	}
	if withConfig {
		b, err := json.MarshalIndent(cfg, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(*out, "config.json"), append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	raw, gz := site.InitialJS()
	fmt.Fprintf(os.Stderr, "dev: wrote the dashboard to %s (%d files; initial JavaScript %d bytes, %d gzipped; config.json: %v)\n",
		*out, len(site.Files), raw, gz, withConfig)
	return nil
}

// listen registers a local receiver as a webhook endpoint of the user's project and prints what
// it receives; see package devlisten.
func listen(args []string) error {
	fs := flag.NewFlagSet("listen", flag.ExitOnError)
	user := fs.String("user", "alice", "local user whose project to listen to")
	project := fs.String("project", "", "project id (default: the user's newest project)")
	addr := fs.String("addr", "127.0.0.1:0", "where the receiver listens")
	state := fs.String("state", ".dev", "state directory of the running stack")
	_ = fs.Parse(args)

	st, err := devstack.ReadState(*state)
	if err != nil {
		return err
	}
	ctx, stop := proc.InterruptContext()
	defer stop()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	tok, err := st.Token(tctx, st.Cognito(), *user)
	cancel()
	if err != nil {
		return err
	}
	return devlisten.Run(ctx, devlisten.Options{API: st.URL, Token: tok, Project: *project, Addr: *addr, Out: os.Stdout})
}
