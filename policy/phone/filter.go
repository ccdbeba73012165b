package phone

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds of the character pre-filter, counted in runes after trimming and after any "tel:" prefix.
const (
	minInputRunes = 3
	maxInputRunes = 32
)

// lettersReason refuses letters (Normalize then checks a vanity spelling against the crisis
// and emergency lines).
const lettersReason = "letters are not allowed in a phone number (vanity numbers such as 1-800-FLOWERS are refused); type the digits"

// cleaned is the result of the pre-filter: the input rewritten with ASCII digits only, ready for
// phonenumbers.Parse, plus its bare digit string.
type cleaned struct {
	text   string // ASCII: optional leading '+', digits, spaces, ( ) . -
	digits string // ASCII digits only
	plus   bool   // the number started with '+' (international format)
}

// prefilter applies steps 1 and 2 of Normalize: trim, strict character set, no extensions or
// pauses, no letters. It returns a reason for the caller's *Error when the input is refused.
func prefilter(raw string) (cleaned, string) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return cleaned{}, "the number is empty; give the full number in E.164 form such as +14155550123"
	}
	if !utf8.ValidString(s) {
		return cleaned{}, "the number is not valid UTF-8 text; type the digits again"
	}
	if len(s) >= 4 && strings.EqualFold(s[:4], "tel:") {
		s = strings.TrimSpace(s[4:])
	}
	n := utf8.RuneCountInString(s)
	if n > maxInputRunes {
		return cleaned{}, fmt.Sprintf("the number is too long (%d characters, at most %d); give only the number in E.164 form such as +14155550123", n, maxInputRunes)
	}
	if reason := extensionReason(s); reason != "" {
		return cleaned{}, reason
	}
	if n < minInputRunes {
		return cleaned{}, "the number is too short; give the full number in E.164 form such as +14155550123"
	}
	var text, digits strings.Builder
	c := cleaned{}
	for i, r := range s {
		switch {
		case r == '+' || r == '＋':
			if i != 0 {
				return cleaned{}, "a '+' may only appear at the start of the number"
			}
			c.plus = true
			text.WriteByte('+')
		case unicode.IsDigit(r):
			d := digitValue(r)
			text.WriteByte(d)
			digits.WriteByte(d)
		case r == ' ' || r == '\u00a0' || r == '(' || r == ')' || r == '.' || r == '-':
			if r == '\u00a0' {
				r = ' '
			}
			text.WriteRune(r)
		case unicode.IsLetter(r):
			return cleaned{}, lettersReason
		default:
			return cleaned{}, fmt.Sprintf("the character %q is not allowed; use only digits, a leading +, spaces, parentheses, dots and dashes", r)
		}
	}
	c.text, c.digits = text.String(), digits.String()
	if c.digits == "" {
		return cleaned{}, "the number contains no digits; give the full number in E.164 form such as +14155550123"
	}
	return c, ""
}

// extensionReason reports extension and pause markers: "x123", "ext. 911", ";ext=", "#", ",",
// and the dial-string pauses 'p'/'w' after a digit. It returns "" when there is none.
func extensionReason(s string) string {
	const msg = "extensions and pauses (x, ext, #, comma, ;ext=, p, w) are not supported; give only the main number and ask the user to dial the extension themselves"
	lower := strings.ToLower(s)
	if strings.ContainsAny(lower, ",#") || strings.Contains(lower, "ext") {
		return msg
	}
	if strings.Contains(lower, ";") {
		if strings.Contains(lower, "isub") || strings.Contains(lower, "phone-context") {
			return "tel: URI parameters (;phone-context=, ;isub=) are not supported; give only the number in E.164 form such as +14155550123"
		}
		return msg
	}
	rs := []rune(lower)
	for i, r := range rs {
		if r != 'x' && r != 'p' && r != 'w' {
			continue
		}
		if i == 0 || !isDialPunct(rs[i-1]) {
			continue
		}
		// a marker followed (after optional ". : =" and spaces) by a digit
		for j := i + 1; j < len(rs); j++ {
			if unicode.IsDigit(rs[j]) {
				return msg
			}
			if rs[j] != ' ' && rs[j] != '.' && rs[j] != ':' && rs[j] != '=' {
				break
			}
		}
	}
	return ""
}

// isDialPunct reports whether r may precede an extension marker: a digit, space or punctuation.
func isDialPunct(r rune) bool {
	return unicode.IsDigit(r) || r == ' ' || r == ')' || r == '.' || r == '-'
}

// digitValue maps any Unicode decimal digit (Nd) to its ASCII digit. Unicode guarantees that
// decimal digits come in contiguous runs of ten starting at zero, so the value is the distance
// from the start of the run modulo 10.
func digitValue(r rune) byte {
	if r >= '0' && r <= '9' {
		return byte(r)
	}
	start := r
	for start > 0 && unicode.IsDigit(start-1) {
		start--
	}
	return byte('0' + (r-start)%10)
}
