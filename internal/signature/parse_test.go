package signature

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

const (
	goodSig   = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
	goodCred  = "Credential=" + testID + "/20260314/us-east-1/teamkeys/aws4_request"
	goodSigV4 = "AWS4-HMAC-SHA256 " + goodCred + ", SignedHeaders=host;x-amz-date, Signature=" + goodSig
	goodZC2   = "ZC2-HMAC-SHA256 Credential=" + testID + ", SignedHeaders=content-type;host, Signature=" + goodSig
	goodDate  = "20260314T150926Z"
)

func TestParse(t *testing.T) {
	manyHeaders := make([]string, maxSignedHeaders+1)
	for i := range manyHeaders {
		manyHeaders[i] = "x-h" + string(rune('a'+i/26)) + string(rune('a'+i%26))
	}
	sigV4 := func(params string) http.Header {
		return http.Header{"Authorization": {"AWS4-HMAC-SHA256 " + params}, "X-Amz-Date": {goodDate}}
	}
	zc2 := func(ts, method string) http.Header {
		h := http.Header{"Authorization": {goodZC2}, "X-Zc-Timestamp": {ts}}
		if method != "" {
			h.Set("X-ZC-Signature-Method", method)
		}
		return h
	}
	cases := []struct {
		name   string
		header http.Header
		want   error
	}{
		{"SigV4", sigV4(goodCred + ", SignedHeaders=host;x-amz-date, Signature=" + goodSig), nil},
		{"SigV4, parameters in another order, no spaces", sigV4("Signature=" + goodSig + ",SignedHeaders=host;x-amz-date," + goodCred), nil},
		{"ZC2", zc2("1773500966", SchemeZC2), nil},

		{"no header", http.Header{}, accesskey.ErrMissingSignature},
		{"empty Authorization", http.Header{"Authorization": {""}}, accesskey.ErrMissingSignature},
		{"Basic", http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}, accesskey.ErrMissingSignature},
		{"Bearer", http.Header{"Authorization": {"Bearer eyJ"}}, accesskey.ErrMissingSignature},
		{"SigV4 scheme in lower case", http.Header{"Authorization": {strings.ToLower(goodSigV4)}, "X-Amz-Date": {goodDate}}, accesskey.ErrMissingSignature},
		{"SigV4A", http.Header{"Authorization": {"AWS4-ECDSA-P256-SHA256 " + goodCred}}, accesskey.ErrMissingSignature},

		{"two Authorization headers", http.Header{"Authorization": {goodSigV4, goodSigV4}, "X-Amz-Date": {goodDate}}, errMalformed},
		{"scheme alone", http.Header{"Authorization": {"AWS4-HMAC-SHA256"}}, errMalformed},
		{"too long", sigV4(goodCred + ", SignedHeaders=host;x-amz-date, Signature=" + goodSig + strings.Repeat(" ", maxAuthorizationLen)), errMalformed},
		{"long, another scheme", http.Header{"Authorization": {"Basic " + strings.Repeat("A", maxAuthorizationLen)}}, accesskey.ErrMissingSignature},
		{"no Signature", sigV4(goodCred + ", SignedHeaders=host;x-amz-date"), errMalformed},
		{"Credential twice", sigV4(goodCred + ", " + goodCred + ", SignedHeaders=host;x-amz-date, Signature=" + goodSig), errMalformed},
		{"unknown parameter", sigV4(goodCred + ", SignedHeaders=host;x-amz-date, Signature=" + goodSig + ", Foo=bar"), errMalformed},
		{"parameter without =", sigV4(goodCred + ", SignedHeaders, Signature=" + goodSig), errMalformed},
		{"Credential of 4 parts", sigV4("Credential=" + testID + "/20260314/us-east-1/teamkeys, SignedHeaders=host;x-amz-date, Signature=" + goodSig), errMalformed},
		{"Credential not ending aws4_request", sigV4("Credential=" + testID + "/20260314/us-east-1/teamkeys/aws4_reques, SignedHeaders=host;x-amz-date, Signature=" + goodSig), errMalformed},
		{"scope date month 13", sigV4("Credential=" + testID + "/20261314/us-east-1/teamkeys/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + goodSig), errMalformed},
		{"region with upper case", sigV4("Credential=" + testID + "/20260314/US-EAST-1/teamkeys/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + goodSig), errMalformed},
		{"empty access key id", sigV4("Credential=/20260314/us-east-1/teamkeys/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + goodSig), errMalformed},
		{"access key id with a space", sigV4("Credential=TKAK A/20260314/us-east-1/teamkeys/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + goodSig), errMalformed},
		{"signature of 63 digits", sigV4(goodCred + ", SignedHeaders=host;x-amz-date, Signature=" + goodSig[1:]), errMalformed},
		{"signature not hex", sigV4(goodCred + ", SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("g", 64)), errMalformed},
		{"SignedHeaders empty", sigV4(goodCred + ", SignedHeaders=, Signature=" + goodSig), errMalformed},
		{"SignedHeaders unsorted", sigV4(goodCred + ", SignedHeaders=x-amz-date;host, Signature=" + goodSig), errMalformed},
		{"SignedHeaders repeated", sigV4(goodCred + ", SignedHeaders=host;host;x-amz-date, Signature=" + goodSig), errMalformed},
		{"SignedHeaders in upper case", sigV4(goodCred + ", SignedHeaders=Host;X-Amz-Date, Signature=" + goodSig), errMalformed},
		{"SignedHeaders with an empty name", sigV4(goodCred + ", SignedHeaders=host;;x-amz-date, Signature=" + goodSig), errMalformed},
		{"too many SignedHeaders", sigV4(goodCred + ", SignedHeaders=" + strings.Join(manyHeaders, ";") + ", Signature=" + goodSig), errMalformed},
		{"no X-Amz-Date", http.Header{"Authorization": {goodSigV4}}, errMalformed},
		{"X-Amz-Date twice", http.Header{"Authorization": {goodSigV4}, "X-Amz-Date": {goodDate, goodDate}}, errMalformed},
		{"X-Amz-Date in ISO 8601 extended form", http.Header{"Authorization": {goodSigV4}, "X-Amz-Date": {"2026-03-14T15:09:26Z"}}, errMalformed},
		{"X-Amz-Date hour 25", http.Header{"Authorization": {goodSigV4}, "X-Amz-Date": {"20260314T250926Z"}}, errMalformed},
		{"X-Amz-Date without Z", http.Header{"Authorization": {goodSigV4}, "X-Amz-Date": {"20260314T150926"}}, errMalformed},
		{"Date instead of X-Amz-Date", http.Header{"Authorization": {goodSigV4}, "Date": {"Sat, 14 Mar 2026 15:09:26 GMT"}}, errMalformed},

		{"ZC2 Credential with a scope", http.Header{"Authorization": {"ZC2-HMAC-SHA256 " + goodCred + ", SignedHeaders=content-type;host, Signature=" + goodSig},
			"X-Zc-Timestamp": {"1773500966"}, "X-Zc-Signature-Method": {SchemeZC2}}, errMalformed},
		{"ZC2 without X-ZC-Signature-Method", zc2("1773500966", ""), errMalformed},
		{"ZC2 with another method", zc2("1773500966", "HMAC-SHA256"), errMalformed},
		{"ZC2 without timestamp", http.Header{"Authorization": {goodZC2}, "X-Zc-Signature-Method": {SchemeZC2}}, errMalformed},
		{"ZC2 timestamp with +", zc2("+1773500966", SchemeZC2), errMalformed},
		{"ZC2 timestamp negative", zc2("-1", SchemeZC2), errMalformed},
		{"ZC2 timestamp with a leading zero", zc2("01773500966", SchemeZC2), errMalformed},
		{"ZC2 timestamp in milliseconds", zc2("1773500966000", SchemeZC2), errMalformed},
		{"ZC2 timestamp as a date", zc2(goodDate, SchemeZC2), errMalformed},
		{"ZC2 timestamp with a fraction", zc2("1773500966.5", SchemeZC2), errMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(Request{Header: tc.header})
			checkErr(t, err, tc.want)
			if err == nil && (len(p.Signature) != 32 || p.AccessKeyID != testID || !p.Timestamp.Equal(testNow)) {
				t.Errorf("parsed %+v", p)
			}
		})
	}
}

func TestParseSigV4Fields(t *testing.T) {
	p, err := Parse(Request{Header: http.Header{"Authorization": {goodSigV4}, "X-Amz-Date": {" " + goodDate + " "}}})
	checkErr(t, err, nil)
	want := Parsed{Scheme: SchemeSigV4, AccessKeyID: testID, Date: "20260314", Region: "us-east-1", Service: "teamkeys",
		SignedHeaders: []string{"host", "x-amz-date"}, Timestamp: testNow}
	if p.Scheme != want.Scheme || p.AccessKeyID != want.AccessKeyID || p.Date != want.Date || p.Region != want.Region ||
		p.Service != want.Service || !slices.Equal(p.SignedHeaders, want.SignedHeaders) || !p.Timestamp.Equal(want.Timestamp) ||
		p.Timestamp.Location() != time.UTC {
		t.Errorf("got %+v\nwant %+v", p, want)
	}
}

func TestVerifyWithoutParsed(t *testing.T) {
	checkErr(t, testConfig().Verify(Request{}, nil, testSecret), accesskey.ErrMissingSignature)
	checkErr(t, testConfig().Verify(Request{}, &Parsed{Scheme: "Basic"}, testSecret), accesskey.ErrMissingSignature)
}

// FuzzParse: Parse never panics, its errors are accesskey.ErrMissingSignature or
// errMalformed, what it returns is well-formed; Verify then never panics and
// never accepts (the fuzzer cannot forge an HMAC).
func FuzzParse(f *testing.F) {
	f.Add(goodSigV4, goodDate, "", "", "/v1/keys", "a=1", true)
	f.Add(goodZC2, "", "1773500966", SchemeZC2, "/", "", true)
	cfg := testConfig()
	f.Fuzz(func(t *testing.T, auth, amzDate, zcTimestamp, zcMethod, path, query string, bodyKnown bool) {
		h := http.Header{"Content-Type": {"application/json"}, "X-Custom": {"  a  b "}}
		for k, v := range map[string]string{"Authorization": auth, "X-Amz-Date": amzDate, "X-Zc-Timestamp": zcTimestamp, "X-Zc-Signature-Method": zcMethod} {
			if v != "" {
				h[k] = []string{v}
			}
		}
		req := Request{Method: http.MethodPost, Path: path, RawQuery: query, Host: "h.example", Header: h,
			ContentLength: 2, Body: []byte("{}"), BodyKnown: bodyKnown}
		p, err := Parse(req)
		if err != nil {
			if p != nil || !errors.Is(err, accesskey.ErrMissingSignature) && !errors.Is(err, errMalformed) {
				t.Fatalf("Parse: %v, %v", p, err)
			}
			return
		}
		if p.Scheme != SchemeSigV4 && p.Scheme != SchemeZC2 || p.AccessKeyID == "" || len(p.Signature) != 32 ||
			len(p.SignedHeaders) == 0 || len(p.SignedHeaders) > maxSignedHeaders ||
			!slices.IsSorted(p.SignedHeaders) || p.Timestamp.IsZero() {
			t.Fatalf("Parse returned %+v", p)
		}
		err = cfg.Verify(req, p, testSecret)
		if err == nil || !errors.Is(err, accesskey.ErrInvalidSignature) && !errors.Is(err, accesskey.ErrRequestExpired) {
			t.Fatalf("Verify: %v", err)
		}
	})
}
