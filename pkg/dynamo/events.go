package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"codex/pkg/codex"
)

var _ codex.EventStore = (*Store)(nil)

// Events in the app table (the outbox):
//
//	PK         SK     GSI1PK                GSI1SK              GSI2PK                       GSI2SK              ttl
//	EVENT#<id> EVENT  PROJECT#<pid>#EVENT   <created_at>#<id>   PROJECT#<pid>#EVENT#<type>   <created_at>#<id>   created_at + 30 days
//
// An event is written by the transaction that makes the change it records, never on its own:
// every status change appends eventPut(ev) to its TransactWriteItems. The table's stream carries
// the item's NEW_IMAGE to the webhook fan-out, which reads kind, project_id, event_id, event_type,
// created_at and event_json (the exact bytes it signs and sends). The id alone is the primary key,
// so GET /v1/events/{id} is one GetItem; GSI1 lists a project's events newest first and GSI2 a
// project's events of one type, so the type filter is a Query, not a scan with a filter.
type eventItem struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	GSI1PK    string `dynamodbav:"GSI1PK"`
	GSI1SK    string `dynamodbav:"GSI1SK"`
	GSI2PK    string `dynamodbav:"GSI2PK"`
	GSI2SK    string `dynamodbav:"GSI2SK"`
	Kind      string `dynamodbav:"kind"`
	ProjectID string `dynamodbav:"project_id"`
	EventID   string `dynamodbav:"event_id"`
	EventType string `dynamodbav:"event_type"`
	CreatedAt string `dynamodbav:"created_at"`
	EventJSON string `dynamodbav:"event_json"`
	TTL       int64  `dynamodbav:"ttl"`
}

const (
	eventSK   = "EVENT"
	eventKind = "event"
	indexGSI2 = "GSI2"
)

func eventPK(id string) string                   { return "EVENT#" + id }
func projectEventsGSI1PK(pid string) string      { return "PROJECT#" + pid + "#EVENT" }
func projectEventsGSI2PK(pid, typ string) string { return "PROJECT#" + pid + "#EVENT#" + typ }
func eventSortKey(createdAt time.Time, id string) string {
	return codex.FormatTime(createdAt) + "#" + id
}

// eventPut is an event's half of the transaction that makes its change. Every status change of a
// checkout adds it to its TransactWriteItems, next to the change:
//
//	evPut, err := s.eventPut(ev)
//	...
//	TransactItems: []types.TransactWriteItem{{Update: change}, {Put: evPut}}
//
// so that the change and its event commit together or not at all. The condition turns an (all but
// impossible) id collision into a cancelled transaction rather than an overwritten event.
func (s *Store) eventPut(ev codex.Event) (*types.Put, error) {
	if err := ev.Check(); err != nil {
		return nil, err
	}
	sk := eventSortKey(ev.CreatedAt, ev.ID)
	item, err := attributevalue.MarshalMap(eventItem{
		PK: eventPK(ev.ID), SK: eventSK,
		GSI1PK: projectEventsGSI1PK(ev.ProjectID), GSI1SK: sk,
		GSI2PK: projectEventsGSI2PK(ev.ProjectID, string(ev.Type)), GSI2SK: sk,
		Kind: eventKind, ProjectID: ev.ProjectID, EventID: ev.ID, EventType: string(ev.Type),
		CreatedAt: codex.FormatTime(ev.CreatedAt), EventJSON: string(ev.JSON),
		// Rounded up, so that TTL never deletes an event GET /v1/events still shows.
		TTL: ev.ExpiresAt().Add(time.Second - time.Nanosecond).Unix(),
	})
	if err != nil {
		return nil, err
	}
	return &types.Put{TableName: &s.tables.App, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}, nil
}

func unmarshalEvent(item map[string]types.AttributeValue) (codex.Event, error) {
	it, err := decodeItem[eventItem](item)
	if err != nil {
		return codex.Event{}, err
	}
	created, err := codex.ParseTime(it.CreatedAt)
	if err != nil {
		return codex.Event{}, fmt.Errorf("decode event %s: %w", it.EventID, err)
	}
	return codex.Event{ID: it.EventID, ProjectID: it.ProjectID, Type: codex.EventType(it.EventType),
		CreatedAt: created, JSON: []byte(it.EventJSON)}, nil
}

// expired reports whether ev is past retention as of now: DynamoDB's TTL deletes items some time
// after their ttl, so reads leave such events out themselves.
func expired(ev codex.Event, now time.Time) bool { return !now.Before(ev.ExpiresAt()) }

// findEvent reads an event by id with one strongly consistent GetItem: an event is readable as
// soon as the change that made it has returned. Another project's event is reported as missing.
func (s *Store) findEvent(ctx context.Context, projectID, id string) (codex.Event, error) {
	ev, err := getItem(ctx, s.db, &dynamodb.GetItemInput{
		TableName: &s.tables.App, ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: eventPK(id)},
			"SK": &types.AttributeValueMemberS{Value: eventSK},
		},
	}, "event", unmarshalEvent)
	if err == nil && ev.ProjectID != projectID {
		return codex.Event{}, codex.NotFound("event")
	}
	return ev, err
}

// GetEvent is findEvent within retention.
func (s *Store) GetEvent(ctx context.Context, projectID, id string, now time.Time) (codex.Event, error) {
	ev, err := s.findEvent(ctx, projectID, id)
	if err == nil && expired(ev, now) {
		return codex.Event{}, codex.NotFound("event")
	}
	return ev, err
}

// ListEvents queries GSI1 (all types) or GSI2 (one type) newest first for limit+1 items, exactly as
// ListCheckouts does: the extra one answers has_more, and starting_after costs one GetItem for the
// cursor's sort key and project. The cursor need not be of the filtered type: it is a position in
// time. Listing stops at the first event past retention, since all after it are older.
func (s *Store) ListEvents(ctx context.Context, projectID string, typ codex.EventType, limit int, startingAfter string, now time.Time) ([]codex.Event, bool, error) {
	index, pkName, skName, pk := indexGSI1, "GSI1PK", "GSI1SK", projectEventsGSI1PK(projectID)
	if typ != "" {
		index, pkName, skName, pk = indexGSI2, "GSI2PK", "GSI2SK", projectEventsGSI2PK(projectID, string(typ))
	}
	in := &dynamodb.QueryInput{
		TableName:                 &s.tables.App,
		IndexName:                 aws.String(index),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": pkName},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}},
		ScanIndexForward:          aws.Bool(false),
	}
	if startingAfter != "" {
		cursor, err := s.findEvent(ctx, projectID, startingAfter)
		if err != nil {
			return nil, false, err
		}
		// A GSI query resumes from the index key plus the table key of the last item seen.
		in.ExclusiveStartKey = map[string]types.AttributeValue{
			"PK":   &types.AttributeValueMemberS{Value: eventPK(cursor.ID)},
			"SK":   &types.AttributeValueMemberS{Value: eventSK},
			pkName: &types.AttributeValueMemberS{Value: pk},
			skName: &types.AttributeValueMemberS{Value: eventSortKey(cursor.CreatedAt, cursor.ID)},
		}
	}
	var page []codex.Event
	for {
		in.Limit = aws.Int32(int32(limit + 1 - len(page)))
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, false, fmt.Errorf("list events: %w", err)
		}
		for _, item := range out.Items {
			ev, err := unmarshalEvent(item)
			if err != nil {
				return nil, false, err
			}
			if expired(ev, now) {
				return page, false, nil
			}
			page = append(page, ev)
		}
		if len(page) > limit {
			return page[:limit], true, nil
		}
		if out.LastEvaluatedKey == nil {
			return page, false, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
