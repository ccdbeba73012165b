// Package text holds the content checks the policy layer applies to message text: SMS encoding
// and segment counting, sanitising third-party text before it reaches the model, making
// invisible characters visible in previews, refusing hidden characters in outbound text
// (FindHidden), folding texts a person reads as the same to one form (Fold, with Unicode
// compatibility forms and TR39 look-alikes), finding secrets in any disguise (SecretMatcher,
// FindSecret, FindCredential), recognising opt-out replies (ClassifyOptOut), spoken
// do-not-call requests (SpokenOptOut) and instructions that make an AI voice pass as human
// (DeniesAI).
//
// Everything here is pure: no I/O, no clock, no package-level mutable state (the word tables
// are built once and only read).
package text
