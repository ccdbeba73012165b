// Command releasetool prepares and checks the release metadata: the MCP Registry's
// server.json and the Claude Desktop bundle's manifest.json. scripts/release and
// scripts/ship-check run it; it has no other users.
//
//	releasetool manifest -in mcpb/manifest.json -out DIR/manifest.json -version V -goos GOOS
//	releasetool server-json -in server.json -out dist/server.json -version V BUNDLE.mcpb...
//	releasetool check-server-json [-publish] FILE
//	releasetool archive -out FILE.tar.gz|FILE.zip -date RFC3339 DIR
//	releasetool version server.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "releasetool:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: releasetool manifest|server-json|check-server-json|archive|version [flags]")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "input file")
	out := fs.String("out", "", "output file")
	version := fs.String("version", "", "release version (1.2.3)")
	goos := fs.String("goos", "", "target operating system (linux, darwin, windows)")
	publish := fs.Bool("publish", false, "check-server-json: also require what publishing needs (MCPB file hashes)")
	date := fs.String("date", "", "archive: the entries' time (RFC 3339); default now")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "manifest":
		b, err := os.ReadFile(*in)
		if err != nil {
			return err
		}
		m, err := bundleManifest(b, *version, *goos)
		if err != nil {
			return err
		}
		return os.WriteFile(*out, m, 0o644)
	case "server-json":
		b, err := os.ReadFile(*in)
		if err != nil {
			return err
		}
		s, err := stampServerJSON(b, *version, fs.Args())
		if err != nil {
			return err
		}
		if problems := checkServerJSON(s, true); len(problems) > 0 {
			return problemsError("the generated server.json", problems)
		}
		return os.WriteFile(*out, s, 0o644)
	case "check-server-json":
		if fs.NArg() != 1 {
			return fmt.Errorf("usage: releasetool check-server-json [-publish] FILE")
		}
		b, err := os.ReadFile(fs.Arg(0))
		if err != nil {
			return err
		}
		if problems := checkServerJSON(b, *publish); len(problems) > 0 {
			return problemsError(fs.Arg(0), problems)
		}
		fmt.Fprintf(stdout, "%s: valid against the MCP Registry schema %s and its package rules\n", fs.Arg(0), schemaURL)
		return nil
	case "archive":
		if fs.NArg() != 1 || *out == "" {
			return fmt.Errorf("usage: releasetool archive -out FILE.tar.gz|FILE.zip [-date RFC3339] DIR")
		}
		mtime := time.Now().UTC().Truncate(time.Second)
		if *date != "" {
			t, err := time.Parse(time.RFC3339, *date)
			if err != nil {
				return fmt.Errorf("-date: %w", err)
			}
			mtime = t.UTC()
		}
		return makeArchive(*out, fs.Arg(0), mtime)
	case "version":
		if fs.NArg() != 1 {
			return fmt.Errorf("usage: releasetool version server.json")
		}
		b, err := os.ReadFile(fs.Arg(0))
		if err != nil {
			return err
		}
		var s serverJSON
		if err := json.Unmarshal(b, &s); err != nil || s.Version == "" {
			return fmt.Errorf("%s has no version", fs.Arg(0))
		}
		fmt.Fprintln(stdout, s.Version)
		return nil
	default:
		return fmt.Errorf("unknown command %q", args[0])
	}
}

func problemsError(what string, problems []string) error {
	msg := fmt.Sprintf("%s is not valid:", what)
	for _, p := range problems {
		msg += "\n  - " + p
	}
	return fmt.Errorf("%s", msg)
}
