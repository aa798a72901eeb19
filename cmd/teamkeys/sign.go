package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/teamkeys/teamkeys/pkg/client"
	"github.com/teamkeys/teamkeys/pkg/signing"
)

// maxSignedAnswer bounds what sign reads of an answer.
const maxSignedAnswer = 64 << 20

func (a *App) signCommand() *cobra.Command {
	var method, data, scheme string
	var headers []string
	var verbose bool
	c := &cobra.Command{
		Use:   "sign [flags] URL|PATH",
		Short: "Sign a request with an access key, send it and print the answer",
		Long: `Sign a request with the access key of TEAMKEYS_ACCESS_KEY_ID and
TEAMKEYS_SECRET_ACCESS_KEY, send it, and print the answer's body on stdout,
as curl --aws-sigv4 does, in either scheme the service accepts: SigV4
(service "teamkeys", the --region) or ZC2-HMAC-SHA256 (POST only; it signs
neither the path nor the query: prefer SigV4).

A PATH (/v1/whoami) is sent to the --endpoint; a URL anywhere, such as an API
behind the teamkeys authorizer. The method is GET, or POST with -d. Every -H
header is signed (with SigV4). An answer other than 2xx exits 1, its error
code on stderr (its body still on stdout). Redirects are not followed.`,
		Example: `  teamkeys sign /v1/whoami
  teamkeys sign --scheme zc2 -X POST -d '{"hello":"world"}' /v1/whoami
  teamkeys sign -d @payload.json -H 'X-Trace: 1' -v https://api.example.com/orders`,
		Args:              exactArgs(1, "URL or PATH"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: a.wrap(func(cmd *cobra.Command, args []string) error {
			zc2, err := parseScheme(scheme)
			if err != nil {
				return err
			}
			if a.cfg.AccessKeyID == "" || a.cfg.Secret == "" {
				return usagef("no access key: set %s and %s (or pass --access-key-id and --secret-access-key)", envAccessKeyID, envSecret)
			}
			target, err := a.signTarget(args[0])
			if err != nil {
				return err
			}
			body, err := a.signBody(cmd, data)
			if err != nil {
				return err
			}
			if method == "" {
				method = http.MethodGet
				if body != nil {
					method = http.MethodPost
				}
			}
			method = strings.ToUpper(method)
			if zc2 && method != http.MethodPost {
				return usagef("--scheme zc2 signs POST requests only (got -X %s)", method)
			}
			ctx, cancel := a.context(cmd)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, method, target, nil)
			if err != nil {
				return usagef("invalid request: %v", err)
			}
			for _, h := range headers {
				name, value, ok := strings.Cut(h, ":")
				name = strings.TrimSpace(name)
				if !ok || name == "" || strings.ContainsAny(name, " \t") {
					return usagef("invalid -H %q: want 'Name: value'", h)
				}
				if strings.EqualFold(name, "Host") {
					req.Host = strings.TrimSpace(value)
					continue
				}
				req.Header.Add(name, strings.TrimSpace(value))
			}
			if body != nil && req.Header.Get("Content-Type") == "" {
				req.Header.Set("Content-Type", "application/json")
			}
			req.Header.Set("User-Agent", userAgent())
			if zc2 {
				err = signing.SignZC2(req, body, a.cfg.AccessKeyID, a.cfg.Secret, a.Now())
			} else {
				err = signing.SignSigV4(req, body, a.cfg.AccessKeyID, a.cfg.Secret, a.cfg.Region, a.Now())
			}
			if err != nil {
				return err
			}
			if verbose {
				fmt.Fprintf(a.Stderr, "> %s %s\n", req.Method, req.URL.RequestURI())
				fmt.Fprintf(a.Stderr, "> Host: %s\n", req.Host)
				printHeaders(a.Stderr, "> ", req.Header)
				fmt.Fprintln(a.Stderr, ">")
			}
			hc := &http.Client{}
			if a.HTTPClient != nil {
				c := *a.HTTPClient
				hc = &c
			}
			hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			answer, err := io.ReadAll(io.LimitReader(resp.Body, maxSignedAnswer))
			if err != nil {
				return err
			}
			if verbose {
				fmt.Fprintf(a.Stderr, "< %s %s\n", resp.Proto, resp.Status)
				printHeaders(a.Stderr, "< ", resp.Header)
				fmt.Fprintln(a.Stderr, "<")
			}
			if _, err := a.Stdout.Write(answer); err != nil {
				return err
			}
			if resp.StatusCode/100 != 2 {
				return answerError(resp, answer)
			}
			return nil
		}),
	}
	f := c.Flags()
	f.StringVarP(&method, "request", "X", "", "the method (default GET, or POST with -d)")
	f.StringVarP(&data, "data", "d", "", "the body: text, @FILE, or @- for stdin")
	f.StringArrayVarP(&headers, "header", "H", nil, "a header to send and sign, 'Name: value' (repeatable)")
	f.StringVar(&scheme, "scheme", "sigv4", "signature scheme: sigv4 or zc2 (POST only)")
	f.BoolVarP(&verbose, "verbose", "v", false, "print the request's and the answer's status line and headers on stderr")
	_ = c.RegisterFlagCompletionFunc("scheme", cobra.FixedCompletions([]string{"sigv4", "zc2"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

// signTarget is the URL of sign's argument: a URL as given, or a path
// under the endpoint.
func (a *App) signTarget(arg string) (string, error) {
	if strings.HasPrefix(arg, "http://") || strings.HasPrefix(arg, "https://") {
		u, err := url.Parse(arg)
		if err != nil || u.Host == "" {
			return "", usagef("invalid URL %q", arg)
		}
		return arg, nil
	}
	if !strings.HasPrefix(arg, "/") {
		return "", usagef("invalid target %q: want a path (/v1/whoami) or an http(s) URL", arg)
	}
	base, err := url.Parse(strings.TrimRight(a.cfg.Endpoint, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return "", usagef("invalid --endpoint %q (or %s): want an http(s) URL such as %s", a.cfg.Endpoint, envEndpoint, client.DefaultEndpoint)
	}
	return base.String() + arg, nil
}

// signBody is -d: nil when absent, stdin for @-, a file for @FILE.
func (a *App) signBody(cmd *cobra.Command, data string) ([]byte, error) {
	switch {
	case !flagChanged(cmd.Flags(), "data"):
		return nil, nil
	case data == "@-":
		b, err := io.ReadAll(a.Stdin)
		if err != nil {
			return nil, fmt.Errorf("reading the body from stdin: %w", err)
		}
		return b, nil
	case strings.HasPrefix(data, "@"):
		b, err := os.ReadFile(data[1:])
		if err != nil {
			return nil, usagef("-d %s: %v", data, err)
		}
		return b, nil
	}
	return []byte(data), nil
}

func printHeaders(w io.Writer, prefix string, h http.Header) {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, v := range h[name] {
			fmt.Fprintf(w, "%s%s: %s\n", prefix, name, clean(v))
		}
	}
}

// answerError is a non-2xx answer as the client reports it: the service's
// error code when the body has the error shape, else HTTP and the status.
func answerError(resp *http.Response, body []byte) error { return client.ResponseError(resp, body) }
