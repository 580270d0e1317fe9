package main

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"codex/infra/capacity"
	"codex/infra/samtemplate"
)

func TestPercentile(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		var ds []time.Duration
		for _, v := range n {
			ds = append(ds, time.Duration(v)*time.Millisecond)
		}
		return ds
	}
	var hundred []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		hundred = append(hundred, time.Duration(i)*time.Millisecond)
	}
	var three00 []time.Duration
	for i := 1; i <= 300; i++ {
		three00 = append(three00, time.Duration(i)*time.Millisecond)
	}
	cases := []struct {
		ds   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 50, 7 * time.Millisecond},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(5, 1, 4, 2, 3), 50, 3 * time.Millisecond}, // the middle of five
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond},    // nearest rank: the lower middle
		{hundred, 99, 99 * time.Millisecond},
		{hundred, 100, 100 * time.Millisecond},
		{three00, 99, 297 * time.Millisecond}, // three values above it
		{three00, 50, 150 * time.Millisecond},
	}
	for _, c := range cases {
		if got := percentile(c.ds, c.p); got != c.want {
			t.Errorf("percentile(%d values, %v) = %v, want %v", len(c.ds), c.p, got, c.want)
		}
	}
	// The input is left as it was.
	if hundred[0] != 100*time.Millisecond {
		t.Error("percentile sorted its input")
	}
}

func TestRatio(t *testing.T) {
	for _, c := range []struct {
		a, b float64
		want string
	}{{3, 2, "1.50×"}, {1, 3, "0.33×"}, {2, 2, "1.00×"}, {1, 0, "–"}} {
		if got := ratio(c.a, c.b); got != c.want {
			t.Errorf("ratio(%v, %v) = %q, want %q", c.a, c.b, got, c.want)
		}
	}
}

func TestTableAligns(t *testing.T) {
	tb := &table{header: []string{"subject", "value"}}
	tb.add("hello world", "5.56 → 2.33")
	tb.add("↳ GetItem", "1 RCU")
	got := tb.String()
	want := "" +
		"| subject     | value       |\n" +
		"| ----------- | ----------- |\n" +
		"| hello world | 5.56 → 2.33 |\n" +
		"| ↳ GetItem   | 1 RCU       |\n"
	if got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}

func TestParseGoBench(t *testing.T) {
	out := `goos: linux
goarch: amd64
pkg: codex/pkg/authorizer
cpu: AMD EPYC
BenchmarkHandle/malformed-2         	 1378236	       878.1 ns/op	      32 B/op	       2 allocs/op
BenchmarkHandle/allow-2             	  705238	      1700 ns/op	     624 B/op	      11 allocs/op
BenchmarkOther-2                    	  100	      1 ns/op
PASS
ok  	codex/pkg/authorizer	3.1s
`
	bs, err := parseGoBench(out, "BenchmarkHandle")
	if err != nil {
		t.Fatal(err)
	}
	want := []goBenchmark{
		{name: "allow", iterations: 705238, nsPerOp: 1700, bytesPerOp: 624, allocsPerOp: 11},
		{name: "malformed", iterations: 1378236, nsPerOp: 878.1, bytesPerOp: 32, allocsPerOp: 2},
	}
	if len(bs) != len(want) {
		t.Fatalf("got %+v, want %+v", bs, want)
	}
	for i := range want {
		if bs[i] != want[i] {
			t.Errorf("result %d: %+v, want %+v", i, bs[i], want[i])
		}
	}
	if _, err := parseGoBench("PASS\n", "BenchmarkHandle"); err == nil {
		t.Error("no results: no error")
	}
}

// TestMeasureBinary checks that the zip is what SAM uploads: one deflated, executable entry
// "bootstrap" holding the file.
func TestMeasureBinary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bootstrap")
	content := bytes.Repeat([]byte("compressible "), 1000)
	if err := os.WriteFile(path, content, 0o755); err != nil {
		t.Fatal(err)
	}
	size, err := measureBinary(path)
	if err != nil {
		t.Fatal(err)
	}
	if size.bytes != int64(len(content)) || size.zipped <= 0 || size.zipped >= size.bytes {
		t.Fatalf("sizes %+v for %d compressible bytes", size, len(content))
	}
	// Write the same zip to a buffer and read it back.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, _ := zw.CreateHeader(h)
	_, _ = w.Write(content)
	_ = zw.Close()
	if int64(buf.Len()) != size.zipped {
		t.Errorf("zipped %d, the same zip written here is %d", size.zipped, buf.Len())
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" || zr.File[0].Mode().Perm() != 0o755 || zr.File[0].Method != zip.Deflate {
		t.Errorf("zip entries %+v", zr.File)
	}
}

func TestCapacityFormatting(t *testing.T) {
	rc := routeCapacity{ops: []opCapacity{
		{op: "GetItem", table: "KeysTable", size: 265, consistent: true, rcu: 1, reportedUnits: 0.5},
		{op: "PutItem", table: "AppTable", size: 543, wcu: 2, indexes: map[string]float64{"GSI1": 1}, reportedUnits: 1},
	}}
	computed, reported := rc.total()
	if computed != "1 RCU + 2 WCU" || reported != 1.5 {
		t.Errorf("total() = %q, %v", computed, reported)
	}
	if got := rc.ops[0].basis() + " | " + rc.ops[0].units(); got != "item 265 B, strongly consistent | 1 RCU" {
		t.Errorf("GetItem: %s", got)
	}
	if got := rc.ops[1].basis() + " | " + rc.ops[1].units(); got != "new item 543 B, in GSI1 | 2 WCU (table 1 + GSI1 1)" {
		t.Errorf("PutItem: %s", got)
	}
}

// TestCheckCalls: the run goes on only when a route's calls are its floor's, in order, and
// otherwise says which route and both lists.
func TestCheckCalls(t *testing.T) {
	floor := []string{"GetItem KeysTable", "GetItem AppTable"}
	if err := checkCalls("GET /x", slices.Clone(floor), floor); err != nil {
		t.Errorf("equal calls: %v", err)
	}
	for _, route := range [][]string{
		{"GetItem KeysTable", "GetItem AppTable", "GetItem AppTable"}, // one more
		{"GetItem KeysTable"},                     // one fewer
		{"GetItem AppTable", "GetItem KeysTable"}, // another order
		nil,
	} {
		err := checkCalls("GET /x", route, floor)
		if err == nil {
			t.Errorf("route %q, floor %q: no error", route, floor)
			continue
		}
		want := []string{"GET /x", "[GetItem KeysTable, GetItem AppTable]"}
		if len(route) == 0 {
			want = append(want, "[none]")
		} else {
			want = append(want, "["+strings.Join(route, ", ")+"]")
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("route %q: %q does not say %q", route, err, w)
			}
		}
	}
}

// TestCapacityOfTransaction: each Put of a TransactWriteItems is priced at the transactional rate
// (2 WCU per KB) plus its index writes at the standard one; the endpoint's report counts once;
// anything but a Put stops the run instead of being priced wrong.
func TestCapacityOfTransaction(t *testing.T) {
	tpl, err := samtemplate.Load(filepath.Join("..", "..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string]string{"AppTable": "app-table"}
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	checkout := map[string]types.AttributeValue{"PK": s("P#1"), "SK": s("C#1"), "GSI1PK": s("C#1"), "GSI1SK": s("C#1"), "blob": s(strings.Repeat("x", 1500))}
	event := map[string]types.AttributeValue{"PK": s("P#1"), "SK": s("E#1")}
	call := capacity.Call{
		Operation: "TransactWriteItems",
		Input: &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: aws.String("app-table"), Item: checkout}},
			{Put: &types.Put{TableName: aws.String("app-table"), Item: event}},
		}},
		Consumed: []types.ConsumedCapacity{{CapacityUnits: aws.Float64(4)}},
	}
	rc, err := routeCapacityOf(context.Background(), []capacity.Call{call}, nil, tpl, tables)
	if err != nil {
		t.Fatal(err)
	}
	if len(rc.ops) != 2 {
		t.Fatalf("ops %+v, want one per Put", rc.ops)
	}
	// The checkout: 2 KB → 4 WCU transactional, + 2 for its copy in GSI1 (all attributes projected);
	// the event: under 1 KB → 2 WCU.
	if got := rc.ops[0].units(); got != "6 WCU (table 4 + GSI1 2)" {
		t.Errorf("checkout: %s", got)
	}
	if got := rc.ops[1].basis() + " | " + rc.ops[1].units(); !strings.Contains(got, "transactional") || !strings.HasSuffix(got, "| 2 WCU") {
		t.Errorf("event: %s", got)
	}
	if computed, reported := rc.total(); computed != "8 WCU" || reported != 4 {
		t.Errorf("total() = %q, %v", computed, reported)
	}
	call.Input = &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{TableName: aws.String("app-table")}},
	}}
	if _, err := routeCapacityOf(context.Background(), []capacity.Call{call}, nil, tpl, tables); err == nil {
		t.Error("an Update in a transaction was priced")
	}
}
