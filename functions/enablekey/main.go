// EnableKey enables a key again (idempotent): POST /v1/teams/{teamId}/members/{memberId}/access-keys/{accessKeyId}/enable.
package main

import (
	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/lambdamain"
)

func main() {
	env := lambdamain.Init()
	env.Start(httpapi.NewEnableKey(httpapi.Common{Claims: env.Config.Claims, Log: env.Log}, env.Store()))
}
