//go:build tools

// Package main records the module's direct dependencies until code imports each of them.
package main

import (
	_ "github.com/caarlos0/env/v11"
	_ "github.com/jonboulle/clockwork"
	_ "github.com/mark3labs/mcp-go/client"
	_ "github.com/mark3labs/mcp-go/server"
	_ "github.com/nyaruka/phonenumbers"
	_ "go.etcd.io/bbolt"
)
