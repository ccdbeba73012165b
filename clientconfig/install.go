package clientconfig

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
)

// Request says what to install (or uninstall) where.
type Request struct {
	Client   Client
	Platform Platform
	// Executable is the absolute path of the agentphone-mcp binary the entry runs.
	Executable string
	// Name is the entry's name; "" means DefaultName.
	Name string
	// Sandbox installs an entry that runs the simulated AgentPhone: no key, nothing real.
	Sandbox bool
	// DryRun computes the change and its diff and writes nothing (no key file either).
	DryRun bool
	// Force replaces (or removes) an entry of that name that runs another program.
	Force bool
	// EnvKey is AGENTPHONE_API_KEY of the installing shell ("" when unset).
	EnvKey string
	// Prompt asks for the key without echoing it; nil when there is no terminal to ask on.
	Prompt func() (string, error)
	// Now dates backups; nil means time.Now.
	Now func() time.Time
}

// Result says what install or uninstall did (or, with DryRun, would do).
type Result struct {
	Client Client
	// Path is the client's config file.
	Path string
	// Created: the config file did not exist before.
	Created bool
	// Changed: the config file was (or would be) rewritten.
	Changed bool
	// Backup is the copy of the previous file, when one was written.
	Backup string
	// Diff is the change as a unified diff, with any API key removed.
	Diff string
	// KeyFile is the key file the entry names ("" for a sandbox entry).
	KeyFile string
	// KeySource says where the key came from.
	KeySource string
	// KeyFileChanged: the key file was (or would be) written or made private.
	KeyFileChanged bool
	// Notes are things the person should know.
	Notes []string
}

const maxAttempts = 3

func (r *Request) normalize() error {
	if r.Name == "" {
		r.Name = DefaultName
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Client.ID == "" {
		return errors.New("no client given")
	}
	return r.Platform.check()
}

// Install adds or updates the agentphone entry in the client's config and, unless it is a
// sandbox entry, makes sure the API key is in the key file the entry names.
func Install(r Request) (Result, error) {
	if err := r.normalize(); err != nil {
		return Result{}, err
	}
	if !filepath.IsAbs(r.Executable) && !(r.Platform.OS == "windows" && len(r.Executable) > 2 && r.Executable[1] == ':') {
		return Result{}, fmt.Errorf("the server's path %q is not absolute; clients start servers without your shell's PATH", r.Executable)
	}
	k := &keyState{}
	var res Result
	var err error
	for range maxAttempts {
		res, err = installOnce(r, k)
		if !errors.Is(err, errChanged) {
			return res, err
		}
	}
	return res, fmt.Errorf("%s: %w three times in a row; quit %s and run this again", res.Path, errChanged, r.Client.Name)
}

// keyState carries the resolved key across attempts, so the person is asked only once.
type keyState struct {
	key     keyguard.Secret
	file    string
	source  string
	resolve bool
	// exposed: the key file holds the key already but others could read it.
	exposed bool
	// replaced: the default key file held a different key, which EnvKey replaces.
	replaced bool
}

func installOnce(r Request, k *keyState) (Result, error) {
	c := r.Client
	res := Result{Client: c, Path: c.ConfigPath(r.Platform)}
	st, err := readConfig(res.Path)
	if err != nil {
		return res, err
	}
	res.Created = !st.exists
	doc, err := parseDocument(res.Path, st.data, !c.Comments)
	if err != nil {
		return res, err
	}
	root := doc.rootObject()
	servers, ok, err := doc.child(root, c.ServersKey, res.Path)
	if err != nil {
		return res, err
	}
	if !ok {
		if err := doc.set(root, c.ServersKey, orderedMap{}); err != nil {
			return res, err
		}
		servers, _, _ = doc.child(root, c.ServersKey, res.Path)
	}
	existing, err := findEntry(doc, c, res.Path, r.Name)
	if err != nil {
		return res, err
	}
	if existing != nil && !existing.RunsAgentphone(r.Executable) {
		if !r.Force {
			return res, foreignEntryError(res.Path, existing, "replace")
		}
		doc.remove(servers, r.Name)
		existing = nil
	}

	var scrub []string
	if existing != nil && existing.PlainKey {
		scrub = append(scrub, existing.plainKey.Reveal())
	}
	if !r.Sandbox {
		if !k.resolve {
			if err := resolveKey(r, existing, k); err != nil {
				return res, err
			}
			k.resolve = true
		}
		res.KeyFile, res.KeySource = k.file, k.source
		scrub = append(scrub, k.key.Reveal())
	}

	if err := applyEntry(doc, servers, r, res.Path, res.KeyFile, existing); err != nil {
		return res, err
	}
	after := doc.bytes()
	res.Changed = !st.exists || string(after) != string(st.data)
	if res.Changed {
		res.Diff = redactDiff(unifiedDiff(res.Path, res.Path+" (after install)", st.data, after), scrub...)
	}
	if !r.Sandbox {
		res.KeyFileChanged = k.file == r.Platform.KeyFilePath() && keyFileNeedsWrite(k)
	}
	if existing != nil && existing.PlainKey && !r.Sandbox {
		res.Notes = append(res.Notes, "The previous entry held the API key in plain text; the entry now names the key file instead.")
	}
	if k.replaced && !r.Sandbox {
		res.Notes = append(res.Notes, fmt.Sprintf("The key file %s held a different key; it now holds the one from %s, for every client whose entry names it.", k.file, envKey))
	}
	if k.exposed {
		res.Notes = append(res.Notes, fmt.Sprintf("The key file %s could be read by other users; it is now private (0600). Consider creating a new key in the AgentPhone dashboard.", k.file))
	}
	if r.DryRun {
		return res, nil
	}

	if res.KeyFileChanged {
		if _, err := writeKeyFile(k.file, k.key); err != nil {
			return res, err
		}
	}
	if !res.Changed {
		return res, nil
	}
	if !st.exists {
		if _, err := os.Stat(filepath.Dir(st.target)); err != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("%s did not exist: is %s installed? It reads the entry once it is.", filepath.Dir(st.target), c.Name))
		}
	}
	if res.Backup, err = st.backup(r.Now()); err != nil {
		return res, err
	}
	if err := st.write(after); err != nil {
		if res.Backup != "" {
			os.Remove(res.Backup)
			res.Backup = ""
		}
		return res, err
	}
	if existing != nil && existing.PlainKey && res.Backup != "" {
		res.Notes = append(res.Notes, fmt.Sprintf("The backup %s still holds the old plain-text key: delete it once agentphone works.", res.Backup))
	}
	if c.Note != "" {
		res.Notes = append(res.Notes, c.Note)
	}
	return res, nil
}

// plainKeyValue matches a literal AGENTPHONE_API_KEY value in a config line (not a ${...}
// reference).
var plainKeyValue = regexp.MustCompile(`("AGENTPHONE_API_KEY"\s*:\s*")([^"$\\][^"]*)(")`)

// redactDiff removes the keys, and any literal AGENTPHONE_API_KEY value, from a diff.
func redactDiff(diff string, keys ...string) string {
	diff = keyguard.NewScrubber(keys...).Scrub(diff)
	return plainKeyValue.ReplaceAllString(diff, "${1}[REDACTED]${3}")
}

func foreignEntryError(path string, e *Entry, verb string) error {
	what := e.Command
	if e.Remote {
		what = "a remote URL"
	}
	if what == "" {
		what = "something else"
	} else if !e.Remote {
		what = fmt.Sprintf("%q", what)
	}
	return fmt.Errorf("%s already has an entry %q that runs %s, not agentphone-mcp; it was left alone: use --name to pick another name, or --force to %s it (a backup is kept)", path, e.Name, what, verb)
}

// resolveKey finds the key: AGENTPHONE_API_KEY, else the key file the entry already names,
// else the default key file, else a plain-text key in the old entry, else the prompt.
func resolveKey(r Request, existing *Entry, k *keyState) error {
	def := r.Platform.KeyFilePath()
	if strings.TrimSpace(r.EnvKey) != "" {
		s, err := checkKeyText(r.EnvKey, envKey)
		if err != nil {
			return err
		}
		k.key, k.file, k.source = s, def, envKey
		if raw, err := os.ReadFile(def); err == nil && strings.TrimSpace(string(raw)) != "" && strings.TrimSpace(string(raw)) != s.Reveal() {
			k.replaced = true
		}
		return nil
	}
	if existing != nil && existing.KeyFile != "" && existing.KeyFile != def {
		if s, err := ReadKeyFile(existing.KeyFile); err == nil && !s.IsZero() {
			k.key, k.file, k.source = s, existing.KeyFile, "the key file the entry already names"
			return nil
		}
	}
	if raw, err := os.ReadFile(def); err == nil {
		if s, err := checkKeyText(string(raw), "the key file "+def); err == nil {
			k.key, k.file, k.source = s, def, "the existing key file"
			if _, err := ReadKeyFile(def); err != nil {
				k.exposed = true // readable by others: writeKeyFile makes it private
			}
			return nil
		}
	}
	if existing != nil && existing.PlainKey {
		k.key, k.file, k.source = existing.plainKey, def, "the previous entry (moved out of the config file)"
		return nil
	}
	if r.DryRun {
		// A dry run shows the change without asking for a key it would not store.
		k.file, k.source = def, "the prompt (not asked in a dry run)"
		return nil
	}
	if r.Prompt == nil {
		return fmt.Errorf("no API key: set %s, or run this in a terminal to type it (it is not shown); to try everything without a key, install with --sandbox", envKey)
	}
	typed, err := r.Prompt()
	if err != nil {
		return fmt.Errorf("read the API key: %w", err)
	}
	s, err := checkKeyText(typed, "what was typed")
	if err != nil {
		return err
	}
	k.key, k.file, k.source = s, def, "typed in"
	return nil
}

// keyFileNeedsWrite reports whether the default key file lacks the key or is not private.
func keyFileNeedsWrite(k *keyState) bool {
	raw, err := os.ReadFile(k.file)
	if err != nil || strings.TrimSpace(string(raw)) != k.key.Reveal() {
		return true
	}
	_, err = ReadKeyFile(k.file)
	return err != nil
}

// applyEntry writes the desired entry into servers, keeping what the person added to an
// existing one of ours (other env variables, other keys).
func applyEntry(doc *document, servers *object, r Request, path, keyFile string, existing *Entry) error {
	c := r.Client
	args := []string{"stdio"}
	if r.Sandbox {
		args = append(args, "--sandbox")
	}
	if existing == nil {
		entry := orderedMap{}
		if c.TypeField {
			entry = append(entry, keyValue{"type", "stdio"})
		}
		entry = append(entry, keyValue{"command", r.Executable}, keyValue{"args", args})
		if !r.Sandbox {
			entry = append(entry, keyValue{"env", orderedMap{{envKeyFile, keyFile}}})
		}
		return doc.set(servers, r.Name, entry)
	}
	eo, _, err := doc.child(servers, r.Name, path)
	if err != nil {
		return err
	}
	if c.TypeField {
		if err := doc.set(eo, "type", "stdio"); err != nil {
			return err
		}
	}
	if err := doc.set(eo, "command", r.Executable); err != nil {
		return err
	}
	if err := doc.set(eo, "args", args); err != nil {
		return err
	}
	env, hasEnv, err := doc.child(eo, "env", path)
	if err != nil {
		return err
	}
	if !hasEnv {
		if r.Sandbox {
			return nil
		}
		return doc.set(eo, "env", orderedMap{{envKeyFile, keyFile}})
	}
	had := len(env.obj.Members)
	doc.remove(env, envKey)
	doc.remove(env, envSandbox)
	if r.Sandbox {
		doc.remove(env, envKeyFile)
		if had > 0 && len(env.obj.Members) == 0 {
			doc.remove(eo, "env")
		}
		return nil
	}
	return doc.set(env, envKeyFile, keyFile)
}

// Uninstall removes the entry (only it) from the client's config. The key file stays: other
// clients may use it; Result.Notes says whether any still does.
func Uninstall(r Request) (Result, error) {
	if err := r.normalize(); err != nil {
		return Result{}, err
	}
	var res Result
	var err error
	for range maxAttempts {
		res, err = uninstallOnce(r)
		if !errors.Is(err, errChanged) {
			break
		}
	}
	if errors.Is(err, errChanged) {
		return res, fmt.Errorf("%s: %w three times in a row; quit %s and run this again", res.Path, errChanged, r.Client.Name)
	}
	if err != nil || !res.Changed {
		return res, err
	}
	if res.KeyFile != "" {
		users := KeyFileUsers(r.Platform, res.KeyFile)
		if len(users) == 0 || r.DryRun && len(users) == 1 && users[0] == r.Client.ID {
			res.Notes = append(res.Notes, fmt.Sprintf("No client's entry names the key file %s any more; delete it if you no longer need it.", res.KeyFile))
		} else {
			res.Notes = append(res.Notes, fmt.Sprintf("The key file %s stays: still used by %s.", res.KeyFile, strings.Join(users, ", ")))
		}
	}
	return res, nil
}

func uninstallOnce(r Request) (Result, error) {
	c := r.Client
	res := Result{Client: c, Path: c.ConfigPath(r.Platform)}
	st, err := readConfig(res.Path)
	if err != nil {
		return res, err
	}
	if !st.exists {
		res.Notes = append(res.Notes, fmt.Sprintf("%s does not exist: there is nothing to remove.", res.Path))
		return res, nil
	}
	doc, err := parseDocument(res.Path, st.data, !c.Comments)
	if err != nil {
		return res, err
	}
	existing, err := findEntry(doc, c, res.Path, r.Name)
	if err != nil {
		return res, err
	}
	if existing == nil {
		res.Notes = append(res.Notes, fmt.Sprintf("%s has no %q entry: there is nothing to remove.", res.Path, r.Name))
		return res, nil
	}
	if !existing.RunsAgentphone(r.Executable) && !r.Force {
		return res, foreignEntryError(res.Path, existing, "remove")
	}
	res.KeyFile = existing.KeyFile
	servers, _, _ := doc.child(doc.rootObject(), c.ServersKey, res.Path)
	doc.remove(servers, r.Name)
	after := doc.bytes()
	res.Changed = true
	var scrub []string
	if existing.PlainKey {
		scrub = append(scrub, existing.plainKey.Reveal())
	}
	res.Diff = redactDiff(unifiedDiff(res.Path, res.Path+" (after uninstall)", st.data, after), scrub...)
	if r.DryRun {
		return res, nil
	}
	if res.Backup, err = st.backup(r.Now()); err != nil {
		return res, err
	}
	if err := st.write(after); err != nil {
		os.Remove(res.Backup)
		res.Backup = ""
		return res, err
	}
	if existing.PlainKey {
		res.Notes = append(res.Notes, fmt.Sprintf("The removed entry held the API key in plain text; so does the backup %s: delete it when you no longer need it.", res.Backup))
	}
	return res, nil
}

// KeyFileUsers lists the clients whose agentphone entry names keyFile.
func KeyFileUsers(p Platform, keyFile string) []string {
	var ids []string
	for _, c := range Clients() {
		s := Inspect(c, p, "")
		if s.Entry != nil && s.Entry.KeyFile == keyFile {
			ids = append(ids, c.ID)
		}
	}
	return ids
}
