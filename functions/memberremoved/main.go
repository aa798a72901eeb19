// MemberRemoved deletes a departing member's keys when the console's
// backend publishes a TeamMemberRemoved event (template.yaml's rule).
package main

import (
	"github.com/teamkeys/teamkeys/internal/lambdamain"
	"github.com/teamkeys/teamkeys/internal/offboard"
)

func main() {
	env := lambdamain.Init()
	env.Start(offboard.Handler(env.Store(), env.Log, env.Config.MemberEventSource))
}
