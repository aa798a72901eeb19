// KeyPolicy reads and sets a team's key lifetime policy:
// GET and PUT /v1/teams/{teamId}/key-policy.
package main

import (
	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/lambdamain"
)

func main() {
	env := lambdamain.Init()
	env.Start(httpapi.NewKeyPolicy(httpapi.Common{Claims: env.Config.Claims, Log: env.Log}, env.Store()))
}
