package dynamo

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"codex/pkg/codex"
)

var _ codex.AuditLog = (*Store)(nil)

// An audit event in the app table:
//
//	PK            SK                      ttl
//	PROJECT#<pid> AUDIT#<time>#<event id> time + codex.AuditRetention
//
// The time in the sort key orders a project's log, newest first with one Query. A key.expired
// event is written when the expiry is set, with the expiry as its time; the Query stops at now,
// so it shows from the moment the authorizer starts refusing the key.
type auditItem struct {
	PK          string `dynamodbav:"PK"`
	SK          string `dynamodbav:"SK"`
	Type        string `dynamodbav:"type"`
	ID          string `dynamodbav:"id"`
	ProjectID   string `dynamodbav:"project_id"`
	Action      string `dynamodbav:"action"`
	KeyID       string `dynamodbav:"key_id,omitempty"`
	ActorUserID string `dynamodbav:"actor_user_id,omitempty"`
	ActorEmail  string `dynamodbav:"actor_email,omitempty"`
	SourceIP    string `dynamodbav:"source_ip,omitempty"`
	UserAgent   string `dynamodbav:"user_agent,omitempty"`
	At          string `dynamodbav:"at"`
	NewKeyID    string `dynamodbav:"new_key_id,omitempty"`
	ExpiresAt   string `dynamodbav:"expires_at,omitempty"`
	Reason      string `dynamodbav:"reason,omitempty"`
	URL         string `dynamodbav:"url,omitempty"`
	TTL         int64  `dynamodbav:"ttl"`
}

const auditSKPrefix = "AUDIT#"

func auditSK(e codex.AuditEvent) string {
	return auditSKPrefix + codex.FormatTime(e.At) + "#" + e.ID
}

func auditKey(e codex.AuditEvent) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: projectPK(e.ProjectID)},
		"SK": &types.AttributeValueMemberS{Value: auditSK(e)},
	}
}

func marshalAudit(e codex.AuditEvent) (map[string]types.AttributeValue, error) {
	return attributevalue.MarshalMap(auditItem{
		PK: projectPK(e.ProjectID), SK: auditSK(e), Type: "audit", ID: e.ID, ProjectID: e.ProjectID,
		Action: string(e.Action), KeyID: e.KeyID, ActorUserID: e.Actor.UserID, ActorEmail: e.Actor.Email,
		SourceIP: e.SourceIP, UserAgent: codex.TruncateUTF8(e.UserAgent, codex.MaxUserAgentLength),
		At: codex.FormatTime(e.At), NewKeyID: e.NewKeyID, ExpiresAt: formatOptionalTime(e.ExpiresAt),
		Reason: e.Reason, URL: e.URL,
		TTL: e.At.Add(codex.AuditRetention).Unix(),
	})
}

func unmarshalAudit(item map[string]types.AttributeValue) (codex.AuditEvent, error) {
	it, err := decodeItem[auditItem](item)
	if err != nil {
		return codex.AuditEvent{}, err
	}
	at, err := codex.ParseTime(it.At)
	if err != nil {
		return codex.AuditEvent{}, fmt.Errorf("decode audit event %s: %w", it.ID, err)
	}
	expires, err := parseOptionalTime(it.ExpiresAt)
	if err != nil {
		return codex.AuditEvent{}, fmt.Errorf("decode audit event %s: %w", it.ID, err)
	}
	return codex.AuditEvent{
		ID: it.ID, ProjectID: it.ProjectID, Action: codex.AuditAction(it.Action), KeyID: it.KeyID,
		Actor: codex.Actor{UserID: it.ActorUserID, Email: it.ActorEmail}, SourceIP: it.SourceIP, UserAgent: it.UserAgent,
		At: at, NewKeyID: it.NewKeyID, ExpiresAt: expires, Reason: it.Reason, URL: it.URL,
	}, nil
}

// auditPut is the transaction item that records e; its condition turns an (impossible) id
// collision into a cancelled transaction rather than an overwrite.
func (s *Store) auditPut(e codex.AuditEvent) (types.TransactWriteItem, error) {
	item, err := marshalAudit(e)
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Put: &types.Put{
		TableName: &s.tables.App, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)"),
	}}, nil
}

// RecordAudit is one PutItem: the authorizer's record of a refusal.
func (s *Store) RecordAudit(ctx context.Context, e codex.AuditEvent) error {
	item, err := marshalAudit(e)
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.tables.App, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)"),
	})
	if err != nil {
		return fmt.Errorf("record audit event: %w", err)
	}
	return nil
}

// ListAudit is one strongly consistent Query of the project's AUDIT# items up to now, newest
// first. It reads limit+1 items to know whether there is a next page; the cursor is the last
// returned event's sort key, base64url-encoded.
func (s *Store) ListAudit(ctx context.Context, projectID string, now time.Time, limit int, cursor string) ([]codex.AuditEvent, string, error) {
	// "~" sorts after every character of an event id.
	to := auditSKPrefix + codex.FormatTime(now) + "#~"
	in := &dynamodb.QueryInput{
		TableName:              &s.tables.App,
		KeyConditionExpression: aws.String("PK = :pk AND SK BETWEEN :from AND :to"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":   &types.AttributeValueMemberS{Value: projectPK(projectID)},
			":from": &types.AttributeValueMemberS{Value: auditSKPrefix},
			":to":   &types.AttributeValueMemberS{Value: to},
		},
		ScanIndexForward: aws.Bool(false),
		ConsistentRead:   aws.Bool(true),
		Limit:            aws.Int32(int32(limit + 1)),
	}
	if cursor != "" {
		sk, err := decodeAuditCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		if sk > to {
			// DynamoDB refuses a start key outside the key condition; no page of ours ends there.
			return nil, "", codex.Invalid("cursor", "cursor must be a next_cursor from a previous page")
		}
		in.ExclusiveStartKey = map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: projectPK(projectID)},
			"SK": &types.AttributeValueMemberS{Value: sk},
		}
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("list audit log: %w", err)
	}
	events := make([]codex.AuditEvent, 0, len(out.Items))
	for _, item := range out.Items {
		e, err := unmarshalAudit(item)
		if err != nil {
			return nil, "", err
		}
		events = append(events, e)
	}
	if len(events) <= limit {
		return events, "", nil
	}
	events = events[:limit]
	return events, base64.RawURLEncoding.EncodeToString([]byte(auditSK(events[limit-1]))), nil
}

func decodeAuditCursor(cursor string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	sk := string(b)
	if err != nil || len(cursor) > 200 || !strings.HasPrefix(sk, auditSKPrefix) {
		return "", codex.Invalid("cursor", "cursor must be a next_cursor from a previous page")
	}
	return sk, nil
}
