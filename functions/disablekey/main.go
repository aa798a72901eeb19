// DisableKey disables a key (idempotent): POST /v1/teams/{teamId}/members/{memberId}/access-keys/{accessKeyId}/disable.
package main

import (
	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/lambdamain"
)

func main() {
	env := lambdamain.Init()
	env.Start(httpapi.NewDisableKey(httpapi.Common{Claims: env.Config.Claims, Log: env.Log}, env.Store()))
}
