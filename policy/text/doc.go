// Package text holds the content checks the policy layer applies to message text: SMS encoding
// and segment counting, sanitising third-party text before it reaches the model, making
// invisible characters visible in previews, detecting secrets in outbound content, and
// recognising opt-out replies (IsOptOut) and spoken do-not-call requests (SpokenOptOut).
//
// Everything here is pure: no I/O, no clock, no package-level mutable state.
package text
