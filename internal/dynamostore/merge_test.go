package dynamostore

import (
	"slices"
	"testing"
)

// TestMergePartitions: the merged page holds each partition's items in the
// listing's order, at most limit of them, and never an item past the point
// where a partition stopped short (its horizon), which the next page
// starts from.
func TestMergePartitions(t *testing.T) {
	id := func(s string) string { return s }
	tests := []struct {
		name       string
		pages      [][]string
		horizons   []string
		descending bool
		limit      int
		want       []string
		wantNext   string
	}{
		{"ascending, all read", [][]string{{"a", "d"}, {"b", "c"}}, []string{"", ""}, false, 10, []string{"a", "b", "c", "d"}, ""},
		{"ascending, limit cuts", [][]string{{"a", "d"}, {"b", "c"}}, []string{"", ""}, false, 3, []string{"a", "b", "c"}, "c"},
		{"ascending, a partition stopped at b", [][]string{{"a", "b"}, {"c", "d"}}, []string{"b", ""}, false, 10, []string{"a", "b"}, "b"},
		{"descending, all read", [][]string{{"d", "a"}, {"c", "b"}}, []string{"", ""}, true, 10, []string{"d", "c", "b", "a"}, ""},
		{"descending, limit cuts", [][]string{{"d", "a"}, {"c", "b"}}, []string{"", ""}, true, 2, []string{"d", "c"}, "c"},
		{"descending, a partition stopped at c", [][]string{{"d", "c"}, {"b", "a"}}, []string{"c", ""}, true, 10, []string{"d", "c"}, "c"},
		{"descending, two stopped: the nearer wins", [][]string{{"f", "e"}, {"d", "c"}, {"b"}}, []string{"e", "c", ""}, true, 10, []string{"f", "e"}, "e"},
		{"nothing", [][]string{{}, {}}, []string{"", ""}, false, 5, []string{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, next := mergePartitions(tt.pages, tt.horizons, id, tt.descending, tt.limit)
			if !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Errorf("items %v, want %v", got, tt.want)
			}
			if next != tt.wantNext {
				t.Errorf("next %q, want %q", next, tt.wantNext)
			}
		})
	}
}
