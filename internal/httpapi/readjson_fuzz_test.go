package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// fuzzAllowedFields are the members FuzzReadJSONObject allows.
var fuzzAllowedFields = []string{"description", "enabled"}

// fuzzTopLevelKeys returns the member names of a body that json.Valid
// accepts as one object, in order and with repeats, or ok=false if the body
// is not one JSON object. It walks the tokens tracking depth, independently
// of how readJSONObject decodes the values.
func fuzzTopLevelKeys(body []byte) (keys []string, ok bool) {
	if !json.Valid(body) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, false
	}
	depth, wantKey := 1, true
	for depth > 0 {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		if depth == 1 && wantKey {
			if tok == json.Delim('}') {
				depth--
				continue
			}
			keys = append(keys, tok.(string))
			wantKey = false
			continue
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 1 {
			wantKey = true // a value at depth 1 just ended
		}
	}
	return keys, true
}

// FuzzReadJSONObject: readJSONObject never panics; what it accepts is an
// empty body or one JSON object (and nothing after it) sent as
// application/json, with only allowed members, each once, returned
// verbatim; every refusal is a *accesskey.ValidationError or
// ErrUnsupportedMediaType; and every such well-formed body is accepted.
func FuzzReadJSONObject(f *testing.F) {
	f.Add("application/json", []byte(`{"description":"laptop"}`))
	f.Add("application/json; charset=utf-8", []byte(`{"description":"a","enabled":true}`))
	f.Add("application/json", []byte(`{"description":"a","description":"b"}`))
	f.Add("application/json", []byte(`{"Description":"a"}`))
	f.Add("application/json", []byte(`{"description":{"description":[1,{"x":2}]}}`))
	f.Add("application/json", []byte(`{} {}`))
	f.Add("application/json", []byte(`[]`))
	f.Add("text/plain", []byte(`{}`))
	f.Add("", []byte(" \n\t"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/v1/teams/t/members/m/keys", bytes.NewReader(body))
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		fields, err := readJSONObject(r, fuzzAllowedFields...)

		empty := len(bytes.TrimSpace(body)) == 0
		mediaType, _, mtErr := mime.ParseMediaType(contentType)
		isJSON := mtErr == nil && mediaType == "application/json"
		keys, isObject := fuzzTopLevelKeys(body)
		wellFormed := isObject
		for i, k := range keys {
			if !slices.Contains(fuzzAllowedFields, k) || slices.Contains(keys[:i], k) {
				wellFormed = false
			}
		}

		if err != nil {
			var ve *accesskey.ValidationError
			switch {
			case errors.Is(err, ErrUnsupportedMediaType):
				if empty || isJSON {
					t.Fatalf("415 for content type %q, body %q", contentType, body)
				}
			case errors.As(err, &ve):
				if empty || !isJSON {
					t.Fatalf("validation error %v for content type %q, body %q", err, contentType, body)
				}
			default:
				t.Fatalf("refusal %T %v is neither a ValidationError nor ErrUnsupportedMediaType", err, err)
			}
			if fields != nil {
				t.Fatalf("refusal with fields %v", fields)
			}
			if empty || isJSON && wellFormed {
				t.Fatalf("refused a well-formed body %q (%q): %v", body, contentType, err)
			}
			return
		}

		if empty {
			if len(fields) != 0 {
				t.Fatalf("empty body gave fields %v", fields)
			}
			return
		}
		if !isJSON {
			t.Fatalf("accepted content type %q", contentType)
		}
		if !isObject {
			t.Fatalf("accepted %q, which is not one JSON object", body)
		}
		if !wellFormed {
			t.Fatalf("accepted %q, whose members %q are not each allowed and unique", body, keys)
		}
		if len(fields) != len(keys) {
			t.Fatalf("fields %v, members %q", fields, keys)
		}
		var want map[string]json.RawMessage
		if err := json.Unmarshal(body, &want); err != nil {
			t.Fatalf("json.Unmarshal of accepted body %q: %v", body, err)
		}
		for name, raw := range fields {
			if !slices.Contains(fuzzAllowedFields, name) {
				t.Fatalf("field %q is not allowed", name)
			}
			if !bytes.Equal(raw, want[name]) {
				t.Fatalf("field %q = %q, want %q", name, raw, want[name])
			}
		}
		// The body was read to its end.
		if n, _ := io.Copy(io.Discard, r.Body); n != 0 {
			t.Fatalf("%d bytes of the body left unread", n)
		}
	})
}
