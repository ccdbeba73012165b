package tools

// ReceivingTools returns the tools of issue 6 for tests in package tools_test, which register
// them on an App's MCP server until groups.go lists them.
func ReceivingTools(d *Deps) []Tool {
	return []Tool{waitForCallTool(d), waitForReplyTool(d), listenCallTool(d), sayTool(d)}
}
