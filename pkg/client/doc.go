// Package client is a typed Go client for the teamkeys HTTP API: one method
// per operation of openapi.yaml, request and response types generated from
// it (types.gen.go), errors as *APIError values carrying the status, the
// error code and the request id.
//
// Key management takes a bearer token (WithToken, WithTokenSource);
// WhoAmIGet and WhoAmIPost are signed with an access key instead
// (WithAccessKey), with this module's pkg/signing.
//
// Retries are only those that are safe (see RetryPolicy): a 503, a 429 and
// a network error are retried with the server's Retry-After or jittered
// backoff; GenerateAccessKey and RotateAccessKey always send an
// Idempotency-Key (the caller's, or one the client makes) so that a retry
// can't create a second key; other changes are retried only where
// repeating them can't change the outcome.
package client

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2 -config oapi-codegen.yaml ../../openapi.yaml
