package dynamo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"codex/pkg/codex"
)

var (
	_ codex.ButtonStore    = (*Store)(nil)
	_ codex.CheckoutFinder = (*Store)(nil)
)

// Buy buttons in the app table:
//
//	PK            SK              active
//	PROJECT#<pid> BUTTON#<id>     true until archived
//
// The project is part of the key, so a button id asked for under another project's id is simply
// not found by the one GetItem that serves a public request, and a project's buttons are one Query.
// Archiving sets active to false and keeps the item: checkouts made from the button stay as they
// are (they copy what they charge), and the id is never handed out again.
type buttonItem struct {
	PK         string `dynamodbav:"PK"`
	SK         string `dynamodbav:"SK"`
	Type       string `dynamodbav:"type"`
	ID         string `dynamodbav:"id"`
	ProjectID  string `dynamodbav:"project_id"`
	Name       string `dynamodbav:"name"`
	UnitAmount int64  `dynamodbav:"unit_amount"`
	Currency   string `dynamodbav:"currency"`
	SuccessURL string `dynamodbav:"success_url"`
	CancelURL  string `dynamodbav:"cancel_url"`
	Active     bool   `dynamodbav:"active"`
	CreatedAt  string `dynamodbav:"created_at"`
	CreatedBy  string `dynamodbav:"created_by"`
	ArchivedAt string `dynamodbav:"archived_at,omitempty"`
}

const (
	buttonSKPrefix = "BUTTON#"
	buttonType     = "button"
)

func buttonKey(projectID, id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: projectPK(projectID)},
		"SK": &types.AttributeValueMemberS{Value: buttonSKPrefix + id},
	}
}

func unmarshalButton(item map[string]types.AttributeValue) (codex.Button, error) {
	var it buttonItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return codex.Button{}, fmt.Errorf("decode button: %w", err)
	}
	created, err := codex.ParseTime(it.CreatedAt)
	if err != nil {
		return codex.Button{}, fmt.Errorf("decode button %s: %w", it.ID, err)
	}
	return codex.Button{
		ID: it.ID, ProjectID: it.ProjectID, Name: it.Name, UnitAmount: it.UnitAmount, Currency: it.Currency,
		SuccessURL: it.SuccessURL, CancelURL: it.CancelURL, Active: it.Active,
		CreatedAt: created, CreatedBy: it.CreatedBy,
	}, nil
}

// CreateButton is one PutItem. The condition turns an (impossible) id collision into an error
// rather than an overwrite.
func (s *Store) CreateButton(ctx context.Context, b codex.Button) error {
	item, err := attributevalue.MarshalMap(buttonItem{
		PK: projectPK(b.ProjectID), SK: buttonSKPrefix + b.ID, Type: buttonType,
		ID: b.ID, ProjectID: b.ProjectID, Name: b.Name, UnitAmount: b.UnitAmount, Currency: b.Currency,
		SuccessURL: b.SuccessURL, CancelURL: b.CancelURL, Active: b.Active,
		CreatedAt: codex.FormatTime(b.CreatedAt), CreatedBy: b.CreatedBy,
	})
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.tables.App, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)"),
	})
	if err != nil {
		return fmt.Errorf("create button %s: %w", b.ID, err)
	}
	return nil
}

// ListButtons is one strongly consistent Query of the project's partition (more pages only past
// 1 MB), so a button shows up in the list as soon as its creation has returned. Button ids are
// random, so the order by created_at is made here.
func (s *Store) ListButtons(ctx context.Context, projectID string) ([]codex.Button, error) {
	buttons, err := queryAll(ctx, s.db, s.partitionQuery(projectPK(projectID), buttonSKPrefix), unmarshalButton)
	if err != nil {
		return nil, fmt.Errorf("list buttons: %w", err)
	}
	slices.SortFunc(buttons, func(a, b codex.Button) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
	})
	return buttons, nil
}

// GetButton is one strongly consistent GetItem on the project's key, so an archived button is seen
// as archived by the very next public request.
func (s *Store) GetButton(ctx context.Context, projectID, id string) (codex.Button, error) {
	return getItem(ctx, s.db, &dynamodb.GetItemInput{
		TableName: &s.tables.App, Key: buttonKey(projectID, id), ConsistentRead: aws.Bool(true),
	}, "button", unmarshalButton)
}

// ArchiveButton is one conditional UpdateItem: it flips an active button to archived and fails,
// as NotFound, on a button that does not exist in the project or is archived already.
func (s *Store) ArchiveButton(ctx context.Context, projectID, id string, at time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           &s.tables.App,
		Key:                 buttonKey(projectID, id),
		UpdateExpression:    aws.String("SET active = :false, archived_at = :at"),
		ConditionExpression: aws.String("attribute_exists(PK) AND active = :true"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":false": &types.AttributeValueMemberBOOL{Value: false},
			":true":  &types.AttributeValueMemberBOOL{Value: true},
			":at":    &types.AttributeValueMemberS{Value: codex.FormatTime(at)},
		},
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return codex.NotFound("button")
	}
	if err != nil {
		return fmt.Errorf("archive button %s: %w", id, err)
	}
	return nil
}
