package samtemplate

import (
	"fmt"

	"go.yaml.in/yaml/v3"

	"codex/infra/eventpattern"
)

// TypeQueue is an SQS queue.
const TypeQueue = "AWS::SQS::Queue"

// Queue is an AWS::SQS::Queue: what the local stack needs to create an equivalent queue. Unset
// numbers are nil (SQS's defaults apply). FIFO queues fail Parse: the local pollers do not keep
// message groups in order.
type Queue struct {
	LogicalID                     string
	VisibilityTimeout             *int
	MessageRetentionPeriod        *int
	DelaySeconds                  *int
	ReceiveMessageWaitTimeSeconds *int
	MaximumMessageSize            *int
	// RedrivePolicy sends a message that was received MaxReceiveCount times to the dead-letter
	// queue; nil when unset.
	RedrivePolicy *RedrivePolicy
}

type rawQueue struct {
	VisibilityTimeout             *int `yaml:"VisibilityTimeout"`
	MessageRetentionPeriod        *int `yaml:"MessageRetentionPeriod"`
	DelaySeconds                  *int `yaml:"DelaySeconds"`
	ReceiveMessageWaitTimeSeconds *int `yaml:"ReceiveMessageWaitTimeSeconds"`
	MaximumMessageSize            *int `yaml:"MaximumMessageSize"`
	RedrivePolicy                 *struct {
		DeadLetterTargetArn Value `yaml:"deadLetterTargetArn"`
		MaxReceiveCount     int   `yaml:"maxReceiveCount"`
	} `yaml:"RedrivePolicy"`
	// Physical names, encryption and tags change nothing a function sees; the local stack names
	// queues itself.
	_ any `yaml:"-" ignored:"QueueName,SqsManagedSseEnabled,KmsMasterKeyId,KmsDataKeyReusePeriodSeconds,RedriveAllowPolicy,Tags"`
}

// RedrivePolicy is a queue's dead-letter queue (a logical id) and how many receives send a
// message there.
type RedrivePolicy struct {
	DeadLetterQueue string
	MaxReceiveCount int
}

func (t *Template) addQueue(id string, props *yaml.Node) error {
	var r rawQueue
	if err := strict(props, &r); err != nil {
		return err
	}
	q := &Queue{LogicalID: id, VisibilityTimeout: r.VisibilityTimeout, MessageRetentionPeriod: r.MessageRetentionPeriod,
		DelaySeconds: r.DelaySeconds, ReceiveMessageWaitTimeSeconds: r.ReceiveMessageWaitTimeSeconds, MaximumMessageSize: r.MaximumMessageSize}
	if rp := r.RedrivePolicy; rp != nil {
		q.RedrivePolicy = &RedrivePolicy{MaxReceiveCount: rp.MaxReceiveCount}
		if dlq := rp.DeadLetterTargetArn; dlq.Fn == FnGetAtt && dlq.Attribute == "Arn" {
			q.RedrivePolicy.DeadLetterQueue = dlq.Target
		} else {
			t.problems.add(id, "RedrivePolicy.deadLetterTargetArn %s is not !GetAtt Queue.Arn", dlq)
		}
		if rp.MaxReceiveCount < 1 {
			t.problems.add(id, "RedrivePolicy.maxReceiveCount must be at least 1")
		}
	}
	t.Queues[id] = q
	return nil
}

// StreamEvent is a function's `Type: DynamoDB` event: Lambda's event source mapping on a table's
// stream, which the local stack runs (infra/eventsource).
type StreamEvent struct {
	Name string
	// Table is the logical id of `Stream: !GetAtt Table.StreamArn`.
	Table            string
	StartingPosition string // TRIM_HORIZON or LATEST
	BatchSize        int    // default 100
	// MaximumBatchingWindowInSeconds: how long to gather records before invoking; 0 by default.
	MaximumBatchingWindowInSeconds int
	// Filters are FilterCriteria.Filters[].Pattern; a record matching none is skipped.
	Filters []string
	// ReportBatchItemFailures is FunctionResponseTypes: [ReportBatchItemFailures].
	ReportBatchItemFailures bool
	// MaximumRetryAttempts: -1 (the default) retries until the record expires.
	MaximumRetryAttempts int
	// MaximumRecordAgeInSeconds: -1 (the default) keeps records as long as the stream does.
	MaximumRecordAgeInSeconds int
	// OnFailure is the logical id of the SQS queue of DestinationConfig.OnFailure; "" if none.
	OnFailure string
	Enabled   bool
}

// QueueEvent is a function's `Type: SQS` event.
type QueueEvent struct {
	Name string
	// Queue is the logical id of `Queue: !GetAtt Queue.Arn`.
	Queue                          string
	BatchSize                      int // default 10
	MaximumBatchingWindowInSeconds int
	Filters                        []string
	ReportBatchItemFailures        bool
	// MaximumConcurrency is ScalingConfig.MaximumConcurrency; 0 when unset.
	MaximumConcurrency int
	Enabled            bool
}

type rawStreamEvent struct {
	Stream                         Value             `yaml:"Stream"`
	StartingPosition               string            `yaml:"StartingPosition"`
	BatchSize                      *int              `yaml:"BatchSize"`
	MaximumBatchingWindowInSeconds int               `yaml:"MaximumBatchingWindowInSeconds"`
	FilterCriteria                 rawFilterCriteria `yaml:"FilterCriteria"`
	FunctionResponseTypes          []string          `yaml:"FunctionResponseTypes"`
	MaximumRetryAttempts           *int              `yaml:"MaximumRetryAttempts"`
	MaximumRecordAgeInSeconds      *int              `yaml:"MaximumRecordAgeInSeconds"`
	DestinationConfig              *rawDestination   `yaml:"DestinationConfig"`
	Enabled                        *bool             `yaml:"Enabled"`
	ParallelizationFactor          *int              `yaml:"ParallelizationFactor"`
	BisectBatchOnFunctionError     *bool             `yaml:"BisectBatchOnFunctionError"`
	_                              any               `yaml:"MetricsConfig"`
}

type rawFilterCriteria struct {
	Filters []rawFilterPattern `yaml:"Filters"`
}

type rawFilterPattern struct {
	Pattern string `yaml:"Pattern"`
}

type rawDestination struct {
	OnFailure struct {
		Destination Value  `yaml:"Destination"`
		Type        string `yaml:"Type"`
	} `yaml:"OnFailure"`
}

type rawQueueEvent struct {
	Queue                          Value             `yaml:"Queue"`
	BatchSize                      *int              `yaml:"BatchSize"`
	MaximumBatchingWindowInSeconds int               `yaml:"MaximumBatchingWindowInSeconds"`
	FilterCriteria                 rawFilterCriteria `yaml:"FilterCriteria"`
	FunctionResponseTypes          []string          `yaml:"FunctionResponseTypes"`
	ScalingConfig                  struct {
		MaximumConcurrency int `yaml:"MaximumConcurrency"`
	} `yaml:"ScalingConfig"`
	Enabled *bool `yaml:"Enabled"`
	_       any   `yaml:"MetricsConfig"`
}

// responseTypes reads FunctionResponseTypes, of which ReportBatchItemFailures is the only one.
func (t *Template) responseTypes(id, event string, types []string) bool {
	report := false
	for _, rt := range types {
		if rt != "ReportBatchItemFailures" {
			t.problems.add(id, "event %s: FunctionResponseTypes %q is not one Lambda knows (ReportBatchItemFailures)", event, rt)
			continue
		}
		report = true
	}
	return report
}

// filters checks each pattern compiles as the local stack will run it.
func (t *Template) filters(id, event string, fc rawFilterCriteria) []string {
	var out []string
	for _, f := range fc.Filters {
		if _, err := eventpattern.Compile(f.Pattern); err != nil {
			t.problems.add(id, "event %s: FilterCriteria: %v", event, err)
			continue
		}
		out = append(out, f.Pattern)
	}
	if len(fc.Filters) > 5 {
		t.problems.add(id, "event %s: FilterCriteria has %d filters; Lambda allows 5", event, len(fc.Filters))
	}
	return out
}

func (t *Template) addStreamEvent(f *Function, name string, props *yaml.Node) error {
	var r rawStreamEvent
	if err := strict(props, &r); err != nil {
		return err
	}
	id := f.LogicalID
	e := StreamEvent{Name: name, StartingPosition: r.StartingPosition, BatchSize: 100,
		MaximumBatchingWindowInSeconds: r.MaximumBatchingWindowInSeconds, MaximumRetryAttempts: -1, MaximumRecordAgeInSeconds: -1,
		Enabled: r.Enabled == nil || *r.Enabled}
	if r.Stream.Fn == FnGetAtt && r.Stream.Attribute == "StreamArn" {
		e.Table = r.Stream.Target
	} else {
		t.problems.add(id, "event %s: Stream %s is not !GetAtt Table.StreamArn", name, r.Stream)
	}
	switch r.StartingPosition {
	case "TRIM_HORIZON", "LATEST":
	case "":
		t.problems.add(id, "event %s: StartingPosition is required (TRIM_HORIZON or LATEST)", name)
	default:
		t.problems.add(id, "event %s: StartingPosition %s is not emulated by the local stack (TRIM_HORIZON or LATEST)", name, r.StartingPosition)
	}
	if r.BatchSize != nil {
		e.BatchSize = *r.BatchSize
		if e.BatchSize < 1 || e.BatchSize > 10000 {
			t.problems.add(id, "event %s: BatchSize must be from 1 to 10000", name)
		}
	}
	e.Filters = t.filters(id, name, r.FilterCriteria)
	e.ReportBatchItemFailures = t.responseTypes(id, name, r.FunctionResponseTypes)
	if r.MaximumRetryAttempts != nil {
		e.MaximumRetryAttempts = *r.MaximumRetryAttempts
		if e.MaximumRetryAttempts < -1 || e.MaximumRetryAttempts > 10000 {
			t.problems.add(id, "event %s: MaximumRetryAttempts must be -1 or from 0 to 10000", name)
		}
	}
	if r.MaximumRecordAgeInSeconds != nil {
		e.MaximumRecordAgeInSeconds = *r.MaximumRecordAgeInSeconds
		if a := e.MaximumRecordAgeInSeconds; a != -1 && (a < 60 || a > 604800) {
			t.problems.add(id, "event %s: MaximumRecordAgeInSeconds must be -1 or from 60 to 604800", name)
		}
	}
	if d := r.DestinationConfig; d != nil {
		dest := d.OnFailure.Destination
		if dest.Fn == FnGetAtt && dest.Attribute == "Arn" && (d.OnFailure.Type == "" || d.OnFailure.Type == "SQS") {
			e.OnFailure = dest.Target
		} else {
			t.problems.add(id, "event %s: DestinationConfig.OnFailure is emulated for an SQS queue only (Destination: !GetAtt Queue.Arn)", name)
		}
	}
	if p := r.ParallelizationFactor; p != nil && *p != 1 {
		t.problems.add(id, "event %s: ParallelizationFactor %d is not emulated by the local stack (one batch per shard at a time)", name, *p)
	}
	if b := r.BisectBatchOnFunctionError; b != nil && *b {
		t.problems.add(id, "event %s: BisectBatchOnFunctionError is not emulated by the local stack; use ReportBatchItemFailures", name)
	}
	f.StreamEvents = append(f.StreamEvents, e)
	return nil
}

func (t *Template) addQueueEvent(f *Function, name string, props *yaml.Node) error {
	var r rawQueueEvent
	if err := strict(props, &r); err != nil {
		return err
	}
	id := f.LogicalID
	e := QueueEvent{Name: name, BatchSize: 10, MaximumBatchingWindowInSeconds: r.MaximumBatchingWindowInSeconds,
		MaximumConcurrency: r.ScalingConfig.MaximumConcurrency, Enabled: r.Enabled == nil || *r.Enabled}
	if r.Queue.Fn == FnGetAtt && r.Queue.Attribute == "Arn" {
		e.Queue = r.Queue.Target
	} else {
		t.problems.add(id, "event %s: Queue %s is not !GetAtt Queue.Arn", name, r.Queue)
	}
	if r.BatchSize != nil {
		e.BatchSize = *r.BatchSize
		if e.BatchSize < 1 || e.BatchSize > 10000 || e.BatchSize > 10 && e.MaximumBatchingWindowInSeconds == 0 {
			t.problems.add(id, "event %s: BatchSize must be from 1 to 10 (up to 10000 with MaximumBatchingWindowInSeconds)", name)
		}
	}
	if c := e.MaximumConcurrency; c != 0 && (c < 2 || c > 1000) {
		t.problems.add(id, "event %s: ScalingConfig.MaximumConcurrency must be from 2 to 1000", name)
	}
	e.Filters = t.filters(id, name, r.FilterCriteria)
	e.ReportBatchItemFailures = t.responseTypes(id, name, r.FunctionResponseTypes)
	f.QueueEvents = append(f.QueueEvents, e)
	return nil
}

// validateEventSources checks what the stream and queue events refer to.
func (v *validator) eventSources(f *Function) {
	id := f.LogicalID
	for _, e := range f.StreamEvents {
		switch tb := v.Tables[e.Table]; {
		case e.Table == "":
		case tb == nil:
			v.add(id, "event %s: Stream refers to %q, which is not an AWS::DynamoDB::Table of this template", e.Name, e.Table)
		case tb.StreamViewType == "":
			v.add(id, "event %s: table %s has no StreamSpecification", e.Name, e.Table)
		}
		if e.OnFailure != "" && v.Queues[e.OnFailure] == nil {
			v.add(id, "event %s: DestinationConfig.OnFailure refers to %q, which is not an AWS::SQS::Queue of this template", e.Name, e.OnFailure)
		}
	}
	for _, e := range f.QueueEvents {
		if e.Queue != "" && v.Queues[e.Queue] == nil {
			v.add(id, "event %s: Queue refers to %q, which is not an AWS::SQS::Queue of this template", e.Name, e.Queue)
		}
	}
}

func (v *validator) queue(q *Queue) {
	if r := q.RedrivePolicy; r != nil && r.DeadLetterQueue != "" && v.Queues[r.DeadLetterQueue] == nil {
		v.add(q.LogicalID, "RedrivePolicy.deadLetterTargetArn refers to %q, which is not an AWS::SQS::Queue of this template", r.DeadLetterQueue)
	}
	if r := q.RedrivePolicy; r != nil && r.DeadLetterQueue == q.LogicalID {
		v.add(q.LogicalID, "RedrivePolicy names the queue itself as its dead-letter queue")
	}
}

// String describes the event for messages.
func (e StreamEvent) String() string { return fmt.Sprintf("%s (stream of %s)", e.Name, e.Table) }

// String describes the event for messages.
func (e QueueEvent) String() string { return fmt.Sprintf("%s (queue %s)", e.Name, e.Queue) }
