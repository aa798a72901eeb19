package pagetoken

import (
	"encoding/base64"
	"errors"
	"testing"
)

// A payload that Encode would never produce, but signed with the right key
// and scope, must still be refused: the MAC proves who made a token, not
// that its content is a cursor.
func TestValidMACOverNonCursorPayloadRefused(t *testing.T) {
	c := New([]byte("0123456789abcdef0123456789abcdef"))
	sign := func(body string) string {
		return body + "." + base64.RawURLEncoding.EncodeToString(c.mac("team:t1", body))
	}
	b64 := base64.RawURLEncoding.EncodeToString
	tests := []struct {
		name  string
		token string
	}{
		{"empty body", sign("")},
		{"empty object", sign(b64([]byte(`{}`)))},
		{"null", sign(b64([]byte(`null`)))},
		{"array", sign(b64([]byte(`["pk","x"]`)))},
		{"string", sign(b64([]byte(`"pk"`)))},
		{"number value", sign(b64([]byte(`{"pk":1}`)))},
		{"nested value", sign(b64([]byte(`{"pk":{"S":"x"}}`)))},
		{"truncated JSON", sign(b64([]byte(`{"pk":"x"`)))},
		{"not JSON", sign(b64([]byte(`pk=x`)))},
		{"body not base64url", sign("e30=")},
		{"body with a character outside base64url", sign("eyJwayI6IngifQ!")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Decode("team:t1", tt.token)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Decode(%q) = %v, %v; want ErrInvalid", tt.token, got, err)
			}
		})
	}
	// The helper itself signs correctly: a real cursor signed this way is
	// accepted, so the refusals above are about the payload.
	if got, err := c.Decode("team:t1", sign(b64([]byte(`{"pk":"x"}`)))); err != nil || got["pk"] != "x" {
		t.Fatalf("a cursor signed by the test helper: Decode = %v, %v", got, err)
	}
}
