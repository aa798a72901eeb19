package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/teamkeys/teamkeys/internal/local/emulators"
	"github.com/teamkeys/teamkeys/internal/local/jwtissuer"
)

// errPublished refuses the development secret the Makefile once set by
// default: it is in this repository's history, so anyone can sign with it.
var errPublished = fmt.Errorf("%s is the development secret this repository once published, which anyone can sign tokens with: unset it (serve then generates a random one per run) or choose another", jwtissuer.SecretEnv)

// serveSecret returns the secret serve signs tokens with: the variable
// TEAMKEYS_LOCAL_JWT_SECRET when it is set (file is then empty: nothing is
// written), else a new random secret for this run, which serve writes to
// file (<tool cache>/local-jwt-secret) once it listens, for token to read.
func serveSecret() (secret, file string, err error) {
	if secret := os.Getenv(jwtissuer.SecretEnv); secret != "" {
		if jwtissuer.IsPublished(secret) {
			return "", "", errPublished
		}
		return secret, "", nil
	}
	cache, err := emulators.CacheDir("")
	if err != nil {
		return "", "", fmt.Errorf("%w (or set %s)", err, jwtissuer.SecretEnv)
	}
	return jwtissuer.NewSecret(), filepath.Join(cache, jwtissuer.SecretFileName), nil
}

// tokenSecret returns the secret token mints with: the variable when it is
// set, else the one the running serve keeps in the tool cache.
func tokenSecret() (string, error) {
	if secret := os.Getenv(jwtissuer.SecretEnv); secret != "" {
		if jwtissuer.IsPublished(secret) {
			return "", errPublished
		}
		return secret, nil
	}
	cache, err := emulators.CacheDir("")
	if err != nil {
		return "", fmt.Errorf("%w (or set %s as for serve)", err, jwtissuer.SecretEnv)
	}
	path := filepath.Join(cache, jwtissuer.SecretFileName)
	secret, err := jwtissuer.ReadSecretFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("no local JWT secret: `make run` (teamkeys-local serve) generates one and keeps it in %s while it runs: start it first, or set %s to the same value for both", path, jwtissuer.SecretEnv)
	}
	return secret, err
}
