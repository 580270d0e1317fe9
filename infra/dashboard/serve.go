package dashboard

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Config is /config.json, what the page reads at start-up (web/src/config.ts).
type Config struct {
	APIBase         string `json:"apiBase"`
	Region          string `json:"region"`
	UserPoolID      string `json:"userPoolId"`
	ClientID        string `json:"clientId"`
	CognitoEndpoint string `json:"cognitoEndpoint,omitempty"`
	PublicOrigin    string `json:"publicOrigin"`
	Local           bool   `json:"local,omitempty"`
}

// CognitoPath is where the local stack serves Cognito's JSON API on the dashboard's origin:
// moto runs with CORS off, so the page reaches it through this proxy rather than directly.
const CognitoPath = "/cognito/"

// CSP is the Content-Security-Policy the local stack serves the page with: scripts and styles
// only from the site itself, API calls only to its own origin (the dashboard API and, locally,
// the Cognito proxy), never framed.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler serves the site (site may be nil: then "/" says how to build it), /config.json and the
// Cognito proxy to cognitoEndpoint (moto); every other request goes to api, the dashboard API.
func Handler(site *Site, buildErr error, cfg Config, api http.Handler, cognitoEndpoint string, log *slog.Logger) http.Handler {
	cfgJSON, _ := json.Marshal(cfg)
	proxy := &cognitoProxy{endpoint: strings.TrimSuffix(cognitoEndpoint, "/") + "/", revoked: map[[32]byte]bool{}, log: log}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if p == "/" {
			p = "/index.html"
		}
		switch {
		case p == "/config.json" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			pageHeaders(w.Header(), "application/json", false)
			w.Write(cfgJSON)
		case p == strings.TrimSuffix(CognitoPath, "/") || p == CognitoPath:
			proxy.ServeHTTP(w, r)
		case p == "/index.html" && site == nil && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			pageHeaders(w.Header(), "text/plain; charset=utf-8", false)
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "The dashboard is not built: "+buildErr.Error()+"\nThen restart make dev.\n")
		case site != nil && site.Files[p] != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			pageHeaders(w.Header(), contentType(p), strings.HasPrefix(p, "/assets/"))
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(site.Files[p]))
		default:
			api.ServeHTTP(w, r)
		}
	})
}

// pageHeaders are the headers of the site's responses: those the deployed distribution's
// response-headers policy adds, and a cache policy (hashed assets forever, the rest revalidated).
func pageHeaders(h http.Header, contentType string, immutable bool) {
	h.Set("Content-Type", contentType)
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	if immutable {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
}

// cognitoProxy forwards Cognito JSON API calls to moto. moto 5.2.1 has no RevokeToken, so the
// proxy keeps the revoked refresh tokens itself and refuses them as Cognito would; access and ID
// tokens stay valid until they expire, as API Gateway's JWT authorizer treats them on AWS too.
type cognitoProxy struct {
	endpoint string
	log      *slog.Logger

	mu      sync.Mutex
	revoked map[[32]byte]bool
}

const targetPrefix = "AWSCognitoIdentityProviderService."

func (c *cognitoProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	if r.Method != http.MethodPost || !strings.HasPrefix(target, targetPrefix) {
		cognitoError(w, http.StatusBadRequest, "InvalidParameterException", "POST a Cognito JSON API call with X-Amz-Target")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		cognitoError(w, http.StatusRequestEntityTooLarge, "InvalidParameterException", "request too large")
		return
	}
	var call struct {
		Token          string
		AuthFlow       string
		AuthParameters map[string]string
	}
	_ = json.Unmarshal(body, &call)
	switch action := strings.TrimPrefix(target, targetPrefix); {
	case action == "RevokeToken":
		if call.Token == "" {
			cognitoError(w, http.StatusBadRequest, "InvalidParameterException", "Token is required")
			return
		}
		c.mu.Lock()
		c.revoked[sha256.Sum256([]byte(call.Token))] = true
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, "{}")
		return
	case action == "InitiateAuth" && (call.AuthFlow == "REFRESH_TOKEN_AUTH" || call.AuthFlow == "REFRESH_TOKEN"):
		c.mu.Lock()
		revoked := c.revoked[sha256.Sum256([]byte(call.AuthParameters["REFRESH_TOKEN"]))]
		c.mu.Unlock()
		if revoked {
			cognitoError(w, http.StatusBadRequest, "NotAuthorizedException", "Refresh Token has been revoked")
			return
		}
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		cognitoError(w, http.StatusInternalServerError, "InternalErrorException", err.Error())
		return
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.log.Error("cognito proxy", "target", target, "error", err.Error())
		cognitoError(w, http.StatusBadGateway, "InternalErrorException", "the local Cognito (moto) did not answer")
		return
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

func cognitoError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}
