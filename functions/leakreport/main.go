// LeakReport disables leaked keys: POST /v1/leaks/github (GitHub's secret
// scanning reports, signed with GitHub's keys) and POST /v1/teams/{teamId}/leaks
// (a team admin's report).
package main

import (
	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/lambdamain"
	"github.com/teamkeys/teamkeys/internal/leak"
)

func main() {
	env := lambdamain.Init()
	keys, err := leak.KeysFrom(env.Config.GitHubKeysFile, env.Config.GitHubKeysURL)
	env.Must("GitHub's keys", err)
	env.Start(httpapi.NewLeakReport(httpapi.Common{Claims: env.Config.Claims, Log: env.Log}, env.Store(), keys))
}
