// Package awsenv builds the AWS SDK's configuration from a Lambda function's environment, the
// configuration config.LoadDefaultConfig builds there, without linking package config. That
// package's credential chain (SSO, STS, sign-in, IMDS, container and process credentials) links
// four more service clients whose package initialisation is most of what a function's cold start
// spends beyond a hello world's, and a function on Lambda uses none of it: Lambda puts the
// execution role's credentials in the environment.
//
// Read as the SDK reads them:
//   - credentials: AWS_ACCESS_KEY_ID (or AWS_ACCESS_KEY), AWS_SECRET_ACCESS_KEY (or
//     AWS_SECRET_KEY), AWS_SESSION_TOKEN and AWS_ACCOUNT_ID;
//   - region: AWS_REGION, else AWS_DEFAULT_REGION;
//   - endpoints: AWS_ENDPOINT_URL for every service, AWS_ENDPOINT_URL_<SERVICE> (for example
//     AWS_ENDPOINT_URL_DYNAMODB) for one; unset, the service's real endpoint.
//
// Any other setting LoadDefaultConfig would take from the environment makes Config fail instead
// of being ignored, and so do credentials missing from the environment (where the SDK would go on
// to shared files, a container endpoint or IMDS). Shared config files are not read: Lambda has
// none. The tests compare the requests made with this configuration and with LoadDefaultConfig's,
// and fail when an SDK upgrade reads a variable this package has not classified.
package awsenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/logging"
)

// refused are the variables package config reads that would change a client and that Config does
// not implement. The others it reads are read here too, or inert for a configuration whose
// credentials are in the environment and which has no shared config files (the tests list them).
var refused = []string{
	"AWS_ACCOUNT_ID_ENDPOINT_MODE", "AWS_AUTH_SCHEME_PREFERENCE", "AWS_CA_BUNDLE", "AWS_CONFIG_FILE",
	"AWS_DEFAULT_PROFILE", "AWS_DEFAULTS_MODE", "AWS_DISABLE_CLOCK_SKEW_CORRECTION",
	"AWS_DISABLE_REQUEST_COMPRESSION", "AWS_ENABLE_ENDPOINT_DISCOVERY",
	"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_MAX_ATTEMPTS", "AWS_PROFILE",
	"AWS_REQUEST_CHECKSUM_CALCULATION", "AWS_REQUEST_MIN_COMPRESSION_SIZE_BYTES",
	"AWS_RESPONSE_CHECKSUM_VALIDATION", "AWS_RETRY_MODE", "AWS_SDK_UA_APP_ID",
	"AWS_SHARED_CREDENTIALS_FILE", "AWS_USE_DUALSTACK_ENDPOINT", "AWS_USE_FIPS_ENDPOINT",
}

// Config returns the SDK configuration of this process's environment; see the package doc.
func Config() (aws.Config, error) {
	var set []string
	for _, k := range refused {
		if os.Getenv(k) != "" {
			set = append(set, k)
		}
	}
	if len(set) > 0 {
		return aws.Config{}, fmt.Errorf("%s set, which this function's AWS configuration does not read (package codex/pkg/awsenv)", strings.Join(set, ", "))
	}
	creds := aws.Credentials{
		AccessKeyID:     first("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY"),
		SecretAccessKey: first("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY"),
		SessionToken:    os.Getenv("AWS_SESSION_TOKEN"),
		AccountID:       os.Getenv("AWS_ACCOUNT_ID"),
		Source:          "EnvConfigCredentials", // config.CredentialsSourceName
	}
	if !creds.HasKeys() {
		return aws.Config{}, errors.New("no AWS credentials in the environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), as Lambda sets them")
	}
	cfg := aws.Config{
		Region: first("AWS_REGION", "AWS_DEFAULT_REGION"),
		Credentials: aws.NewCredentialsCache(credentials.StaticCredentialsProvider{
			Value:  creds,
			Source: []aws.CredentialSource{aws.CredentialSourceEnvVars},
		}),
		// The defaults LoadDefaultConfig sets when nothing configures them.
		Logger:                     logging.NewStandardLogger(os.Stderr),
		DefaultsMode:               aws.DefaultsModeLegacy,
		AccountIDEndpointMode:      aws.AccountIDEndpointModePreferred,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
		// Each service client asks its config sources for AWS_ENDPOINT_URL_<SERVICE>.
		ConfigSources: []any{serviceEndpoints{}},
	}
	if v := os.Getenv("AWS_ENDPOINT_URL"); v != "" {
		cfg.BaseEndpoint = aws.String(v)
	}
	return cfg, nil
}

// first is the first non-empty of the variables, as the SDK reads a variable with an alias.
func first(keys ...string) string {
	i := slices.IndexFunc(keys, func(k string) bool { return os.Getenv(k) != "" })
	if i < 0 {
		return ""
	}
	return os.Getenv(keys[i])
}

// serviceEndpoints is the config source a service client asks for its own endpoint.
type serviceEndpoints struct{}

// GetServiceBaseEndpoint reads AWS_ENDPOINT_URL_<SERVICE>, the service's SDK id upper-cased with
// spaces as underscores (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER).
func (serviceEndpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	v := os.Getenv("AWS_ENDPOINT_URL_" + strings.ReplaceAll(strings.ToUpper(sdkID), " ", "_"))
	return v, v != "", nil
}
