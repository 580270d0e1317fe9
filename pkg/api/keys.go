package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"codex/pkg/apikey"
	"codex/pkg/codex"
)

// keyView is a key on the wire. Secret is set only in the response that creates the key: it is the
// one moment the plaintext exists outside the merchant's hands.
type keyView struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Prefix    string `json:"prefix"`
	CreatedAt string `json:"created_at"`
	Secret    string `json:"key,omitempty"`
}

func viewKey(k codex.APIKey) keyView {
	return keyView{ID: k.ID, Name: k.Name, Prefix: apikey.Mask(k.Prefix), CreatedAt: codex.FormatTime(k.CreatedAt)}
}

// CreateKey is POST /projects/{project_id}/keys.
type CreateKey struct {
	Projects codex.ProjectStore
	Keys     codex.KeyStore
	Now      codex.Clock
}

type createKeyBody struct {
	Name string `json:"name"`
}

func (h CreateKey) Serve(ctx context.Context, req *Request) (Response, error) {
	m, err := memberProject(ctx, h.Projects, req)
	if err != nil {
		return Response{}, err
	}
	var body createKeyBody
	if err := DecodeJSON(req, &body); err != nil {
		return Response{}, err
	}
	name, err := codex.ValidateName("name", body.Name)
	if err != nil {
		return Response{}, err
	}
	secret, err := apikey.Generate()
	if err != nil {
		return Response{}, fmt.Errorf("generate key: %w", err)
	}
	k := codex.APIKey{
		ID:        codex.NewID(codex.KeyIDPrefix),
		ProjectID: m.Project.ID,
		Name:      name,
		Prefix:    secret.DisplayPrefix(),
		CreatedAt: h.Now().UTC().Truncate(time.Millisecond),
		CreatedBy: m.UserID,
	}
	if err := h.Keys.CreateKey(ctx, k, secret.Hash(), apikey.HashVersion); err != nil {
		return Response{}, err
	}
	v := viewKey(k)
	v.Prefix = k.Prefix
	v.Secret = secret.Secret()
	// The one response that holds the secret: no browser or proxy cache may keep it.
	return withHeader(JSON(http.StatusCreated, v), "cache-control", "no-store"), nil
}

// ListKeys is GET /projects/{project_id}/keys: names, masked prefixes and dates, never a secret.
type ListKeys struct {
	Projects codex.ProjectStore
	Keys     codex.KeyStore
}

func (h ListKeys) Serve(ctx context.Context, req *Request) (Response, error) {
	m, err := memberProject(ctx, h.Projects, req)
	if err != nil {
		return Response{}, err
	}
	keys, err := h.Keys.ListKeys(ctx, m.Project.ID)
	if err != nil {
		return Response{}, err
	}
	out := List[keyView]{Data: make([]keyView, 0, len(keys))}
	for _, k := range keys {
		out.Data = append(out.Data, viewKey(k))
	}
	return JSON(http.StatusOK, out), nil
}

// DeleteKey is DELETE /projects/{project_id}/keys/{key_id}: revocation, effective for the very next
// request because the authorizer reads the keys table with strong consistency and never caches.
type DeleteKey struct {
	Projects codex.ProjectStore
	Keys     codex.KeyStore
}

func (h DeleteKey) Serve(ctx context.Context, req *Request) (Response, error) {
	m, err := memberProject(ctx, h.Projects, req)
	if err != nil {
		return Response{}, err
	}
	id := req.PathParameters["key_id"]
	if !codex.ValidID(codex.KeyIDPrefix, id) {
		return Response{}, codex.NotFound("key")
	}
	if err := h.Keys.DeleteKey(ctx, m.Project.ID, id); err != nil {
		return Response{}, err
	}
	return NoContent(), nil
}
