package dynamostore

import (
	"slices"
	"strings"
)

// mergePartitions merges the answers of Queries of several partitions that
// sort the same way (by sortKey, unique across them): newest first when
// descending (the audit list), else in ascending order (the team list).
// horizons[i] is, when partition i stopped with more to read, the sort key
// it read to ("": read to its end). It returns up to limit items and the
// next page's position: the last item returned or, when a partition
// stopped short, the nearest point any partition stopped at, so that
// nothing beyond is skipped ("": no next page).
func mergePartitions[T any](pages [][]T, horizons []string, sortKey func(T) string, descending bool, limit int) ([]T, string) {
	// before: whether sort key a comes before b in the listing's order.
	before := func(a, b string) bool { return a < b }
	if descending {
		before = func(a, b string) bool { return a > b }
	}
	// stop: the first horizon in the listing's order; past it, a partition
	// has more to give.
	var stop string
	var items []T
	for i, p := range pages {
		if h := horizons[i]; h != "" && (stop == "" || before(h, stop)) {
			stop = h
		}
		items = append(items, p...)
	}
	slices.SortFunc(items, func(a, b T) int {
		c := strings.Compare(sortKey(a), sortKey(b))
		if descending {
			return -c
		}
		return c
	})
	n := 0
	for n < len(items) && (stop == "" || !before(stop, sortKey(items[n]))) {
		n++
	}
	switch {
	case n > limit:
		return items[:limit], sortKey(items[limit-1])
	case stop != "":
		return items[:n], stop
	}
	return items[:n], ""
}
