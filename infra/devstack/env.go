package devstack

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"codex/infra/localaws"
	"codex/infra/samtemplate"
)

// Fixed identities of the local stack, used in ARNs and names.
const (
	accountID = "123456789012"
	stackName = "codex-local"
)

// localNames maps the template's logical ids (and their GetAtt attributes) to the local stack's
// physical values, for samtemplate.Resolve. A reference to anything else fails the start with the
// function and variable named, rather than reaching a function as a wrong value.
//
// It also returns the local API id of each HttpApi: its logical id in lower case.
func localNames(tpl *samtemplate.Template, region string, tables map[string]string, poolID, clientID string) (names, apiIDs map[string]string) {
	n := map[string]string{
		"AWS::Region":    region,
		"AWS::AccountId": accountID,
		"AWS::Partition": "aws",
		"AWS::StackName": stackName,
		"AWS::URLSuffix": "amazonaws.com",
	}
	for id, name := range tables {
		n[id] = name
		n[id+".Arn"] = fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", region, accountID, name)
	}
	for id := range tpl.UserPools {
		n[id] = poolID
		n[id+".Arn"] = fmt.Sprintf("arn:aws:cognito-idp:%s:%s:userpool/%s", region, accountID, poolID)
		n[id+".ProviderName"] = fmt.Sprintf("cognito-idp.%s.amazonaws.com/%s", region, poolID)
	}
	for id := range tpl.UserPoolClients {
		n[id] = clientID
	}
	for id := range tpl.Functions {
		n[id] = id
		n[id+".Arn"] = fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, accountID, id)
	}
	apiIDs = map[string]string{}
	for id := range tpl.HTTPAPIs {
		apiIDs[id] = strings.ToLower(id)
	}
	for id, apiID := range apiIDs {
		n[id] = apiID
	}
	addLocalParameters(n, tpl)
	return n, apiIDs
}

// addQueueNames adds the template's queues to names: a queue's Ref (and GetAtt QueueUrl) is its
// URL, GetAtt Arn and QueueName the rest. The URL has SQS's own host: the SDK sends requests to
// AWS_ENDPOINT_URL_SQS and moto finds the queue by the name at the end of the URL, so the value is
// fixed by the logical id and make sam-env computes the same one without a running stack.
func addQueueNames(names map[string]string, tpl *samtemplate.Template, region string) {
	for id := range tpl.Queues {
		name := stackName + "-" + id
		names[id] = fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", region, accountID, name)
		names[id+".QueueUrl"] = names[id]
		names[id+".Arn"] = fmt.Sprintf("arn:aws:sqs:%s:%s:%s", region, accountID, name)
		names[id+".QueueName"] = name
	}
}

// addStreamNames adds the tables' stream ARNs (GetAtt StreamArn), which moto makes up.
func addStreamNames(names map[string]string, streams map[string]string) {
	for id, arn := range streams {
		names[id+".StreamArn"] = arn
	}
}

// kmsKeyNames are the local names of the template's KMS keys, fixed by their logical ids.
func kmsKeyNames(tpl *samtemplate.Template) map[string]string {
	out := map[string]string{}
	for id, typ := range tpl.Resources {
		if typ == localaws.TypeKMSKey {
			out[id] = stackName + "-" + id
		}
	}
	return out
}

// addKMSKeyNames adds the template's KMS keys to names: a key's Ref (and GetAtt Arn) is its alias,
// which Encrypt and Decrypt take as a key id; fixed by the logical id, so make sam-env computes the
// same from stack.json.
func addKMSKeyNames(names map[string]string, tpl *samtemplate.Template, region string) {
	for id, name := range kmsKeyNames(tpl) {
		names[id] = "alias/" + name
		names[id+".Arn"] = fmt.Sprintf("arn:aws:kms:%s:%s:alias/%s", region, accountID, name)
	}
}

// reservedEnv are the variables Lambda sets itself and refuses in a function's configuration.
var reservedEnv = map[string]bool{
	"_HANDLER": true, "_X_AMZN_TRACE_ID": true, "AWS_DEFAULT_REGION": true, "AWS_REGION": true,
	"AWS_EXECUTION_ENV": true, "AWS_LAMBDA_FUNCTION_NAME": true, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
	"AWS_LAMBDA_FUNCTION_VERSION": true, "AWS_LAMBDA_INITIALIZATION_TYPE": true, "AWS_LAMBDA_LOG_GROUP_NAME": true,
	"AWS_LAMBDA_LOG_STREAM_NAME": true, "AWS_ACCESS_KEY": true, "AWS_ACCESS_KEY_ID": true,
	"AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true, "AWS_LAMBDA_RUNTIME_API": true,
	"LAMBDA_TASK_ROOT": true, "LAMBDA_RUNTIME_DIR": true,
}

// functionEnv is a function's whole environment: what Lambda provides (region, the log format
// from LoggingConfig, dummy credentials standing in for the execution role, with the function's
// logical id as key id so that a request's signature names its caller), the local DynamoDB, SQS,
// Cognito and KMS endpoints (the last two moto's), and the template's variables (Globals merged)
// with references resolved to local names. Nothing comes from the developer's environment.
func functionEnv(tpl *samtemplate.Template, fn *samtemplate.Function, names map[string]string, region, dynamoDB, sqs, moto string) ([]string, error) {
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"TZ=:UTC",
		"AWS_REGION=" + region,
		"AWS_DEFAULT_REGION=" + region,
		"AWS_ACCESS_KEY_ID=" + fn.LogicalID,
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_ENDPOINT_URL_DYNAMODB=" + dynamoDB,
		"AWS_ENDPOINT_URL_SQS=" + sqs,
		"AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER=" + moto,
		"AWS_ENDPOINT_URL_KMS=" + moto,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + fn.LogicalID,
	}
	if fn.Handler != "" {
		env = append(env, "_HANDLER="+fn.Handler)
	}
	if fn.LogFormat != "" {
		env = append(env, "AWS_LAMBDA_LOG_FORMAT="+fn.LogFormat)
	}
	var problems []string
	for _, k := range slices.Sorted(maps.Keys(fn.Environment)) {
		if reservedEnv[k] {
			problems = append(problems, fmt.Sprintf("%s is reserved by Lambda and cannot be set", k))
			continue
		}
		if slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, k+"=") }) {
			// The local endpoints win over the template's empty AWS_ENDPOINT_URL_DYNAMODB (and
			// the like), as make sam-env's values do for sam local.
			continue
		}
		v, err := tpl.Resolve(fn.Environment[k], names)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", k, err))
			continue
		}
		env = append(env, k+"="+v)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("function %s environment: %s", fn.LogicalID, strings.Join(problems, "; "))
	}
	return env, nil
}

// pageParameter sets the CheckoutBaseUrl parameter in names to the hosted checkout page this stack
// serves: the base URL of the API with the route GET /c/{checkout_id}, plus /c, so a checkout's url
// opens the local page. The template's default (empty) means the deployed PublicApi's page, whose
// URL the local stack cannot resolve.
func pageParameter(tpl *samtemplate.Template, names, apis map[string]string) {
	if _, ok := tpl.Parameters["CheckoutBaseUrl"]; !ok {
		return
	}
	for _, r := range tpl.Routes() {
		if r.Method == "GET" && r.Path == "/c/{checkout_id}" && apis[r.API] != "" {
			names["CheckoutBaseUrl"] = apis[r.API] + "/c"
			return
		}
	}
}
