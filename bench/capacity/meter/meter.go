// Package meter records what a workload asks of DynamoDB and KMS, partition
// by partition, so that the limits DynamoDB Local does not enforce (3,000
// read and 1,000 write units per partition per second, transaction
// conflicts) and KMS's request quota can be reasoned about from a local run.
//
// A Meter is SDK middleware: add Meter.DynamoDB and Meter.KMS to the
// clients' options. For every DynamoDB call it records the operation, the
// capacity DynamoDB reported (it asks for ReturnConsumedCapacity=INDEXES on
// every call) and every partition the call reads or writes, in the base
// table and in each global secondary index, from the table's own key schema
// (DescribeTable): it knows no attribute name of the code it measures.
//
// Writes (PutItem, UpdateItem, DeleteItem, BatchWriteItem and each action
// of a TransactWriteItems, ConditionCheck included) are accounted from the
// item's images: the meter reads the item (strongly consistent, with a
// client of its own that it does not meter) before and after the call, and
// holds a lock across the three calls, so that the images are the write's
// own (metered writes are serialised: the meter measures work, not speed).
// A write counts on its base-table partition (a ConditionCheck too, and a
// write whose condition failed, as on AWS), and on each index whose entry it
// puts, removes or changes: an entry whose partition key changes counts on
// the old and the new partition; an entry whose key stays counts once when
// one of its key or projected attributes changes.
//
// Units are computed from item sizes by DynamoDB's published rules: a read
// is one unit per 4 KB (half when eventually consistent), a write one unit
// per 1 KB of the larger of the old and new item, an index entry's write
// one unit per 1 KB of its entry (keys, projected attributes, 100 bytes of
// overhead); transactional reads and writes on the base table cost double.
// A Query's or Scan's read units are those DynamoDB reported for the table
// or index, when it reported any, else the size of the items returned.
package meter

import (
	"context"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go/middleware"
)

// Partition names one partition key value of the base table or of one of
// its indexes.
type Partition struct {
	Table string
	Index string // "" for the base table
	Key   string // the partition key's value; "*" for a Scan (every partition)
}

func (p Partition) String() string {
	where := p.Table
	if p.Index != "" {
		where += "/" + p.Index
	}
	return where + " " + p.Key
}

// Load is what one partition was asked for.
type Load struct {
	Reads  int     // reads (a Query page or a GetItem is one)
	Writes int     // item writes, ConditionChecks included
	Checks int     // of Writes, ConditionChecks
	RU, WU float64 // read and write units
	// Scopes are the scopes (Meter.SetScope) in which it was written.
	Scopes map[string]bool
}

// Op is what one operation ("DynamoDB.Query", "KMS.Decrypt") cost.
type Op struct {
	Calls    int
	Errors   int
	Reported float64 // the capacity units DynamoDB reported, table and indexes
}

// Snapshot is what a Meter recorded since the last Take.
type Snapshot struct {
	Ops        map[string]Op
	Partitions map[Partition]*Load
	// TxItems counts, per item (table and primary key), the
	// TransactWriteItems calls that touched it (ConditionCheck included).
	TxItems map[string]int
	// PeakInFlight is the most DynamoDB calls that were in flight at once
	// (counted before the meter serialises writes): how parallel the
	// workload is, for a ceiling set by latency.
	PeakInFlight int
	// KMS lists every KMS call with its encryption context, so that a
	// workload can tell the calls for one key (a context naming the key)
	// from shared ones (a team's key, say).
	KMS []KMSCall
}

// KMSCall is one KMS call.
type KMSCall struct {
	Op      string // "KMS.Decrypt"
	Context map[string]string
}

// Names says whether one of the call's encryption context values is one of
// ids.
func (c KMSCall) Names(ids map[string]bool) bool {
	for _, v := range c.Context {
		if ids[v] {
			return true
		}
	}
	return false
}

// Calls returns the calls of op ("KMS.Decrypt"), or of every operation of a
// service when op is a service name ("KMS").
func (s Snapshot) Calls(op string) int {
	if !strings.Contains(op, ".") {
		n := 0
		for name, o := range s.Ops {
			if strings.HasPrefix(name, op+".") {
				n += o.Calls
			}
		}
		return n
	}
	return s.Ops[op].Calls
}

// Busiest returns the partition with the most units of kind ("read" or
// "write"), and its load; ok is false when none was read (written).
func (s Snapshot) Busiest(write bool) (p Partition, l *Load, ok bool) {
	var best float64
	for _, part := range s.sortedPartitions() {
		load := s.Partitions[part]
		u := load.RU
		if write {
			u = load.WU
		}
		if u > best {
			best, p, l, ok = u, part, load, true
		}
	}
	return p, l, ok
}

// Total returns the read or write units over every partition.
func (s Snapshot) Total(write bool) float64 {
	var t float64
	for _, l := range s.Partitions {
		if write {
			t += l.WU
		} else {
			t += l.RU
		}
	}
	return t
}

// HottestTxItem returns the item touched by the most transactions.
func (s Snapshot) HottestTxItem() (item string, n int) {
	keys := make([]string, 0, len(s.TxItems))
	for k := range s.TxItems {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if s.TxItems[k] > n {
			item, n = k, s.TxItems[k]
		}
	}
	return item, n
}

// WrittenInEveryScope returns the partitions written in every one of
// scopes.
func (s Snapshot) WrittenInEveryScope(scopes []string) []Partition {
	var out []Partition
	for _, p := range s.sortedPartitions() {
		all := len(scopes) > 0
		for _, sc := range scopes {
			if !s.Partitions[p].Scopes[sc] {
				all = false
				break
			}
		}
		if all {
			out = append(out, p)
		}
	}
	return out
}

func (s Snapshot) sortedPartitions() []Partition {
	ps := make([]Partition, 0, len(s.Partitions))
	for p := range s.Partitions {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].String() < ps[j].String() })
	return ps
}

// Meter records SDK calls. Its zero value is not usable: call New.
type Meter struct {
	raw *dynamodb.Client // unmetered: DescribeTable and the items' images

	writeMu sync.Mutex // one metered write (and its images) at a time

	mu       sync.Mutex
	schemas  map[string]*schema
	scope    string
	snap     Snapshot
	inFlight int
}

// New returns a Meter that reads key schemas and items' images with raw, a
// client it must not meter.
func New(raw *dynamodb.Client) *Meter {
	m := &Meter{raw: raw, schemas: map[string]*schema{}}
	m.snap = emptySnapshot()
	return m
}

func emptySnapshot() Snapshot {
	return Snapshot{Ops: map[string]Op{}, Partitions: map[Partition]*Load{}, TxItems: map[string]int{}}
}

// SetScope labels the writes that follow (a team, say), for
// Snapshot.WrittenInEveryScope.
func (m *Meter) SetScope(scope string) {
	m.mu.Lock()
	m.scope = scope
	m.mu.Unlock()
}

// Take returns what was recorded since the last Take, and starts afresh.
func (m *Meter) Take() Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.snap
	m.snap = emptySnapshot()
	return s
}

// DynamoDB is a DynamoDB client option that meters the client.
func (m *Meter) DynamoDB(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, m.middleware("DynamoDB"))
}

// KMS is a KMS client option that meters the client.
func (m *Meter) KMS(o *kms.Options) {
	o.APIOptions = append(o.APIOptions, m.middleware("KMS"))
}

func (m *Meter) middleware(service string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("capacity.Meter",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				op := service + "." + middleware.GetOperationName(ctx)
				if service != "DynamoDB" {
					out, md, err := next.HandleInitialize(ctx, in)
					m.recordOp(op, nil, err)
					m.mu.Lock()
					m.snap.KMS = append(m.snap.KMS, KMSCall{Op: op, Context: encryptionContext(in.Parameters)})
					m.mu.Unlock()
					return out, md, err
				}
				m.enter()
				defer m.leave()
				in.Parameters = withConsumedCapacity(in.Parameters)
				writes := m.writesOf(ctx, in.Parameters)
				if len(writes) == 0 {
					out, md, err := next.HandleInitialize(ctx, in)
					m.recordOp(op, out.Result, err)
					if err == nil {
						m.recordRead(ctx, in.Parameters, out.Result)
					}
					return out, md, err
				}
				m.writeMu.Lock()
				defer m.writeMu.Unlock()
				side := context.WithoutCancel(ctx)
				for i := range writes {
					writes[i].old = m.image(side, writes[i])
				}
				out, md, err := next.HandleInitialize(ctx, in)
				for i := range writes {
					writes[i].new = m.image(side, writes[i])
				}
				m.recordOp(op, out.Result, err)
				m.recordWrites(writes)
				return out, md, err
			}), middleware.Before)
	}
}

func (m *Meter) enter() {
	m.mu.Lock()
	m.inFlight++
	m.snap.PeakInFlight = max(m.snap.PeakInFlight, m.inFlight)
	m.mu.Unlock()
}

func (m *Meter) leave() {
	m.mu.Lock()
	m.inFlight--
	m.mu.Unlock()
}

// encryptionContext is a KMS input's encryption context, if it has one.
func encryptionContext(params any) map[string]string {
	switch v := params.(type) {
	case *kms.DecryptInput:
		return v.EncryptionContext
	case *kms.EncryptInput:
		return v.EncryptionContext
	case *kms.GenerateDataKeyInput:
		return v.EncryptionContext
	case *kms.GenerateDataKeyWithoutPlaintextInput:
		return v.EncryptionContext
	case *kms.GenerateDataKeyPairInput:
		return v.EncryptionContext
	case *kms.GenerateDataKeyPairWithoutPlaintextInput:
		return v.EncryptionContext
	case *kms.ReEncryptInput:
		return v.SourceEncryptionContext
	}
	return nil
}

// withConsumedCapacity returns a copy of a DynamoDB input that asks for
// the consumed capacity, table and indexes.
func withConsumedCapacity(params any) any {
	const rc = types.ReturnConsumedCapacityIndexes
	switch v := params.(type) {
	case *dynamodb.GetItemInput:
		c := *v
		c.ReturnConsumedCapacity = rc
		return &c
	case *dynamodb.PutItemInput:
		c := *v
		c.ReturnConsumedCapacity = rc
		return &c
	case *dynamodb.UpdateItemInput:
		c := *v
		c.ReturnConsumedCapacity = rc
		return &c
	case *dynamodb.DeleteItemInput:
		c := *v
		c.ReturnConsumedCapacity = rc
		return &c
	case *dynamodb.QueryInput:
		c := *v
		c.ReturnConsumedCapacity = rc
		return &c
	case *dynamodb.ScanInput:
		c := *v
		c.ReturnConsumedCapacity = rc
		return &c
	case *dynamodb.TransactWriteItemsInput:
		c := *v
		c.ReturnConsumedCapacity = rc
		return &c
	case *dynamodb.TransactGetItemsInput:
		c := *v
		c.ReturnConsumedCapacity = rc
		return &c
	case *dynamodb.BatchGetItemInput:
		c := *v
		c.ReturnConsumedCapacity = rc
		return &c
	case *dynamodb.BatchWriteItemInput:
		c := *v
		c.ReturnConsumedCapacity = rc
		return &c
	}
	return params
}

// reported sums the capacity units an output reports.
func reported(result any) float64 {
	var ccs []types.ConsumedCapacity
	switch v := result.(type) {
	case *dynamodb.GetItemOutput:
		ccs = one(v.ConsumedCapacity)
	case *dynamodb.PutItemOutput:
		ccs = one(v.ConsumedCapacity)
	case *dynamodb.UpdateItemOutput:
		ccs = one(v.ConsumedCapacity)
	case *dynamodb.DeleteItemOutput:
		ccs = one(v.ConsumedCapacity)
	case *dynamodb.QueryOutput:
		ccs = one(v.ConsumedCapacity)
	case *dynamodb.ScanOutput:
		ccs = one(v.ConsumedCapacity)
	case *dynamodb.TransactWriteItemsOutput:
		ccs = v.ConsumedCapacity
	case *dynamodb.TransactGetItemsOutput:
		ccs = v.ConsumedCapacity
	case *dynamodb.BatchGetItemOutput:
		ccs = v.ConsumedCapacity
	case *dynamodb.BatchWriteItemOutput:
		ccs = v.ConsumedCapacity
	}
	var n float64
	for _, cc := range ccs {
		n += aws.ToFloat64(cc.CapacityUnits)
	}
	return n
}

func one(cc *types.ConsumedCapacity) []types.ConsumedCapacity {
	if cc == nil {
		return nil
	}
	return []types.ConsumedCapacity{*cc}
}

func (m *Meter) recordOp(op string, result any, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o := m.snap.Ops[op]
	o.Calls++
	if err != nil {
		o.Errors++
	}
	o.Reported += reported(result)
	m.snap.Ops[op] = o
}

func (m *Meter) schemaOf(ctx context.Context, table string) *schema {
	m.mu.Lock()
	s, ok := m.schemas[table]
	m.mu.Unlock()
	if ok {
		return s
	}
	s, err := describe(context.WithoutCancel(ctx), m.raw, table)
	if err != nil {
		return nil // a table that does not exist: the call fails on its own
	}
	m.mu.Lock()
	m.schemas[table] = s
	m.mu.Unlock()
	return s
}

// write is one item a call writes (or condition-checks).
type write struct {
	schema   *schema
	table    string
	key      map[string]types.AttributeValue
	check    bool // a ConditionCheck: reads the item, writes nothing
	tx       bool
	old, new map[string]types.AttributeValue
}

// writesOf lists the items params writes; none for a read.
func (m *Meter) writesOf(ctx context.Context, params any) []write {
	var ws []write
	add := func(table *string, key, item map[string]types.AttributeValue, check, tx bool) {
		s := m.schemaOf(ctx, aws.ToString(table))
		if s == nil {
			return
		}
		if key == nil {
			key = s.primaryKey(item)
		}
		ws = append(ws, write{schema: s, table: aws.ToString(table), key: key, check: check, tx: tx})
	}
	switch v := params.(type) {
	case *dynamodb.PutItemInput:
		add(v.TableName, nil, v.Item, false, false)
	case *dynamodb.UpdateItemInput:
		add(v.TableName, v.Key, nil, false, false)
	case *dynamodb.DeleteItemInput:
		add(v.TableName, v.Key, nil, false, false)
	case *dynamodb.BatchWriteItemInput:
		for table, reqs := range v.RequestItems {
			for _, r := range reqs {
				switch {
				case r.PutRequest != nil:
					add(aws.String(table), nil, r.PutRequest.Item, false, false)
				case r.DeleteRequest != nil:
					add(aws.String(table), r.DeleteRequest.Key, nil, false, false)
				}
			}
		}
	case *dynamodb.TransactWriteItemsInput:
		for _, a := range v.TransactItems {
			switch {
			case a.Put != nil:
				add(a.Put.TableName, nil, a.Put.Item, false, true)
			case a.Update != nil:
				add(a.Update.TableName, a.Update.Key, nil, false, true)
			case a.Delete != nil:
				add(a.Delete.TableName, a.Delete.Key, nil, false, true)
			case a.ConditionCheck != nil:
				add(a.ConditionCheck.TableName, a.ConditionCheck.Key, nil, true, true)
			}
		}
	}
	return ws
}

// image reads w's item as it is now (nil: there is none).
func (m *Meter) image(ctx context.Context, w write) map[string]types.AttributeValue {
	out, err := m.raw.GetItem(ctx, &dynamodb.GetItemInput{TableName: &w.table, Key: w.key, ConsistentRead: aws.Bool(true)})
	if err != nil || len(out.Item) == 0 {
		return nil
	}
	return out.Item
}

func (m *Meter) recordWrites(ws []write) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, w := range ws {
		if w.tx {
			m.snap.TxItems[w.table+" "+itemName(w.schema.Table, w.key)]++
		}
		// The base table: the item's partition, written or checked
		// whether the condition held or not.
		size := max(itemSize(w.old), itemSize(w.new), itemSize(w.key))
		wu := units(size, 1024)
		if w.tx {
			wu *= 2
		}
		base := m.load(Partition{Table: w.table, Key: valueString(w.key[w.schema.Table.Hash])})
		base.Writes++
		base.WU += wu
		if w.check {
			base.Checks++
			continue
		}
		base.Scopes[m.scope] = true
		// Each index whose entry the write puts, removes or changes.
		for _, k := range w.schema.Indexes {
			oldKey, oldIn := k.in(w.old)
			newKey, newIn := k.in(w.new)
			switch {
			case oldIn && newIn && oldKey == newKey:
				switch {
				case k.Range != "" && valueString(w.old[k.Range]) != valueString(w.new[k.Range]):
					// A new sort key: the entry is deleted and put again.
					m.indexWrite(w.table, k, oldKey, k.entrySize(w.old))
					m.indexWrite(w.table, k, newKey, k.entrySize(w.new))
				case k.changed(w.old, w.new):
					m.indexWrite(w.table, k, newKey, max(k.entrySize(w.old), k.entrySize(w.new)))
				}
			default:
				if oldIn && (!newIn || k.changed(w.old, w.new)) {
					m.indexWrite(w.table, k, oldKey, k.entrySize(w.old))
				}
				if newIn {
					m.indexWrite(w.table, k, newKey, k.entrySize(w.new))
				}
			}
		}
	}
}

func (m *Meter) indexWrite(table string, k keys, key string, size int) {
	l := m.load(Partition{Table: table, Index: k.Index, Key: key})
	l.Writes++
	l.WU += units(size, 1024)
	l.Scopes[m.scope] = true
}

func (m *Meter) load(p Partition) *Load {
	l, ok := m.snap.Partitions[p]
	if !ok {
		l = &Load{Scopes: map[string]bool{}}
		m.snap.Partitions[p] = l
	}
	return l
}

func itemName(k keys, key map[string]types.AttributeValue) string {
	n := valueString(key[k.Hash])
	if k.Range != "" {
		n += " " + valueString(key[k.Range])
	}
	return n
}

func (m *Meter) recordRead(ctx context.Context, params, result any) {
	type read struct {
		p  Partition
		ru float64
	}
	var reads []read
	readUnits := func(size int, consistent bool, factor float64) float64 {
		u := units(size, 4096) * factor
		if !consistent {
			u /= 2
		}
		return u
	}
	switch v := params.(type) {
	case *dynamodb.GetItemInput:
		s := m.schemaOf(ctx, aws.ToString(v.TableName))
		out, _ := result.(*dynamodb.GetItemOutput)
		if s == nil || out == nil {
			return
		}
		reads = append(reads, read{Partition{Table: *v.TableName, Key: valueString(v.Key[s.Table.Hash])},
			readUnits(itemSize(out.Item), aws.ToBool(v.ConsistentRead), 1)})
	case *dynamodb.QueryInput:
		s := m.schemaOf(ctx, aws.ToString(v.TableName))
		out, _ := result.(*dynamodb.QueryOutput)
		if s == nil || out == nil {
			return
		}
		index := aws.ToString(v.IndexName)
		k, ok := s.byIndex(index)
		if !ok {
			return
		}
		ru := reportedFor(out.ConsumedCapacity, index)
		if ru == 0 {
			size := 0
			for _, it := range out.Items {
				size += itemSize(it)
			}
			ru = readUnits(size, aws.ToBool(v.ConsistentRead), 1)
		}
		reads = append(reads, read{Partition{Table: *v.TableName, Index: index, Key: hashValue(v, k.Hash)}, ru})
	case *dynamodb.ScanInput:
		out, _ := result.(*dynamodb.ScanOutput)
		if out == nil {
			return
		}
		index := aws.ToString(v.IndexName)
		ru := reportedFor(out.ConsumedCapacity, index)
		reads = append(reads, read{Partition{Table: aws.ToString(v.TableName), Index: index, Key: "*"}, ru})
	case *dynamodb.TransactGetItemsInput:
		out, _ := result.(*dynamodb.TransactGetItemsOutput)
		for i, g := range v.TransactItems {
			if g.Get == nil {
				continue
			}
			s := m.schemaOf(ctx, aws.ToString(g.Get.TableName))
			if s == nil {
				continue
			}
			size := 0
			if out != nil && i < len(out.Responses) {
				size = itemSize(out.Responses[i].Item)
			}
			reads = append(reads, read{Partition{Table: *g.Get.TableName, Key: valueString(g.Get.Key[s.Table.Hash])}, readUnits(size, true, 2)})
		}
	case *dynamodb.BatchGetItemInput:
		for table, ka := range v.RequestItems {
			s := m.schemaOf(ctx, table)
			if s == nil {
				continue
			}
			for _, key := range ka.Keys {
				// Sizes are not matched to keys: one unit each.
				reads = append(reads, read{Partition{Table: table, Key: valueString(key[s.Table.Hash])}, readUnits(0, aws.ToBool(ka.ConsistentRead), 1)})
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range reads {
		l := m.load(r.p)
		l.Reads++
		l.RU += r.ru
	}
}

func reportedFor(cc *types.ConsumedCapacity, index string) float64 {
	if cc == nil {
		return 0
	}
	if index != "" {
		if c, ok := cc.GlobalSecondaryIndexes[index]; ok {
			return aws.ToFloat64(c.CapacityUnits)
		}
		return 0
	}
	if cc.Table != nil {
		return aws.ToFloat64(cc.Table.CapacityUnits)
	}
	return aws.ToFloat64(cc.CapacityUnits)
}

// equality matches "<name> = <value>" either way round in a key condition.
var (
	nameEqValue = regexp.MustCompile(`([#A-Za-z_][\w#.]*)\s*=\s*(:\w+)`)
	valueEqName = regexp.MustCompile(`(:\w+)\s*=\s*([#A-Za-z_][\w#.]*)`)
)

// hashValue is the partition key value a Query names (its key condition's
// equality on hash).
func hashValue(q *dynamodb.QueryInput, hash string) string {
	if c, ok := q.KeyConditions[hash]; ok && len(c.AttributeValueList) > 0 {
		return valueString(c.AttributeValueList[0])
	}
	expr := aws.ToString(q.KeyConditionExpression)
	resolve := func(name string) string {
		if strings.HasPrefix(name, "#") {
			return q.ExpressionAttributeNames[name]
		}
		return name
	}
	for _, mt := range nameEqValue.FindAllStringSubmatch(expr, -1) {
		if resolve(mt[1]) == hash {
			return valueString(q.ExpressionAttributeValues[mt[2]])
		}
	}
	for _, mt := range valueEqName.FindAllStringSubmatch(expr, -1) {
		if resolve(mt[2]) == hash {
			return valueString(q.ExpressionAttributeValues[mt[1]])
		}
	}
	return "?"
}
