package e2e

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
)

// TestCredentialReportOf1000Keys: a team of 1,000 keys (500 members, two
// each) on the real table: the report has every key once, as CSV and as
// JSON, read with one Query per 100 keys.
func TestCredentialReportOf1000Keys(t *testing.T) {
	s := newStack(t)
	store := dynamostore.New(s.DB, s.Name)
	created := time.Now().Add(-48 * time.Hour).UTC().Truncate(time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 500)
	work := make(chan int)
	for range 8 {
		wg.Go(func() {
			for m := range work {
				for range 2 {
					k := accesskey.Key{AccessKeyID: accesskey.NewAccessKeyID(), TeamID: "t1", MemberID: fmt.Sprintf("m%03d", m),
						Status: accesskey.StatusActive, CreatedAt: created, CreatedBy: "admin"}
					if err := store.Create(context.Background(), k, accesskey.SealedSecret{Ciphertext: []byte("ct")}, accesskey.KeyPolicy{}, accesskey.Audit{Actor: accesskey.SystemActor("test"), At: time.Now()}); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	for m := range 500 {
		work <- m
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	other := s.Generate("t2", "zed", "") // another team's key is not in the report
	admin := s.Token("admin", "t1", accesskey.RoleAdmin)

	s.Calls.Take()
	resp := s.Do(request{Method: "GET", Path: "/v1/teams/t1/access-keys/report", Token: admin})
	if resp.Status != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("report: %.300s", resp)
	}
	if got := s.Calls.Take(); got["DynamoDB.Query"] != 10 && got["DynamoDB.Query"] != 11 || len(got) != 1 {
		t.Fatalf("the report made %v, want 10 (or 11) Queries of 100", got)
	}
	rows, err := csv.NewReader(strings.NewReader(string(resp.Body))).ReadAll()
	if err != nil || len(rows) != 1001 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		if seen[r[1]] || r[2] != "Active" || r[9] != "2" || r[10] != "" || r[1] == other.AccessKeyID {
			t.Fatalf("row %v (seen before: %v)", r, seen[r[1]])
		}
		seen[r[1]] = true
	}

	resp = s.Do(request{Method: "GET", Path: "/v1/teams/t1/access-keys/report", Token: admin, Header: map[string]string{"Accept": "application/json"}})
	var report struct {
		TeamID string
		Keys   []struct {
			AccessKeyID string
			AgeDays     int
		}
	}
	if err := json.Unmarshal(resp.Body, &report); err != nil || report.TeamID != "t1" || len(report.Keys) != 1000 {
		t.Fatalf("JSON report: %d keys, %v", len(report.Keys), err)
	}
	for _, k := range report.Keys {
		if !seen[k.AccessKeyID] || k.AgeDays != 2 {
			t.Fatalf("JSON row %+v", k)
		}
	}
}
