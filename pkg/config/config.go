// Package config reads the service's settings from the environment, the same
// way for the Lambda functions and the local server.
package config

import (
	"log/slog"
	"os"
	"strings"

	"github.com/teamkeys/teamkeys/pkg/auth"
	"github.com/teamkeys/teamkeys/pkg/signing"
)

// Config is the service's settings.
type Config struct {
	Table    string // TEAMKEYS_TABLE
	KMSKeyID string // TEAMKEYS_KMS_KEY_ID: key id, ARN or alias
	Claims   auth.ClaimNames
	// PageTokenKey signs the team-wide list's nextToken
	// (TEAMKEYS_PAGE_TOKEN_KEY). Every instance of ListKeys must share it.
	PageTokenKey string
	LogLevel     slog.Level // TEAMKEYS_LOG_LEVEL: DEBUG, INFO, WARN, ERROR
	// SigningRegion is the region signed requests must name in their
	// credential scope (TEAMKEYS_SIGNING_REGION).
	SigningRegion string
}

// FromEnv reads Config, with defaults for what is unset.
func FromEnv() Config {
	c := Config{
		Table:    getenv("TEAMKEYS_TABLE", "teamkeys"),
		KMSKeyID: getenv("TEAMKEYS_KMS_KEY_ID", "alias/teamkeys"),
		Claims: auth.ClaimNames{
			Subject: getenv("TEAMKEYS_CLAIM_SUB", auth.DefaultClaimNames.Subject),
			Team:    getenv("TEAMKEYS_CLAIM_TEAM", auth.DefaultClaimNames.Team),
			Role:    getenv("TEAMKEYS_CLAIM_ROLE", auth.DefaultClaimNames.Role),
		},
		PageTokenKey:  os.Getenv("TEAMKEYS_PAGE_TOKEN_KEY"),
		SigningRegion: getenv("TEAMKEYS_SIGNING_REGION", "us-east-1"),
	}
	if err := c.LogLevel.UnmarshalText([]byte(getenv("TEAMKEYS_LOG_LEVEL", "INFO"))); err != nil {
		c.LogLevel = slog.LevelInfo
	}
	return c
}

// Signing is the signature check's configuration.
func (c Config) Signing() signing.Config {
	return signing.Config{Region: c.SigningRegion, Service: signing.Service, MaxSkew: signing.DefaultMaxSkew}
}

// Logger returns the process's JSON logger on stdout.
func (c Config) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: c.LogLevel}))
}

func getenv(name, fallback string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return fallback
}
