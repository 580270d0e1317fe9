package dynamo

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"codex/pkg/codex"
)

var _ codex.WebhookStore = (*Store)(nil)

// Webhook endpoints and their deliveries in the app table:
//
//	PK             SK                                  what
//	PROJECT#<pid>  WEBHOOK#<id>                        an endpoint, its signing keys sealed by KMS
//	WEBHOOK#<id>   ATTEMPT#<time>#<event id>#<nn>      one delivery attempt, with a ttl (30 days)
//	WEBHOOK#<id>   EVENT#<event id>                    the event's exact JSON, for redelivery (ttl)
//
// An endpoint lives under its project, so one GetItem both finds it and proves it is the
// project's; its deliveries have a partition of their own, read newest first by sort key.
type webhookItem struct {
	PK             string   `dynamodbav:"PK"`
	SK             string   `dynamodbav:"SK"`
	Type           string   `dynamodbav:"type"`
	ID             string   `dynamodbav:"id"`
	ProjectID      string   `dynamodbav:"project_id"`
	URL            string   `dynamodbav:"url"`
	Events         []string `dynamodbav:"events"`
	Description    string   `dynamodbav:"description"`
	Disabled       bool     `dynamodbav:"disabled"`
	DisabledReason string   `dynamodbav:"disabled_reason,omitempty"`
	CreatedAt      string   `dynamodbav:"created_at"`
	UpdatedAt      string   `dynamodbav:"updated_at"`
	Secret         []byte   `dynamodbav:"secret_sealed"`
	PreviousSecret []byte   `dynamodbav:"previous_secret_sealed,omitempty"`
	PreviousUntil  string   `dynamodbav:"previous_until,omitempty"`
	FailingSince   string   `dynamodbav:"failing_since,omitempty"`
}

type attemptItem struct {
	PK           string `dynamodbav:"PK"`
	SK           string `dynamodbav:"SK"`
	Type         string `dynamodbav:"type"`
	EndpointID   string `dynamodbav:"endpoint_id"`
	EventID      string `dynamodbav:"event_id"`
	EventType    string `dynamodbav:"event_type"`
	Attempt      int    `dynamodbav:"attempt"`
	At           string `dynamodbav:"at"`
	Status       int    `dynamodbav:"status"`
	LatencyMS    int64  `dynamodbav:"latency_ms"`
	ResponseBody string `dynamodbav:"response_body"`
	Error        string `dynamodbav:"error,omitempty"`
	NextRetryAt  string `dynamodbav:"next_retry_at,omitempty"`
	Outcome      string `dynamodbav:"outcome"`
	TTL          int64  `dynamodbav:"ttl"`
}

type deliveryItem struct {
	PK         string `dynamodbav:"PK"`
	SK         string `dynamodbav:"SK"`
	Type       string `dynamodbav:"type"`
	EndpointID string `dynamodbav:"endpoint_id"`
	EventID    string `dynamodbav:"event_id"`
	EventType  string `dynamodbav:"event_type"`
	EventJSON  string `dynamodbav:"event_json"`
	TTL        int64  `dynamodbav:"ttl"`
}

// webhookRetention is how long attempts and event copies are kept, as events are.
const webhookRetention = 30 * 24 * time.Hour

const (
	webhookSKPrefix = "WEBHOOK#"
	attemptSKPrefix = "ATTEMPT#"
)

func webhookKey(projectID, id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: projectPK(projectID)},
		"SK": &types.AttributeValueMemberS{Value: webhookSKPrefix + id},
	}
}

func deliveriesPK(endpointID string) string { return "WEBHOOK#" + endpointID }

func optTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return codex.ParseTime(s)
}

func optFormat(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return codex.FormatTime(t)
}

func unmarshalWebhook(item map[string]types.AttributeValue) (codex.WebhookEndpoint, error) {
	var it webhookItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return codex.WebhookEndpoint{}, fmt.Errorf("decode webhook: %w", err)
	}
	e := codex.WebhookEndpoint{
		ID: it.ID, ProjectID: it.ProjectID, URL: it.URL, Events: it.Events, Description: it.Description,
		Disabled: it.Disabled, DisabledReason: it.DisabledReason, Secret: it.Secret, PreviousSecret: it.PreviousSecret,
	}
	var errs [5]error
	e.CreatedAt, errs[0] = codex.ParseTime(it.CreatedAt)
	e.UpdatedAt, errs[1] = codex.ParseTime(it.UpdatedAt)
	e.PreviousUntil, errs[2] = optTime(it.PreviousUntil)
	e.FailingSince, errs[3] = optTime(it.FailingSince)
	if err := errors.Join(errs[:]...); err != nil {
		return codex.WebhookEndpoint{}, fmt.Errorf("decode webhook %s: %w", it.ID, err)
	}
	return e, nil
}

// CreateWebhook is one conditional PutItem.
func (s *Store) CreateWebhook(ctx context.Context, e codex.WebhookEndpoint) error {
	item, err := attributevalue.MarshalMap(webhookItem{
		PK: projectPK(e.ProjectID), SK: webhookSKPrefix + e.ID, Type: "webhook", ID: e.ID, ProjectID: e.ProjectID,
		URL: e.URL, Events: e.Events, Description: e.Description, Disabled: e.Disabled, DisabledReason: e.DisabledReason,
		CreatedAt: codex.FormatTime(e.CreatedAt), UpdatedAt: codex.FormatTime(e.UpdatedAt), Secret: e.Secret,
	})
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.tables.App, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)"),
	})
	if err != nil {
		return fmt.Errorf("create webhook %s: %w", e.ID, err)
	}
	return nil
}

// GetWebhook is one strongly consistent GetItem.
func (s *Store) GetWebhook(ctx context.Context, projectID, id string) (codex.WebhookEndpoint, error) {
	return getItem(ctx, s.db, &dynamodb.GetItemInput{
		TableName: &s.tables.App, Key: webhookKey(projectID, id), ConsistentRead: aws.Bool(true),
	}, "webhook endpoint", unmarshalWebhook)
}

// ListWebhooks is one query of the project's partition.
func (s *Store) ListWebhooks(ctx context.Context, projectID string) ([]codex.WebhookEndpoint, error) {
	out, err := queryAll(ctx, s.db, s.partitionQuery(projectPK(projectID), webhookSKPrefix), unmarshalWebhook)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out, nil
}

// UpdateWebhook is one UpdateItem of the fields given, conditional on the endpoint existing.
func (s *Store) UpdateWebhook(ctx context.Context, projectID, id string, c codex.WebhookChanges) (codex.WebhookEndpoint, error) {
	set := []string{"updated_at = :at"}
	remove := []string{}
	values := map[string]types.AttributeValue{":at": &types.AttributeValueMemberS{Value: codex.FormatTime(c.At)}}
	names := map[string]string{}
	if c.URL != nil {
		set = append(set, "#url = :url")
		names["#url"] = "url"
		values[":url"] = &types.AttributeValueMemberS{Value: *c.URL}
	}
	if c.Events != nil {
		ev, err := attributevalue.Marshal(c.Events)
		if err != nil {
			return codex.WebhookEndpoint{}, err
		}
		set = append(set, "events = :events")
		values[":events"] = ev
	}
	if c.Description != nil {
		set = append(set, "description = :d")
		values[":d"] = &types.AttributeValueMemberS{Value: *c.Description}
	}
	if c.Disabled != nil {
		set = append(set, "disabled = :dis")
		values[":dis"] = &types.AttributeValueMemberBOOL{Value: *c.Disabled}
		if *c.Disabled {
			set = append(set, "disabled_reason = :why")
			values[":why"] = &types.AttributeValueMemberS{Value: c.DisabledReason}
		} else {
			// Enabled again: a fresh start, not five days of old failures.
			remove = append(remove, "disabled_reason", "failing_since")
		}
	}
	expr := "SET " + strings.Join(set, ", ")
	if len(remove) > 0 {
		expr += " REMOVE " + strings.Join(remove, ", ")
	}
	in := &dynamodb.UpdateItemInput{
		TableName: &s.tables.App, Key: webhookKey(projectID, id),
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueAllNew,
	}
	if len(names) > 0 {
		in.ExpressionAttributeNames = names
	}
	out, err := s.db.UpdateItem(ctx, in)
	var cc *types.ConditionalCheckFailedException
	if errors.As(err, &cc) {
		return codex.WebhookEndpoint{}, codex.NotFound("webhook endpoint")
	}
	if err != nil {
		return codex.WebhookEndpoint{}, fmt.Errorf("update webhook %s: %w", id, err)
	}
	return unmarshalWebhook(out.Attributes)
}

// DeleteWebhook is one conditional DeleteItem. Its deliveries expire with their ttl.
func (s *Store) DeleteWebhook(ctx context.Context, projectID, id string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.tables.App, Key: webhookKey(projectID, id), ConditionExpression: aws.String("attribute_exists(PK)"),
	})
	var cc *types.ConditionalCheckFailedException
	if errors.As(err, &cc) {
		return codex.NotFound("webhook endpoint")
	}
	if err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	return nil
}

// RotateWebhookSecret is one UpdateItem, conditional on current still being the current key.
func (s *Store) RotateWebhookSecret(ctx context.Context, projectID, id string, current, next []byte, until, at time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.tables.App, Key: webhookKey(projectID, id),
		UpdateExpression:    aws.String("SET secret_sealed = :next, previous_secret_sealed = :cur, previous_until = :until, updated_at = :at"),
		ConditionExpression: aws.String("secret_sealed = :cur"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":next":  &types.AttributeValueMemberB{Value: next},
			":cur":   &types.AttributeValueMemberB{Value: current},
			":until": &types.AttributeValueMemberS{Value: codex.FormatTime(until)},
			":at":    &types.AttributeValueMemberS{Value: codex.FormatTime(at)},
		},
	})
	var cc *types.ConditionalCheckFailedException
	if errors.As(err, &cc) {
		return codex.NotFound("webhook endpoint")
	}
	if err != nil {
		return fmt.Errorf("rotate webhook secret %s: %w", id, err)
	}
	return nil
}

// RecordWebhookAttempt writes the attempt and the event's copy in one transaction, so an attempt is never listed without the event redelivery needs.
func (s *Store) RecordWebhookAttempt(ctx context.Context, a codex.WebhookAttempt, d codex.WebhookDelivery) error {
	ttl := a.At.Add(webhookRetention).Unix()
	attempt, err := attributevalue.MarshalMap(attemptItem{
		PK: deliveriesPK(a.EndpointID), SK: attemptSK(a), Type: "webhook_attempt",
		EndpointID: a.EndpointID, EventID: a.EventID, EventType: a.EventType, Attempt: a.Attempt,
		At: codex.FormatTime(a.At), Status: a.Status, LatencyMS: a.Latency.Milliseconds(), ResponseBody: a.ResponseBody,
		Error: a.Error, NextRetryAt: optFormat(a.NextRetryAt), Outcome: a.Outcome, TTL: ttl,
	})
	if err != nil {
		return err
	}
	event, err := attributevalue.MarshalMap(deliveryItem{
		PK: deliveriesPK(d.EndpointID), SK: "EVENT#" + d.EventID, Type: "webhook_event",
		EndpointID: d.EndpointID, EventID: d.EventID, EventType: d.EventType, EventJSON: d.EventJSON, TTL: ttl,
	})
	if err != nil {
		return err
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: &s.tables.App, Item: attempt}},
			{Put: &types.Put{TableName: &s.tables.App, Item: event}},
		},
	})
	if err != nil {
		return fmt.Errorf("record webhook attempt: %w", err)
	}
	return nil
}

// attemptSK sorts an endpoint's attempts by time; the event id and attempt number keep two
// attempts of one millisecond apart.
func attemptSK(a codex.WebhookAttempt) string {
	return fmt.Sprintf("%s%s#%s#%02d", attemptSKPrefix, codex.FormatTime(a.At), a.EventID, a.Attempt)
}

// ListWebhookAttempts is one query of the endpoint's deliveries, newest first. The cursor is the
// last sort key returned, opaque to clients (base64).
func (s *Store) ListWebhookAttempts(ctx context.Context, endpointID string, limit int, cursor string) ([]codex.WebhookAttempt, string, error) {
	in := s.partitionQuery(deliveriesPK(endpointID), attemptSKPrefix)
	in.ScanIndexForward = aws.Bool(false)
	in.Limit = aws.Int32(int32(limit))
	if cursor != "" {
		sk, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || !strings.HasPrefix(string(sk), attemptSKPrefix) {
			return nil, "", codex.Invalid("starting_after", "starting_after is not a cursor this list returned")
		}
		in.ExclusiveStartKey = map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: deliveriesPK(endpointID)},
			"SK": &types.AttributeValueMemberS{Value: string(sk)},
		}
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("list webhook attempts: %w", err)
	}
	attempts := make([]codex.WebhookAttempt, 0, len(out.Items))
	for _, item := range out.Items {
		var it attemptItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return nil, "", fmt.Errorf("decode webhook attempt: %w", err)
		}
		a := codex.WebhookAttempt{
			EndpointID: it.EndpointID, EventID: it.EventID, EventType: it.EventType, Attempt: it.Attempt,
			Status: it.Status, Latency: time.Duration(it.LatencyMS) * time.Millisecond, ResponseBody: it.ResponseBody,
			Error: it.Error, Outcome: it.Outcome,
		}
		var e1, e2 error
		a.At, e1 = codex.ParseTime(it.At)
		a.NextRetryAt, e2 = optTime(it.NextRetryAt)
		if err := errors.Join(e1, e2); err != nil {
			return nil, "", fmt.Errorf("decode webhook attempt: %w", err)
		}
		attempts = append(attempts, a)
	}
	next := ""
	if sk, ok := out.LastEvaluatedKey["SK"].(*types.AttributeValueMemberS); ok && len(attempts) == limit {
		next = base64.RawURLEncoding.EncodeToString([]byte(sk.Value))
	}
	return attempts, next, nil
}

// GetWebhookDelivery is one strongly consistent GetItem.
func (s *Store) GetWebhookDelivery(ctx context.Context, endpointID, eventID string) (codex.WebhookDelivery, error) {
	return getItem(ctx, s.db, &dynamodb.GetItemInput{
		TableName: &s.tables.App, ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: deliveriesPK(endpointID)},
			"SK": &types.AttributeValueMemberS{Value: "EVENT#" + eventID},
		},
	}, "delivery", func(item map[string]types.AttributeValue) (codex.WebhookDelivery, error) {
		it, err := decodeItem[deliveryItem](item)
		return codex.WebhookDelivery{EndpointID: it.EndpointID, EventID: it.EventID, EventType: it.EventType, EventJSON: it.EventJSON}, err
	})
}

// WebhookFailed sets failing_since if it is not set, in one UpdateItem that returns it.
func (s *Store) WebhookFailed(ctx context.Context, projectID, id string, at time.Time) (time.Time, error) {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.tables.App, Key: webhookKey(projectID, id),
		UpdateExpression:          aws.String("SET failing_since = if_not_exists(failing_since, :at)"),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": &types.AttributeValueMemberS{Value: codex.FormatTime(at)}},
		ReturnValues:              types.ReturnValueAllNew,
	})
	var cc *types.ConditionalCheckFailedException
	if errors.As(err, &cc) {
		return time.Time{}, codex.NotFound("webhook endpoint")
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("webhook %s failed: %w", id, err)
	}
	since, _ := out.Attributes["failing_since"].(*types.AttributeValueMemberS)
	if since == nil {
		return at, nil
	}
	return codex.ParseTime(since.Value)
}

// WebhookSucceeded removes failing_since, only when it is set: the common case (a healthy
// endpoint) costs nothing but a failed condition... which DynamoDB still bills, so callers skip
// it when the endpoint they read was not failing.
func (s *Store) WebhookSucceeded(ctx context.Context, projectID, id string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.tables.App, Key: webhookKey(projectID, id),
		UpdateExpression:    aws.String("REMOVE failing_since"),
		ConditionExpression: aws.String("attribute_exists(failing_since)"),
	})
	var cc *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &cc) {
		return fmt.Errorf("webhook %s succeeded: %w", id, err)
	}
	return nil
}
