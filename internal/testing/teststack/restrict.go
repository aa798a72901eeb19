package teststack

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Restrict writes a key item's allowedCidrs and scopes behind the
// service's back, as the agreed layout stores them: a list of strings each,
// removed when nil (unrestricted), kept when empty. The verifier may serve
// the item it read before for up to 1 s: restrict a key before its first
// use.
func (tb *Table) Restrict(accessKeyID string, cidrs, scopes []string) {
	tb.helper()
	set, remove := map[string][]string{}, []string{}
	for name, list := range map[string][]string{"allowedCidrs": cidrs, "scopes": scopes} {
		if list == nil {
			remove = append(remove, name)
		} else {
			set[name] = list
		}
	}
	expr, names, values := "", map[string]string{}, map[string]types.AttributeValue{}
	i := 0
	for name, list := range set {
		items := make([]types.AttributeValue, 0, len(list))
		for _, s := range list {
			items = append(items, &types.AttributeValueMemberS{Value: s})
		}
		if expr == "" {
			expr = "SET "
		} else {
			expr += ", "
		}
		n, v := "#n"+string(rune('0'+i)), ":v"+string(rune('0'+i))
		expr += n + " = " + v
		names[n], values[v] = name, &types.AttributeValueMemberL{Value: items}
		i++
	}
	for j, name := range remove {
		if j == 0 {
			expr += " REMOVE "
		} else {
			expr += ", "
		}
		n := "#n" + string(rune('0'+i))
		expr += n
		names[n] = name
		i++
	}
	input := &dynamodb.UpdateItemInput{
		TableName:                 aws.String(tb.Name),
		Key:                       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "KEY#" + accessKeyID}, "sk": &types.AttributeValueMemberS{Value: "KEY"}},
		UpdateExpression:          aws.String(expr),
		ExpressionAttributeNames:  names,
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: values,
	}
	if len(values) == 0 {
		input.ExpressionAttributeValues = nil
	}
	if _, err := tb.DB.UpdateItem(context.Background(), input); err != nil {
		tb.fatalf("restrict %s: %v", accessKeyID, err)
	}
}
