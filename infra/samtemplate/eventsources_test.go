package samtemplate

import (
	"reflect"
	"strings"
	"testing"
)

const sourcesTemplate = `
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  Work:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 30
      MessageRetentionPeriod: 1209600
      SqsManagedSseEnabled: true
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt Dead.Arn
        maxReceiveCount: 5
  Dead:
    Type: AWS::SQS::Queue
  Fanout:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: makefile}
    Properties:
      Events:
        Stream:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Table.StreamArn
            StartingPosition: TRIM_HORIZON
            BatchSize: 50
            MaximumBatchingWindowInSeconds: 1
            FilterCriteria:
              Filters:
                - Pattern: '{"eventName":["INSERT"],"dynamodb":{"NewImage":{"kind":{"S":["event"]}}}}'
            FunctionResponseTypes: [ReportBatchItemFailures]
            MaximumRetryAttempts: 3
            DestinationConfig:
              OnFailure:
                Type: SQS
                Destination: !GetAtt Dead.Arn
  Deliver:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: makefile}
    Properties:
      Events:
        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt Work.Arn
            BatchSize: 5
            FunctionResponseTypes: [ReportBatchItemFailures]
            ScalingConfig: {MaximumConcurrency: 2}
        Nightly:
          Type: ScheduleV2
          Properties: {ScheduleExpression: rate(1 day)}
`

func TestEventSources(t *testing.T) {
	tpl := parse(t, sourcesTemplate)
	if err := tpl.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := tpl.Tables["Table"].StreamViewType; got != "NEW_IMAGE" {
		t.Errorf("stream view type %q", got)
	}
	work, dead := tpl.Queues["Work"], tpl.Queues["Dead"]
	if work == nil || dead == nil || *work.VisibilityTimeout != 30 || *work.MessageRetentionPeriod != 1209600 ||
		*work.RedrivePolicy != (RedrivePolicy{DeadLetterQueue: "Dead", MaxReceiveCount: 5}) || dead.RedrivePolicy != nil || dead.VisibilityTimeout != nil {
		t.Errorf("queues %+v %+v", work, dead)
	}
	want := StreamEvent{Name: "Stream", Table: "Table", StartingPosition: "TRIM_HORIZON", BatchSize: 50, MaximumBatchingWindowInSeconds: 1,
		Filters:                 []string{`{"eventName":["INSERT"],"dynamodb":{"NewImage":{"kind":{"S":["event"]}}}}`},
		ReportBatchItemFailures: true, MaximumRetryAttempts: 3, MaximumRecordAgeInSeconds: -1, OnFailure: "Dead", Enabled: true}
	if got := tpl.Functions["Fanout"].StreamEvents; len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Errorf("stream events %+v\nwant %+v", got, want)
	}
	wantQ := QueueEvent{Name: "Queue", Queue: "Work", BatchSize: 5, ReportBatchItemFailures: true, MaximumConcurrency: 2, Enabled: true}
	if got := tpl.Functions["Deliver"].QueueEvents; len(got) != 1 || !reflect.DeepEqual(got[0], wantQ) {
		t.Errorf("queue events %+v\nwant %+v", got, wantQ)
	}
	if r := tpl.Routes(); len(r) != 0 {
		t.Errorf("routes %+v", r)
	}
}

// TestEventSourcesRefused: what the local stack would not run as Lambda does fails Parse or
// Validate, naming the property.
func TestEventSourcesRefused(t *testing.T) {
	for _, c := range []struct{ old, new, want string }{
		{"StartingPosition: TRIM_HORIZON", "StartingPosition: AT_TIMESTAMP", "AT_TIMESTAMP is not emulated"},
		{"StartingPosition: TRIM_HORIZON", "StartingPosition: TRIM_HORIZON\n            ParallelizationFactor: 4", "ParallelizationFactor 4 is not emulated"},
		{"StartingPosition: TRIM_HORIZON", "StartingPosition: TRIM_HORIZON\n            BisectBatchOnFunctionError: true", "BisectBatchOnFunctionError is not emulated"},
		{"StartingPosition: TRIM_HORIZON", "StartingPosition: TRIM_HORIZON\n            TumblingWindowInSeconds: 60", "TumblingWindowInSeconds is not emulated"},
		{`{"S":["event"]}`, `{"S":[{"wildcard":"ev*"}]}`, `operator "wildcard" is not emulated`},
		{"FunctionResponseTypes: [ReportBatchItemFailures]\n            MaximumRetryAttempts", "FunctionResponseTypes: [Partial]\n            MaximumRetryAttempts", `FunctionResponseTypes "Partial"`},
		{"Stream: !GetAtt Table.StreamArn", "Stream: !GetAtt Table.Arn", "is not !GetAtt Table.StreamArn"},
		{"StreamSpecification: {StreamViewType: NEW_IMAGE}", "BillingMode: PAY_PER_REQUEST", "table Table has no StreamSpecification"},
		{"Destination: !GetAtt Dead.Arn", "Destination: !GetAtt Nowhere.Arn", `OnFailure refers to "Nowhere"`},
		{"Type: SQS\n                Destination", "Type: SNS\n                Destination", "emulated for an SQS queue only"},
		{"Queue: !GetAtt Work.Arn", "Queue: !Ref Work", "is not !GetAtt Queue.Arn"},
		{"BatchSize: 5\n", "BatchSize: 50\n", "BatchSize must be from 1 to 10"},
		{"MaximumConcurrency: 2", "MaximumConcurrency: 1", "MaximumConcurrency must be from 2"},
		{"VisibilityTimeout: 30", "VisibilityTimeout: 30\n      FifoQueue: true", "FifoQueue is not emulated"},
		{"deadLetterTargetArn: !GetAtt Dead.Arn", "deadLetterTargetArn: !GetAtt Work.Arn", "names the queue itself"},
		{"maxReceiveCount: 5", "maxReceiveCount: 0", "maxReceiveCount must be at least 1"},
	} {
		src := strings.Replace(sourcesTemplate, c.old, c.new, 1)
		if src == sourcesTemplate {
			t.Fatalf("%q is not in the template", c.old)
		}
		tpl, err := Parse([]byte(src))
		if err == nil {
			err = tpl.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.new, err, c.want)
		}
	}
}
