package api

import (
	"context"
	"net/http"
	"time"

	"codex/pkg/codex"
)

// projectView is a project on the wire.
type projectView struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	CreatedAt string `json:"created_at"`
}

func viewProject(p codex.Project) projectView {
	return projectView{ID: p.ID, Name: p.Name, CreatedAt: codex.FormatTime(p.CreatedAt)}
}

// CreateProject is POST /projects: the caller becomes the project's owner.
type CreateProject struct {
	Projects codex.ProjectStore
	Now      codex.Clock
}

type createProjectBody struct {
	Name string `json:"name"`
}

func (h CreateProject) Serve(ctx context.Context, req *Request) (Response, error) {
	user, err := UserID(req)
	if err != nil {
		return Response{}, err
	}
	var body createProjectBody
	if err := DecodeJSON(req, &body); err != nil {
		return Response{}, err
	}
	name, err := codex.ValidateName("name", body.Name)
	if err != nil {
		return Response{}, err
	}
	p := codex.Project{
		ID:        codex.NewID(codex.ProjectIDPrefix),
		Name:      name,
		CreatedAt: h.Now().UTC().Truncate(time.Millisecond),
		CreatedBy: user,
	}
	if err := h.Projects.CreateProject(ctx, p); err != nil {
		return Response{}, err
	}
	return JSON(http.StatusCreated, viewProject(p)), nil
}

// ListProjects is GET /projects: the projects the caller is a member of.
type ListProjects struct {
	Projects codex.ProjectStore
}

func (h ListProjects) Serve(ctx context.Context, req *Request) (Response, error) {
	user, err := UserID(req)
	if err != nil {
		return Response{}, err
	}
	projects, err := h.Projects.ListProjects(ctx, user)
	if err != nil {
		return Response{}, err
	}
	out := List[projectView]{Data: make([]projectView, 0, len(projects))}
	for _, p := range projects {
		out.Data = append(out.Data, viewProject(p))
	}
	return JSON(http.StatusOK, out), nil
}

// memberProject resolves the {project_id} path parameter for the calling user. A project the user is
// not a member of answers exactly like one that does not exist, so ids cannot be probed.
func memberProject(ctx context.Context, projects codex.ProjectStore, req *Request) (codex.Membership, error) {
	user, err := UserID(req)
	if err != nil {
		return codex.Membership{}, err
	}
	id := req.PathParameters["project_id"]
	if !codex.ValidID(codex.ProjectIDPrefix, id) {
		return codex.Membership{}, codex.NotFound("project")
	}
	m, err := projects.Membership(ctx, user, id)
	if codex.IsNotFound(err) {
		return codex.Membership{}, codex.NotFound("project")
	}
	return m, err
}
