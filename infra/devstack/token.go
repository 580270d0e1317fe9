package devstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

var validUser = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Cognito returns a client for the stack's user pool. It is configured explicitly (endpoint,
// region, dummy credentials) so a developer's AWS profile or endpoint variables cannot send it to
// a real account.
func (st *State) Cognito() *cip.Client {
	return cip.New(cip.Options{
		Region:       st.Region,
		BaseEndpoint: aws.String(st.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

// Token returns an ID token for user in the stack's user pool, creating the user on first use
// (LocalUser), through Cognito's own API: InitiateAuth with USER_PASSWORD_AUTH, which the local
// client allows in addition to the template's flows. The password is set afresh on each call, so
// nothing needs to be stored.
func (st *State) Token(ctx context.Context, client *cip.Client, user string) (string, error) {
	password, err := st.LocalUser(ctx, client, user)
	if err != nil {
		return "", err
	}
	out, err := client.InitiateAuth(ctx, &cip.InitiateAuthInput{
		ClientId:       aws.String(st.UserPoolClientID),
		AuthFlow:       ciptypes.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": user, "PASSWORD": password},
	})
	if err != nil {
		return "", fmt.Errorf("sign in as %s: %w", user, err)
	}
	if out.AuthenticationResult == nil || out.AuthenticationResult.IdToken == nil {
		return "", fmt.Errorf("sign in as %s: no token (challenge %q)", user, out.ChallengeName)
	}
	return aws.ToString(out.AuthenticationResult.IdToken), nil
}

// LocalUser creates user in the stack's user pool (with the verified email <user>@example.com)
// unless it exists, through AdminCreateUser, and gives it a new random permanent password, which
// it returns.
func (st *State) LocalUser(ctx context.Context, client *cip.Client, user string) (string, error) {
	if !validUser.MatchString(user) {
		return "", fmt.Errorf("user %q: use 1 to 64 letters, digits, dots, dashes or underscores", user)
	}
	_, err := client.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
		UserPoolId:    aws.String(st.UserPoolID),
		Username:      aws.String(user),
		MessageAction: ciptypes.MessageActionTypeSuppress,
		UserAttributes: []ciptypes.AttributeType{
			{Name: aws.String("email"), Value: aws.String(user + "@example.com")},
			{Name: aws.String("email_verified"), Value: aws.String("true")},
		},
	})
	var exists *ciptypes.UsernameExistsException
	if err != nil && !errors.As(err, &exists) {
		return "", fmt.Errorf("create user %s: %w", user, err)
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	// Satisfies any Cognito password policy: upper, lower, digit, symbol, 36 characters.
	password := "Aa1!" + hex.EncodeToString(b)
	if _, err := client.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{
		UserPoolId: aws.String(st.UserPoolID), Username: aws.String(user), Password: aws.String(password), Permanent: true,
	}); err != nil {
		return "", fmt.Errorf("set the password of %s: %w", user, err)
	}
	return password, nil
}
