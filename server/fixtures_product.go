//go:build !conformance

package server

import mcpserver "github.com/mark3labs/mcp-go/server"

// The product build registers no conformance fixtures: the test_* tools, resources and
// prompts of the official MCP conformance suite exist only in the build tagged
// "conformance" (fixtures_conformance.go), which scripts/conformance runs the suites
// against. TestProductBinaryHasNoFixtures checks the built binary's tools/list.

func fixtureServerOptions() []mcpserver.ServerOption { return nil }

func (a *App) registerFixtures(*mcpserver.MCPServer) {}
