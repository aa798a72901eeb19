package meter

import (
	"fmt"
	"math"
)

// Limits are the published limits the ceilings are computed against.
type Limits struct {
	// PartitionRU and PartitionWU are one partition's read and write units
	// per second (base table or index): 3,000 and 1,000.
	PartitionRU, PartitionWU float64
	// ItemTransactions is how many transactions per second can touch one
	// item before TransactionConflict cancels them: not published; the
	// issue observes ~25–50/s for one condition-checked item (a transaction
	// holds its items for tens of milliseconds), so 40.
	ItemTransactions float64
	// KMSRequests is the account's KMS symmetric-request quota in the
	// region: 10,000/s (the default in most regions; 5,500 to 100,000).
	KMSRequests float64
	// ResponseBytes is Lambda's synchronous response limit: 6 MB.
	ResponseBytes float64
}

// DefaultLimits are AWS's defaults, and the conflict constant above.
var DefaultLimits = Limits{PartitionRU: 3000, PartitionWU: 1000, ItemTransactions: 40, KMSRequests: 10000, ResponseBytes: 6 << 20}

// Ceiling is the rate of requests at which one limit is reached.
type Ceiling struct {
	Limit string  // which limit
	Where string  // the partition, item or quota that reaches it
	Rate  float64 // requests per second; +Inf when the mix puts no load on it
}

func (c Ceiling) String() string { return fmt.Sprintf("%s (%s): %s/s", c.Limit, c.Where, Rate(c.Rate)) }

// At is the ceiling of a load: requests were driven, and they put load
// units of work on what has limit per second. Linear: the rate at which
// load per request times the rate reaches the limit (driven rate × limit /
// measured load, in virtual time). Work a cache saves grows slower than
// the rate, so for cached paths the ceiling is a lower bound.
func At(limit, load float64, requests int) float64 {
	if load <= 0 || requests <= 0 {
		return math.Inf(1)
	}
	return limit * float64(requests) / load
}

// Ceilings returns, for the load s records for requests requests, the
// ceiling under each limit: the busiest partition's reads and writes, the
// item the most transactions touch, and KMS.
func Ceilings(s Snapshot, requests int, l Limits) []Ceiling {
	var out []Ceiling
	if p, load, ok := s.Busiest(false); ok {
		out = append(out, Ceiling{"3,000 RU/s per partition", p.String(), At(l.PartitionRU, load.RU, requests)})
	} else {
		out = append(out, Ceiling{"3,000 RU/s per partition", "no reads", math.Inf(1)})
	}
	if p, load, ok := s.Busiest(true); ok {
		out = append(out, Ceiling{"1,000 WU/s per partition", p.String(), At(l.PartitionWU, load.WU, requests)})
	} else {
		out = append(out, Ceiling{"1,000 WU/s per partition", "no writes", math.Inf(1)})
	}
	if item, n := s.HottestTxItem(); n > 0 {
		out = append(out, Ceiling{fmt.Sprintf("%g transactions/s per item", l.ItemTransactions), item, At(l.ItemTransactions, float64(n), requests)})
	} else {
		out = append(out, Ceiling{fmt.Sprintf("%g transactions/s per item", l.ItemTransactions), "no transactions", math.Inf(1)})
	}
	out = append(out, Ceiling{fmt.Sprintf("KMS %s/s", Rate(l.KMSRequests)), "the region's quota", At(l.KMSRequests, float64(s.Calls("KMS")), requests)})
	return out
}

// Lowest is the ceiling that binds first.
func Lowest(cs []Ceiling) Ceiling {
	best := Ceiling{Limit: "none", Rate: math.Inf(1)}
	for _, c := range cs {
		if c.Rate < best.Rate {
			best = c
		}
	}
	return best
}

// Rate prints a rate with thousands separators ("∞" for none).
func Rate(r float64) string {
	if math.IsInf(r, 1) {
		return "∞"
	}
	if r < 10 {
		return fmt.Sprintf("%.1f", r)
	}
	n := int64(math.Round(r))
	s := fmt.Sprintf("%d", n)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
