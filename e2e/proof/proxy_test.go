package proof

import (
	"bytes"

	"codex/infra/dynamoproxy"
)

// The rules faults_test.go gives the proxy between the functions and moto.

// always returns a rule that applies f to every operation.
func always(f dynamoproxy.Fault) func(string, []byte) dynamoproxy.Fault {
	return func(string, []byte) dynamoproxy.Fault { return f }
}

// writes returns a rule that applies f to the operations that write and passes the reads.
func writes(f dynamoproxy.Fault) func(string, []byte) dynamoproxy.Fault {
	return func(op string, _ []byte) dynamoproxy.Fault {
		switch op {
		case "PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem":
			return f
		}
		return dynamoproxy.Pass
	}
}

// table returns a rule that applies f to every request naming the table and passes the others.
func table(name string, f dynamoproxy.Fault) func(string, []byte) dynamoproxy.Fault {
	quoted := []byte(`"` + name + `"`)
	return func(_ string, body []byte) dynamoproxy.Fault {
		if bytes.Contains(body, quoted) {
			return f
		}
		return dynamoproxy.Pass
	}
}
