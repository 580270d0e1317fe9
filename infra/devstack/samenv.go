package devstack

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"codex/infra/samtemplate"
)

// SAMEnv is the --env-vars file of `sam local` for this running stack (make sam-env writes it):
// for every function of root's template.yaml, each variable the template declares for it with the
// value make dev gives that function. sam local passes a function only the variables its template
// declares, so those are all the file can set; the rest (region, credentials) come from sam local.
//
// The endpoints are rewritten for a container: host replaces their host, port kept. A container
// of Docker Desktop reaches this machine's loopback as host.docker.internal; one of Linux's Docker
// Engine started with --docker-network host, as 127.0.0.1.
func (st *State) SAMEnv(root, host string) (map[string]map[string]string, error) {
	tpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		return nil, err
	}
	endpoint, err := withHost(st.Endpoint, host)
	if err != nil {
		return nil, err
	}
	names, _ := localNames(tpl, st.Region, st.Tables, st.UserPoolID, st.UserPoolClientID)
	addQueueNames(names, tpl, st.Region)
	addStreamNames(names, st.Streams)
	addKMSKeyNames(names, tpl, st.Region)
	pageParameter(tpl, names, st.APIs)
	out := map[string]map[string]string{}
	for _, id := range slices.Sorted(maps.Keys(tpl.Functions)) {
		fn := tpl.Functions[id]
		env, err := functionEnv(tpl, fn, names, st.Region, endpoint, endpoint, endpoint)
		if err != nil {
			return nil, err
		}
		vars := map[string]string{}
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			if _, declared := fn.Environment[k]; declared {
				vars[k] = v
			}
		}
		out[id] = vars
	}
	return out, nil
}

// withHost returns endpoint with its host replaced by host.
func withHost(endpoint, host string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("stack.json: endpoint %q is not a URL", endpoint)
	}
	u.Host = net.JoinHostPort(host, u.Port())
	return u.String(), nil
}
