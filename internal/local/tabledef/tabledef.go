// Package tabledef creates the keys table from its definition in template.yaml.
// It is kept apart from the store so that the Lambda functions do not link a
// CloudFormation parser they never use.
package tabledef

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/awslabs/goformation/v7"
	cfndynamodb "github.com/awslabs/goformation/v7/cloudformation/dynamodb"
)

// tableLogicalID is the table's resource name in template.yaml.
const tableLogicalID = "KeysTable"

// TableAdmin is the part of the DynamoDB client that creates tables.
type TableAdmin interface {
	CreateTable(context.Context, *dynamodb.CreateTableInput, ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

var _ TableAdmin = (*dynamodb.Client)(nil)

var parseTemplate sync.Mutex

// CreateTableInput reads the table's definition from the CloudFormation
// template, so that the local table and the deployed one cannot drift apart.
func CreateTableInput(templateYAML []byte, tableName string) (*dynamodb.CreateTableInput, error) {
	parseTemplate.Lock() // goformation writes a package-level map while parsing
	tmpl, err := goformation.ParseYAML(templateYAML)
	parseTemplate.Unlock()
	if err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	table, err := tmpl.GetDynamoDBTableWithName(tableLogicalID)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	input := &dynamodb.CreateTableInput{
		TableName:   aws.String(tableName),
		BillingMode: types.BillingMode(aws.ToString(table.BillingMode)),
	}
	for _, a := range table.AttributeDefinitions {
		input.AttributeDefinitions = append(input.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(a.AttributeName),
			AttributeType: types.ScalarAttributeType(a.AttributeType),
		})
	}
	input.KeySchema = keySchema(table.KeySchema)
	if table.StreamSpecification != nil {
		input.StreamSpecification = &types.StreamSpecification{StreamEnabled: aws.Bool(true),
			StreamViewType: types.StreamViewType(table.StreamSpecification.StreamViewType)}
	}
	for _, gsi := range table.GlobalSecondaryIndexes {
		index := types.GlobalSecondaryIndex{
			IndexName: aws.String(gsi.IndexName),
			KeySchema: keySchema(gsi.KeySchema),
		}
		if gsi.Projection != nil {
			index.Projection = &types.Projection{
				ProjectionType:   types.ProjectionType(aws.ToString(gsi.Projection.ProjectionType)),
				NonKeyAttributes: gsi.Projection.NonKeyAttributes,
			}
		}
		input.GlobalSecondaryIndexes = append(input.GlobalSecondaryIndexes, index)
	}
	return input, nil
}

func keySchema(in []cfndynamodb.Table_KeySchema) []types.KeySchemaElement {
	out := make([]types.KeySchemaElement, 0, len(in))
	for _, k := range in {
		out = append(out, types.KeySchemaElement{AttributeName: aws.String(k.AttributeName), KeyType: types.KeyType(k.KeyType)})
	}
	return out
}

// EnsureTable creates the table when it is missing and waits until it is
// active.
func EnsureTable(ctx context.Context, db TableAdmin, input *dynamodb.CreateTableInput) error {
	_, err := db.CreateTable(ctx, input)
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create table %s: %w", aws.ToString(input.TableName), err)
	}
	waiter := dynamodb.NewTableExistsWaiter(db, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = time.Second
	})
	return waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: input.TableName}, time.Minute)
}
