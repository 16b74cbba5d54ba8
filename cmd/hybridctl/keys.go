package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/hybrid-emulator/hybrid/pkg/store"
)

// runKeys makes an organization's data encryption keys file (hybrid's
// kmsEncryptionKey and kvmEncryptionKey), which MART and the message
// processor read (encryptionKeysPath). An existing file is checked and kept:
// new keys would make every sealed value unreadable.
func runKeys(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("keys", flag.ContinueOnError)
	file := fs.String("file", "", "keys file to make (0600) or check")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" {
		return errors.New("usage: hybridctl keys --file FILE")
	}
	switch _, err := store.ReadEncryptionKeys(*file); {
	case err == nil:
		fmt.Fprintf(stdout, "data encryption keys %s (kept)\n", *file)
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	keys, err := store.GenerateEncryptionKeys()
	if err != nil {
		return err
	}
	if err := store.WriteEncryptionKeys(*file, keys); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "data encryption keys %s (new, 0600)\n", *file)
	return nil
}
