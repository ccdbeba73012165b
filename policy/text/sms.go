package text

import "unicode/utf8"

// SMS encodings reported in SMSInfo.Encoding.
const (
	EncodingGSM7 = "GSM-7"
	EncodingUCS2 = "UCS-2"
)

// Per-message limits, in encoding units (GSM-7 septets or UTF-16 code units).
const (
	gsmSingle  = 160 // one message, GSM-7
	gsmSegment = 153 // per part once concatenated (the header costs 7 septets)
	ucsSingle  = 70  // one message, UCS-2
	ucsSegment = 67  // per part once concatenated
)

// SMSInfo describes how a body will be sent as SMS.
type SMSInfo struct {
	Encoding   string // EncodingGSM7 or EncodingUCS2
	Segments   int    // parts the carrier bills; 0 for an empty body
	Characters int    // Unicode code points in the body (what a person would count)
	Units      int    // encoding units: GSM-7 septets (extension characters count 2) or UTF-16 code units
}

// SMS computes the encoding and segment count of body. GSM-7 is used when every character is
// in the GSM 03.38 basic or extension table (extension characters ^ { } \ [ ~ ] | € and form
// feed cost 2 septets); otherwise UCS-2, where characters outside the BMP (most emoji) cost 2
// units. Concatenated messages never split an escape pair or a surrogate pair.
//
// An empty body is 0 segments (nothing would be sent). Invalid UTF-8 bytes count as U+FFFD,
// which forces UCS-2.
func SMS(body string) SMSInfo {
	info := SMSInfo{Encoding: EncodingGSM7, Characters: utf8.RuneCountInString(body)}
	if body == "" {
		return info
	}
	gsm := true
	for _, r := range body {
		if gsmCost(r) == 0 {
			gsm = false
			break
		}
	}
	cost, single, per := gsmCost, gsmSingle, gsmSegment
	if !gsm {
		info.Encoding = EncodingUCS2
		cost, single, per = utf16Cost, ucsSingle, ucsSegment
	}
	for _, r := range body {
		info.Units += cost(r)
	}
	if info.Units <= single {
		info.Segments = 1
		return info
	}
	// Greedy fill: a 2-unit character that does not fit starts the next segment.
	used := 0
	info.Segments = 1
	for _, r := range body {
		c := cost(r)
		if used+c > per {
			info.Segments++
			used = 0
		}
		used += c
	}
	return info
}

// gsmCost returns the septets r costs in GSM-7: 1 for the basic table, 2 for the extension
// table, 0 if r cannot be encoded.
func gsmCost(r rune) int {
	if r < 0x80 {
		switch {
		case r == '\n' || r == '\r' || r == ' ':
			return 1
		case r == '\f' || r == '^' || r == '{' || r == '}' || r == '\\' || r == '[' || r == '~' || r == ']' || r == '|':
			return 2
		case r == '`':
			return 0
		case r >= '!' && r <= '~':
			return 1
		default:
			return 0
		}
	}
	switch r {
	case '€':
		return 2
	case '£', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', 'Ø', 'ø', 'Å', 'å', 'Δ', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ',
		'Θ', 'Ξ', 'Æ', 'æ', 'ß', 'É', '¤', '¡', 'Ä', 'Ö', 'Ñ', 'Ü', '§', '¿', 'ä', 'ö', 'ñ', 'ü', 'à':
		return 1
	}
	return 0
}

// utf16Cost returns the UTF-16 code units r needs.
func utf16Cost(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}
