package service

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Main is the whole body of a service's main(): load the config from the
// YAML file, environment and flags, run until SIGTERM/SIGINT, and exit
// non-zero on failure.
func Main[C any](name, envPrefix string, cfg *C, run func(ctx context.Context, cfg *C) error) {
	if err := LoadConfig(name, envPrefix, os.Args[1:], cfg); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}
