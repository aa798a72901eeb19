package main

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

const helloPkg = "example.com/fn/functions/hello"

// buildHello builds a tiny main package, helloPkg, with the given
// environment and go build flags, and returns the binary's path.
func buildHello(t *testing.T, env []string, flags ...string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	dir := t.TempDir()
	for name, text := range map[string]string{
		"go.mod":                  "module example.com/fn\n\ngo 1.22\n",
		"functions/hello/main.go": "package main\n\nfunc main() {}\n",
	} {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "bootstrap")
	cmd := exec.Command(goBin, append(append([]string{"build"}, flags...), "-o", out, "./functions/hello")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-buildvcs=false", "GOTOOLCHAIN=local")
	cmd.Env = append(cmd.Env, env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", env, err, b)
	}
	return out
}

// variant writes a copy of the file at src, changed by edit, with mode perm.
func variant(t *testing.T, src string, perm os.FileMode, edit func(b []byte)) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(b)
	}
	path := filepath.Join(t.TempDir(), "bootstrap")
	if err := os.WriteFile(path, b, perm); err != nil {
		t.Fatal(err)
	}
	return path
}

// setProgType sets the type of the first program header that is not
// PT_LOAD (64-bit little-endian ELF header layout).
func setProgType(t *testing.T, typ uint32) func(b []byte) {
	return func(b []byte) {
		phoff := binary.LittleEndian.Uint64(b[32:])
		phentsize := uint64(binary.LittleEndian.Uint16(b[54:]))
		phnum := uint64(binary.LittleEndian.Uint16(b[56:]))
		for i := range phnum {
			ph := b[phoff+i*phentsize:]
			if binary.LittleEndian.Uint32(ph) != 1 { // PT_LOAD
				binary.LittleEndian.PutUint32(ph, typ)
				return
			}
		}
		t.Fatal("no program header other than PT_LOAD")
	}
}

func TestCheck(t *testing.T) {
	static := buildHello(t, []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64"},
		"-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w")
	host := buildHello(t, nil)
	notELF := variant(t, static, 0o755, func(b []byte) { copy(b, "#!/bin/sh\n") })

	for _, tc := range []struct {
		name, path, pkg string
		want            string // in the error; "" for no error, "*" for any error
	}{
		{"static linux/arm64", static, helloPkg, ""},
		{"host build", host, helloPkg, "*"}, // x86-64 here; on an arm64 host, no -tags and no -trimpath
		{"other package", static, "example.com/fn/functions/other", `path "example.com/fn/functions/hello", want "example.com/fn/functions/other"`},
		{"missing", filepath.Join(t.TempDir(), "bootstrap"), helloPkg, "missing"},
		{"not executable", variant(t, static, 0o644, nil), helloPkg, "not executable"},
		{"directory", t.TempDir(), helloPkg, "not a regular file"},
		{"not ELF", notELF, helloPkg, "NOT a static arm64 ELF executable"},
		{"32-bit", variant(t, static, 0o755, func(b []byte) { b[4] = 1 }), helloPkg, "NOT a static arm64 ELF executable"},
		{"big-endian", variant(t, static, 0o755, func(b []byte) { b[5] = 2 }), helloPkg, "NOT a static arm64 ELF executable"},
		{"ET_DYN", variant(t, static, 0o755, func(b []byte) { b[16] = 3 }), helloPkg, "type ET_DYN, want ET_EXEC"},
		{"x86-64", variant(t, static, 0o755, func(b []byte) { b[18] = 62 }), helloPkg, "machine EM_X86_64, want EM_AARCH64"},
		{"PT_INTERP", variant(t, static, 0o755, setProgType(t, 3)), helloPkg, "has a PT_INTERP program header"},
		{"PT_DYNAMIC", variant(t, static, 0o755, setProgType(t, 2)), helloPkg, "has a PT_DYNAMIC program header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := check(tc.path, tc.pkg)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == "":
			case err == nil:
				t.Fatal("accepted")
			case tc.want != "*" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q, want it to say %q", err, tc.want)
			default:
				t.Logf("refused: %v", err)
			}
		})
	}
}

func TestCheckBuildInfo(t *testing.T) {
	good := func() *debug.BuildInfo {
		bi := &debug.BuildInfo{Path: helloPkg}
		bi.Settings = append(bi.Settings, debug.BuildSetting{Key: "-ldflags", Value: "-s -w"})
		bi.Settings = append(bi.Settings, wantSettings...)
		return bi
	}
	if err := checkBuildInfo(good(), helloPkg); err != nil {
		t.Fatalf("refused: %v", err)
	}
	for _, s := range wantSettings {
		bi := good()
		for i := range bi.Settings {
			if bi.Settings[i].Key == s.Key {
				bi.Settings[i].Value += "x"
			}
		}
		if err := checkBuildInfo(bi, helloPkg); err == nil || !strings.Contains(err.Error(), s.Key+"="+s.Value+"x, want "+s.Key+"="+s.Value) {
			t.Errorf("%s=%sx: got %v", s.Key, s.Value, err)
		}
		bi = good()
		bi.Settings = slices.DeleteFunc(bi.Settings, func(x debug.BuildSetting) bool { return x.Key == s.Key })
		if err := checkBuildInfo(bi, helloPkg); err == nil || !strings.Contains(err.Error(), "no "+s.Key) {
			t.Errorf("no %s: got %v", s.Key, err)
		}
	}
}
