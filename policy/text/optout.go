package text

import (
	"slices"
	"strings"
	"unicode"
)

// OptOutClass is the recogniser's verdict on a reply.
type OptOutClass string

// Verdicts of ClassifyOptOut.
const (
	// OptOutNone: nothing in the reply revokes consent.
	OptOutNone OptOutClass = "none"
	// OptOutRevoked: the reply revokes consent; the sender must not be contacted (Scope says
	// on which channel the words named; the policy may honour more).
	OptOutRevoked OptOutClass = "opt_out"
	// OptOutAmbiguous: the reply may be a revocation ("wrong number", "stop" in a sentence
	// that is not clearly about messages, "I want to cancel"); a person should look at it.
	OptOutAmbiguous OptOutClass = "ambiguous"
)

// OptOutScope is the channel a revocation names.
type OptOutScope string

// Scopes of an OptOut.
const (
	ScopeAll   OptOutScope = "all"   // every channel (STOP, "leave me alone", "remove me")
	ScopeCalls OptOutScope = "calls" // calls only ("stop calling me", "no me llames")
	ScopeTexts OptOutScope = "texts" // texts only ("stop texting me", "no more messages")
)

// OptOut is what ClassifyOptOut found.
type OptOut struct {
	Class OptOutClass `json:"class"`
	// Scope is the channel the words named (ScopeAll when they named none); empty for
	// OptOutNone.
	Scope OptOutScope `json:"scope,omitempty"`
	// Match is the normalised wording that decided it, e.g. "stop calling me" or "arret".
	Match string `json:"match,omitempty"`
}

// IsOptOut reports whether body revokes consent (ClassifyOptOut says OptOutRevoked).
func IsOptOut(body string) bool { return ClassifyOptOut(body).Class == OptOutRevoked }

// ClassifyOptOut reads an inbound text (an SMS reply, or a caller's turn in a transcript) and
// says whether it revokes consent to be contacted. It follows the FCC's 2024 revocation rule
// (47 CFR 64.1200(a)(10), FCC 24-24: consent may be revoked by any reasonable means, and a reply
// using stop, quit, end, revoke, opt out, cancel or unsubscribe revokes it) and the carriers'
// keyword lists in English, Spanish and French (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT,
// REVOKE, OPTOUT, REMOVE, ARRET, BAJA, ALTO, PARAR, DETENER...), reading the whole reply rather
// than an exact single word.
//
// The text is normalised first: invisible characters removed, compatibility forms folded
// (full-width and mathematical letters), look-alike letters of other scripts mapped to Latin
// (Unicode TR39 confusables), accents removed ("ARRÊT"), spaced or dotted letters joined
// ("S T O P", "s.t.o.p"), digits inside words read as letters ("st0p") and stretched letters
// shortened ("stooop").
//
// Revocations (OptOutRevoked):
//   - a reply that is only a keyword, with courtesy words ("STOP", "please stop", "pls stop",
//     "Cancel.", "Hi! STOP", "ARRÊT", "BAJA", "no más");
//   - a strong keyword as a sentence of its own in a longer reply ("Stop, wrong number");
//   - unsubscribe, revoke, opt out and STOPALL anywhere, unless negated ("I want to
//     unsubscribe", but not "don't unsubscribe me");
//   - phrases: "stop texting/calling/contacting me", "stop it", "do not call me", "never text
//     me again", "no more messages", "remove me", "take me off your list", "leave me alone",
//     "I revoke my consent", and their Spanish and French equivalents ("no me llames", "dejen
//     de escribirme", "darme de baja", "arrêtez de m'appeler", "ne m'écrivez plus",
//     "désabonnez-moi", "laissez-moi tranquille").
//
// Ambiguous replies (OptOutAmbiguous) are flagged, never ignored: "stop" or "arrêt" inside a
// sentence that is not clearly about these messages ("stop worrying"), a weak keyword as one
// sentence among others ("Sorry, can't come. Cancel."), "I want to cancel", "wrong number",
// "not interested", "this is spam", "I'll report you", "I never signed up",
// "do not call me before noon".
//
// Not opt-outs (OptOutNone), decided deliberately: "stop" negated ("don't stop", "never
// stop"), a visit ("stop by tomorrow", "stop over", "stop in"), a place or thing ("bus stop",
// "full stop", "stop sign"), and the weak keywords (end, quit, cancel, remove, para, alto) in an
// ordinary sentence ("cancel my appointment", "end of day", "para mañana"). Everything else
// that carries a keyword errs towards the flag.
//
// The same function reads a caller's words in a call transcript ("please stop calling me").
func ClassifyOptOut(body string) OptOut {
	clauses := optOutClauses(body)
	var all []string
	for _, c := range clauses {
		all = append(all, c...)
	}
	if len(all) == 0 {
		return OptOut{Class: OptOutNone}
	}
	// A reply that is only a keyword (with courtesy words) revokes, whatever the keyword.
	if k := strings.Join(trimFillers(all), " "); wholeKeywords[k] {
		return OptOut{Class: OptOutRevoked, Scope: ScopeAll, Match: k}
	}
	var found, flagged *OptOut
	for _, clause := range clauses {
		o := classifyClause(clause, len(clauses) > 1)
		switch o.Class {
		case OptOutRevoked:
			if found == nil {
				found = &o
			} else if found.Scope != o.Scope {
				found.Scope = ScopeAll
				found.Match += "; " + o.Match
			}
		case OptOutAmbiguous:
			if flagged == nil {
				flagged = &o
			}
		}
	}
	switch {
	case found != nil:
		return *found
	case flagged != nil:
		return *flagged
	}
	return OptOut{Class: OptOutNone}
}

// classifyClause reads one sentence. multi is true when the reply has other sentences.
func classifyClause(words []string, multi bool) OptOut {
	core := trimFillers(words)
	if len(core) == 0 {
		return OptOut{Class: OptOutNone}
	}
	key := strings.Join(core, " ")
	if strongKeywords[key] {
		return OptOut{Class: OptOutRevoked, Scope: ScopeAll, Match: key}
	}
	if wholeKeywords[key] && multi {
		return OptOut{Class: OptOutAmbiguous, Scope: ScopeAll, Match: key}
	}
	best := OptOut{Class: OptOutNone}
	consider := func(o OptOut) {
		if best.Class == OptOutNone {
			best = o
		}
	}
	// Phrases are tried in table order (revocations first), each at every word it can start at.
	var candidates []int
	seen := map[int]bool{}
	for _, w := range words {
		for _, pi := range phrasesByFirstWord[w] {
			if !seen[pi] {
				seen[pi] = true
				candidates = append(candidates, pi)
			}
		}
	}
	for _, pi := range phrasesAnyWord {
		if !seen[pi] {
			seen[pi] = true
			candidates = append(candidates, pi)
		}
	}
	slices.Sort(candidates)
	for _, pi := range candidates {
		p := optOutPhrases[pi]
		first := p.elems[0]
		for i, w := range words {
			if _, inClass := first.class[w]; !first.optional && !first.words[w] && !inClass {
				continue
			}
			n, scope, ok := p.matchAt(words, i)
			if !ok {
				continue
			}
			o := OptOut{Class: p.class, Scope: scope, Match: strings.Join(words[i:i+n], " ")}
			if !p.negative {
				if neg, complaint := negation(words, i); neg {
					if complaint && p.class == OptOutRevoked {
						consider(OptOut{Class: OptOutAmbiguous, Scope: scope, Match: o.Match})
					}
					continue
				}
			}
			if p.guard != nil && p.guard(words, i, i+n) {
				continue
			}
			if p.restrict != nil && p.restrict(words, i, i+n) {
				consider(OptOut{Class: OptOutAmbiguous, Scope: scope, Match: o.Match})
				continue
			}
			if p.class == OptOutRevoked {
				return o
			}
			consider(o)
		}
	}
	if best.Class != OptOutNone {
		return best
	}
	// "stop" or "arrêt" elsewhere in a sentence: a flag unless it is negated or plainly a
	// visit, a place or a thing.
	for i, w := range words {
		if !stopWords[w] || benignStop(words, i) {
			continue
		}
		if neg, complaint := negation(words, i); neg && !complaint {
			continue
		}
		return OptOut{Class: OptOutAmbiguous, Scope: ScopeAll, Match: strings.Join(words[max(0, i-2):min(len(words), i+3)], " ")}
	}
	return OptOut{Class: OptOutNone}
}

// negation reports whether words[i] is negated by a negator a few words before it, with only
// bridge words between ("don't stop", "don't want to unsubscribe"), and whether the negator
// follows "you" or "they": a complaint about the sender ("you won't stop texting me").
func negation(words []string, i int) (negated, complaint bool) {
	for j := i - 1; j >= 0 && j >= i-4; j-- {
		if negators[words[j]] {
			return true, j > 0 && secondPerson[words[j-1]]
		}
		if !bridges[words[j]] {
			return false, false
		}
	}
	return false, false
}

// benignStop reports the uses of "stop" that are not about messages: a visit ("stop by"), a
// place or thing ("bus stop", "stop sign").
func benignStop(words []string, i int) bool {
	if i > 0 && stopPlaces[words[i-1]] {
		return true
	}
	if i+1 < len(words) && stopAfter[words[i+1]] {
		return !(words[i+1] == wordKey("at") && i+2 < len(words) && words[i+2] == wordKey("once"))
	}
	return false
}

// trimFillers drops courtesy words and greetings at both ends of words.
func trimFillers(words []string) []string {
	for len(words) > 0 && fillers[words[0]] {
		words = words[1:]
	}
	for len(words) > 0 && fillers[words[len(words)-1]] {
		words = words[:len(words)-1]
	}
	return words
}

// optOutClauses normalises body (see ClassifyOptOut) and splits it into sentences of word
// keys, with intensifiers ("just", "really", "ever", "fucking", "please") dropped.
func optOutClauses(body string) [][]string {
	s := joinSpacedLetters(stripMarks(Fold(body)))
	var clauses [][]string
	var clause []string
	var word strings.Builder
	flushWord := func() {
		if word.Len() == 0 {
			return
		}
		w := wordKey(word.String())
		word.Reset()
		if !dropped[w] {
			clause = append(clause, w)
		}
	}
	flushClause := func() {
		flushWord()
		if len(clause) > 0 {
			clauses = append(clauses, clause)
		}
		clause = nil
	}
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '$' || r == '@':
			word.WriteRune(r)
		case isApostrophe(r):
			// French elision splits ("m'appelez" -> m appelez); English contractions join
			// ("don't" -> dont).
			if w := word.String(); elisions[w] {
				flushWord()
			}
		case r == '.' || r == '!' || r == '?' || r == ';' || r == ':' || r == ',' || r == '¡' || r == '¿' || r == '…':
			flushClause()
		default:
			flushWord()
		}
	}
	flushClause()
	if len(clauses) > 64 {
		clauses = clauses[:64] // a reply, not a book: bound the work
	}
	return clauses
}

func isApostrophe(r rune) bool {
	switch r {
	case '\'', '’', '‘', 'ʼ', '`', '´', '′':
		return true
	}
	return false
}

// joinSpacedLetters joins runs of three or more single letters or digits separated by one to
// three spacing or punctuation characters: "s t o p" and "S.T.O.P" become "stop".
func joinSpacedLetters(s string) string {
	rs := []rune(s)
	alnum := func(i int) bool {
		return i >= 0 && i < len(rs) && (unicode.IsLetter(rs[i]) || unicode.IsDigit(rs[i]))
	}
	single := func(i int) bool { return alnum(i) && !alnum(i-1) && !alnum(i+1) }
	var b strings.Builder
	for i := 0; i < len(rs); {
		if !single(i) {
			b.WriteRune(rs[i])
			i++
			continue
		}
		letters := []rune{rs[i]}
		end := i + 1
		for {
			m := end
			for m < len(rs) && m-end < 3 && isSpacer(rs[m]) {
				m++
			}
			if m == end || !single(m) {
				break
			}
			letters = append(letters, rs[m])
			end = m + 1
		}
		if len(letters) >= 3 {
			b.WriteString(string(letters))
			i = end
			continue
		}
		b.WriteRune(rs[i])
		i++
	}
	return b.String()
}

func isSpacer(r rune) bool {
	return r == ' ' || strings.ContainsRune(".-_*·•/|~+,=", r)
}

// wordKey is the form words are compared in: digits and symbols inside a word read as the
// letters they imitate ("st0p", "$top", "unsubscr1be"), "l" and "i" merged (they look alike in
// many fonts), and runs of three or more equal letters shortened to one ("stooop").
func wordKey(w string) string {
	hasLetter, hasOther := false, false
	for _, r := range w {
		if unicode.IsLetter(r) {
			hasLetter = true
		} else {
			hasOther = true
		}
	}
	rs := make([]rune, 0, len(w))
	for _, r := range w {
		if hasLetter && hasOther {
			r = leet(r)
		}
		if r == 'l' {
			r = 'i'
		}
		rs = append(rs, r)
	}
	out := rs[:0]
	for i := 0; i < len(rs); {
		j := i
		for j < len(rs) && rs[j] == rs[i] {
			j++
		}
		if j-i >= 3 {
			out = append(out, rs[i])
		} else {
			out = append(out, rs[i:j]...)
		}
		i = j
	}
	return string(out)
}

// leet maps a digit or symbol used as a letter inside a word to that letter.
func leet(r rune) rune {
	switch r {
	case '0':
		return 'o'
	case '1', '!', '|':
		return 'i'
	case '3':
		return 'e'
	case '4', '@':
		return 'a'
	case '5', '$':
		return 's'
	case '7':
		return 't'
	}
	return r
}
