package dynamostore

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// AuditRecordOf reads the audit record from an item of the table's stream
// (a record's NewImage). ok is false for any other kind of item.
func AuditRecordOf(image map[string]types.AttributeValue) (rec accesskey.AuditRecord, ok bool, err error) {
	pk, _ := image[attrPK].(*types.AttributeValueMemberS)
	if pk == nil || !strings.HasPrefix(pk.Value, prefixAudit) {
		return accesskey.AuditRecord{}, false, nil
	}
	var it auditItem
	if err := attributevalue.UnmarshalMap(image, &it); err != nil {
		return accesskey.AuditRecord{}, true, fmt.Errorf("audit record %s: %w", pk.Value, err)
	}
	if it.EventID == "" || it.Action == "" {
		return accesskey.AuditRecord{}, true, fmt.Errorf("audit record %s: no eventId or action", pk.Value)
	}
	return it.record(), true, nil
}

// AuditPartitionPrefix is the pk prefix of every audit record: what the
// stream's filter (template.yaml's PublishEvents mapping) selects.
const AuditPartitionPrefix = prefixAudit
