package main

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// nodePlatform maps GOOS to the platform names of the MCPB manifest (Node's process.platform).
var nodePlatform = map[string]string{"darwin": "darwin", "windows": "win32", "linux": "linux"}

// bundleManifest makes one platform's manifest from mcpb/manifest.json: the release version,
// compatibility narrowed to that platform, and the entry point of its binary
// (server/agentphone-mcp, or server/agentphone-mcp.exe on Windows).
func bundleManifest(in []byte, version, goos string) ([]byte, error) {
	platform, ok := nodePlatform[goos]
	if !ok {
		return nil, fmt.Errorf("no MCPB platform for GOOS %q", goos)
	}
	if !semverRe.MatchString(version) {
		return nil, fmt.Errorf("version %q is not semantic (1.2.3)", version)
	}
	var m map[string]any
	if err := json.Unmarshal(in, &m); err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	m["version"] = version
	compat, _ := m["compatibility"].(map[string]any)
	if compat == nil {
		compat = map[string]any{}
		m["compatibility"] = compat
	}
	compat["platforms"] = []string{platform}
	srv, _ := m["server"].(map[string]any)
	cfg, _ := srv["mcp_config"].(map[string]any)
	if srv == nil || cfg == nil {
		return nil, fmt.Errorf("manifest.json has no server.mcp_config")
	}
	if goos == "windows" {
		srv["entry_point"] = "server/agentphone-mcp.exe"
		cfg["command"] = "${__dirname}/server/agentphone-mcp.exe"
	}
	delete(cfg, "platform_overrides")
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
