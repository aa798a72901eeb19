// Command soak is `make soak`: 32 concurrent clients run mixed operations
// over 100 members against the local server (in process, so that its heap
// and goroutines can be read), on its own DynamoDB Local and local-kms,
// after a warm-up, in three measured phases of -ops operations each. It
// fails on any 5xx, on a broken cap or slot counter (the invariant check),
// when the heap after the third phase is more than 10% above its value after
// the second, or the goroutine count more than 10% (at least 2) above. It
// prints throughput and p50/p99 latency per route, per phase, and the heap
// after each.
//
// Why phases 2 and 3: the server's caches are bounded (the verifier's key
// items, opened secrets and Decrypt budgets, each an LRU of -cache entries),
// and they fill as new keys are verified, so the heap grows until they are
// full whatever the code's health. The soak shrinks them to -cache entries
// (the functions keep 10,000) so that they fill during the warm-up and the
// first phase; growth from the second phase to the third, of equal length,
// is then what a leak would show. The clients' own records of a phase are
// dropped before the heap is read.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/local/server"
	"github.com/teamkeys/teamkeys/internal/signature"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
)

// maxGrowth is the most the heap and the goroutines may grow from the end
// of the second phase to the end of the third.
const maxGrowth = 0.10

func main() {
	clients := flag.Int("clients", 32, "concurrent clients")
	ops := flag.Int("ops", 20000, "operations of each of the three measured phases")
	warmup := flag.Int("warmup", 4000, "warm-up operations")
	members := flag.Int("members", 100, "members of the team")
	cache := flag.Int("cache", 500, "entries of each of the verifier's caches (the functions keep 10,000): small, so that they fill before the second phase")
	flag.Parse()
	if err := run(*clients, *ops, *warmup, *members, *cache); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

type key struct{ id, secret string }

// world is what the clients know: the keys they generated and have not
// deleted, by member.
type world struct {
	mu   sync.Mutex
	keys map[string][]key
}

func (w *world) add(member string, k key) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.keys[member] = append(w.keys[member], k)
}

func (w *world) pick(member string, r *rand.Rand) (key, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ks := w.keys[member]
	if len(ks) == 0 {
		return key{}, false
	}
	return ks[r.IntN(len(ks))], true
}

func (w *world) remove(member, id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.keys[member] = slices.DeleteFunc(w.keys[member], func(k key) bool { return k.id == id })
}

// stats are the latencies and statuses of one route.
type stats struct {
	latencies []time.Duration
	statuses  map[int]int
}

type recorder struct {
	mu     sync.Mutex
	routes map[string]*stats
}

func (r *recorder) add(route string, status int, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.routes[route]
	if s == nil {
		s = &stats{statuses: map[int]int{}}
		r.routes[route] = s
	}
	s.latencies = append(s.latencies, d)
	s.statuses[status]++
}

func run(clients, ops, warmup, members, cacheSize int) (err error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The server's last errors, to say what a 5xx was (a bounded record:
	// it is in the heap the soak reads).
	errLog := &lastLines{max: 10}
	st, err := teststack.Start(ctx, teststack.Options{
		Emulators: true, Table: teststack.TableName("soak"),
		Log:    slog.New(slog.NewJSONHandler(errLog, &slog.HandlerOptions{Level: slog.LevelError})),
		Server: func(o *server.Options) { o.VerifierCacheSize = cacheSize },
	})
	if err != nil {
		return err
	}
	defer st.Close()
	token, err := st.Mint("soak", "t1", accesskey.RoleAdmin)
	if err != nil {
		return err
	}

	w := &world{keys: map[string][]key{}}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	// phase runs n operations, prints its table when it is measured, and
	// says whether a route answered a 5xx. Its records are dropped when
	// it returns: they are not in the heap read after it.
	phase := func(name string, n int, measured bool) bool {
		rec := &recorder{routes: map[string]*stats{}}
		var next sync.Mutex
		left := n
		var wg sync.WaitGroup
		start := time.Now()
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(c), uint64(time.Now().UnixNano())))
				for {
					next.Lock()
					if left == 0 {
						next.Unlock()
						return
					}
					left--
					next.Unlock()
					one(ctx, client, st.URL, token, st.Config.SigningRegion, w, r, members, rec)
				}
			}()
		}
		wg.Wait()
		if !measured {
			return false
		}
		return printPhase(name, n, clients, members, time.Since(start), rec)
	}

	failed := false
	fmt.Printf("warm-up: %d operations (verifier caches of %d entries)\n", warmup, cacheSize)
	phase("warm-up", warmup, false)
	heap0, gor0 := settle(client)
	fmt.Printf("after warm-up: heap %.1f MiB, %d goroutines\n", mib(heap0), gor0)
	heaps := []uint64{heap0}
	gors := []int{gor0}
	for i := 1; i <= 3; i++ {
		if phase(fmt.Sprintf("phase %d", i), ops, true) {
			failed = true
		}
		h, g := settle(client)
		fmt.Printf("after phase %d: heap %.1f MiB (%+.1f%% on the previous), %d goroutines\n",
			i, mib(h), 100*(float64(h)/float64(heaps[len(heaps)-1])-1), g)
		heaps, gors = append(heaps, h), append(gors, g)
	}
	if failed {
		if lines := errLog.String(); lines != "" {
			fmt.Printf("\nthe server's last errors:\n%s\n", lines)
		}
	}

	heap2, heap3, gor2, gor3 := heaps[2], heaps[3], gors[2], gors[3]
	fmt.Printf("\nheap: %.1f MiB after warm-up, %.1f / %.1f / %.1f MiB after phases 1 / 2 / 3; phase 2 to 3: %+.1f%% (bound %+.0f%%)\n",
		mib(heap0), mib(heaps[1]), mib(heap2), mib(heap3), 100*(float64(heap3)/float64(heap2)-1), 100*maxGrowth)
	fmt.Printf("goroutines: %d after warm-up, %d / %d / %d after phases 1 / 2 / 3\n", gor0, gors[1], gor2, gor3)
	if float64(heap3) > (1+maxGrowth)*float64(heap2) {
		fmt.Printf("FAIL: the heap grew more than %.0f%% from phase 2 to phase 3\n", 100*maxGrowth)
		failed = true
	}
	// A dozen goroutines (local-kms's database and listener among them)
	// come and go by one or two: a leak adds one per request or per key,
	// hundreds a phase.
	if slack := max(2, int(maxGrowth*float64(gor2))); gor3 > gor2+slack {
		fmt.Printf("FAIL: the goroutines grew by more than %d (10%%, at least 2) from phase 2 to phase 3\n", slack)
		failed = true
	}

	report, err := st.Check(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("\ninvariant check: %s\n", report)
	if !report.OK() {
		failed = true
	}
	if failed {
		return fmt.Errorf("failed")
	}
	return nil
}

// printPhase prints a phase's throughput and each route's latencies and
// statuses, and says whether a route answered a 5xx (or nothing).
func printPhase(name string, ops, clients, members int, elapsed time.Duration, rec *recorder) (failed bool) {
	fmt.Printf("\n%s: %d operations by %d clients over %d members in %s: %.0f ops/s\n\n", name, ops, clients, members, elapsed.Round(time.Millisecond), float64(ops)/elapsed.Seconds())
	fmt.Printf("%-22s %7s %9s %9s  %s\n", "route", "ops", "p50 ms", "p99 ms", "statuses")
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range rec.routes {
			if !yield(n) {
				return
			}
		}
	})
	for _, route := range names {
		s := rec.routes[route]
		slices.Sort(s.latencies)
		fmt.Printf("%-22s %7d %9.2f %9.2f  %v\n", route, len(s.latencies), ms(pct(s.latencies, 50)), ms(pct(s.latencies, 99)), s.statuses)
		for status, n := range s.statuses {
			if status >= 500 || status == 0 {
				fmt.Printf("FAIL: %s answered %d %d times\n", route, status, n)
				failed = true
			}
		}
	}
	fmt.Println()
	return failed
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// lastLines keeps the last max log lines written to it (one Write, one
// line: slog's handlers write a record at a time).
type lastLines struct {
	mu    sync.Mutex
	max   int
	lines []string
}

func (l *lastLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) == l.max {
		l.lines = append(l.lines[:0], l.lines[1:]...)
	}
	l.lines = append(l.lines, strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (l *lastLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// settle closes idle connections, lets background work finish and collects
// garbage, then reads the heap in use and the goroutine count. Goroutines
// that serve pooled keep-alive connections to DynamoDB Local and local-kms
// (the SDK's bounded connection pool, which grows to the peak concurrency),
// and local-kms's (in process) ends of those connections waiting for their
// next request, are not counted: a leak would show in the others.
func settle(client *http.Client) (uint64, int) {
	client.CloseIdleConnections()
	time.Sleep(2 * time.Second)
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	buf := make([]byte, 1<<22)
	stacks := string(buf[:runtime.Stack(buf, true)])
	n := 0
	for _, g := range strings.Split(stacks, "\n\n") {
		// A server's connection waiting for its next request reads it in
		// readRequest; one stuck in a handler is counted.
		idleServerConn := strings.Contains(g, "net/http.(*conn).readRequest")
		if !strings.Contains(g, "net/http.(*persistConn)") && !idleServerConn {
			n++
		}
	}
	return m.HeapAlloc, n
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, len(sorted)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// one runs one operation chosen at random: generate 30%, list a member
// 15%, list the team 10%, disable 15%, enable 10%, delete 15%, whoami 5%.
func one(ctx context.Context, client *http.Client, base, token, region string, w *world, r *rand.Rand, members int, rec *recorder) {
	member := fmt.Sprintf("m%03d", r.IntN(members))
	memberPath := base + "/v1/teams/t1/members/" + member + "/access-keys"
	do := func(route, method, url string, body []byte, sign *key) (int, []byte) {
		req, _ := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
		if sign != nil {
			_ = signature.SignSigV4(req, body, sign.id, sign.secret, region, time.Now())
		} else {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if len(body) > 0 {
			req.Header.Set("Content-Type", "application/json")
		}
		start := time.Now()
		resp, err := client.Do(req)
		status := 0
		var out []byte
		if err == nil {
			out, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			status = resp.StatusCode
		}
		rec.add(route, status, time.Since(start))
		return status, out
	}
	switch n := r.IntN(100); {
	case n < 30:
		status, out := do("generate", "POST", memberPath, []byte(`{"description":"soak"}`), nil)
		if status == http.StatusCreated {
			var k teststack.CreatedKey
			if json.Unmarshal(out, &k) == nil {
				w.add(member, key{k.AccessKeyID, k.SecretAccessKey})
			}
		}
	case n < 45:
		do("list member", "GET", memberPath, nil, nil)
	case n < 55:
		do("list team", "GET", base+"/v1/teams/t1/access-keys?limit=50", nil, nil)
	case n < 70:
		if k, ok := w.pick(member, r); ok {
			do("disable", "POST", memberPath+"/"+k.id+"/disable", nil, nil)
		}
	case n < 80:
		if k, ok := w.pick(member, r); ok {
			do("enable", "POST", memberPath+"/"+k.id+"/enable", nil, nil)
		}
	case n < 95:
		if k, ok := w.pick(member, r); ok {
			if status, _ := do("delete", "DELETE", memberPath+"/"+k.id, nil, nil); status == http.StatusNoContent || status == http.StatusNotFound {
				w.remove(member, k.id)
			}
		}
	default:
		if k, ok := w.pick(member, r); ok {
			do("whoami", "GET", base+"/v1/whoami", nil, &k)
		}
	}
}
