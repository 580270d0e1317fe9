package dynamo

import (
	"cmp"
	"context"
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
	_ codex.KeyStore  = (*Store)(nil)
	_ codex.KeyLookup = (*Store)(nil)
)

// keyItem is a key in the keys table. It holds the hash of the secret, never the secret. It is the
// one place a key's state lives: the authorizer reads it with one GetItem, and lists read it too.
type keyItem struct {
	Hash        string `dynamodbav:"key_hash"`
	HashVersion int    `dynamodbav:"hash_version"`
	KeyID       string `dynamodbav:"key_id"`
	ProjectID   string `dynamodbav:"project_id"`
	Name        string `dynamodbav:"name"`
	Prefix      string `dynamodbav:"prefix"`
	CreatedAt   string `dynamodbav:"created_at"`
	CreatedBy   string `dynamodbav:"created_by"`
	ExpiresAt   string `dynamodbav:"expires_at,omitempty"`
	// Written by the authorizer alone, at most once per codex.LastUsedInterval.
	LastUsedAt        string `dynamodbav:"last_used_at,omitempty"`
	LastUsedIP        string `dynamodbav:"last_used_ip,omitempty"`
	LastUsedUserAgent string `dynamodbav:"last_used_user_agent,omitempty"`
}

// keyRefItem is a key's entry in its project's partition of the app table. A project's keys are
// listed from these with a strongly consistent Query (an index of the keys table could list them
// only eventually), and DELETE and roll find the hash through them. ExpiresAt is
// copied from the key so that a delete knows which pending key.expired event to drop.
type keyRefItem struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	Type      string `dynamodbav:"type"`
	KeyID     string `dynamodbav:"key_id"`
	KeyHash   string `dynamodbav:"key_hash"`
	CreatedAt string `dynamodbav:"created_at,omitempty"`
	ExpiresAt string `dynamodbav:"expires_at,omitempty"`
}

const keyRefSKPrefix = "KEY#"

func keyRefSK(keyID string) string { return keyRefSKPrefix + keyID }

func keyRefKey(projectID, keyID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: projectPK(projectID)},
		"SK": &types.AttributeValueMemberS{Value: keyRefSK(keyID)},
	}
}

func keyHashKey(hash string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"key_hash": &types.AttributeValueMemberS{Value: hash}}
}

// formatOptionalTime is FormatTime, or "" (an absent attribute) for the zero time.
func formatOptionalTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return codex.FormatTime(t)
}

func parseOptionalTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return codex.ParseTime(s)
}

// CreateKey writes the key, its reference, its audit event and, for a key that expires, its
// pending key.expired event, in one transaction.
func (s *Store) CreateKey(ctx context.Context, k codex.APIKey, hash string, hashVersion int, audit codex.AuditEvent) error {
	items, err := s.newKeyWrites(k, hash, hashVersion)
	if err != nil {
		return err
	}
	events := []codex.AuditEvent{audit}
	if !k.ExpiresAt.IsZero() {
		events = append(events, codex.ExpiryEvent(k.ProjectID, k.ID, k.ExpiresAt))
	}
	for _, e := range events {
		put, err := s.auditPut(e)
		if err != nil {
			return err
		}
		items = append(items, put)
	}
	if _, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items}); err != nil {
		return fmt.Errorf("create key %s: %w", k.ID, err)
	}
	return nil
}

// newKeyWrites are the puts of a new key and its reference.
func (s *Store) newKeyWrites(k codex.APIKey, hash string, hashVersion int) ([]types.TransactWriteItem, error) {
	key, err := attributevalue.MarshalMap(keyItem{
		Hash: hash, HashVersion: hashVersion, KeyID: k.ID, ProjectID: k.ProjectID, Name: k.Name,
		Prefix: k.Prefix, CreatedAt: codex.FormatTime(k.CreatedAt), CreatedBy: k.CreatedBy,
		ExpiresAt: formatOptionalTime(k.ExpiresAt),
	})
	if err != nil {
		return nil, err
	}
	ref, err := attributevalue.MarshalMap(keyRefItem{
		PK: projectPK(k.ProjectID), SK: keyRefSK(k.ID), Type: "key_ref", KeyID: k.ID, KeyHash: hash,
		CreatedAt: codex.FormatTime(k.CreatedAt), ExpiresAt: formatOptionalTime(k.ExpiresAt),
	})
	if err != nil {
		return nil, err
	}
	return []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.tables.Keys, Item: key, ConditionExpression: aws.String("attribute_not_exists(key_hash)")}},
		{Put: &types.Put{TableName: &s.tables.App, Item: ref, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
	}, nil
}

// ListKeys reads the project's key references with a strongly consistent Query, then the keys
// themselves with strongly consistent BatchGetItems, so a key created or deleted a moment ago is
// listed or gone, and its last use is the one the authorizer last wrote. Newest first.
func (s *Store) ListKeys(ctx context.Context, projectID string) ([]codex.APIKey, error) {
	refs, err := queryAll(ctx, s.db, s.partitionQuery(projectPK(projectID), keyRefSKPrefix), decodeItem[keyRefItem])
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	keys := make([]codex.APIKey, 0, len(refs))
	for chunk := range slices.Chunk(refs, 100) { // BatchGetItem's limit
		pending := make([]map[string]types.AttributeValue, 0, len(chunk))
		for _, r := range chunk {
			pending = append(pending, keyHashKey(r.KeyHash))
		}
		for attempt := 0; len(pending) > 0; attempt++ {
			if attempt > 0 {
				if err := sleep(ctx, time.Duration(attempt)*25*time.Millisecond); err != nil {
					return nil, err
				}
			}
			out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
				s.tables.Keys: {Keys: pending, ConsistentRead: aws.Bool(true)},
			}})
			if err != nil {
				return nil, fmt.Errorf("list keys: %w", err)
			}
			for _, item := range out.Responses[s.tables.Keys] {
				k, err := unmarshalKey(item)
				if err != nil {
					return nil, err
				}
				// A reference pointing at another project's key would be a bug; never show it.
				if k.ProjectID == projectID {
					keys = append(keys, k)
				}
			}
			pending = out.UnprocessedKeys[s.tables.Keys].Keys
		}
	}
	slices.SortFunc(keys, func(a, b codex.APIKey) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
	})
	return keys, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func unmarshalKey(item map[string]types.AttributeValue) (codex.APIKey, error) {
	it, err := decodeItem[keyItem](item)
	if err != nil {
		return codex.APIKey{}, err
	}
	created, err := codex.ParseTime(it.CreatedAt)
	if err != nil {
		return codex.APIKey{}, fmt.Errorf("decode key %s: %w", it.KeyID, err)
	}
	expires, err := parseOptionalTime(it.ExpiresAt)
	if err != nil {
		return codex.APIKey{}, fmt.Errorf("decode key %s: %w", it.KeyID, err)
	}
	used, err := parseOptionalTime(it.LastUsedAt)
	if err != nil {
		return codex.APIKey{}, fmt.Errorf("decode key %s: %w", it.KeyID, err)
	}
	return codex.APIKey{
		ID: it.KeyID, ProjectID: it.ProjectID, Name: it.Name, Prefix: it.Prefix, CreatedAt: created, CreatedBy: it.CreatedBy,
		ExpiresAt: expires, LastUsed: codex.KeyUse{At: used, IP: it.LastUsedIP, UserAgent: it.LastUsedUserAgent},
	}, nil
}

// keyRef reads a key's reference with a strongly consistent GetItem.
func (s *Store) keyRef(ctx context.Context, projectID, keyID string) (keyRefItem, error) {
	return getItem(ctx, s.db, &dynamodb.GetItemInput{
		TableName: &s.tables.App, Key: keyRefKey(projectID, keyID), ConsistentRead: aws.Bool(true),
	}, "key", decodeItem[keyRefItem])
}

// DeleteKey finds the key's hash through its reference, then deletes the key and the reference
// and records audit in one transaction, dropping the key's key.expired event if it is still to
// come. When it returns, the authorizer's consistent read no longer finds the key.
func (s *Store) DeleteKey(ctx context.Context, projectID, keyID string, audit codex.AuditEvent) error {
	ref, err := s.keyRef(ctx, projectID, keyID)
	if err != nil {
		return err
	}
	put, err := s.auditPut(audit)
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{
		{Delete: &types.Delete{
			TableName: &s.tables.Keys,
			Key:       keyHashKey(ref.KeyHash),
			// The project check makes a reference that somehow points at another project's key harmless.
			ConditionExpression:       aws.String("project_id = :p"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: projectID}},
		}},
		{Delete: &types.Delete{TableName: &s.tables.App, Key: keyRefKey(projectID, keyID), ConditionExpression: aws.String("attribute_exists(PK)")}},
		put,
	}
	if pending, err := parseOptionalTime(ref.ExpiresAt); err == nil && pending.After(audit.At) {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{
			TableName: &s.tables.App, Key: auditKey(codex.ExpiryEvent(projectID, keyID, pending)),
		}})
	}
	in := &dynamodb.TransactWriteItemsInput{TransactItems: items}
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
		if err := sleep(ctx, time.Duration(attempt)*25*time.Millisecond); err != nil {
			return err
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

// conflictAttempts is how many times DeleteKey and RollKey try a transaction that a concurrent
// one cancels.
const conflictAttempts = 3

// RollKey reads the old key (through its reference, both strongly consistent) and then, in one
// transaction: puts the new key with the old one's name and its reference, sets the old key's
// expiry on the key and its reference (conditional on the expiry read, so a concurrent roll or
// delete makes it start over), replaces the old key's pending key.expired event and records the
// roll. The old key's expiry only ever moves earlier.
func (s *Store) RollKey(ctx context.Context, r codex.RollKey) (codex.APIKey, error) {
	for attempt := 1; ; attempt++ {
		k, err := s.rollOnce(ctx, r)
		if attempt < conflictAttempts && (canceledBy(err, "ConditionalCheckFailed") || canceledBy(err, "TransactionConflict")) {
			if err := sleep(ctx, time.Duration(attempt)*25*time.Millisecond); err != nil {
				return codex.APIKey{}, err
			}
			continue
		}
		if canceledBy(err, "ConditionalCheckFailed") {
			return codex.APIKey{}, codex.NotFound("key")
		}
		if err != nil && codex.ErrorCode(err) == codex.CodeInternal {
			return codex.APIKey{}, fmt.Errorf("roll key %s: %w", r.OldKeyID, err)
		}
		return k, err
	}
}

func (s *Store) rollOnce(ctx context.Context, r codex.RollKey) (codex.APIKey, error) {
	now := r.Audit.At
	ref, err := s.keyRef(ctx, r.ProjectID, r.OldKeyID)
	if err != nil {
		return codex.APIKey{}, err
	}
	old, err := getItem(ctx, s.db, &dynamodb.GetItemInput{
		TableName: &s.tables.Keys, Key: keyHashKey(ref.KeyHash), ConsistentRead: aws.Bool(true),
	}, "key", unmarshalKey)
	if err != nil {
		return codex.APIKey{}, err
	}
	if old.ProjectID != r.ProjectID {
		return codex.APIKey{}, codex.NotFound("key")
	}
	if codex.Expired(old.ExpiresAt, now) {
		return codex.APIKey{}, codex.Errorf(codex.CodeKeyExpired, "this key has expired; create a new key instead")
	}
	k := r.New
	k.Name = old.Name
	expires := r.GraceEnds
	if !old.ExpiresAt.IsZero() && old.ExpiresAt.Before(expires) {
		expires = old.ExpiresAt
	}
	items, err := s.newKeyWrites(k, r.Hash, r.HashVersion)
	if err != nil {
		return codex.APIKey{}, err
	}
	audit := r.Audit
	audit.KeyID, audit.NewKeyID, audit.ExpiresAt = old.ID, k.ID, expires
	moved, err := s.expiryWrites(old, ref.KeyHash, expires)
	if err != nil {
		return codex.APIKey{}, err
	}
	put, err := s.auditPut(audit)
	if err != nil {
		return codex.APIKey{}, err
	}
	items = append(append(items, moved...), put)
	if _, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items}); err != nil {
		return codex.APIKey{}, err
	}
	return k, nil
}

// expiryWrites set k's (stored under hash) expiry to expires: the key (conditional on the expiry k was read with, so
// a concurrent change cancels the transaction), its reference, and its key.expired event.
func (s *Store) expiryWrites(k codex.APIKey, hash string, expires time.Time) ([]types.TransactWriteItem, error) {
	at := &types.AttributeValueMemberS{Value: codex.FormatTime(expires)}
	cond, values := "project_id = :p AND attribute_not_exists(expires_at)", map[string]types.AttributeValue{
		":e": at, ":p": &types.AttributeValueMemberS{Value: k.ProjectID},
	}
	if !k.ExpiresAt.IsZero() {
		cond = "project_id = :p AND expires_at = :old"
		values[":old"] = &types.AttributeValueMemberS{Value: codex.FormatTime(k.ExpiresAt)}
	}
	items := []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &s.tables.Keys, Key: keyHashKey(hash),
			UpdateExpression:          aws.String("SET expires_at = :e"),
			ConditionExpression:       aws.String(cond),
			ExpressionAttributeValues: values,
		}},
		{Update: &types.Update{
			TableName: &s.tables.App, Key: keyRefKey(k.ProjectID, k.ID),
			UpdateExpression:          aws.String("SET expires_at = :e"),
			ConditionExpression:       aws.String("attribute_exists(PK)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":e": at},
		}},
	}
	if expires.Equal(k.ExpiresAt) {
		return items, nil
	}
	if !k.ExpiresAt.IsZero() {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{
			TableName: &s.tables.App, Key: auditKey(codex.ExpiryEvent(k.ProjectID, k.ID, k.ExpiresAt)),
		}})
	}
	put, err := s.auditPut(codex.ExpiryEvent(k.ProjectID, k.ID, expires))
	if err != nil {
		return nil, err
	}
	return append(items, put), nil
}

// RevokeLeakedKey reads the key by its hash and, unless it has already expired, expires it at
// audit.At in one transaction with the leak's audit event and its key.expired event.
func (s *Store) RevokeLeakedKey(ctx context.Context, hash string, audit codex.AuditEvent) (bool, error) {
	for attempt := 1; ; attempt++ {
		k, err := getItem(ctx, s.db, &dynamodb.GetItemInput{
			TableName: &s.tables.Keys, Key: keyHashKey(hash), ConsistentRead: aws.Bool(true),
		}, "key", unmarshalKey)
		if err != nil {
			return false, err
		}
		if codex.Expired(k.ExpiresAt, audit.At) {
			return false, nil
		}
		items, err := s.expiryWrites(k, hash, audit.At)
		if err != nil {
			return false, err
		}
		e := audit
		e.ProjectID, e.KeyID = k.ProjectID, k.ID
		put, err := s.auditPut(e)
		if err != nil {
			return false, err
		}
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: append(items, put)})
		if attempt < conflictAttempts && (canceledBy(err, "ConditionalCheckFailed") || canceledBy(err, "TransactionConflict")) {
			continue // rolled, revoked or deleted meanwhile: look again
		}
		if err != nil {
			return false, fmt.Errorf("revoke leaked key %s: %w", k.ID, err)
		}
		return true, nil
	}
}

// LookupKey is the authorizer's single read: a strongly consistent GetItem, so a key deleted a moment
// ago is never found, of only what the decision needs.
func (s *Store) LookupKey(ctx context.Context, hash string) (codex.KeyGrant, error) {
	it, err := getItem(ctx, s.db, &dynamodb.GetItemInput{
		TableName:            &s.tables.Keys,
		Key:                  keyHashKey(hash),
		ConsistentRead:       aws.Bool(true),
		ProjectionExpression: aws.String("key_id, project_id, expires_at, last_used_at"),
	}, "key", decodeItem[keyItem])
	if err != nil {
		return codex.KeyGrant{}, err
	}
	g := codex.KeyGrant{Principal: codex.Principal{ProjectID: it.ProjectID, KeyID: it.KeyID}}
	if g.ExpiresAt, err = parseOptionalTime(it.ExpiresAt); err != nil {
		return codex.KeyGrant{}, fmt.Errorf("decode key %s: %w", it.KeyID, err)
	}
	if g.LastUsedAt, err = parseOptionalTime(it.LastUsedAt); err != nil {
		return codex.KeyGrant{}, fmt.Errorf("decode key %s: %w", it.KeyID, err)
	}
	return g, nil
}

// RecordKeyUse is one conditional UpdateItem: it writes only when no use within
// codex.LastUsedInterval before use.At is stored, and only to a key that still exists. Losing the
// race to another instance that wrote first is not an error.
func (s *Store) RecordKeyUse(ctx context.Context, hash string, use codex.KeyUse) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           &s.tables.Keys,
		Key:                 keyHashKey(hash),
		UpdateExpression:    aws.String("SET last_used_at = :at, last_used_ip = :ip, last_used_user_agent = :ua"),
		ConditionExpression: aws.String("attribute_exists(key_hash) AND (attribute_not_exists(last_used_at) OR last_used_at < :stale)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":at":    &types.AttributeValueMemberS{Value: codex.FormatTime(use.At)},
			":ip":    &types.AttributeValueMemberS{Value: use.IP},
			":ua":    &types.AttributeValueMemberS{Value: codex.TruncateUTF8(use.UserAgent, codex.MaxUserAgentLength)},
			":stale": &types.AttributeValueMemberS{Value: codex.FormatTime(use.At.Add(-codex.LastUsedInterval))},
		},
	})
	if conditionFailed(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("record key use: %w", err)
	}
	return nil
}
