// PublishEvents publishes every new audit record to EventBridge (source
// teamkeys, detail-type its action), from the keys table's stream
// (template.yaml's PublishEventsStream mapping).
package main

import (
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/teamkeys/teamkeys/internal/lambdamain"
	"github.com/teamkeys/teamkeys/internal/publish"
)

func main() {
	env := lambdamain.Init()
	p := publish.Publisher{Events: eventbridge.NewFromConfig(env.AWS), Bus: env.Config.EventBusName, Log: env.Log}
	env.Start(publish.Handler(p), nil)
}
