// ListKeys lists keys: GET /v1/teams/{teamId}/members/{memberId}/access-keys
// and GET /v1/teams/{teamId}/access-keys.
package main

import (
	"fmt"

	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/lambdamain"
	"github.com/teamkeys/teamkeys/internal/pagetoken"
)

func main() {
	env := lambdamain.Init()
	if len(env.Config.PageTokenKey) < pagetoken.MinKeyLength {
		// Every instance must sign page tokens with the same key.
		env.Must("settings", fmt.Errorf("TEAMKEYS_PAGE_TOKEN_KEY must hold at least %d characters", pagetoken.MinKeyLength))
	}
	tokens := pagetoken.New([]byte(env.Config.PageTokenKey))
	env.Start(httpapi.NewListKeys(httpapi.Common{Claims: env.Config.Claims, Log: env.Log}, env.Store(), tokens))
}
