// Package dynamo is the DynamoDB adapter: the only package that knows table layouts, item shapes and
// the DynamoDB API. It implements the storage interfaces of package codex.
//
// Two tables, both defined in template.yaml:
//
//	keys table  key_hash (PK)                       one item per API key
//	app table   PK, SK                              single-table design:
//	            PROJECT#<id>  PROJECT               the project
//	            USER#<sub>    PROJECT#<id>          a membership, with the project's name copied for listing
//	            PROJECT#<id>  KEY#<key id>          a key's reference: its hash, for lists, deletes, rolls (keys.go)
//	            PROJECT#<id>  AUDIT#<time>#<id>     an audit event, with a ttl (audit.go)
//	            CHECKOUT#<id> CHECKOUT              a checkout; GSI1 lists a project's (see checkouts.go)
//	            PROJECT#<id>  IDEMPOTENCY#<key>     an Idempotency-Key's stored response, with a ttl
//	            PROJECT#<id>  BUTTON#<button id>    a buy button; archived ones stay (see buttons.go)
//	            EVENT#<id>    EVENT                 an event, written with its change; GSI1 and GSI2 list a project's (see events.go)
//	            PROJECT#<id>  WEBHOOK#<id>          a webhook endpoint; its deliveries (see webhooks.go)
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"codex/pkg/awsenv"
	"codex/pkg/codex"
)

// API is the subset of the DynamoDB client the store uses; *dynamodb.Client satisfies it.
type API interface {
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// Tables are the physical table names.
type Tables struct {
	Keys string
	App  string
}

// TablesFromEnv reads KEYS_TABLE and APP_TABLE, which template.yaml sets on every function.
func TablesFromEnv() (Tables, error) {
	t := Tables{Keys: os.Getenv("KEYS_TABLE"), App: os.Getenv("APP_TABLE")}
	if t.Keys == "" || t.App == "" {
		return t, errors.New("KEYS_TABLE and APP_TABLE must be set")
	}
	return t, nil
}

// NewClient builds a DynamoDB client from the function's environment (package awsenv: Lambda's
// credentials and region, as config.LoadDefaultConfig reads them, without linking its credential
// chain into every bootstrap). AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_DYNAMODB point it at moto,
// DynamoDB Local or LocalStack; unset, it is real AWS. Build it once per process: the client pools
// connections and caches credentials.
func NewClient(_ context.Context, opts ...func(*dynamodb.Options)) (*dynamodb.Client, error) {
	cfg, err := awsenv.Config()
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	return dynamodb.NewFromConfig(cfg, opts...), nil
}

// Store implements the codex storage interfaces on DynamoDB.
type Store struct {
	db     API
	tables Tables
}

// New returns a Store over db.
func New(db API, tables Tables) *Store {
	return &Store{db: db, tables: tables}
}

// canceledBy reports whether err is a cancelled transaction in which some item failed its condition.
func canceledBy(err error, code string) bool {
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) {
		return false
	}
	for _, r := range tc.CancellationReasons {
		if aws.ToString(r.Code) == code {
			return true
		}
	}
	return false
}

// conditionFailed reports whether err is a single write's failed condition.
func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// Open builds a Store from the process environment: the tables from TablesFromEnv and a client from
// NewClient. Functions call it once at start-up.
func Open(ctx context.Context) (*Store, error) {
	tables, err := TablesFromEnv()
	if err != nil {
		return nil, err
	}
	db, err := NewClient(ctx)
	if err != nil {
		return nil, err
	}
	return New(db, tables), nil
}

// getItem runs one GetItem and decodes the item; no item is codex.NotFound(noun).
func getItem[T any](ctx context.Context, db API, in *dynamodb.GetItemInput, noun string, decode func(map[string]types.AttributeValue) (T, error)) (T, error) {
	var zero T
	out, err := db.GetItem(ctx, in)
	if err != nil {
		return zero, fmt.Errorf("get %s: %w", noun, err)
	}
	if out.Item == nil {
		return zero, codex.NotFound(noun)
	}
	return decode(out.Item)
}

// decodeItem decodes an item into its attribute struct as it is.
func decodeItem[T any](item map[string]types.AttributeValue) (T, error) {
	var it T
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return it, fmt.Errorf("decode %T: %w", it, err)
	}
	return it, nil
}

// queryAll runs a query to its last page and decodes every item, so list methods hold only what is
// particular to them: the key condition and the item shape.
func queryAll[T any](ctx context.Context, db API, in *dynamodb.QueryInput, decode func(map[string]types.AttributeValue) (T, error)) ([]T, error) {
	out := []T{}
	for p := dynamodb.NewQueryPaginator(db, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, item := range page.Items {
			v, err := decode(item)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// partitionQuery selects the app-table items of partition pk whose sort key starts with skPrefix,
// with a strongly consistent read so an item shows up as soon as the write that made it returned.
func (s *Store) partitionQuery(pk, skPrefix string) *dynamodb.QueryInput {
	return &dynamodb.QueryInput{
		TableName:              &s.tables.App,
		KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :sk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: pk},
			":sk": &types.AttributeValueMemberS{Value: skPrefix},
		},
		ConsistentRead: aws.Bool(true),
	}
}
