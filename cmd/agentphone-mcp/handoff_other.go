//go:build !unix

package main

// handOffSecrets keeps the environment as it is where a process cannot re-execute itself in
// place; LoadSecrets still removes the variables from the live environment, so no child process
// inherits them. The README recommends AGENTPHONE_API_KEY_FILE there.
func handOffSecrets(environ []string) ([]string, string) { return environ, "" }
