package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy"
	"github.com/agentphone-mcp/agentphone-mcp/policy/phone"
	"github.com/agentphone-mcp/agentphone-mcp/policy/text"
	"github.com/agentphone-mcp/agentphone-mcp/server"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// maxImportRows bounds one contacts import.
const maxImportRows = 10000

// importRow is one CSV row the import will write.
type importRow struct {
	line       int
	name, e164 string
	raw        string
	skip, why  string // a refusal: rule and reason
}

// cmdContacts is the operator's contact book: `contacts import FILE.csv` adds contacts that
// vouch for their numbers (the operator wrote them, not a tool), so that campaigns and sends
// reach them without a first_contact confirmation.
func cmdContacts(ctx context.Context, e env, args []string) error {
	const use = "usage: agentphone-mcp contacts import [--phone-column NAME] [--name-column NAME] [--yes] FILE.csv"
	if len(args) == 0 || args[0] != "import" {
		return usageError{use}
	}
	fs := flag.NewFlagSet("contacts import", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	phoneCol := fs.String("phone-column", "", "the column holding the phone number (default: phone, phone_number, number or mobile)")
	nameCol := fs.String("name-column", "", "the column holding the name (default: name, or first_name + last_name)")
	yes := fs.Bool("yes", false, "write the contacts (without it, only show what would be imported and refused)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{use}
	}
	cfg, err := server.ConfigFromEnv(e.environ)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.Sandbox {
		return errors.New("the sandbox lives inside a running server, so there is nothing to import into; import into the real account (AGENTPHONE_API_KEY), or use create_contact in the sandbox")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := readContactsCSV(f, *phoneCol, *nameCol, cfg.DefaultRegion)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	api, err := operatorAPI(e, cfg, "(contacts are written to the AgentPhone account)")
	if err != nil {
		return err
	}
	if err := markExisting(ctx, api, cfg, rows); err != nil {
		return err
	}

	var ok, refused []*importRow
	for i := range rows {
		if rows[i].skip == "" {
			ok = append(ok, &rows[i])
		} else {
			refused = append(refused, &rows[i])
		}
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%d contacts to import:\n", len(ok))
	if len(ok) > 0 {
		fmt.Fprintln(tw, "LINE\tNUMBER\tNAME")
		for _, r := range ok {
			fmt.Fprintf(tw, "%d\t%s\t%s\n", r.line, r.e164, r.name)
		}
	}
	fmt.Fprintf(tw, "%d rows refused:\n", len(refused))
	if len(refused) > 0 {
		fmt.Fprintln(tw, "LINE\tVALUE\tRULE\tREASON")
		for _, r := range refused {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", r.line, text.Sanitize(r.raw, 40), r.skip, r.why)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !*yes {
		fmt.Fprintln(e.stdout, "Nothing was written. Run again with --yes to import the contacts above.")
		return nil
	}
	created := 0
	for _, r := range ok {
		if _, err := api.CreateContact(ctx, apiclient.CreateContactRequest{PhoneNumber: r.e164, Name: r.name, Notes: "imported by the operator (agentphone-mcp contacts import)"}); err != nil {
			fmt.Fprintf(e.stdout, "Imported %d of %d; line %d (%s) failed: %v\n", created, len(ok), r.line, r.e164, err)
			return fmt.Errorf("import stopped at line %d: %w", r.line, err)
		}
		created++
	}
	fmt.Fprintf(e.stdout, "Imported %d contacts. They vouch for their numbers: sends and campaigns reach them without a first_contact confirmation.\n", created)
	return nil
}

// readContactsCSV reads the rows, normalising numbers and refusing invalid ones, emergency
// and other never-dialled numbers, and duplicates.
func readContactsCSV(r io.Reader, phoneCol, nameCol, region string) ([]importRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read the header row: %w", err)
	}
	if len(header) > 0 {
		// Excel's "CSV UTF-8" starts with a byte order mark: it is not part of the first name.
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	col := func(want string, defaults ...string) int {
		names := defaults
		if want != "" {
			names = []string{want}
		}
		for i, h := range header {
			if slices.Contains(names, strings.ToLower(strings.TrimSpace(h))) {
				return i
			}
		}
		return -1
	}
	pi := col(strings.ToLower(phoneCol), "phone", "phone_number", "number", "mobile")
	if pi < 0 {
		return nil, fmt.Errorf("no phone column in the header %q; name it with --phone-column", header)
	}
	ni, fi, li := col(strings.ToLower(nameCol), "name", "full_name"), col("", "first_name"), col("", "last_name")
	if nameCol != "" && ni < 0 {
		return nil, fmt.Errorf("no column %q in the header %q", nameCol, header)
	}
	field := func(rec []string, i int) string {
		if i < 0 || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	var rows []importRow
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w", err) // a *csv.ParseError names its line
		}
		if len(rows) == maxImportRows {
			return nil, fmt.Errorf("more than %d rows; split the file", maxImportRows)
		}
		line, _ := cr.FieldPos(0) // the file's line, also after a quoted field across lines
		row := importRow{line: line, raw: field(rec, pi), name: field(rec, ni)}
		if row.name == "" {
			row.name = strings.TrimSpace(field(rec, fi) + " " + field(rec, li))
		}
		n, err := phone.Normalize(row.raw, region)
		var pe *phone.Error
		switch {
		case unsafeCell(row.raw) != "":
			row.skip, row.why = unsafeCellRule(row.raw), unsafeCell(row.raw)
		case unsafeCell(row.name) != "":
			row.skip, row.why = unsafeCellRule(row.name), unsafeCell(row.name)
		case errors.As(err, &pe):
			row.skip, row.why = pe.Rule, pe.Reason
		case err != nil:
			row.skip, row.why = "invalid_number", err.Error()
		case neverDialled(&n) != "":
			row.e164 = n.E164
			row.skip, row.why = policy.NeverDialled(&n)
		case seen[n.E164] != 0:
			row.e164, row.skip, row.why = n.E164, "duplicate", fmt.Sprintf("the same number as line %d", seen[n.E164])
		default:
			row.e164 = n.E164
			seen[n.E164] = line
			if row.name == "" {
				row.name = n.E164
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// neverDialled is the rule for which n is never dialled ("" when none): see
// policy.NeverDialled.
func neverDialled(n *phone.Number) string {
	rule, _ := policy.NeverDialled(n)
	return rule
}

// Rules of the import's refusals of a cell's text (beyond the number's own rules).
const (
	ruleFormula    = "formula"     // a spreadsheet would run it (CSV injection)
	ruleUnsafeText = "unsafe_text" // control, hidden or bidi characters, or a line break
)

// unsafeCell says why a cell's text may not be imported ("" when it may): a spreadsheet
// formula (=, +, -, @ first: the contact's name comes back in exports and opens as a
// command), or characters that are not text (terminal escapes, bidi overrides, zero-width
// or control characters, a line break) that would be stored, shown to the operator and
// texted as {{name}}. A number may start with + (it is checked as a number).
func unsafeCell(s string) string {
	if s == "" {
		return ""
	}
	if strings.ContainsAny(s[:1], "=@") || (strings.ContainsAny(s[:1], "+-") && !phoneLike(s)) {
		return "it starts with " + strconv.Quote(s[:1]) + ", which a spreadsheet runs as a formula (CSV injection); write the cell as plain text"
	}
	if text.Sanitize(s, 0) != s || strings.ContainsAny(s, "\n\t") {
		return "it holds control, hidden or direction-changing characters or a line break; retype the cell as plain text"
	}
	return ""
}

// unsafeCellRule is the rule id of unsafeCell's refusal of s.
func unsafeCellRule(s string) string {
	if strings.ContainsAny(s[:1], "=@+-") && !phoneLike(s) {
		return ruleFormula
	}
	return ruleUnsafeText
}

// phoneLike reports whether s has only the characters a written phone number has.
func phoneLike(s string) bool {
	return strings.Trim(s, "+0123456789 ()-./") == ""
}

// markExisting refuses rows whose number is already a contact, and numbers a tool once
// wrote as a contact: such a number never vouches (the model may have written it), so only
// the policy file's allowlist can vouch for it.
func markExisting(ctx context.Context, api *apiclient.Client, cfg server.Config, rows []importRow) error {
	var nums []string
	for _, r := range rows {
		if r.skip == "" {
			nums = append(nums, r.e164)
		}
	}
	if len(nums) == 0 {
		return nil
	}
	st, log, err := openState(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	defer log.Close()
	facts, err := st.Facts(ctx, store.FactQuery{Known: nums})
	if err != nil {
		return fmt.Errorf("read the policy state: %w", err)
	}
	for i := range rows {
		r := &rows[i]
		if r.skip != "" {
			continue
		}
		if facts.Known[r.e164].ToolContact {
			r.skip, r.why = "tool_contact", "a tool once wrote a contact with this number, so a contact never vouches for it; add it to the policy file's allowlist instead"
			continue
		}
		page, err := api.ListContacts(ctx, apiclient.ListContactsParams{Search: r.e164, Limit: 10})
		if err != nil {
			return fmt.Errorf("look up existing contacts: %w", err)
		}
		for _, c := range page.Data {
			if c.PhoneNumber == r.e164 {
				r.skip, r.why = "already_a_contact", "contact "+c.ID+" has this number"
			}
		}
	}
	return nil
}
