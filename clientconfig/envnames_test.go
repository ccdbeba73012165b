package clientconfig

import (
	"reflect"
	"testing"

	"github.com/agentphone-mcp/agentphone-mcp/server"
)

// TestEnvNamesAreTheServers: the variables the entry sets are the ones the server reads.
func TestEnvNamesAreTheServers(t *testing.T) {
	t.Parallel()
	if envKey != server.EnvAPIKey {
		t.Errorf("envKey %q, server reads %q", envKey, server.EnvAPIKey)
	}
	tags := map[string]string{}
	typ := reflect.TypeFor[server.Config]()
	for i := range typ.NumField() {
		tags[typ.Field(i).Name] = typ.Field(i).Tag.Get("env")
	}
	if tags["APIKeyFile"] != envKeyFile || tags["Sandbox"] != envSandbox {
		t.Errorf("server.Config reads %q and %q; the entry uses %q and %q", tags["APIKeyFile"], tags["Sandbox"], envKeyFile, envSandbox)
	}
}
