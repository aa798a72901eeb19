package meter

import (
	"encoding/hex"
	"math"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// itemSize is an item's size as DynamoDB counts it for capacity: each
// attribute's name plus its value (Developer Guide, "Item sizes and
// formats"; numbers approximated as one byte per two digits plus one).
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return numberSize(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += numberSize(s)
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	}
	return 0
}

func numberSize(s string) int {
	return (len(s)+1)/2 + 1
}

// valueString is a canonical text of v, to compare values and to name a
// partition.
func valueString(v types.AttributeValue) string {
	switch v := v.(type) {
	case nil:
		return "<none>"
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberN:
		return v.Value
	case *types.AttributeValueMemberB:
		return "0x" + hex.EncodeToString(v.Value)
	case *types.AttributeValueMemberBOOL:
		if v.Value {
			return "true"
		}
		return "false"
	case *types.AttributeValueMemberNULL:
		return "null"
	case *types.AttributeValueMemberSS:
		s := slices.Clone(v.Value)
		slices.Sort(s)
		return "SS" + strings.Join(s, "\x00")
	case *types.AttributeValueMemberNS:
		s := slices.Clone(v.Value)
		slices.Sort(s)
		return "NS" + strings.Join(s, "\x00")
	case *types.AttributeValueMemberBS:
		var s []string
		for _, b := range v.Value {
			s = append(s, hex.EncodeToString(b))
		}
		slices.Sort(s)
		return "BS" + strings.Join(s, "\x00")
	case *types.AttributeValueMemberL:
		var b strings.Builder
		b.WriteString("L[")
		for _, e := range v.Value {
			b.WriteString(valueString(e))
			b.WriteString("\x00")
		}
		return b.String() + "]"
	case *types.AttributeValueMemberM:
		keys := make([]string, 0, len(v.Value))
		for k := range v.Value {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var b strings.Builder
		b.WriteString("M{")
		for _, k := range keys {
			b.WriteString(k + "=" + valueString(v.Value[k]) + "\x00")
		}
		return b.String() + "}"
	}
	return "?"
}

// units rounds size up to whole units of unit bytes, at least one.
func units(size, unit int) float64 {
	return math.Max(1, math.Ceil(float64(size)/float64(unit)))
}
