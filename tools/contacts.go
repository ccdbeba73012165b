package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy"
	"github.com/agentphone-mcp/agentphone-mcp/policy/phone"
)

// contactTools is the contacts toolset, in tools/list order (reads first). This list is
// the one place a tool's toolset is written.
func contactTools(d *Deps) []Tool {
	return members(ToolsetContacts,
		listContactsTool(d), getContactTool(d), getCapabilitiesTool(d), createContactTool(d), updateContactTool(d), deleteContactTool(d))
}

// contactView is a contact as tools return it: name, email and notes are third-party text.
func contactView(ct *apiclient.Contact) map[string]any {
	v := map[string]any{"id": ct.ID, "phone_number": ct.PhoneNumber, "name": untrusted(ct.Name, maxName),
		"created_at": ct.CreatedAt, "updated_at": ct.UpdatedAt}
	if ct.Email != "" {
		v["email"] = untrusted(ct.Email, maxName)
	}
	if ct.Notes != "" {
		v["notes"] = untrusted(ct.Notes, maxNotes)
	}
	return v
}

func contactLine(ct *apiclient.Contact) string {
	line := fmt.Sprintf("%s %s %q", ct.ID, ct.PhoneNumber, untrusted(ct.Name, maxName))
	if ct.Email != "" {
		line += " " + untrusted(ct.Email, maxName)
	}
	return line
}

type listContactsArgs struct {
	Search string `json:"search,omitempty"`
	pageArgs
}

func listContactsTool(d *Deps) Tool {
	return define(d, spec{
		name: "list_contacts", title: "List contacts", effect: reads,
		desc: "List or search contacts.",
	}, func(ctx context.Context, c *call, args listContactsArgs) *mcp.CallToolResult {
		if msg := args.check(); msg != "" {
			return invalidArgs(c.tool, msg)
		}
		page, err := d.API.ListContacts(ctx, apiclient.ListContactsParams{Limit: args.Limit, Offset: args.Offset, Search: args.Search})
		if err != nil {
			return apiFailure(c.tool, err, "")
		}
		l := list{noun: "contacts", hasMore: page.HasMore || morePages(page.Total, args.Offset, len(page.Data)), offset: args.Offset, untrusted: true}
		for i := range page.Data {
			l.lines = append(l.lines, contactLine(&page.Data[i]))
			l.items = append(l.items, contactView(&page.Data[i]))
		}
		return l.result()
	})
}

type contactIDArgs struct {
	ContactID string `json:"contact_id"`
}

func getContactTool(d *Deps) Tool {
	return define(d, spec{
		name: "get_contact", title: "Get contact", effect: reads,
		desc: "A contact by id.",
	}, func(ctx context.Context, c *call, args contactIDArgs) *mcp.CallToolResult {
		if msg := requireID("contact_id", args.ContactID, "list_contacts"); msg != "" {
			return invalidArgs(c.tool, msg)
		}
		ct, err := d.API.GetContact(ctx, args.ContactID)
		if err != nil {
			return apiFailure(c.tool, err, "list_contacts")
		}
		return okResult(contactText("Contact", ct), withNotice(contactView(ct)))
	})
}

func contactText(prefix string, ct *apiclient.Contact) string {
	text := prefix + " " + contactLine(ct)
	if ct.Notes != "" {
		text += fmt.Sprintf("\nNotes: %q", untrusted(ct.Notes, maxNotes))
	}
	return text + "\n" + UntrustedNotice
}

func withNotice(v map[string]any) map[string]any {
	v["notice"] = UntrustedNotice
	return v
}

// validEmail is a light check: the API validates properly; this catches swapped arguments.
func validEmail(s string) bool {
	at := strings.LastIndex(s, "@")
	return at > 0 && at < len(s)-1 && !strings.ContainsAny(s, " \t\n")
}

type createContactArgs struct {
	PhoneNumber string `json:"phone_number"`
	Name        string `json:"name"`
	Email       string `json:"email,omitempty"`
	Notes       string `json:"notes,omitempty"`
}

func createContactTool(d *Deps) Tool {
	return define(d, spec{
		name: "create_contact", title: "Create contact", effect: creates,
		desc: "Add a contact.",
	}, func(ctx context.Context, c *call, args createContactArgs) *mcp.CallToolResult {
		if strings.TrimSpace(args.PhoneNumber) == "" {
			return invalidArgs(c.tool, "phone_number is required")
		}
		if strings.TrimSpace(args.Name) == "" {
			return invalidArgs(c.tool, "name is required")
		}
		if args.Email != "" && !validEmail(args.Email) {
			return invalidArgs(c.tool, fmt.Sprintf("email %q is not an email address", truncate(args.Email, 60)))
		}
		action := policy.Action{Kind: policy.KindContactWrite, To: args.PhoneNumber, Args: canonicalArgs(c),
			Texts: nonEmpty(args.Name, args.Email, args.Notes), Details: map[string]string{"name": args.Name}}
		return d.gate(ctx, c, action, "", func(ctx context.Context) outcome {
			ct, err := d.API.CreateContact(ctx, apiclient.CreateContactRequest{
				PhoneNumber: d.e164(args.PhoneNumber), Name: strings.TrimSpace(args.Name), Email: args.Email, Notes: args.Notes,
			})
			if err != nil {
				return outcome{result: apiFailure(c.tool, err, "list_contacts"), err: err}
			}
			return outcome{result: okResult(contactText("Created contact", ct), withNotice(contactView(ct))), apiID: ct.ID, apiStatus: "created"}
		})
	})
}

type updateContactArgs struct {
	ContactID   string  `json:"contact_id"`
	PhoneNumber *string `json:"phone_number,omitempty"`
	Name        *string `json:"name,omitempty"`
	Email       *string `json:"email,omitempty"`
	Notes       *string `json:"notes,omitempty"`
}

func updateContactTool(d *Deps) Tool {
	return define(d, spec{
		name: "update_contact", title: "Update contact", effect: replaces,
		desc: "Change a contact.",
	}, func(ctx context.Context, c *call, args updateContactArgs) *mcp.CallToolResult {
		if msg := requireID("contact_id", args.ContactID, "list_contacts"); msg != "" {
			return invalidArgs(c.tool, msg)
		}
		if args.PhoneNumber == nil && args.Name == nil && args.Email == nil && args.Notes == nil {
			return invalidArgs(c.tool, "give at least one of phone_number, name, email, notes")
		}
		if args.PhoneNumber != nil && strings.TrimSpace(*args.PhoneNumber) == "" {
			return invalidArgs(c.tool, "phone_number cannot be empty")
		}
		if args.Name != nil && strings.TrimSpace(*args.Name) == "" {
			return invalidArgs(c.tool, "name cannot be empty")
		}
		if args.Email != nil && *args.Email != "" && !validEmail(*args.Email) {
			return invalidArgs(c.tool, fmt.Sprintf("email %q is not an email address", truncate(*args.Email, 60)))
		}
		action := policy.Action{Kind: policy.KindContactWrite, Args: canonicalArgs(c), Details: map[string]string{"contact_id": args.ContactID}}
		for _, p := range []*string{args.Name, args.Email, args.Notes} {
			if p != nil && *p != "" {
				action.Texts = append(action.Texts, *p)
			}
		}
		req := apiclient.UpdateContactRequest{Name: args.Name, Email: args.Email, Notes: args.Notes}
		if args.PhoneNumber != nil {
			action.To = *args.PhoneNumber
			req.PhoneNumber = d.e164Ptr(args.PhoneNumber)
		}
		return d.gate(ctx, c, action, "", func(ctx context.Context) outcome {
			ct, err := d.API.UpdateContact(ctx, args.ContactID, req)
			if err != nil {
				return outcome{result: apiFailure(c.tool, err, "list_contacts"), err: err}
			}
			return outcome{result: okResult(contactText("Updated contact", ct), withNotice(contactView(ct))), apiID: ct.ID, apiStatus: "updated"}
		})
	})
}

type deleteContactArgs struct {
	ContactID         string `json:"contact_id"`
	ConfirmationToken string `json:"confirmation_token,omitempty"`
}

func deleteContactTool(d *Deps) Tool {
	return define(d, spec{
		name: "delete_contact", title: "Delete contact", effect: destroys,
		desc: "Cannot be undone.",
	}, func(ctx context.Context, c *call, args deleteContactArgs) *mcp.CallToolResult {
		if msg := requireID("contact_id", args.ContactID, "list_contacts"); msg != "" {
			return invalidArgs(c.tool, msg)
		}
		ct, err := d.API.GetContact(ctx, args.ContactID)
		if err != nil {
			return apiFailure(c.tool, err, "list_contacts")
		}
		action := policy.Action{Kind: policy.KindDeleteContact, Args: canonicalArgs(c),
			Details: map[string]string{"contact_id": ct.ID, "contact": fmt.Sprintf("%s %s", untrusted(ct.Name, maxName), ct.PhoneNumber)}}
		return d.gate(ctx, c, action, args.ConfirmationToken, func(ctx context.Context) outcome {
			if err := d.API.DeleteContact(ctx, args.ContactID); err != nil {
				return outcome{result: apiFailure(c.tool, err, "list_contacts"), err: err}
			}
			return outcome{result: okResult(fmt.Sprintf("Deleted contact %s (%s).", ct.ID, ct.PhoneNumber),
				map[string]any{"id": ct.ID, "deleted": true, "phone_number": ct.PhoneNumber}), apiID: ct.ID, apiStatus: "deleted"}
		})
	})
}

// nonEmpty returns the non-empty strings of vs.
func nonEmpty(vs ...string) []string {
	var out []string
	for _, v := range vs {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

type capabilitiesArgs struct {
	PhoneNumber string `json:"phone_number"`
}

// getCapabilitiesTool asks AgentPhone, live, which channels reach a number
// (GET /v1/contacts/capabilities), so the model can pick iMessage or SMS.
func getCapabilitiesTool(d *Deps) Tool {
	return define(d, spec{
		name: "get_capabilities", title: "Check iMessage", effect: reads,
		desc: "Can a number get iMessage, or only SMS?",
	}, func(ctx context.Context, c *call, args capabilitiesArgs) *mcp.CallToolResult {
		if strings.TrimSpace(args.PhoneNumber) == "" {
			return invalidArgs(c.tool, "phone_number is required")
		}
		n, err := phone.Normalize(args.PhoneNumber, d.DefaultRegion)
		if err != nil {
			return invalidArgs(c.tool, fmt.Sprintf("phone_number: %v", err))
		}
		cp, err := d.API.ContactCapabilities(ctx, n.E164)
		if err != nil {
			return apiFailure(c.tool, err, "list_numbers")
		}
		im, sms := cp.Capabilities.IMessage, cp.Capabilities.SMS
		channel, text := "none", "can get neither iMessage nor SMS"
		switch {
		case im && sms:
			channel, text = "imessage", "can get iMessage (send_style effects and threaded replies work) and SMS"
		case im:
			channel, text = "imessage", "can get iMessage only"
		case sms:
			channel, text = "sms", "can get SMS only: send_style effects are dropped and replies are not threaded"
		}
		view := map[string]any{"phone_number": n.E164, "imessage": im, "sms": sms, "channel": channel, "checked_at": cp.CheckedAt}
		return okResult(fmt.Sprintf("%s %s (checked %s).", n.E164, text, when(cp.CheckedAt)), view)
	})
}
