package api

import (
	"context"
	"net/http"

	"codex/pkg/codex"
)

// buttonView is a buy button as the dashboard sees it. Field order is the documented order.
type buttonView struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	UnitAmount int64  `json:"unit_amount"`
	Currency   string `json:"currency"`
	SuccessURL string `json:"success_url"`
	CancelURL  string `json:"cancel_url"`
	CreatedAt  string `json:"created_at"`
	Active     bool   `json:"active"`
}

func viewButton(b codex.Button) buttonView {
	return buttonView{
		ID: b.ID, Name: b.Name, UnitAmount: b.UnitAmount, Currency: b.Currency,
		SuccessURL: b.SuccessURL, CancelURL: b.CancelURL, CreatedAt: codex.FormatTime(b.CreatedAt), Active: b.Active,
	}
}

// CreateButton is POST /projects/{project_id}/buttons.
type CreateButton struct {
	Projects codex.ProjectStore
	Buttons  codex.ButtonStore
	Now      codex.Clock
}

type createButtonBody struct {
	Name       string `json:"name"`
	UnitAmount *int64 `json:"unit_amount"`
	Currency   string `json:"currency"`
	SuccessURL string `json:"success_url"`
	CancelURL  string `json:"cancel_url"`
}

func (h CreateButton) Serve(ctx context.Context, req *Request) (Response, error) {
	m, err := memberProject(ctx, h.Projects, req)
	if err != nil {
		return Response{}, err
	}
	var body createButtonBody
	if err := DecodeJSON(req, &body); err != nil {
		return Response{}, err
	}
	params, err := codex.ButtonParams{
		Name: body.Name, UnitAmount: body.UnitAmount, Currency: body.Currency,
		SuccessURL: body.SuccessURL, CancelURL: body.CancelURL,
	}.Validate()
	if err != nil {
		return Response{}, err
	}
	b := codex.NewButton(m.Project.ID, m.UserID, params, h.Now())
	if err := h.Buttons.CreateButton(ctx, b); err != nil {
		return Response{}, err
	}
	return JSON(http.StatusCreated, viewButton(b)), nil
}

// ListButtons is GET /projects/{project_id}/buttons: every button of the project, archived ones
// included (active false), newest first.
type ListButtons struct {
	Projects codex.ProjectStore
	Buttons  codex.ButtonStore
}

func (h ListButtons) Serve(ctx context.Context, req *Request) (Response, error) {
	m, err := memberProject(ctx, h.Projects, req)
	if err != nil {
		return Response{}, err
	}
	buttons, err := h.Buttons.ListButtons(ctx, m.Project.ID)
	if err != nil {
		return Response{}, err
	}
	out := List[buttonView]{Data: make([]buttonView, 0, len(buttons))}
	for _, b := range buttons {
		out.Data = append(out.Data, viewButton(b))
	}
	return JSON(http.StatusOK, out), nil
}

// DeleteButton is DELETE /projects/{project_id}/buttons/{button_id}: it archives the button, which
// then answers 404 on the public routes from the very next request. The checkouts already made from
// it are untouched. An unknown button, another project's or one archived already: 404.
type DeleteButton struct {
	Projects codex.ProjectStore
	Buttons  codex.ButtonStore
	Now      codex.Clock
}

func (h DeleteButton) Serve(ctx context.Context, req *Request) (Response, error) {
	m, err := memberProject(ctx, h.Projects, req)
	if err != nil {
		return Response{}, err
	}
	id := req.PathParameters["button_id"]
	if !codex.ValidID(codex.ButtonIDPrefix, id) {
		return Response{}, codex.NotFound("button")
	}
	if err := h.Buttons.ArchiveButton(ctx, m.Project.ID, id, h.Now()); err != nil {
		return Response{}, err
	}
	return NoContent(), nil
}
