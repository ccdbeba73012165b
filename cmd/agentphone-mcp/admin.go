package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/fsguard"
	"github.com/agentphone-mcp/agentphone-mcp/policy"
	"github.com/agentphone-mcp/agentphone-mcp/policy/audit"
	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
	"github.com/agentphone-mcp/agentphone-mcp/server"
	"github.com/agentphone-mcp/agentphone-mcp/store"
	"github.com/agentphone-mcp/agentphone-mcp/tools"
)

// cmdSandbox serves the simulated AgentPhone API alone, for clients other than this server.
func cmdSandbox(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	listen := fs.String("listen", "127.0.0.1:8787", "address to serve the simulated API on")
	replies := fs.Bool("auto-reply", true, "the simulated recipient answers each outbound SMS")
	external := fs.Bool("deliver-external", false, "POST webhook events to hosts other than this machine too (default: loopback only)")
	keysFile := fs.String("keys-file", "", "serve one isolated simulated account per API key in this file (a line: `key` or `name=key`); other keys get 401")
	if err := fs.Parse(args); err != nil {
		return err
	}
	accounts, err := sandboxAccounts(*keysFile)
	if err != nil {
		return err
	}
	for k := range accounts {
		e.learnSecrets(k)
	}
	logger := slog.New(slog.NewJSONHandler(e.stderr, nil))
	sb := sandbox.New(sandbox.Options{AutoReply: *replies, ReplyDelay: 4 * time.Second, Logger: logger, DeliverExternal: *external, Accounts: accounts})
	defer sb.Close()
	where := "webhook events go to loopback addresses only"
	if *external {
		where = "webhook events are POSTed to any host but link-local ones"
	}
	keys := "any non-empty bearer key works"
	if len(accounts) > 0 {
		keys = fmt.Sprintf("%d accounts, one per key in %s; other keys get 401", len(accounts), *keysFile)
	}
	fmt.Fprintf(e.stderr, "agentphone-mcp: simulated AgentPhone API at http://%s/v1 (%s; no call or text is real; %s)\n", *listen, keys, where)
	return sandbox.ListenAndServe(ctx, *listen, sb, logger)
}

// cmdTools prints every tool as a Markdown table (the README's tool table is generated from
// it); --toolsets prints the toolsets, --footprint the tools/list bytes per set and per tool.
func cmdTools(e env, args []string) error {
	fs := flag.NewFlagSet("tools", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	toolsets := fs.Bool("toolsets", false, "print the toolsets and how each is offered")
	footprint := fs.Bool("footprint", false, "print the bytes of tools/list per set and per tool")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"tools takes no arguments besides --toolsets or --footprint"}
	}
	switch {
	case *toolsets:
		fmt.Fprint(e.stdout, tools.ToolsetsMarkdown())
	case *footprint:
		fmt.Fprint(e.stdout, tools.FootprintMarkdown()+"\n"+tools.ToolBytesMarkdown())
	default:
		fmt.Fprint(e.stdout, tools.Markdown(tools.Catalog(&tools.Deps{})))
	}
	return nil
}

// cmdOptout manages the suppression list, which no tool can edit. Every change is an
// audit line, so that `state rebuild` restores it.
func cmdOptout(ctx context.Context, e env, args []string) error {
	cfg, rest, err := loadConfig(e, "optout", args)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	const use = "usage: agentphone-mcp optout list | add NUMBER [REASON] [--channel all|sms|call] | remove NUMBER [--channel all|sms|call]"
	if len(rest) == 0 {
		return usageError{use}
	}
	fs := flag.NewFlagSet("optout "+rest[0], flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	channel := fs.String("channel", "", "scope: all (calls and texts), sms or call; remove without it removes every scope")
	if err := fs.Parse(interleaved(rest[1:])); err != nil {
		return err
	}
	switch *channel {
	case "", store.ChannelAll, store.ChannelSMS, store.ChannelCall:
	default:
		return usageError{fmt.Sprintf("--channel %q: want all, sms or call", *channel)}
	}
	if err := fsguard.CheckStateDir(cfg.StateDir, store.FileName, store.LockFileName); err != nil {
		return err
	}
	st, log, err := openState(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	defer log.Close()
	oo := policy.NewOptOuts(st, log, cfg.DefaultRegion)
	pos := fs.Args()
	switch rest[0] {
	case "list":
		list, err := oo.List(ctx)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			fmt.Fprintln(e.stdout, "No opted-out numbers.")
			return nil
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NUMBER\tSCOPE\tSINCE\tSOURCE\tREASON")
		for _, o := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", o.E164, o.Scope(), o.At.Format(time.RFC3339), o.Source, o.Reason)
		}
		return tw.Flush()
	case "add", "remove":
		if len(pos) < 1 {
			return usageError{"optout " + rest[0] + " needs a phone number"}
		}
		if rest[0] == "add" {
			reason := ""
			if len(pos) > 1 {
				reason = strings.Join(pos[1:], " ")
			}
			n, err := oo.Add(ctx, pos[0], *channel, reason)
			if err != nil {
				return err
			}
			what := "calls and texts to it are denied"
			switch *channel {
			case store.ChannelSMS:
				what = "texts to it are denied"
			case store.ChannelCall:
				what = "calls to it are denied"
			}
			fmt.Fprintf(e.stdout, "%s is opted out: %s.\n", n, what)
			return nil
		}
		removed, err := oo.Remove(ctx, pos[0], *channel)
		if err != nil {
			return err
		}
		if !removed {
			fmt.Fprintf(e.stdout, "%s was not on the opt-out list%s.\n", pos[0], scopeNote(*channel))
			return nil
		}
		fmt.Fprintf(e.stdout, "%s removed from the opt-out list%s. Only contact it again with its owner's consent.\n", pos[0], scopeNote(*channel))
		return nil
	default:
		return usageError{fmt.Sprintf("unknown optout command %q; use list, add or remove", rest[0])}
	}
}

func scopeNote(channel string) string {
	if channel == "" {
		return ""
	}
	return " (scope " + channel + ")"
}

// interleaved moves flags after positional arguments to the front, so that
// "add +1415... reason --channel call" parses like "add --channel call +1415... reason".
func interleaved(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			flags = append(flags, a)
			if !strings.Contains(a, "=") && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}

// openState opens the state and audit log a server with cfg would use, refusing a missing
// or empty state file where the audit log shows history.
// With AGENTPHONE_REDIS_URL that is the shared state in Redis.
func openState(cfg server.Config) (store.Store, *audit.Log, error) {
	history, err := audit.HasHistory(cfg.AuditLog)
	if err != nil {
		return nil, nil, err
	}
	st, err := server.OpenStore(context.Background(), cfg, nil, history)
	if err != nil {
		return nil, nil, err
	}
	log, err := audit.Open(cfg.AuditLog, nil, audit.WithKeyFile(cfg.AuditKeyFile))
	if err != nil {
		_ = st.Close()
		return nil, nil, fmt.Errorf("open the audit log: %w", err)
	}
	return st, log, nil
}

// auditPath resolves the audit log of the audit subcommands: PATH, or the configured log
// (the sandbox's with --sandbox), and its key: AGENTPHONE_AUDIT_KEY_FILE, or the default
// beside the log.
func auditPath(e env, fs *flag.FlagSet, sandboxLog bool) (string, audit.Option, error) {
	if p := fs.Arg(0); p != "" {
		return p, audit.WithKeyFile(envKeyFile(e)), nil
	}
	cfg, err := server.ConfigFromEnv(e.environ)
	if err != nil {
		return "", nil, err
	}
	cfg.Sandbox = cfg.Sandbox || sandboxLog
	if err := cfg.Validate(); err != nil {
		return "", nil, err
	}
	return cfg.AuditLog, audit.WithKeyFile(cfg.AuditKeyFile), nil
}

// cmdAudit verifies the audit log's hash chain (or an export), repairs a torn last line,
// shows the lines, or exports several replicas' logs merged by time.
func cmdAudit(e env, args []string) error {
	const use = "usage: agentphone-mcp audit verify|repair|show [--sandbox] [--campaign ID] [PATH] | audit export [--sandbox] [--out FILE] [LOG...]"
	if len(args) == 0 || (args[0] != "verify" && args[0] != "repair" && args[0] != "show" && args[0] != "export") {
		return usageError{use}
	}
	fs := flag.NewFlagSet("audit "+args[0], flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	sandboxLog := fs.Bool("sandbox", false, "use the sandbox's audit log (<state dir>/sandbox/audit.jsonl)")
	campaignID := fs.String("campaign", "", "show: only the lines of this campaign (its approval and each of its sends)")
	out := fs.String("out", "", "export: write the export to FILE (written whole or not at all) instead of stdout")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if args[0] == "export" {
		return auditExport(e, fs, *sandboxLog, *out)
	}
	if fs.NArg() > 1 {
		return usageError{use}
	}
	path, key, err := auditPath(e, fs, *sandboxLog)
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no audit log at %s (nothing recorded yet? for the sandbox's log add --sandbox)", path)
	}
	if args[0] == "repair" {
		return auditRepair(e, path, key)
	}
	if args[0] == "show" {
		return auditShow(e, path, *campaignID, key)
	}
	if isExport, err := audit.IsExport(path); err != nil {
		return err
	} else if isExport {
		return auditVerifyExport(e, path)
	}
	rep, err := audit.Inspect(path, key)
	if err != nil {
		var ve *audit.VerifyError
		if errors.As(err, &ve) {
			return fmt.Errorf("%s: the chain is broken: %w", path, err)
		}
		return err
	}
	if rep.Torn != nil {
		fmt.Fprintf(e.stdout, "%s: %d lines verify, then line %d is torn: %d bytes without a newline (a write cut short, e.g. by a full disk).\n", path, rep.Lines, rep.Torn.Line, rep.Torn.Bytes)
		fmt.Fprintln(e.stdout, "Nothing is appended after a torn line. Run `agentphone-mcp audit repair` to move it aside.")
		return fmt.Errorf("%s: line %d is torn", path, rep.Torn.Line)
	}
	switch {
	case rep.Legacy == 0:
		fmt.Fprintf(e.stdout, "%s: %d lines, hash chain intact: keyed, and matching its anchor.\n", path, rep.Lines)
	case rep.Legacy == rep.Lines:
		fmt.Fprintf(e.stdout, "%s: %d lines, hash chain intact but legacy (unkeyed): written before the chain was keyed, so it proves order, not authorship; the next line is keyed.\n", path, rep.Lines)
	default:
		fmt.Fprintf(e.stdout, "%s: %d lines, hash chain intact and matching its anchor: lines 1-%d are legacy (unkeyed, written before the chain was keyed), lines %d-%d keyed.\n", path, rep.Lines, rep.Legacy, rep.Legacy+1, rep.Lines)
	}
	if len(rep.Open) == 0 {
		fmt.Fprintln(e.stdout, "Every send intent has its outcome.")
		return nil
	}
	fmt.Fprintf(e.stdout, "%d send intents have no outcome yet (in flight now, or left by a process that ended mid-send: its next start records them as unknown, counted as sent):\n", len(rep.Open))
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LINE\tTIME\tLEDGER\tTOOL\tTARGET")
	for _, o := range rep.Open {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", o.Seq, o.TS.Format(time.RFC3339), o.Ledger, o.Tool, o.Target)
	}
	return tw.Flush()
}

// envKeyFile is AGENTPHONE_AUDIT_KEY_FILE from the environment ("" when unset).
func envKeyFile(e env) string {
	keyFile := ""
	for _, kv := range e.environ {
		if v, ok := strings.CutPrefix(kv, "AGENTPHONE_AUDIT_KEY_FILE="); ok {
			keyFile = v
		}
	}
	return keyFile
}

// auditExport verifies every log named (the configured one when none is) and writes them
// as one JSON Lines export merged by time; a log that fails verification stops it before
// anything is written.
func auditExport(e env, fs *flag.FlagSet, sandboxLog bool, out string) error {
	paths := fs.Args()
	key := audit.WithKeyFile(envKeyFile(e))
	if len(paths) == 0 {
		p, k, err := auditPath(e, fs, sandboxLog)
		if err != nil {
			return err
		}
		paths, key = []string{p}, k
	}
	var chains []*audit.Chain
	total := 0
	for _, p := range paths {
		c, err := audit.ReadChain(p, key)
		if err != nil {
			var ve *audit.VerifyError
			if errors.As(err, &ve) {
				return fmt.Errorf("nothing exported: %s does not verify: %w", p, err)
			}
			return fmt.Errorf("nothing exported: %w", err)
		}
		chains = append(chains, c)
		total += len(c.Lines)
	}
	if out == "" {
		if _, err := audit.Export(e.stdout, chains); err != nil {
			return err
		}
	} else if err := writeWhole(out, func(w io.Writer) error { _, err := audit.Export(w, chains); return err }); err != nil {
		return fmt.Errorf("write the export %s: %w", out, err)
	}
	where := "stdout"
	if out != "" {
		where = out
	}
	fmt.Fprintf(e.stderr, "agentphone-mcp: exported %d lines from %d audit logs to %s, merged by time; each chain verified:\n", total, len(chains), where)
	for _, c := range chains {
		fmt.Fprintf(e.stderr, "  %s: %d lines\n", c.Source, len(c.Lines))
	}
	return nil
}

// writeWhole writes a file (mode 0600) through a temporary file in its folder renamed into
// place, so it is written whole or not at all.
func writeWhole(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".agentphone-export-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = write(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// auditVerifyExport verifies an export made by audit export, each chain with its key
// (AGENTPHONE_AUDIT_KEY_FILE, or the default key beside the chain's source log).
func auditVerifyExport(e env, path string) error {
	keyFile := envKeyFile(e)
	rep, err := audit.VerifyExport(path, func(string) []audit.Option { return []audit.Option{audit.WithKeyFile(keyFile)} })
	if err != nil {
		var ve *audit.VerifyError
		if errors.As(err, &ve) {
			return fmt.Errorf("%s: the export does not verify: %w", path, err)
		}
		return err
	}
	fmt.Fprintf(e.stdout, "%s: export of %d chains, %d lines: every chain intact (keyed, complete to its head) and merged in time order.\n", path, len(rep.Chains), rep.Lines)
	for _, c := range rep.Chains {
		fmt.Fprintf(e.stdout, "  %s: %d lines, %d send intents without an outcome\n", c.Source, c.Lines, c.Open)
	}
	return nil
}

// auditShow prints the audit log's lines (JSON, one a line), only those of campaign when
// it is set: the lines carrying its id, and the create_campaign previews of its plan (a
// preview comes before the campaign has an id; its plan_hash detail names the plan).
func auditShow(e env, path, campaign string, key audit.Option) error {
	plans := map[string]bool{}
	if campaign != "" {
		if _, err := audit.Scan(path, func(l audit.Entry) error {
			if h := l.Details["plan_hash"]; l.Campaign == campaign && h != "" {
				plans[h] = true
			}
			return nil
		}, key); err != nil {
			return err
		}
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	_, err := audit.Scan(path, func(l audit.Entry) error {
		preview := l.Tool == "create_campaign" && l.Campaign == "" && plans[l.Details["plan_hash"]]
		if campaign != "" && l.Campaign != campaign && !preview {
			return nil
		}
		return enc.Encode(l)
	}, key)
	return err
}

// auditRepair says what it will do with a torn last line, then does it.
func auditRepair(e env, path string, key audit.Option) error {
	torn, err := audit.FindTorn(path, key)
	if err != nil {
		return fmt.Errorf("%s: %w; repair only moves a torn last line aside", path, err)
	}
	if torn == nil {
		fmt.Fprintf(e.stdout, "%s: no torn line; nothing to repair.\n", path)
		return nil
	}
	fmt.Fprintf(e.stdout, "%s: line %d is torn (%d bytes without a newline). Moving it to a file beside the log and cutting the log back to line %d.\n", path, torn.Line, torn.Bytes, torn.Line-1)
	rep, err := audit.Repair(path, time.Now(), key)
	if err != nil {
		return err
	}
	if rep == nil {
		fmt.Fprintln(e.stdout, "The torn line is gone already (another process repaired it); nothing done.")
		return nil
	}
	fmt.Fprintf(e.stdout, "Moved %d bytes to %s. The log ends at line %d and verifies; new lines chain onto it.\n", rep.Torn.Bytes, rep.Moved, rep.Torn.Line-1)
	return nil
}

// cmdState administers the state file: rebuild it from the audit log.
func cmdState(ctx context.Context, e env, args []string) error {
	const use = "usage: agentphone-mcp state rebuild [--sandbox] [--state-dir DIR]"
	if len(args) == 0 || args[0] != "rebuild" {
		return usageError{use}
	}
	cfg, rest, err := loadConfig(e, "state rebuild", args[1:])
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{use}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.RedisURL != "" {
		return errors.New("state rebuild rebuilds the state file, but AGENTPHONE_REDIS_URL puts the state in Redis, which it does not rebuild; " +
			"restore Redis from its own persistence (appendonly file or snapshot), or unset AGENTPHONE_REDIS_URL to rebuild a local state file")
	}
	dir := server.StoreDir(cfg)
	live, err := store.LiveOwners(dir)
	if err != nil {
		return err
	}
	if len(live) > 0 {
		return fmt.Errorf("%d agentphone-mcp processes are using %s (owners %s): stop them all (quit the MCP clients that run them), then run state rebuild again", len(live), dir, strings.Join(live, ", "))
	}
	if _, err := os.Stat(cfg.AuditLog); err != nil {
		return fmt.Errorf("no audit log to rebuild from at %s: %w", cfg.AuditLog, err)
	}
	keyOpt := audit.WithKeyFile(cfg.AuditKeyFile)
	if torn, err := audit.FindTorn(cfg.AuditLog, keyOpt); err != nil {
		return fmt.Errorf("the audit log does not verify, so the state cannot be rebuilt from it: %w", err)
	} else if torn != nil {
		return fmt.Errorf("the audit log's line %d is torn (a write cut short): run `agentphone-mcp audit repair` first, then state rebuild", torn.Line)
	}
	db := filepath.Join(dir, store.FileName)
	stamp := time.Now().UTC().Format("20060102T150405Z")
	if _, err := os.Stat(db); err == nil {
		aside := db + ".before-rebuild-" + stamp
		if err := os.Rename(db, aside); err != nil {
			return fmt.Errorf("move %s aside: %w", db, err)
		}
		fmt.Fprintf(e.stdout, "Moved the old state file to %s.\n", aside)
	}
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	log, err := audit.Open(cfg.AuditLog, nil, keyOpt)
	if err != nil {
		return fmt.Errorf("open the audit log: %w", err)
	}
	defer log.Close()
	rep, err := policy.Rebuild(ctx, st, cfg.AuditLog, log, time.Now(), keyOpt)
	if err != nil {
		return fmt.Errorf("%w (the partial state is in %s; fix the cause and run state rebuild again)", err, db)
	}
	fmt.Fprintf(e.stdout, "Rebuilt %s from %d audit lines: %d opt-outs, %d known recipients, %d ledger entries (cap windows and duplicate checks), %d unexpired confirmation tokens marked used.\n",
		db, rep.Lines, rep.OptOuts, rep.Known, rep.Entries, rep.Nonces)
	if len(rep.Unknown) > 0 {
		fmt.Fprintf(e.stdout, "%d sends had an intent but no outcome: they are now unknown (counted as sent) and the audit log says so.\n", len(rep.Unknown))
	}
	return nil
}

// cmdWebhookSecret prints the webhook signing secret for the operator. No tool shows it to
// the model.
func cmdWebhookSecret(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("webhook-secret", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	agentID := fs.String("agent", "", "print this agent's webhook secret instead of the project's")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := server.ConfigFromEnv(e.environ)
	if err != nil {
		return err
	}
	api, err := operatorAPI(e, cfg, "to read the webhook secret from AgentPhone")
	if err != nil {
		return err
	}
	var wh *apiclient.Webhook
	if *agentID != "" {
		wh, err = api.GetAgentWebhook(ctx, *agentID)
	} else {
		wh, err = api.GetWebhook(ctx)
	}
	if err != nil {
		return fmt.Errorf("read the webhook: %w", err)
	}
	if wh == nil {
		return errors.New("no webhook is configured")
	}
	fmt.Fprintln(e.stdout, wh.Secret)
	return nil
}

// operatorAPI is the AgentPhone client an operator command uses: the key from the environment
// or the key file (told to the stderr guard at once), attached by the key guard only for the
// configured API host. why completes "set AGENTPHONE_API_KEY ..." when no key is set.
func operatorAPI(e env, cfg server.Config, why string) (*apiclient.Client, error) {
	secrets, err := server.LoadSecrets(e.environ, cfg)
	if err != nil {
		return nil, err
	}
	e.learnSecrets(secrets.APIKey.Reveal(), secrets.WebhookSecret.Reveal(), secrets.HTTPToken.Reveal())
	if secrets.APIKey.IsZero() {
		return nil, errors.New("set " + server.EnvAPIKey + " " + why)
	}
	ep, err := keyguard.ParseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	return apiclient.New(apiclient.Options{BaseURL: ep.BaseURL, HTTPClient: keyguard.NewHTTPClient(ep, secrets.APIKey, nil)})
}

// sandboxAccounts reads the standalone sandbox's --keys-file: one account per non-empty
// line, `key` or `name=key` (lines starting with # are comments). Keys are read from a file,
// never taken on the command line (argv is readable by every user of the machine).
func sandboxAccounts(path string) (map[string]string, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--keys-file: %w", err)
	}
	out := map[string]string{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, key, found := strings.Cut(line, "=")
		if !found {
			name, key = fmt.Sprintf("account-%d", len(out)+1), line
		}
		name, key = strings.TrimSpace(name), strings.TrimSpace(key)
		if key == "" || strings.ContainsAny(key, " \t") {
			return nil, fmt.Errorf("--keys-file %s line %d: a key must be one token (`key` or `name=key`)", path, i+1)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("--keys-file %s line %d: the key is listed twice", path, i+1)
		}
		out[key] = name
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--keys-file %s lists no key", path)
	}
	return out, nil
}
