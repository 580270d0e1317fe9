package capacity

import (
	"maps"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestItemSize(t *testing.T) {
	item := map[string]types.AttributeValue{
		"PK":   &types.AttributeValueMemberS{Value: "PROJECT#prj_1"},                                                                // 2 + 13
		"n":    &types.AttributeValueMemberN{Value: "12345"},                                                                        // 1 + (5+1)/2+1 = 1 + 4
		"zero": &types.AttributeValueMemberN{Value: "-0.0100"},                                                                      // 4 + (1+1)/2+1 = 4 + 2
		"ok":   &types.AttributeValueMemberBOOL{Value: true},                                                                        // 2 + 1
		"l":    &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: "ab"}}},              // 1 + 3 + 1 + 2
		"m":    &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": &types.AttributeValueMemberS{Value: "v"}}}, // 1 + 3 + 1 + 1 + 1
	}
	if got, want := ItemSize(item), 15+5+6+3+7+7; got != want {
		t.Errorf("ItemSize = %d, want %d", got, want)
	}
}

func TestUnits(t *testing.T) {
	for _, c := range []struct {
		size       int
		consistent bool
		w, r       float64
	}{
		{0, true, 1, 1}, // a read that finds nothing still costs its minimum
		{1, false, 1, 0.5},
		{1024, true, 1, 1},
		{1025, true, 2, 1},
		{4096, false, 4, 0.5},
		{4097, true, 5, 2},
		{58435, true, 58, 15},
	} {
		if w := WriteUnits(c.size); w != c.w {
			t.Errorf("WriteUnits(%d) = %v, want %v", c.size, w, c.w)
		}
		if r := ReadUnits(c.size, c.consistent); r != c.r {
			t.Errorf("ReadUnits(%d, %v) = %v, want %v", c.size, c.consistent, r, c.r)
		}
	}
}

func TestIndexWrites(t *testing.T) {
	key := func(hash, rng string) []types.KeySchemaElement {
		return []types.KeySchemaElement{{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash}, {AttributeName: aws.String(rng), KeyType: types.KeyTypeRange}}
	}
	table := &dynamodb.CreateTableInput{
		KeySchema: key("PK", "SK"),
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
			{IndexName: aws.String("all"), KeySchema: key("A", "B"), Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}},
			{IndexName: aws.String("slim"), KeySchema: key("A", "C"), Projection: &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: []string{"name"}}},
			{IndexName: aws.String("absent"), KeySchema: key("X", "B")},
		},
	}
	big := string(make([]byte, 1500))
	item := map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "p"}, "SK": &types.AttributeValueMemberS{Value: "s"},
		"A": &types.AttributeValueMemberS{Value: "a"}, "B": &types.AttributeValueMemberS{Value: "b"},
		"C": &types.AttributeValueMemberS{Value: "c"}, "name": &types.AttributeValueMemberS{Value: "n"},
		"blob": &types.AttributeValueMemberS{Value: big},
	}
	got := IndexWrites(item, table)
	// "all" holds the whole 1.5 KB item; "slim" only keys and name; "absent" is sparse: no X.
	if len(got) != 2 || got["all"] != 2 || got["slim"] != 1 {
		t.Errorf("IndexWrites = %v (indexes %v)", got, slices.Sorted(maps.Keys(got)))
	}
}
