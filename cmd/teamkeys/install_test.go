package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// installVersion is the pseudo-version the work tree is published at in
// TestGoInstall's proxy.
const installVersion = "v0.0.0-20261202000000-000000000000"

// TestGoInstall: `go install github.com/teamkeys/teamkeys/cmd/teamkeys@…`
// works, as it will for a user. The module is not on the network, so the
// work tree's files (tracked, or new and not ignored) are published at a
// pseudo-version in a file-based GOPROXY, and go install fetches it from
// there like from any proxy; the dependencies come from the local module
// cache's downloads, else the usual proxy. A module cache of its own keeps
// this version out of the user's.
func TestGoInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI from a module proxy; not in -short")
	}
	began := time.Now()
	goEnv := func(name string) string {
		out, err := exec.Command("go", "env", name).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", name, err)
		}
		return strings.TrimSpace(string(out))
	}
	root := filepath.Dir(goEnv("GOMOD"))
	tmp := t.TempDir()

	// The module's files, as a clean tree: what git would publish, no
	// symlink (.cache), nothing ignored.
	src := filepath.Join(tmp, "src")
	ls := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	ls.Dir = root
	out, err := ls.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	copied := 0
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		from := filepath.Join(root, name)
		info, err := os.Lstat(from)
		if err != nil || !info.Mode().IsRegular() || name == ".cache" || strings.HasPrefix(name, ".cache/") {
			continue // deleted in the work tree, a symlink, or the tool cache
		}
		copyFile(t, from, filepath.Join(src, name))
		copied++
	}
	if copied < 50 {
		t.Fatalf("only %d files to publish", copied)
	}

	// The proxy: .info, .mod and .zip of the version.
	const path = "github.com/teamkeys/teamkeys"
	proxy := filepath.Join(tmp, "proxy")
	dir := filepath.Join(proxy, path, "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	zf, err := os.Create(filepath.Join(dir, installVersion+".zip"))
	if err != nil {
		t.Fatal(err)
	}
	if err := modzip.CreateFromDir(zf, module.Version{Path: path, Version: installVersion}, src); err != nil {
		t.Fatalf("module zip: %v", err)
	}
	if err := zf.Close(); err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(src, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		installVersion + ".mod":  string(mod),
		installVersion + ".info": `{"Version":"` + installVersion + `","Time":"2026-12-02T00:00:00Z"}`,
		"list":                   installVersion + "\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	gobin := filepath.Join(tmp, "bin")
	install := exec.Command("go", "install", path+"/cmd/teamkeys@"+installVersion)
	install.Dir = tmp // outside the module: go install pkg@version ignores it anyway
	install.Env = append(os.Environ(),
		"GOBIN="+gobin,
		"GOMODCACHE="+filepath.Join(tmp, "modcache"),
		"GOPROXY=file://"+filepath.ToSlash(proxy)+",file://"+filepath.ToSlash(filepath.Join(goEnv("GOMODCACHE"), "cache", "download"))+","+goEnv("GOPROXY"),
		"GONOSUMDB="+path,
		"GOFLAGS=-modcacherw", // so that the temporary module cache can be removed
		"GOWORK=off",
		"GOTOOLCHAIN=local",
	)
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("go install %s/cmd/teamkeys@%s: %v\n%s", path, installVersion, err, out)
	}
	bin := filepath.Join(gobin, "teamkeys")
	for args, wants := range map[string][]string{
		"--help":       {"Usage:", "keys", "whoami", "sign", "completion"},
		"version":      {"teamkeys " + installVersion},
		"keys --help":  {"create", "rotate"},
		"--no-such-fl": {},
	} {
		cmd := exec.Command(bin, strings.Fields(args)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if args == "--no-such-fl" {
			if code := cmd.ProcessState.ExitCode(); code != exitUsage {
				t.Errorf("teamkeys %s: exit %d, want %d (%s)", args, code, exitUsage, stderr.String())
			}
			continue
		}
		if err != nil {
			t.Errorf("teamkeys %s: %v\n%s", args, err, stderr.String())
		}
		for _, w := range wants {
			if !strings.Contains(stdout.String(), w) {
				t.Errorf("teamkeys %s: stdout lacks %q:\n%s", args, w, stdout.String())
			}
		}
	}
	t.Logf("published %d files, installed and ran the binary in %v", copied, time.Since(began).Round(100*time.Millisecond))
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
