package service

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hybrid-emulator/hybrid/pkg/secretfile"
)

// LoadConfig fills cfg (a pointer to a struct whose fields carry `yaml`
// tags and already hold their defaults) from, in increasing precedence:
// a YAML file, environment variables and command-line flags.
//
// Every leaf field gets a flag named after its dotted YAML path
// (`--cassandra.hosts`) and an environment variable made of envPrefix and
// the path in upper snake case (`HYBRID_SYNCHRONIZER_CASSANDRA_HOSTS`).
// The YAML file is named by `--config` or `<envPrefix>_CONFIG`. One
// mechanism for every service keeps the knobs discoverable: `--help`
// lists them all with their defaults.
//
// A field tagged `secret:"true"` (shared secrets, tokens, passwords) may
// not be given as a flag — every local user can read a process's command
// line — only in the YAML file, its environment variable, or a file named
// by that variable with a _FILE suffix (the Docker/Kubernetes secrets
// convention), which must not be readable by group or others.
func LoadConfig(name, envPrefix string, args []string, cfg any) error {
	root := reflect.ValueOf(cfg)
	if root.Kind() != reflect.Pointer || root.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("config must be a pointer to a struct, got %T", cfg)
	}
	var leaves []leaf
	collectLeaves(root.Elem(), "", &leaves)

	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	configFile := fs.String("config", os.Getenv(envPrefix+"_CONFIG"), "YAML config file")
	flagValues := make(map[string]*string, len(leaves))
	for _, l := range leaves {
		help := fmt.Sprintf("%s (env %s, default %q)", l.usage, envName(envPrefix, l.path), l.current())
		if l.secret {
			help = fmt.Sprintf("%s (secret: env %s or a 0600 file named by %s_FILE; refused as a flag)", l.usage, envName(envPrefix, l.path), envName(envPrefix, l.path))
		}
		flagValues[l.path] = fs.String(l.path, "", help)
	}
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stderr)
			fmt.Fprintf(os.Stderr, "Usage of %s (flags override environment variables, which override the YAML file):\n", name)
			fs.PrintDefaults()
		}
		return fmt.Errorf("parse flags: %w", err)
	}

	if *configFile != "" {
		data, err := os.ReadFile(*configFile)
		if err != nil {
			return fmt.Errorf("read config file: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) { // io.EOF: empty file
			return fmt.Errorf("config file %s: %w", *configFile, err)
		}
	}
	for _, l := range leaves {
		env := envName(envPrefix, l.path)
		if l.secret {
			if file, ok := os.LookupEnv(env + "_FILE"); ok {
				v, err := readSecretFile(file)
				if err != nil {
					return fmt.Errorf("env %s_FILE: %w", env, err)
				}
				if err := l.set(v); err != nil {
					return fmt.Errorf("env %s_FILE: %w", env, err)
				}
				continue
			}
		}
		if v, ok := os.LookupEnv(env); ok {
			if err := l.set(v); err != nil {
				return fmt.Errorf("env %s: %w", env, err)
			}
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, l := range leaves {
		if set[l.path] && l.secret {
			return fmt.Errorf("%w: --%s is a secret; pass it in $%s or a 0600 file named by $%s_FILE, not on the command line (any local user can read it there)",
				ErrSecretFlag, l.path, envName(envPrefix, l.path), envName(envPrefix, l.path))
		}
		if set[l.path] {
			if err := l.set(*flagValues[l.path]); err != nil {
				return fmt.Errorf("flag --%s: %w", l.path, err)
			}
		}
	}
	return nil
}

// ErrSecretFlag is returned when a secret is given as a command-line flag.
var ErrSecretFlag = errors.New("secret given as a flag")

// readSecretFile reads a secret from a file only its owner may read.
func readSecretFile(path string) (string, error) {
	data, err := secretfile.Read(path)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(data), "\r\n"), nil
}

func envName(prefix, path string) string {
	r := strings.NewReplacer(".", "_", "-", "_")
	return prefix + "_" + strings.ToUpper(r.Replace(path))
}

type leaf struct {
	path   string
	usage  string
	secret bool
	v      reflect.Value
}

func (l leaf) current() string {
	switch x := l.v.Interface().(type) {
	case []string:
		return strings.Join(x, ",")
	default:
		return fmt.Sprint(x)
	}
}

func (l leaf) set(s string) error {
	switch l.v.Interface().(type) {
	case time.Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		l.v.SetInt(int64(d))
		return nil
	case []string:
		var parts []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		l.v.Set(reflect.ValueOf(parts))
		return nil
	}
	switch l.v.Kind() {
	case reflect.String:
		l.v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		l.v.SetBool(b)
	case reflect.Int, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		l.v.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return err
		}
		l.v.SetFloat(f)
	default:
		return fmt.Errorf("unsupported config type %s", l.v.Type())
	}
	return nil
}

func collectLeaves(v reflect.Value, prefix string, out *[]leaf) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := strings.Split(f.Tag.Get("yaml"), ",")
		name := tag[0]
		if name == "-" {
			continue
		}
		fv := v.Field(i)
		inline := len(tag) > 1 && tag[1] == "inline"
		if name == "" && !inline {
			name = strings.ToLower(f.Name)
		}
		path := name
		if prefix != "" && !inline {
			path = prefix + "." + name
		} else if inline {
			path = prefix
		}
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)) {
			collectLeaves(fv, path, out)
			continue
		}
		if f.Type.Kind() == reflect.Map || (f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() != reflect.String) {
			continue // structured values come from the YAML file only
		}
		*out = append(*out, leaf{path: path, usage: f.Tag.Get("usage"), secret: f.Tag.Get("secret") == "true", v: fv})
	}
}
