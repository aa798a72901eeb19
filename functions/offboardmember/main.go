// OffboardMember deletes every key of a member:
// DELETE /v1/teams/{teamId}/members/{memberId}/access-keys.
package main

import (
	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/lambdamain"
)

func main() {
	env := lambdamain.Init()
	env.Start(httpapi.NewOffboardMember(httpapi.Common{Claims: env.Config.Claims, Log: env.Log}, env.Store()))
}
