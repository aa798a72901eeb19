// Package config reads the service's settings from the environment, the same
// way for the Lambda functions and the local server, and holds each default
// once. It imports nothing of this module, so that any package (the public
// signing helpers included) may use its defaults.
package config

import (
	"log/slog"
	"os"
	"strconv"
	"strings"
)

// Defaults of the settings below, each declared here only.
const (
	// DefaultRegion is the AWS region when AWS_REGION is unset, and the
	// region signed requests name in their credential scope when
	// TEAMKEYS_SIGNING_REGION is unset.
	DefaultRegion = "us-east-1"
	// DefaultTable is the keys table's name when TEAMKEYS_TABLE is unset.
	DefaultTable = "teamkeys"
	// DefaultKMSKeyID is the KMS key (an alias) that seals secrets when
	// TEAMKEYS_KMS_KEY_ID is unset; the local server creates it.
	DefaultKMSKeyID = "alias/teamkeys"
	// DefaultMemberEventSource is the source of the TeamMemberRemoved
	// events a console backend publishes (template.yaml's MemberEventSource
	// parameter's default).
	DefaultMemberEventSource = "console.teamkeys"
)

// ClaimNames says which JWT claims carry the caller's identity. Cognito, for
// one, sends custom attributes as "custom:<name>".
type ClaimNames struct {
	Subject string // TEAMKEYS_CLAIM_SUB
	Team    string // TEAMKEYS_CLAIM_TEAM
	Role    string // TEAMKEYS_CLAIM_ROLE
}

// DefaultClaimNames are the claim names when none are configured.
var DefaultClaimNames = ClaimNames{Subject: "sub", Team: "team_id", Role: "team_role"}

// Config is the service's settings.
type Config struct {
	Table    string // TEAMKEYS_TABLE
	KMSKeyID string // TEAMKEYS_KMS_KEY_ID: key id, ARN or alias
	Claims   ClaimNames
	// PageTokenKey signs the team-wide list's nextToken
	// (TEAMKEYS_PAGE_TOKEN_KEY). Every instance of ListKeys must share it.
	PageTokenKey string
	LogLevel     slog.Level // TEAMKEYS_LOG_LEVEL: DEBUG, INFO, WARN, ERROR
	// SigningRegion is the region signed requests must name in their
	// credential scope (TEAMKEYS_SIGNING_REGION).
	SigningRegion string
	// AuditRetentionDays is how long audit records are kept
	// (TEAMKEYS_AUDIT_RETENTION_DAYS; 0: the default, 400).
	AuditRetentionDays int
	// GitHubKeysURL is where GitHub publishes its secret scanning keys
	// (TEAMKEYS_GITHUB_KEYS_URL; empty: GitHub's own address).
	GitHubKeysURL string
	// GitHubKeysFile, when set, holds those keys in a local file instead
	// (TEAMKEYS_GITHUB_KEYS_FILE): the local server's and the tests'.
	GitHubKeysFile string
	// EventBusName is the bus PublishEvents publishes the audit records'
	// events to (TEAMKEYS_EVENT_BUS_NAME; empty: the default bus).
	EventBusName string
	// AuditIndexes names the audit indexes the table has
	// (TEAMKEYS_AUDIT_INDEXES, template parameter AuditIndexes: None,
	// Member or MemberAndKey; empty: MemberAndKey).
	AuditIndexes string
	// MemberEventSource is the source of the TeamMemberRemoved events
	// MemberRemoved acts on (TEAMKEYS_MEMBER_EVENT_SOURCE, template
	// parameter MemberEventSource; empty: DefaultMemberEventSource).
	MemberEventSource string
}

// FromEnv reads Config, with defaults for what is unset.
func FromEnv() Config {
	c := Config{
		Table:    getenv("TEAMKEYS_TABLE", DefaultTable),
		KMSKeyID: getenv("TEAMKEYS_KMS_KEY_ID", DefaultKMSKeyID),
		Claims: ClaimNames{
			Subject: getenv("TEAMKEYS_CLAIM_SUB", DefaultClaimNames.Subject),
			Team:    getenv("TEAMKEYS_CLAIM_TEAM", DefaultClaimNames.Team),
			Role:    getenv("TEAMKEYS_CLAIM_ROLE", DefaultClaimNames.Role),
		},
		PageTokenKey:      os.Getenv("TEAMKEYS_PAGE_TOKEN_KEY"),
		SigningRegion:     getenv("TEAMKEYS_SIGNING_REGION", DefaultRegion),
		GitHubKeysURL:     os.Getenv("TEAMKEYS_GITHUB_KEYS_URL"),
		GitHubKeysFile:    os.Getenv("TEAMKEYS_GITHUB_KEYS_FILE"),
		EventBusName:      strings.TrimSpace(os.Getenv("TEAMKEYS_EVENT_BUS_NAME")),
		AuditIndexes:      strings.TrimSpace(os.Getenv("TEAMKEYS_AUDIT_INDEXES")),
		MemberEventSource: getenv("TEAMKEYS_MEMBER_EVENT_SOURCE", DefaultMemberEventSource),
	}
	if days, err := strconv.Atoi(getenv("TEAMKEYS_AUDIT_RETENTION_DAYS", "0")); err == nil && days > 0 {
		c.AuditRetentionDays = days
	}
	if err := c.LogLevel.UnmarshalText([]byte(getenv("TEAMKEYS_LOG_LEVEL", "INFO"))); err != nil {
		c.LogLevel = slog.LevelInfo
	}
	return c
}

// Region is the AWS region of the process: AWS_REGION, else
// AWS_DEFAULT_REGION, else DefaultRegion.
func Region() string {
	for _, name := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if v := strings.TrimSpace(os.Getenv(name)); v != "" {
			return v
		}
	}
	return DefaultRegion
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
