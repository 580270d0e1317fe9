package localaws

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"codex/infra/samtemplate"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// CreateTables creates every table of tpl, named by names (logical id → physical name), waits
// until each is ACTIVE and enables TTL where the template does. The schema comes only from the
// template, so local tables cannot drift from deployed ones.
func CreateTables(ctx context.Context, client *dynamodb.Client, tpl *samtemplate.Template, names map[string]string) error {
	ids := slices.Sorted(maps.Keys(tpl.Tables))
	for _, id := range ids {
		name, ok := names[id]
		if !ok {
			return fmt.Errorf("no physical name for table %s", id)
		}
		if _, err := client.CreateTable(ctx, tpl.Tables[id].CreateTableInput(name)); err != nil {
			return fmt.Errorf("create table %s (%s): %w", id, name, err)
		}
	}
	// Create everything first and wait afterwards: real DynamoDB takes seconds per table.
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = time.Second, 5*time.Second
	})
	for _, id := range ids {
		name := names[id]
		if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 2*time.Minute); err != nil {
			return fmt.Errorf("wait for table %s (%s): %w", id, name, err)
		}
		if attr := tpl.Tables[id].TTLAttribute; attr != "" {
			_, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
				TableName:               aws.String(name),
				TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String(attr), Enabled: aws.Bool(true)},
			})
			if err != nil {
				return fmt.Errorf("enable TTL on table %s (%s): %w", id, name, err)
			}
		}
	}
	return nil
}

// standardAttributes are Cognito's standard user attributes, all readable by default.
var standardAttributes = []string{
	"address", "birthdate", "email", "email_verified", "family_name", "gender", "given_name", "locale",
	"middle_name", "name", "nickname", "phone_number", "phone_number_verified", "picture",
	"preferred_username", "profile", "updated_at", "website", "zoneinfo",
}

// CreateUserPool creates the template's user pool and its app client (the template must have
// exactly one client) and returns their ids; if only the client fails, poolID is still returned so
// the caller can delete the pool. Names that are !Sub of parameters resolve to the
// parameters' defaults; ${AWS::Region} to the client's region.
func CreateUserPool(ctx context.Context, client *cip.Client, tpl *samtemplate.Template) (poolID, clientID string, err error) {
	if len(tpl.UserPoolClients) != 1 {
		return "", "", fmt.Errorf("template has %d user pool clients; CreateUserPool supports exactly one", len(tpl.UserPoolClients))
	}
	c := tpl.UserPoolClients[slices.Collect(maps.Keys(tpl.UserPoolClients))[0]]
	pool := tpl.UserPools[c.UserPool]
	if pool == nil {
		return "", "", fmt.Errorf("user pool client %s: no user pool %q in the template", c.LogicalID, c.UserPool)
	}
	names := map[string]string{"AWS::Region": client.Options().Region, "AWS::Partition": "aws"}
	poolName, err := tpl.Resolve(pool.Name, names)
	if err != nil {
		return "", "", fmt.Errorf("user pool %s name: %w", pool.LogicalID, err)
	}
	clientName, err := tpl.Resolve(c.Name, names)
	if err != nil {
		return "", "", fmt.Errorf("user pool client %s name: %w", c.LogicalID, err)
	}

	pin := &cip.CreateUserPoolInput{
		PoolName:              aws.String(poolName),
		AdminCreateUserConfig: &ciptypes.AdminCreateUserConfigType{AllowAdminCreateUserOnly: pool.AllowAdminCreateUserOnly},
	}
	for _, a := range pool.AutoVerifiedAttributes {
		pin.AutoVerifiedAttributes = append(pin.AutoVerifiedAttributes, ciptypes.VerifiedAttributeType(a))
	}
	if pp := pool.PasswordPolicy; pp != nil {
		pin.Policies = &ciptypes.UserPoolPolicyType{PasswordPolicy: &ciptypes.PasswordPolicyType{
			MinimumLength:    aws.Int32(int32(pp.MinimumLength)),
			RequireLowercase: pp.RequireLowercase,
			RequireUppercase: pp.RequireUppercase,
			RequireNumbers:   pp.RequireNumbers,
			RequireSymbols:   pp.RequireSymbols,
		}}
	}
	pout, err := client.CreateUserPool(ctx, pin)
	if err != nil {
		return "", "", fmt.Errorf("create user pool %s: %w", pool.LogicalID, err)
	}
	poolID = aws.ToString(pout.UserPool.Id)

	cin := &cip.CreateUserPoolClientInput{
		UserPoolId:                 aws.String(poolID),
		ClientName:                 aws.String(clientName),
		GenerateSecret:             c.GenerateSecret,
		PreventUserExistenceErrors: ciptypes.PreventUserExistenceErrorTypes(c.PreventUserExistenceErrors),
		// The template's client sets no ReadAttributes, so Cognito lets it read every attribute
		// and deployed ID tokens carry email; moto 5.2.1 puts only the listed attributes into ID
		// tokens. Listing the standard attributes restores the deployed behaviour.
		ReadAttributes: standardAttributes,
	}
	if c.AccessTokenValidity > 0 {
		cin.AccessTokenValidity = aws.Int32(int32(c.AccessTokenValidity))
	}
	if c.IDTokenValidity > 0 {
		cin.IdTokenValidity = aws.Int32(int32(c.IDTokenValidity))
	}
	if u := c.TokenValidityUnits; u != (samtemplate.TokenValidityUnits{}) {
		cin.TokenValidityUnits = &ciptypes.TokenValidityUnitsType{
			AccessToken: ciptypes.TimeUnitsType(u.AccessToken),
			IdToken:     ciptypes.TimeUnitsType(u.IDToken),
		}
	}
	for _, f := range c.ExplicitAuthFlows {
		cin.ExplicitAuthFlows = append(cin.ExplicitAuthFlows, ciptypes.ExplicitAuthFlowsType(f))
	}
	// The deployed client allows only SRP, which needs a client-side SRP implementation; tests
	// and `make dev` sign in with a plain password instead, so the local client also allows
	// USER_PASSWORD_AUTH. The tokens are the same, and the JWT authorizer does not care how
	// they were obtained.
	if pw := ciptypes.ExplicitAuthFlowsTypeAllowUserPasswordAuth; !slices.Contains(cin.ExplicitAuthFlows, pw) {
		cin.ExplicitAuthFlows = append(cin.ExplicitAuthFlows, pw)
	}
	cout, err := client.CreateUserPoolClient(ctx, cin)
	if err != nil {
		return poolID, "", fmt.Errorf("create user pool client %s: %w", c.LogicalID, err)
	}
	return poolID, aws.ToString(cout.UserPoolClient.ClientId), nil
}

// Queue is a queue created by CreateQueues.
type Queue struct {
	URL, ARN string
}

// CreateQueues creates every SQS queue of tpl, named by names (logical id → physical name), with
// the template's attributes, dead-letter queues first so that a redrive policy can name them.
func CreateQueues(ctx context.Context, client *sqs.Client, tpl *samtemplate.Template, names map[string]string) (map[string]Queue, error) {
	out := map[string]Queue{}
	left := slices.Sorted(maps.Keys(tpl.Queues))
	for len(left) > 0 {
		var next []string
		for _, id := range left {
			q := tpl.Queues[id]
			attrs := map[string]string{}
			for k, v := range map[string]*int{
				"VisibilityTimeout": q.VisibilityTimeout, "MessageRetentionPeriod": q.MessageRetentionPeriod,
				"DelaySeconds": q.DelaySeconds, "ReceiveMessageWaitTimeSeconds": q.ReceiveMessageWaitTimeSeconds,
				"MaximumMessageSize": q.MaximumMessageSize,
			} {
				if v != nil {
					attrs[k] = strconv.Itoa(*v)
				}
			}
			if r := q.RedrivePolicy; r != nil {
				dlq, ok := out[r.DeadLetterQueue]
				if !ok {
					next = append(next, id)
					continue
				}
				b, _ := json.Marshal(map[string]any{"deadLetterTargetArn": dlq.ARN, "maxReceiveCount": r.MaxReceiveCount})
				attrs["RedrivePolicy"] = string(b)
			}
			name, ok := names[id]
			if !ok {
				return nil, fmt.Errorf("no physical name for queue %s", id)
			}
			created, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
			if err != nil {
				return nil, fmt.Errorf("create queue %s (%s): %w", id, name, err)
			}
			got, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: created.QueueUrl,
				AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
			if err != nil {
				return nil, fmt.Errorf("queue %s (%s): %w", id, name, err)
			}
			out[id] = Queue{URL: aws.ToString(created.QueueUrl), ARN: got.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]}
		}
		if len(next) == len(left) {
			return nil, fmt.Errorf("queues %v: their redrive policies name each other or a queue that is not in the template", next)
		}
		left = next
	}
	return out, nil
}

// StreamARNs returns the stream ARN of every table of tpl that has a stream, by logical id.
func StreamARNs(ctx context.Context, client *dynamodb.Client, tpl *samtemplate.Template, names map[string]string) (map[string]string, error) {
	out := map[string]string{}
	for _, id := range slices.Sorted(maps.Keys(tpl.Tables)) {
		if tpl.Tables[id].StreamViewType == "" {
			continue
		}
		d, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(names[id])})
		if err != nil {
			return nil, fmt.Errorf("describe table %s: %w", id, err)
		}
		if d.Table.LatestStreamArn == nil {
			return nil, fmt.Errorf("table %s (%s) was created without its stream", id, names[id])
		}
		out[id] = aws.ToString(d.Table.LatestStreamArn)
	}
	return out, nil
}

// TypeKMSKey is a KMS key; the local stack creates one per key of the template, with an alias.
const TypeKMSKey = "AWS::KMS::Key"

// CreateKMSKeys creates a symmetric key for every AWS::KMS::Key of tpl, each with the alias
// "alias/" + names[id], which Encrypt and Decrypt take as a key id. The keys' properties (policy,
// rotation) change nothing moto checks, so they are not read.
func CreateKMSKeys(ctx context.Context, client *kms.Client, tpl *samtemplate.Template, names map[string]string) error {
	for _, id := range slices.Sorted(maps.Keys(tpl.Resources)) {
		if tpl.Resources[id] != TypeKMSKey {
			continue
		}
		key, err := client.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String(id)})
		if err != nil {
			return fmt.Errorf("create KMS key %s: %w", id, err)
		}
		if _, err := client.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/" + names[id]), TargetKeyId: key.KeyMetadata.KeyId}); err != nil {
			return fmt.Errorf("alias KMS key %s: %w", id, err)
		}
	}
	return nil
}
