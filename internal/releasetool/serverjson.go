package main

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaURL is the registry schema server.json follows; schema/server.schema.json is its copy.
const schemaURL = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"

//go:embed schema/server.schema.json
var schemaJSON []byte

// Release naming, shared with scripts/release.
const (
	repoURL     = "https://github.com/agentphone-mcp/agentphone-mcp"
	imageRepo   = "ghcr.io/agentphone-mcp/agentphone-mcp"
	releaseBase = repoURL + "/releases/download/"
)

var (
	serverNameRe = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9.-]*[a-zA-Z0-9]/[a-zA-Z0-9][a-zA-Z0-9._-]*[a-zA-Z0-9]$`)
	rangeRe      = regexp.MustCompile(`^\s*(\^|~|>=|<=|>|<|=)|\|\||\s-\s|(^|\.)(x|X|\*)(\.|$)`)
	ghReleaseRe  = regexp.MustCompile(`^/([a-zA-Z0-9]([a-zA-Z0-9\-]{0,37}[a-zA-Z0-9])?)/([a-zA-Z0-9._\-]+)/releases/download/([^/]+)/([^/]+)$`)
	sha256Re     = regexp.MustCompile(`^[a-f0-9]{64}$`)
	ociRegistry  = map[string]bool{"docker.io": true, "ghcr.io": true, "registry-1.docker.io": true, "index.docker.io": true}
	semverRe     = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
)

// checkServerJSON validates a server.json against the registry schema and the rules the
// registry applies to packages when publishing (mirrored from its validators: OCI references,
// MCPB release URLs, arguments). publish also requires every MCPB package's file hash.
func checkServerJSON(b []byte, publish bool) []string {
	var problems []string
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return []string{"the embedded schema: " + err.Error()}
	}
	if err := c.AddResource(schemaURL, doc); err != nil {
		return []string{"the embedded schema: " + err.Error()}
	}
	sch, err := c.Compile(schemaURL)
	if err != nil {
		return []string{"the embedded schema: " + err.Error()}
	}
	if err := sch.Validate(inst); err != nil {
		problems = append(problems, "schema: "+strings.ReplaceAll(err.Error(), "\n", "\n    "))
	}

	var s serverJSON
	if err := json.Unmarshal(b, &s); err != nil {
		return append(problems, "decode: "+err.Error())
	}
	if s.Schema != schemaURL {
		problems = append(problems, fmt.Sprintf("$schema is %q, want the current %q", s.Schema, schemaURL))
	}
	if !serverNameRe.MatchString(s.Name) {
		problems = append(problems, fmt.Sprintf("name %q is not namespace/name in reverse-DNS form", s.Name))
	}
	if owner, ok := strings.CutPrefix(s.Name, "io.github."); ok {
		owner, _, _ = strings.Cut(owner, "/")
		if !strings.HasPrefix(s.Repository.URL, "https://github.com/"+owner+"/") {
			problems = append(problems, fmt.Sprintf("name %q is in the GitHub namespace of %q but the repository is %q", s.Name, owner, s.Repository.URL))
		}
	}
	problems = append(problems, checkVersion("version", s.Version)...)
	if !semverRe.MatchString(s.Version) {
		problems = append(problems, fmt.Sprintf("version %q is not semantic (1.2.3)", s.Version))
	}
	if len(s.Packages) == 0 {
		problems = append(problems, "no packages")
	}
	for i, p := range s.Packages {
		at := fmt.Sprintf("packages[%d]", i)
		problems = append(problems, checkPackage(at, p, s.Version, publish)...)
	}
	return problems
}

func checkVersion(at, v string) []string {
	if v == "latest" || rangeRe.MatchString(v) {
		return []string{fmt.Sprintf("%s %q is not one specific version", at, v)}
	}
	return nil
}

func checkPackage(at string, p pkg, version string, publish bool) []string {
	var problems []string
	if strings.ContainsAny(p.Identifier, " \t\n") {
		problems = append(problems, at+": identifier contains spaces")
	}
	if p.Version != "" {
		problems = append(problems, checkVersion(at+".version", p.Version)...)
	}
	if p.Transport.Type == "stdio" && p.Transport.URL != "" {
		problems = append(problems, at+": a stdio transport has no url")
	}
	for j, a := range append(append([]argument(nil), p.RuntimeArguments...), p.PackageArguments...) {
		aat := fmt.Sprintf("%s.arguments[%d]", at, j)
		switch a.Type {
		case "named":
			if !strings.HasPrefix(a.Name, "-") || strings.ContainsAny(a.Name, " \t") {
				problems = append(problems, fmt.Sprintf("%s: named argument %q must be a flag (--name)", aat, a.Name))
			}
			if a.Value != "" && strings.HasPrefix(a.Value, a.Name) {
				problems = append(problems, aat+": the value repeats the flag name")
			}
		case "positional":
			if a.Value == "" && a.ValueHint == "" {
				problems = append(problems, aat+": a positional argument needs value or valueHint")
			}
		default:
			problems = append(problems, fmt.Sprintf("%s: type %q is neither named nor positional", aat, a.Type))
		}
	}
	switch p.RegistryType {
	case "oci":
		if p.Version != "" || p.RegistryBaseURL != "" {
			problems = append(problems, at+": OCI packages carry the version in the identifier's tag, with no version or registryBaseUrl")
		}
		ref, tag, ok := strings.Cut(p.Identifier, ":")
		host, _, _ := strings.Cut(ref, "/")
		if !ok || tag == "" || !ociRegistry[host] {
			problems = append(problems, fmt.Sprintf("%s: identifier %q must be REGISTRY/OWNER/IMAGE:TAG on docker.io or ghcr.io", at, p.Identifier))
		} else if tag != version {
			problems = append(problems, fmt.Sprintf("%s: image tag %q differs from the server version %q", at, tag, version))
		}
		if p.Transport.Type != "stdio" {
			problems = append(problems, at+": the image package is run by clients over stdio (docker run -i IMAGE stdio)")
		}
	case "mcpb":
		u, err := url.Parse(p.Identifier)
		switch {
		case err != nil || u.Scheme != "https":
			problems = append(problems, at+": an MCPB identifier is an https URL")
		case u.Host != "github.com" || !ghReleaseRe.MatchString(u.Path):
			problems = append(problems, at+": an MCPB identifier is a GitHub release asset URL (/OWNER/REPO/releases/download/TAG/FILE)")
		case !strings.Contains(strings.ToLower(p.Identifier), "mcp"):
			problems = append(problems, at+": the registry requires 'mcp' in an MCPB URL")
		case !strings.HasPrefix(p.Identifier, releaseBase+"v"+version+"/"):
			problems = append(problems, fmt.Sprintf("%s: %s is not an asset of release v%s", at, p.Identifier, version))
		}
		if p.RegistryBaseURL != "" {
			problems = append(problems, at+": MCPB packages have no registryBaseUrl")
		}
		if p.FileSHA256 != "" && !sha256Re.MatchString(p.FileSHA256) {
			problems = append(problems, at+": fileSha256 is not 64 lowercase hex digits")
		}
		if publish && p.FileSHA256 == "" {
			problems = append(problems, at+": publishing needs fileSha256 (scripts/release fills it from the built bundle)")
		}
	default:
		problems = append(problems, fmt.Sprintf("%s: registryType %q is not one this project publishes (oci, mcpb)", at, p.RegistryType))
	}
	return problems
}

type serverJSON struct {
	Schema     string `json:"$schema"`
	Name       string `json:"name"`
	Version    string `json:"version"`
	Repository struct {
		URL string `json:"url"`
	} `json:"repository"`
	Packages []pkg `json:"packages"`
}

type pkg struct {
	RegistryType     string     `json:"registryType"`
	RegistryBaseURL  string     `json:"registryBaseUrl"`
	Identifier       string     `json:"identifier"`
	Version          string     `json:"version"`
	FileSHA256       string     `json:"fileSha256"`
	Transport        transport  `json:"transport"`
	RuntimeArguments []argument `json:"runtimeArguments"`
	PackageArguments []argument `json:"packageArguments"`
}

type transport struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

type argument struct {
	Type      string `json:"type"`
	Name      string `json:"name"`
	Value     string `json:"value"`
	ValueHint string `json:"valueHint"`
}

// stampServerJSON makes the release's server.json: the version, the image tag, and one MCPB
// package per built bundle (named agentphone-mcp_V_OS_ARCH.mcpb) with its URL and SHA-256.
// The committed file's first MCPB package is the template for the others' fields.
func stampServerJSON(in []byte, version string, bundles []string) ([]byte, error) {
	if !semverRe.MatchString(version) {
		return nil, fmt.Errorf("version %q is not semantic (1.2.3)", version)
	}
	var doc map[string]any
	if err := json.Unmarshal(in, &doc); err != nil {
		return nil, fmt.Errorf("server.json: %w", err)
	}
	doc["version"] = version
	pkgs, _ := doc["packages"].([]any)
	var out []any
	var template map[string]any
	for _, p := range pkgs {
		m, _ := p.(map[string]any)
		switch m["registryType"] {
		case "oci":
			m["identifier"] = imageRepo + ":" + version
			out = append(out, m)
		case "mcpb":
			if template == nil {
				template = m
			}
		default:
			out = append(out, m)
		}
	}
	if template == nil && len(bundles) > 0 {
		return nil, fmt.Errorf("server.json has no mcpb package to model the bundles on")
	}
	for _, path := range bundles {
		name := filepath.Base(path)
		rest, ok := strings.CutPrefix(name, "agentphone-mcp_"+version+"_")
		if !ok || !strings.HasSuffix(rest, ".mcpb") {
			return nil, fmt.Errorf("bundle %s is not named agentphone-mcp_%s_OS_ARCH.mcpb", name, version)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		m := map[string]any{}
		for k, v := range template {
			m[k] = v
		}
		m["identifier"] = releaseBase + "v" + version + "/" + name
		m["version"] = version
		m["fileSha256"] = hex.EncodeToString(sum[:])
		out = append(out, m)
	}
	doc["packages"] = out
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
