// Command checkbootstrap checks Lambda bootstrap files as `make sam-build`
// wants them: each must be a static linux/arm64 ELF executable, built from
// the expected main package with the functions' build flags.
//
// Usage:
//
//	go run ./scripts/checkbootstrap <bootstrap>=<package path>...
//
// For each file it prints "static linux/arm64 ELF executable: <bootstrap>";
// for any file that fails a check it prints why on stderr, and it exits 1.
package main

import (
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
)

// wantSettings are the build settings every bootstrap must carry (as `go
// version -m` prints them): the Lambda build command's flags.
var wantSettings = []debug.BuildSetting{
	{Key: "GOOS", Value: "linux"},
	{Key: "GOARCH", Value: "arm64"},
	{Key: "CGO_ENABLED", Value: "0"},
	{Key: "-tags", Value: "lambda.norpc"},
	{Key: "-trimpath", Value: "true"},
}

func main() {
	args := os.Args[1:]
	if len(args) == 0 {
		usage()
	}
	failed := false
	for _, arg := range args {
		i := strings.LastIndex(arg, "=")
		if i <= 0 || i == len(arg)-1 {
			usage()
		}
		path, pkg := arg[:i], arg[i+1:]
		if err := check(path, pkg); err != nil {
			fmt.Fprintf(os.Stderr, "checkbootstrap: %s: %v\n", path, err)
			failed = true
			continue
		}
		fmt.Println("static linux/arm64 ELF executable: " + path)
	}
	if failed {
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: checkbootstrap <bootstrap>=<package path>...")
	os.Exit(2)
}

// check returns why the file at path is not an executable static
// linux/arm64 ELF built from package pkg with the Lambda build flags.
func check(path, pkg string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return errors.New("missing")
	case err != nil:
		return err
	case !fi.Mode().IsRegular():
		return fmt.Errorf("not a regular file (%v)", fi.Mode())
	case fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("not executable (%v)", fi.Mode().Perm())
	}
	if err := checkELF(path); err != nil {
		return fmt.Errorf("NOT a static arm64 ELF executable: %w", err)
	}
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return fmt.Errorf("no Go build info: %w", err)
	}
	return checkBuildInfo(bi, pkg)
}

// checkELF: 64-bit little-endian, type EXEC, machine AArch64, and no
// PT_INTERP or PT_DYNAMIC program header (nothing for a dynamic loader).
func checkELF(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	switch {
	case f.Class != elf.ELFCLASS64:
		return fmt.Errorf("class %v, want %v", f.Class, elf.ELFCLASS64)
	case f.Data != elf.ELFDATA2LSB:
		return fmt.Errorf("data %v, want %v", f.Data, elf.ELFDATA2LSB)
	case f.Type != elf.ET_EXEC:
		return fmt.Errorf("type %v, want %v", f.Type, elf.ET_EXEC)
	case f.Machine != elf.EM_AARCH64:
		return fmt.Errorf("machine %v, want %v", f.Machine, elf.EM_AARCH64)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			return fmt.Errorf("has a %v program header (dynamically linked)", p.Type)
		}
	}
	return nil
}

// checkBuildInfo: built from package pkg, with every one of wantSettings.
func checkBuildInfo(bi *debug.BuildInfo, pkg string) error {
	if bi.Path != pkg {
		return fmt.Errorf("build info: path %q, want %q", bi.Path, pkg)
	}
	have := map[string]string{}
	for _, s := range bi.Settings {
		have[s.Key] = s.Value
	}
	var wrong []string
	for _, want := range wantSettings {
		v, ok := have[want.Key]
		switch {
		case !ok:
			wrong = append(wrong, fmt.Sprintf("no %s, want %s=%s", want.Key, want.Key, want.Value))
		case v != want.Value:
			wrong = append(wrong, fmt.Sprintf("%s=%s, want %s=%s", want.Key, v, want.Key, want.Value))
		}
	}
	if len(wrong) > 0 {
		return errors.New("build info: " + strings.Join(wrong, "; "))
	}
	return nil
}
