package client_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/teamkeys/teamkeys/pkg/client"
)

// An admin's console backend generates a key for a member, shows its
// secret once, and tells the member at the cap apart from other failures.
func Example() {
	ctx := context.Background()
	admin, err := client.New(client.DefaultEndpoint, client.WithToken(os.Getenv("TEAMKEYS_TOKEN")))
	if err != nil {
		fmt.Println(err)
		return
	}
	desc := "CI deploys"
	key, err := admin.GenerateAccessKey(ctx, "t1", "alice", client.GenerateAccessKeyRequest{Description: &desc}, nil)
	var apiErr *client.APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.Code == client.ErrorCodeLimitExceeded:
		fmt.Println("alice already has two keys: rotate or delete one")
		return
	case err != nil:
		fmt.Println(err) // the code, the message and the request id
		return
	}
	fmt.Println("shown once:", key.AccessKeyId, key.SecretAccessKey)

	// The member, with the key: a signed request names it.
	member, err := client.New(client.DefaultEndpoint, client.WithAccessKey(key.AccessKeyId, key.SecretAccessKey))
	if err != nil {
		fmt.Println(err)
		return
	}
	me, err := member.WhoAmIGet(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(me.MemberId, me.Scheme)
}
