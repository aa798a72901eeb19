package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/teamkeys/teamkeys/internal/local/emulators"
	"github.com/teamkeys/teamkeys/internal/local/jwtissuer"
)

// bannerInfo is what serve's banner reports.
type bannerInfo struct {
	Addr          string // where the API listens
	DynamoDB, KMS string // endpoints
	AdminToken    string // a token of an admin of t1
	SecretFile    string // the generated secret's file; empty when it comes from the environment
	Listeners     []emulators.Listener
}

// printBanner tells how to call the API, how to mint tokens, and which
// emulators anyone who reaches this machine can talk to.
func printBanner(w io.Writer, b bannerInfo) {
	fmt.Fprintf(w, "\nteamkeys is serving on http://%s (DynamoDB %s, KMS %s). Ctrl-C stops everything it started.\n\n", b.Addr, b.DynamoDB, b.KMS)
	fmt.Fprintf(w, "Console: http://%s/console/ (sign in as any member of any team, generate a key, sign a request with it).\n\n", b.Addr)
	if b.SecretFile != "" {
		fmt.Fprintf(w, "Tokens are signed with a random secret made for this run, kept in %s (mode 0600) until it stops.\n", b.SecretFile)
		fmt.Fprintf(w, "Mint one in another shell (it reads that file):\n\n  TOKEN=$(make -s token SUB=alice TEAM=t1 ROLE=admin)\n\n")
	} else {
		fmt.Fprintf(w, "Tokens are signed with %s; `make -s token SUB=alice TEAM=t1 ROLE=admin` mints one with the same variable set.\n\n", jwtissuer.SecretEnv)
	}
	fmt.Fprintf(w, `Generate a key for member alice of team t1, as admin of t1:

  curl -s -X POST http://%[1]s/v1/teams/t1/members/alice/access-keys \
    -H "Authorization: Bearer %[2]s" \
    -H "Content-Type: application/json" -d '{"description":"laptop"}'

`, b.Addr, b.AdminToken)
	var exposed []string
	kmsExposed := false
	for _, l := range b.Listeners {
		if l.Exposed() {
			exposed = append(exposed, l.Name+" (port "+strconv.Itoa(l.Port)+")")
			kmsExposed = kmsExposed || l.Name == "local-kms"
		}
	}
	if len(exposed) > 0 {
		verb, tools, ports := "listen", "neither tool has a", "those ports"
		if len(exposed) == 1 {
			verb, tools, ports = "listens", "it has no", "that port"
		}
		// local-kms is served on 127.0.0.1 by this process: without it
		// the table's sealed secrets can't be decrypted.
		can := "can read and change the table (not decrypt its secrets: local-kms\nlistens on 127.0.0.1 only)"
		if kmsExposed {
			can = "can read the table and decrypt every stored secret"
		}
		fmt.Fprintf(w, `WARNING: %s %s on every network interface,
not only 127.0.0.1: %s bind-address option. Anyone who can reach this machine
on %s %s. Run on a trusted network, or close %s to
other machines with a firewall.

`, strings.Join(exposed, " and "), verb, tools, ports, can, ports)
	}
}
