// Package tabledef creates the keys table from its definition in template.yaml.
// It is kept apart from the store so that the Lambda functions do not link a
// CloudFormation parser they never use.
package tabledef

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/awslabs/goformation/v7"
	cfndynamodb "github.com/awslabs/goformation/v7/cloudformation/dynamodb"
	"github.com/awslabs/goformation/v7/intrinsics"
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
	table, err := keysTable(templateYAML)
	if err != nil {
		return nil, err
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

// keysTable reads the table's properties. Its Fn::If entries (the audit
// indexes, AuditIndexes) are resolved here first, on the parameters'
// defaults, AWS::NoValue dropping the entry: goformation resolves an Fn::If
// only with EvaluateConditions, which also turns every resource with a
// Condition into that condition's value.
func keysTable(templateYAML []byte) (*cfndynamodb.Table, error) {
	parseTemplate.Lock() // goformation writes a package-level map while parsing
	defer parseTemplate.Unlock()
	raw, err := intrinsics.ProcessYAML(templateYAML, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	ResolveTableIfs(doc)
	resolved, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	tmpl, err := goformation.ParseJSON(resolved)
	if err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	table, err := tmpl.GetDynamoDBTableWithName(tableLogicalID)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	return table, nil
}

// ResolveTableIfs replaces every Fn::If of the table's resource in doc (a
// template, unprocessed) by its branch on the parameters' defaults, an
// AWS::NoValue entry of a list dropped.
func ResolveTableIfs(doc map[string]any) {
	resources, _ := doc["Resources"].(map[string]any)
	if table, ok := resources[tableLogicalID].(map[string]any); ok {
		conditions, _ := doc["Conditions"].(map[string]any)
		parameters, _ := doc["Parameters"].(map[string]any)
		resources[tableLogicalID] = resolveIfs(table, conditions, parameters)
	}
}

// resolveIfs replaces every Fn::If in v by its branch.
func resolveIfs(v any, conditions, parameters map[string]any) any {
	switch v := v.(type) {
	case map[string]any:
		if args, ok := v["Fn::If"].([]any); ok && len(v) == 1 && len(args) == 3 {
			name, _ := args[0].(string)
			if truth(conditions[name], conditions, parameters) {
				return resolveIfs(args[1], conditions, parameters)
			}
			return resolveIfs(args[2], conditions, parameters)
		}
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = resolveIfs(x, conditions, parameters)
		}
		return out
	case []any:
		out := make([]any, 0, len(v))
		for _, x := range v {
			x = resolveIfs(x, conditions, parameters)
			if !isNoValue(x) {
				out = append(out, x)
			}
		}
		return out
	}
	return v
}

func isNoValue(v any) bool {
	m, ok := v.(map[string]any)
	return ok && len(m) == 1 && m["Ref"] == "AWS::NoValue"
}

// truth evaluates a condition of Fn::Equals, Fn::Not, Fn::And, Fn::Or,
// Condition and Ref (a parameter's default).
func truth(c any, conditions, parameters map[string]any) bool {
	m, _ := c.(map[string]any)
	args, _ := m["Fn::Equals"].([]any)
	switch {
	case len(args) == 2:
		return fmt.Sprint(value(args[0], parameters)) == fmt.Sprint(value(args[1], parameters))
	case m["Condition"] != nil:
		name, _ := m["Condition"].(string)
		return truth(conditions[name], conditions, parameters)
	}
	for op, x := range m {
		list, _ := x.([]any)
		switch op {
		case "Fn::Not":
			return len(list) == 1 && !truth(list[0], conditions, parameters)
		case "Fn::And", "Fn::Or":
			all, anyOf := true, false
			for _, e := range list {
				t := truth(e, conditions, parameters)
				all, anyOf = all && t, anyOf || t
			}
			return (op == "Fn::And" && all) || (op == "Fn::Or" && anyOf)
		}
	}
	return false
}

func value(v any, parameters map[string]any) any {
	if m, ok := v.(map[string]any); ok {
		if name, ok := m["Ref"].(string); ok {
			p, _ := parameters[name].(map[string]any)
			if d, ok := p["Default"]; ok {
				return d
			}
			return ""
		}
	}
	return v
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
