package main

import (
	"strconv"
	"time"
)

// expiresCell is a key's EXPIRES cell in `keys list`: its time and, until
// it expires, "(expires in N days)", whole days rounded up (the count the
// service's AccessKeyExpiring warnings use).
func expiresCell(expiresAt *time.Time, now time.Time) string {
	cell := tableTime(expiresAt)
	if expiresAt == nil || !expiresAt.After(now) {
		return cell
	}
	days := int((expiresAt.Sub(now) + 24*time.Hour - 1) / (24 * time.Hour))
	unit := " days)"
	if days == 1 {
		unit = " day)"
	}
	return cell + " (expires in " + strconv.Itoa(days) + unit
}
