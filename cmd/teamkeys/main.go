// teamkeys is the command line of the teamkeys API: the access keys of a
// team's members (keys create, list, get, disable, enable, delete, rotate),
// offboarding, the team's key policy, the audit trail, the credential report,
// and requests signed with an access key (whoami, sign). `teamkeys --help`
// lists the commands; docs/CLI.md is the reference.
//
// The command tree is built per run by App (root.go), with its standard
// streams, environment and terminal checks injected, so that tests run it in
// process. Ctrl-C keeps its default: it ends the process, also at a prompt.
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(osApp().Run(context.Background(), os.Args[1:]))
}
