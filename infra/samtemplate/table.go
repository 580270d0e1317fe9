package samtemplate

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"go.yaml.in/yaml/v3"
)

// Table is an AWS::DynamoDB::Table. It exposes the schema only as a CreateTableInput so that the
// template stays the one place the schema is written down.
type Table struct {
	LogicalID string
	// TTLAttribute is TimeToLiveSpecification.AttributeName when TTL is enabled, else "". It is
	// not part of CreateTableInput: DynamoDB enables TTL with a separate UpdateTimeToLive call.
	TTLAttribute string

	raw rawTable
}

type rawKey struct {
	AttributeName str `yaml:"AttributeName"`
	KeyType       str `yaml:"KeyType"`
}

type rawThroughput struct {
	ReadCapacityUnits  integer `yaml:"ReadCapacityUnits"`
	WriteCapacityUnits integer `yaml:"WriteCapacityUnits"`
}

type rawProjection struct {
	ProjectionType   str     `yaml:"ProjectionType"`
	NonKeyAttributes strList `yaml:"NonKeyAttributes"`
}

type rawIndex struct {
	IndexName             str            `yaml:"IndexName"`
	KeySchema             []rawKey       `yaml:"KeySchema"`
	Projection            rawProjection  `yaml:"Projection"`
	ProvisionedThroughput *rawThroughput `yaml:"ProvisionedThroughput"`
}

// rawTable holds the CreateTable-relevant properties. Deliberately left out: TableName (the
// caller picks physical names), DeletionProtectionEnabled (tests delete their tables), SSE, PITR
// and Tags (no effect on behaviour locally).
type rawTable struct {
	BillingMode          str `yaml:"BillingMode"`
	AttributeDefinitions []struct {
		AttributeName str `yaml:"AttributeName"`
		AttributeType str `yaml:"AttributeType"`
	} `yaml:"AttributeDefinitions"`
	KeySchema              []rawKey       `yaml:"KeySchema"`
	GlobalSecondaryIndexes []rawIndex     `yaml:"GlobalSecondaryIndexes"`
	LocalSecondaryIndexes  []rawIndex     `yaml:"LocalSecondaryIndexes"`
	ProvisionedThroughput  *rawThroughput `yaml:"ProvisionedThroughput"`
	StreamSpecification    *struct {
		StreamViewType str `yaml:"StreamViewType"`
	} `yaml:"StreamSpecification"`
	TimeToLiveSpecification *struct {
		AttributeName str  `yaml:"AttributeName"`
		Enabled       flag `yaml:"Enabled"`
	} `yaml:"TimeToLiveSpecification"`
}

func (t *Template) addTable(id string, props *yaml.Node) error {
	tb := &Table{LogicalID: id}
	if err := decodeProps(props, &tb.raw); err != nil {
		return err
	}
	if ttl := tb.raw.TimeToLiveSpecification; ttl != nil && ttl.Enabled {
		tb.TTLAttribute = string(ttl.AttributeName)
	}
	if len(tb.raw.KeySchema) == 0 {
		t.problem(id, "table has no KeySchema")
	}
	t.Tables[id] = tb
	return nil
}

// CreateTableInput returns a fresh input creating this table under the physical name name; each
// call allocates new slices, so callers may modify the result.
func (tb *Table) CreateTableInput(name string) *dynamodb.CreateTableInput {
	r := &tb.raw
	in := &dynamodb.CreateTableInput{
		TableName:             aws.String(name),
		KeySchema:             keySchema(r.KeySchema),
		ProvisionedThroughput: throughput(r.ProvisionedThroughput),
	}
	if r.BillingMode != "" {
		in.BillingMode = types.BillingMode(r.BillingMode)
	}
	for _, a := range r.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(string(a.AttributeName)),
			AttributeType: types.ScalarAttributeType(a.AttributeType),
		})
	}
	for _, g := range r.GlobalSecondaryIndexes {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName:             aws.String(string(g.IndexName)),
			KeySchema:             keySchema(g.KeySchema),
			Projection:            projection(g.Projection),
			ProvisionedThroughput: throughput(g.ProvisionedThroughput),
		})
	}
	for _, l := range r.LocalSecondaryIndexes {
		in.LocalSecondaryIndexes = append(in.LocalSecondaryIndexes, types.LocalSecondaryIndex{
			IndexName:  aws.String(string(l.IndexName)),
			KeySchema:  keySchema(l.KeySchema),
			Projection: projection(l.Projection),
		})
	}
	if s := r.StreamSpecification; s != nil {
		in.StreamSpecification = &types.StreamSpecification{
			StreamEnabled:  aws.Bool(true),
			StreamViewType: types.StreamViewType(s.StreamViewType),
		}
	}
	return in
}

func keySchema(ks []rawKey) []types.KeySchemaElement {
	out := make([]types.KeySchemaElement, len(ks))
	for i, k := range ks {
		out[i] = types.KeySchemaElement{AttributeName: aws.String(string(k.AttributeName)), KeyType: types.KeyType(k.KeyType)}
	}
	return out
}

func projection(p rawProjection) *types.Projection {
	out := &types.Projection{ProjectionType: types.ProjectionType(p.ProjectionType)}
	if len(p.NonKeyAttributes) > 0 {
		out.NonKeyAttributes = append([]string(nil), p.NonKeyAttributes...)
	}
	return out
}

func throughput(t *rawThroughput) *types.ProvisionedThroughput {
	if t == nil {
		return nil
	}
	return &types.ProvisionedThroughput{
		ReadCapacityUnits:  aws.Int64(int64(t.ReadCapacityUnits)),
		WriteCapacityUnits: aws.Int64(int64(t.WriteCapacityUnits)),
	}
}
