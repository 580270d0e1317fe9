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

var (
	_ codex.KeyStore  = (*Store)(nil)
	_ codex.KeyLookup = (*Store)(nil)
)

// keyItem is a key in the keys table. It holds the hash of the secret, never the secret.
type keyItem struct {
	Hash        string `dynamodbav:"key_hash"`
	HashVersion int    `dynamodbav:"hash_version"`
	KeyID       string `dynamodbav:"key_id"`
	ProjectID   string `dynamodbav:"project_id"`
	Name        string `dynamodbav:"name"`
	Prefix      string `dynamodbav:"prefix"`
	CreatedAt   string `dynamodbav:"created_at"`
	CreatedBy   string `dynamodbav:"created_by"`
}

// keyRefItem lets DELETE /keys/{key_id} find the hash with a strongly consistent read; the by_project
// index could find it too, but only eventually.
type keyRefItem struct {
	PK      string `dynamodbav:"PK"`
	SK      string `dynamodbav:"SK"`
	Type    string `dynamodbav:"type"`
	KeyID   string `dynamodbav:"key_id"`
	KeyHash string `dynamodbav:"key_hash"`
}

func keyRefSK(keyID string) string { return "KEY#" + keyID }

// CreateKey writes the key and its reference in one transaction.
func (s *Store) CreateKey(ctx context.Context, k codex.APIKey, hash string, hashVersion int) error {
	key, err := attributevalue.MarshalMap(keyItem{
		Hash: hash, HashVersion: hashVersion, KeyID: k.ID, ProjectID: k.ProjectID, Name: k.Name,
		Prefix: k.Prefix, CreatedAt: codex.FormatTime(k.CreatedAt), CreatedBy: k.CreatedBy,
	})
	if err != nil {
		return err
	}
	ref, err := attributevalue.MarshalMap(keyRefItem{
		PK: projectPK(k.ProjectID), SK: keyRefSK(k.ID), Type: "key_ref", KeyID: k.ID, KeyHash: hash,
	})
	if err != nil {
		return err
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: &s.tables.Keys, Item: key, ConditionExpression: aws.String("attribute_not_exists(key_hash)")}},
			{Put: &types.Put{TableName: &s.tables.App, Item: ref, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		},
	})
	if err != nil {
		return fmt.Errorf("create key %s: %w", k.ID, err)
	}
	return nil
}

// ListKeys queries the by_project index newest first. The index projects only what a list shows.
func (s *Store) ListKeys(ctx context.Context, projectID string) ([]codex.APIKey, error) {
	in := &dynamodb.QueryInput{
		TableName:              &s.tables.Keys,
		IndexName:              aws.String("by_project"),
		KeyConditionExpression: aws.String("project_id = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":p": &types.AttributeValueMemberS{Value: projectID},
		},
		ScanIndexForward: aws.Bool(false),
	}
	keys, err := queryAll(ctx, s.db, in, func(item map[string]types.AttributeValue) (codex.APIKey, error) {
		var it keyItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return codex.APIKey{}, fmt.Errorf("decode key: %w", err)
		}
		created, err := codex.ParseTime(it.CreatedAt)
		if err != nil {
			return codex.APIKey{}, fmt.Errorf("decode key %s: %w", it.KeyID, err)
		}
		return codex.APIKey{ID: it.KeyID, ProjectID: it.ProjectID, Name: it.Name, Prefix: it.Prefix, CreatedAt: created}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return keys, nil
}

// DeleteKey finds the key's hash through its reference, then deletes the key and the reference in one
// transaction. When it returns, the authorizer's consistent read no longer finds the key.
func (s *Store) DeleteKey(ctx context.Context, projectID, keyID string) error {
	refKey := map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: projectPK(projectID)},
		"SK": &types.AttributeValueMemberS{Value: keyRefSK(keyID)},
	}
	ref, err := getItem(ctx, s.db, &dynamodb.GetItemInput{
		TableName: &s.tables.App, Key: refKey, ConsistentRead: aws.Bool(true),
	}, "key", decodeItem[keyRefItem])
	if err != nil {
		return err
	}
	in := &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{
			{Delete: &types.Delete{
				TableName: &s.tables.Keys,
				Key:       map[string]types.AttributeValue{"key_hash": &types.AttributeValueMemberS{Value: ref.KeyHash}},
				// The project check makes a reference that somehow points at another project's key harmless.
				ConditionExpression:       aws.String("project_id = :p"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: projectID}},
			}},
			{Delete: &types.Delete{TableName: &s.tables.App, Key: refKey, ConditionExpression: aws.String("attribute_exists(PK)")}},
		},
	}
	// Two deletes of one key at once (a double click, a retrying client): DynamoDB cancels one with
	// TransactionConflict while the other runs. Trying again a moment later settles it: the key is
	// gone (404 below), or the other delete failed and this one goes through.
	for attempt := 1; ; attempt++ {
		// A new transaction each time: the SDK set the token of the last one on in, and DynamoDB
		// would answer a repeated token with that transaction's outcome.
		in.ClientRequestToken = nil
		_, err = s.db.TransactWriteItems(ctx, in)
		if attempt == conflictAttempts || !canceledBy(err, "TransactionConflict") {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt) * 25 * time.Millisecond):
		}
	}
	if canceledBy(err, "ConditionalCheckFailed") {
		// A concurrent delete won the race: to this caller the key is gone either way.
		return codex.NotFound("key")
	}
	if err != nil {
		return fmt.Errorf("delete key %s: %w", keyID, err)
	}
	return nil
}

// conflictAttempts is how many times DeleteKey tries a transaction that a concurrent one cancels.
const conflictAttempts = 3

// LookupKey is the authorizer's single read: a strongly consistent GetItem, so a key deleted a moment
// ago is never found.
func (s *Store) LookupKey(ctx context.Context, hash string) (codex.Principal, error) {
	it, err := getItem(ctx, s.db, &dynamodb.GetItemInput{
		TableName:            &s.tables.Keys,
		Key:                  map[string]types.AttributeValue{"key_hash": &types.AttributeValueMemberS{Value: hash}},
		ConsistentRead:       aws.Bool(true),
		ProjectionExpression: aws.String("key_id, project_id"),
	}, "key", decodeItem[keyItem])
	if err != nil {
		return codex.Principal{}, err
	}
	return codex.Principal{ProjectID: it.ProjectID, KeyID: it.KeyID}, nil
}
