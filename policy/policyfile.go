package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/agentphone-mcp/agentphone-mcp/fsguard"
	"github.com/agentphone-mcp/agentphone-mcp/policy/phone"
)

// maxPolicyFileSize bounds the operator policy file.
const maxPolicyFileSize = 1 << 20

// FileConfig is the operator's policy file (Config.PolicyFile,
// AGENTPHONE_POLICY_FILE). It is JSON; every key is optional; unknown keys are
// an error. No tool can write it. Schema:
//
//	{
//	  "allowlist":         ["+14155550100"],          // E.164 numbers (or "+digits" prefixes) that skip first_contact
//	  "denylist":          ["+1900", "+14155550199"], // E.164 numbers or "+digits" prefixes, always denied [denylist]
//	  "allowed_countries": ["US", "CA"],              // region codes; replaces the default allowlist
//	  "quiet_hours":       "08:00-21:00",             // allowed local window of the recipient, or "off"
//	  "limits": {                                     // caps; omitted or 0 = default, negative = no cap
//	    "sms_per_recipient_hour": 5, "sms_per_recipient_day": 20,
//	    "calls_per_recipient_10min": 1, "calls_per_recipient_day": 3,
//	    "new_recipients_day": 10, "sms_segments_hour": 60, "calls_hour": 20
//	  },
//	  "global_limits": {                              // the operator's caps across ALL callers (caller-key mode);
//	    "sms_day": 2000, "sms_segments_hour": 600,    // omitted, 0 or negative = no cap [global_limit]
//	    "calls_hour": 100, "calls_day": 500,
//	    "new_recipients_day": 200, "numbers_bought_day": 5
//	  },
//	  "operator_phone":    "+14155550123",            // the operator's own phone, for OTP confirmations
//	  "prices": {                                     // US dollars; each set key replaces the published price
//	    "number_monthly": 3.00, "voice_webhook_per_min": 0.13, "voice_hosted_per_min": 0.22,
//	    "sms_per_segment": 0.02, "recording_monthly": 5.00, "max_call_minutes": 60
//	  }
//	}
//
// An example is in policy/testdata/policy.example.json. Applied with
// Config.WithFile: lists are added to the configured ones, other set keys replace them.
type FileConfig struct {
	Allowlist        []string        `json:"allowlist,omitempty"`
	Denylist         []string        `json:"denylist,omitempty"`
	AllowedCountries []string        `json:"allowed_countries,omitempty"`
	QuietHours       string          `json:"quiet_hours,omitempty"`
	Limits           *Limits         `json:"limits,omitempty"`
	GlobalLimits     *GlobalLimits   `json:"global_limits,omitempty"`
	OperatorPhone    string          `json:"operator_phone,omitempty"`
	Prices           *PriceOverrides `json:"prices,omitempty"`
}

// LoadPolicyFile reads and checks the operator policy file once. It refuses a
// symbolic link, a file that is not a regular file, is owned by another user, is writable by
// group or others, is larger than 1 MiB, is not one JSON object, or has unknown or repeated
// keys. Values are checked (quiet hours syntax, region codes phonenumbers knows, prices) so a
// typo fails at start, naming the file.
func LoadPolicyFile(path string) (FileConfig, error) {
	var fc FileConfig
	// Not through a symbolic link, a regular file, owned by this user, not writable by group or
	// others: otherwise another user could rewrite the operator's rules.
	f, err := fsguard.OpenFile(path, os.O_RDONLY, 0, 0o022)
	if err != nil {
		return fc, fmt.Errorf("policy file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPolicyFileSize+1))
	if err != nil {
		return fc, fmt.Errorf("policy file %s: read: %w", path, err)
	}
	if len(data) > maxPolicyFileSize {
		return fc, fmt.Errorf("policy file %s: larger than %d bytes", path, maxPolicyFileSize)
	}
	fc, err = parsePolicyFile(data)
	if err != nil {
		return FileConfig{}, fmt.Errorf("policy file %s: %w", path, err)
	}
	return fc, nil
}

// parsePolicyFile decodes and checks the file's bytes.
func parsePolicyFile(data []byte) (FileConfig, error) {
	var fc FileConfig
	if err := checkDuplicateKeys(data); err != nil {
		return FileConfig{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fc); err != nil {
		return FileConfig{}, fmt.Errorf("invalid JSON (unknown keys are errors; see the FileConfig doc for the schema): %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return FileConfig{}, errors.New("trailing data after the JSON object")
	}
	if fc.QuietHours != "" {
		if _, err := parseWindow(fc.QuietHours); err != nil {
			return FileConfig{}, err
		}
	}
	for _, c := range fc.AllowedCountries {
		if !validRegion(c) {
			return FileConfig{}, fmt.Errorf("allowed_countries: %q is not a region code phone numbers use, such as \"US\" or \"GB\"", c)
		}
	}
	if fc.Prices != nil {
		if err := fc.Prices.check(); err != nil {
			return FileConfig{}, err
		}
	}
	return fc, nil
}

// checkDuplicateKeys refuses a JSON text in which an object repeats a key (encoding/json
// would silently keep the last one: a second "denylist" would drop the first).
func checkDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				key, _ := kt.(string)
				if seen[key] {
					return fmt.Errorf("the key %q appears twice in %s; keep one (JSON would silently use the last)", key, path)
				}
				seen[key] = true
				if err := walk(path + "." + key); err != nil {
					return err
				}
			}
			_, err := dec.Token() // '}'
			return err
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := walk(fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
			_, err := dec.Token() // ']'
			return err
		}
		return nil
	}
	if err := walk("the file"); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil // the decoder below reports malformed JSON with its own message
		}
		return err
	}
	return nil
}

// WithFile returns c with the policy file applied: allowlist and denylist
// entries are added; allowed_countries, quiet_hours, operator_phone and each
// set limit and global limit replace the configured value.
func (c Config) WithFile(f FileConfig) Config {
	c.Allowlist = append(append([]string(nil), c.Allowlist...), f.Allowlist...)
	c.Denylist = append(append([]string(nil), c.Denylist...), f.Denylist...)
	if len(f.AllowedCountries) > 0 {
		c.AllowedCountries = append([]string(nil), f.AllowedCountries...)
	}
	if f.QuietHours != "" {
		c.QuietHours = f.QuietHours
	}
	if f.OperatorPhone != "" {
		c.OperatorPhone = f.OperatorPhone
	}
	if f.Limits != nil {
		c.Limits = c.Limits.overlay(*f.Limits)
	}
	if f.GlobalLimits != nil {
		c.GlobalLimits = c.GlobalLimits.overlay(*f.GlobalLimits)
	}
	if f.Prices != nil {
		c.Prices = c.Prices.merge(*f.Prices)
	}
	return c
}

// validRegion reports whether s (any case) is a region code phone numbers use:
// an ISO 3166 alpha-2 code that phonenumbers knows ("XX" and "UK" are not).
func validRegion(s string) bool { return phone.KnownRegion(s) }
