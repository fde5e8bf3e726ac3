// SPDX-License-Identifier: Apache-2.0

package cli

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// Profiling is for whoever makes Portolan faster: any command run with
// PORTOLAN_CPU_PROFILE=file writes a CPU profile of its whole run there, and
// with PORTOLAN_MEM_PROFILE=file the allocations of the run (go tool pprof
// -sample_index=alloc_space). Environment variables rather than flags, so
// that they reach every command, the benchmark harness's child processes
// included, without widening any command's interface.
const (
	EnvCPUProfile = "PORTOLAN_CPU_PROFILE"
	EnvMemProfile = "PORTOLAN_MEM_PROFILE"
)

// startProfiles starts what the environment asks for and returns the
// function that finishes the profiles when the command is done.
func startProfiles(getenv func(string) string) (stop func() error, err error) {
	cpuPath, memPath := getenv(EnvCPUProfile), getenv(EnvMemProfile)
	var cpu *os.File
	if cpuPath != "" {
		if cpu, err = os.OpenFile(cpuPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
			return nil, fmt.Errorf("%s: %w", EnvCPUProfile, err)
		}
		if err := pprof.StartCPUProfile(cpu); err != nil {
			cpu.Close()
			return nil, fmt.Errorf("%s: %w", EnvCPUProfile, err)
		}
	}
	return func() error {
		var errs []error
		if cpu != nil {
			pprof.StopCPUProfile()
			errs = append(errs, cpu.Close())
		}
		if memPath != "" {
			errs = append(errs, writeHeapProfile(memPath))
		}
		return errors.Join(errs...)
	}, nil
}

func writeHeapProfile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("%s: %w", EnvMemProfile, err)
	}
	runtime.GC() // the in-use figures are those of the last GC
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", EnvMemProfile, err)
	}
	return f.Close()
}
