// UpdateKey changes a key's description and restrictions: PATCH /v1/teams/{teamId}/members/{memberId}/access-keys/{accessKeyId}.
package main

import (
	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/lambdamain"
)

func main() {
	env := lambdamain.Init()
	env.Start(httpapi.NewUpdateKey(httpapi.Common{Claims: env.Config.Claims, Log: env.Log}, env.Store()))
}
