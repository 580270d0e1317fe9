package dynamo

import (
	"context"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"codex/pkg/codex"
)

var _ codex.ProjectStore = (*Store)(nil)

type projectItem struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	Type      string `dynamodbav:"type"`
	ID        string `dynamodbav:"id"`
	Name      string `dynamodbav:"name"`
	CreatedAt string `dynamodbav:"created_at"`
	CreatedBy string `dynamodbav:"created_by"`
}

type membershipItem struct {
	PK               string `dynamodbav:"PK"`
	SK               string `dynamodbav:"SK"`
	Type             string `dynamodbav:"type"`
	UserID           string `dynamodbav:"user_id"`
	Role             string `dynamodbav:"role"`
	ProjectID        string `dynamodbav:"project_id"`
	ProjectName      string `dynamodbav:"project_name"`
	ProjectCreatedAt string `dynamodbav:"project_created_at"`
	ProjectCreatedBy string `dynamodbav:"project_created_by"`
}

func projectPK(id string) string    { return "PROJECT#" + id }
func userPK(sub string) string      { return "USER#" + sub }
func membershipSK(id string) string { return "PROJECT#" + id }

const projectSK = "PROJECT"

// CreateProject writes the project and its owner's membership in one transaction, so a project
// never exists without an owner who can see it.
func (s *Store) CreateProject(ctx context.Context, p codex.Project) error {
	project, err := attributevalue.MarshalMap(projectItem{
		PK: projectPK(p.ID), SK: projectSK, Type: "project",
		ID: p.ID, Name: p.Name, CreatedAt: codex.FormatTime(p.CreatedAt), CreatedBy: p.CreatedBy,
	})
	if err != nil {
		return err
	}
	member, err := attributevalue.MarshalMap(membershipItem{
		PK: userPK(p.CreatedBy), SK: membershipSK(p.ID), Type: "membership",
		UserID: p.CreatedBy, Role: string(codex.RoleOwner),
		ProjectID: p.ID, ProjectName: p.Name, ProjectCreatedAt: codex.FormatTime(p.CreatedAt), ProjectCreatedBy: p.CreatedBy,
	})
	if err != nil {
		return err
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: &s.tables.App, Item: project, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
			{Put: &types.Put{TableName: &s.tables.App, Item: member, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		},
	})
	if err != nil {
		return fmt.Errorf("create project: %w", err)
	}
	return nil
}

// ListProjects reads the user's memberships, which carry what a list needs, in one query.
func (s *Store) ListProjects(ctx context.Context, userID string) ([]codex.Project, error) {
	projects, err := queryAll(ctx, s.db, s.partitionQuery(userPK(userID), "PROJECT#"),
		func(item map[string]types.AttributeValue) (codex.Project, error) {
			m, err := unmarshalMembership(item)
			return m.Project, err
		})
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	sort.SliceStable(projects, func(i, j int) bool { return projects[i].CreatedAt.After(projects[j].CreatedAt) })
	return projects, nil
}

// Membership is one strongly consistent GetItem: a member just added or removed is seen at once.
func (s *Store) Membership(ctx context.Context, userID, projectID string) (codex.Membership, error) {
	return getItem(ctx, s.db, &dynamodb.GetItemInput{
		TableName:      &s.tables.App,
		ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: userPK(userID)},
			"SK": &types.AttributeValueMemberS{Value: membershipSK(projectID)},
		},
	}, "project", unmarshalMembership)
}

func unmarshalMembership(item map[string]types.AttributeValue) (codex.Membership, error) {
	var m membershipItem
	if err := attributevalue.UnmarshalMap(item, &m); err != nil {
		return codex.Membership{}, fmt.Errorf("decode membership: %w", err)
	}
	created, err := codex.ParseTime(m.ProjectCreatedAt)
	if err != nil {
		return codex.Membership{}, fmt.Errorf("decode membership %s: %w", m.ProjectID, err)
	}
	return codex.Membership{
		UserID: m.UserID,
		Role:   codex.Role(m.Role),
		Project: codex.Project{
			ID: m.ProjectID, Name: m.ProjectName, CreatedAt: created, CreatedBy: m.ProjectCreatedBy,
		},
	}, nil
}

var _ codex.ProjectFinder = (*Store)(nil)

// FindProject reads a project by id, for the hosted page, which shows the merchant's name.
func (s *Store) FindProject(ctx context.Context, id string) (codex.Project, error) {
	return getItem(ctx, s.db, &dynamodb.GetItemInput{
		TableName: &s.tables.App,
		Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: projectPK(id)},
			"SK": &types.AttributeValueMemberS{Value: projectSK},
		},
	}, "project", func(item map[string]types.AttributeValue) (codex.Project, error) {
		it, err := decodeItem[projectItem](item)
		if err != nil {
			return codex.Project{}, err
		}
		created, err := codex.ParseTime(it.CreatedAt)
		if err != nil {
			return codex.Project{}, fmt.Errorf("decode project %s: %w", it.ID, err)
		}
		return codex.Project{ID: it.ID, Name: it.Name, CreatedAt: created, CreatedBy: it.CreatedBy}, nil
	})
}
