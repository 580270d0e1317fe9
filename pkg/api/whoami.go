package api

import (
	"context"
	"net/http"
)

// Whoami is GET /v1/whoami: it tells a merchant which project and key their request authenticated as,
// the quickest check that a key is deployed and wired correctly.
type Whoami struct{}

type whoamiView struct {
	ProjectID string `json:"project_id"`
	KeyID     string `json:"key_id"`
}

func (Whoami) Serve(_ context.Context, req *Request) (Response, error) {
	p, err := Principal(req)
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusOK, whoamiView{ProjectID: p.ProjectID, KeyID: p.KeyID}), nil
}
