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

// Command is a service's entry point: its name, the prefix of its
// environment variables, its defaults and its run function. The service's
// command calls Main; a Go program that runs services in its own process
// (the hybridtest harness) calls RunArgs, with the same flags.
type Command[C any] struct {
	Name      string
	EnvPrefix string
	Defaults  func() C
	Run       func(ctx context.Context, cfg *C) error
}

// Main is the service's main function (see Main).
func (c Command[C]) Main() {
	cfg := c.Defaults()
	Main(c.Name, c.EnvPrefix, &cfg, c.Run)
}

// RunArgs loads the configuration from args as the command line would
// (flags, --config, then the environment) and runs the service until ctx
// ends. Secrets cannot be flags: pass them in a --config file.
func (c Command[C]) RunArgs(ctx context.Context, args []string) error {
	cfg := c.Defaults()
	if err := LoadConfig(c.Name, c.EnvPrefix, args, &cfg); err != nil {
		return fmt.Errorf("%s: %w", c.Name, err)
	}
	return c.Run(ctx, &cfg)
}
