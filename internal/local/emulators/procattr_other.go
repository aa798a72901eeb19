//go:build !unix

package emulators

import "os/exec"

func setProcAttr(cmd *exec.Cmd) {}

func startCmd(cmd *exec.Cmd) error { return cmd.Start() }
