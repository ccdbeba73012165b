package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/fsguard"
	"github.com/agentphone-mcp/agentphone-mcp/policy/audit"
	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
	"github.com/agentphone-mcp/agentphone-mcp/policy/phone"
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
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(e.stderr, nil))
	sb := sandbox.New(sandbox.Options{AutoReply: *replies, ReplyDelay: 4 * time.Second, Logger: logger, DeliverExternal: *external})
	defer sb.Close()
	where := "webhook events go to loopback addresses only"
	if *external {
		where = "webhook events are POSTed to any host but link-local ones"
	}
	fmt.Fprintf(e.stderr, "agentphone-mcp: simulated AgentPhone API at http://%s/v1 (any non-empty bearer key works; no call or text is real; %s)\n", *listen, where)
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

// cmdOptout manages the suppression list, which no tool can edit.
func cmdOptout(ctx context.Context, e env, args []string) error {
	cfg, rest, err := loadConfig(e, "optout", args)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if len(rest) == 0 {
		return usageError{"usage: agentphone-mcp optout list | add NUMBER [REASON] | remove NUMBER"}
	}
	if err := fsguard.CheckStateDir(cfg.StateDir, store.FileName, store.LockFileName); err != nil {
		return err
	}
	st, err := store.Open(cfg.StateDir, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	switch rest[0] {
	case "list":
		list, err := st.ListOptOuts(ctx)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			fmt.Fprintln(e.stdout, "No opted-out numbers.")
			return nil
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NUMBER\tCHANNEL\tSINCE\tREASON")
		for _, o := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.E164, o.Channel, o.At.Format(time.RFC3339), o.Reason)
		}
		return tw.Flush()
	case "add", "remove":
		if len(rest) < 2 {
			return usageError{"optout " + rest[0] + " needs a phone number"}
		}
		n, err := phone.Normalize(rest[1], cfg.DefaultRegion)
		if err != nil {
			return err
		}
		if rest[0] == "add" {
			reason := "added by the operator"
			if len(rest) > 2 {
				reason = rest[2]
			}
			if err := st.AddOptOut(ctx, n.E164, reason, time.Now()); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s is opted out: calls and texts to it are denied.\n", n.E164)
			return nil
		}
		removed, err := st.RemoveOptOut(ctx, n.E164)
		if err != nil {
			return err
		}
		if !removed {
			fmt.Fprintf(e.stdout, "%s was not on the opt-out list.\n", n.E164)
			return nil
		}
		fmt.Fprintf(e.stdout, "%s removed from the opt-out list. Only contact it again with its owner's consent.\n", n.E164)
		return nil
	default:
		return usageError{fmt.Sprintf("unknown optout command %q; use list, add or remove", rest[0])}
	}
}

// cmdAudit verifies the audit log's hash chain.
func cmdAudit(e env, args []string) error {
	if len(args) == 0 || args[0] != "verify" {
		return usageError{"usage: agentphone-mcp audit verify [--sandbox] [PATH]"}
	}
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	sandboxLog := fs.Bool("sandbox", false, "verify the sandbox's audit log (<state dir>/sandbox/audit.jsonl)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	path := fs.Arg(0)
	if path == "" {
		cfg, err := server.ConfigFromEnv(e.environ)
		if err != nil {
			return err
		}
		cfg.Sandbox = cfg.Sandbox || *sandboxLog
		if err := cfg.Validate(); err != nil {
			return err
		}
		path = cfg.AuditLog
	}
	n, err := audit.Verify(path)
	if err != nil {
		var ve *audit.VerifyError
		if errors.As(err, &ve) {
			return fmt.Errorf("%s: the chain is broken: %w", path, err)
		}
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no audit log at %s (nothing recorded yet? for the sandbox's log add --sandbox)", path)
		}
		return err
	}
	fmt.Fprintf(e.stdout, "%s: %d lines, hash chain intact.\n", path, n)
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
	secrets, err := server.LoadSecrets(e.environ, cfg)
	if err != nil {
		return err
	}
	e.learnSecrets(secrets.APIKey.Reveal(), secrets.WebhookSecret.Reveal(), secrets.HTTPToken.Reveal())
	if secrets.APIKey.IsZero() {
		return errors.New("set " + server.EnvAPIKey + " to read the webhook secret from AgentPhone")
	}
	ep, err := keyguard.ParseBaseURL(cfg.BaseURL)
	if err != nil {
		return err
	}
	api, err := apiclient.New(apiclient.Options{BaseURL: ep.BaseURL, HTTPClient: keyguard.NewHTTPClient(ep, secrets.APIKey, nil)})
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
