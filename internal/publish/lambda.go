package publish

import (
	"context"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Handler is PublishEvents' Lambda handler: a batch of the table's stream
// (the event source mapping's filter passes only new audit records), its
// failed records reported back by sequence number
// (ReportBatchItemFailures) so that Lambda retries from the first of them.
func Handler(p Publisher) func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	return func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		recs := make([]Record, 0, len(ev.Records))
		var resp events.DynamoDBEventResponse
		for _, r := range ev.Records {
			if r.EventName != string(events.DynamoDBOperationTypeInsert) {
				continue
			}
			image, err := fromLambda(r.Change.NewImage)
			if err != nil {
				p.Log.Error("unreadable stream record", "sequenceNumber", r.Change.SequenceNumber, "error", err.Error())
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
				continue
			}
			recs = append(recs, Record{ID: r.Change.SequenceNumber, Image: image})
		}
		for _, id := range p.Publish(ctx, recs) {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: id})
		}
		p.Log.Info("published", "records", len(ev.Records), "failed", len(resp.BatchItemFailures))
		return resp, nil
	}
}

// fromLambda converts aws-lambda-go's attribute values to the SDK's.
func fromLambda(in map[string]events.DynamoDBAttributeValue) (map[string]ddbtypes.AttributeValue, error) {
	out := make(map[string]ddbtypes.AttributeValue, len(in))
	for k, v := range in {
		av, err := lambdaValue(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", k, err)
		}
		out[k] = av
	}
	return out, nil
}

func lambdaValue(v events.DynamoDBAttributeValue) (ddbtypes.AttributeValue, error) {
	switch v.DataType() {
	case events.DataTypeString:
		return &ddbtypes.AttributeValueMemberS{Value: v.String()}, nil
	case events.DataTypeNumber:
		return &ddbtypes.AttributeValueMemberN{Value: v.Number()}, nil
	case events.DataTypeBinary:
		return &ddbtypes.AttributeValueMemberB{Value: v.Binary()}, nil
	case events.DataTypeBoolean:
		return &ddbtypes.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case events.DataTypeNull:
		return &ddbtypes.AttributeValueMemberNULL{Value: true}, nil
	case events.DataTypeStringSet:
		return &ddbtypes.AttributeValueMemberSS{Value: v.StringSet()}, nil
	case events.DataTypeNumberSet:
		return &ddbtypes.AttributeValueMemberNS{Value: v.NumberSet()}, nil
	case events.DataTypeBinarySet:
		return &ddbtypes.AttributeValueMemberBS{Value: v.BinarySet()}, nil
	case events.DataTypeList:
		list := make([]ddbtypes.AttributeValue, 0, len(v.List()))
		for _, e := range v.List() {
			av, err := lambdaValue(e)
			if err != nil {
				return nil, err
			}
			list = append(list, av)
		}
		return &ddbtypes.AttributeValueMemberL{Value: list}, nil
	case events.DataTypeMap:
		m, err := fromLambda(v.Map())
		if err != nil {
			return nil, err
		}
		return &ddbtypes.AttributeValueMemberM{Value: m}, nil
	}
	return nil, fmt.Errorf("unknown attribute type %v", v.DataType())
}
