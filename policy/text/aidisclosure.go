package text

import (
	"regexp"
	"strings"
	"unicode"
)

// DeniesAI reports whether text an AI voice will speak, or follow as instructions (an agent's
// system prompt, greeting, voicemail message, a call's topic, a live answer), tells the voice
// to hide that it is an AI or to pass itself off as a human. what quotes the wording found.
//
// The FCC treats AI-generated voices as artificial voices (FCC 24-17), and every call this
// server places opens with an AI disclosure; an instruction that defeats it is refused. Found,
// in English, Spanish and French, after the text is normalised as Fold does (so look-alike
// letters and invisible characters do not hide it):
//   - instructions to conceal: "never reveal that you are an AI", "don't tell them you're a
//     bot", "do not mention you are automated", "deny being an AI", "hide that you are a
//     machine", "if they ask whether you are a bot, say no";
//   - claims to be human: "you are a real person", "pretend to be human", "act as a human
//     receptionist", "say you are human", "you are not an AI", "I'm a real person", "this is
//     not a robot";
//   - the same in Spanish ("no digas que eres una IA", "eres una persona real") and French
//     ("ne dis jamais que tu es une IA", "vous êtes un humain").
//
// Not refused: disclosure itself ("you are an AI assistant", "if asked, say you are an AI"),
// negated claims ("never claim to be human", "never deny being an AI"), and mentions of people
// ("transfer to a human if asked", "you are helping a real person").
func DeniesAI(text string) (found bool, what string) {
	s := aiForm(text)
	if strings.TrimSpace(s) == "" {
		return false, ""
	}
	for _, d := range aiDenials {
		for _, m := range d.re.FindAllStringSubmatchIndex(s, -1) {
			if aiNegated(s, m[0]) {
				continue
			}
			if d.check != nil && len(m) >= 4 && m[2] >= 0 && !d.check(s[m[2]:m[3]]) {
				continue
			}
			return true, strings.TrimSpace(s[m[0]:m[1]])
		}
	}
	return false, ""
}

// aiForm is text folded (Fold), without accents, with apostrophes removed ("don't" -> "dont";
// a French elision becomes a space: "n'es" -> "n es"), every other run of non-letters a single
// space, and sentence ends kept as " . ".
func aiForm(text string) string {
	s := stripMarks(Fold(text))
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte(' ')
	var word []rune
	space := true
	flush := func() {
		if len(word) > 0 {
			b.WriteString(string(word))
			word = word[:0]
			space = false
		}
	}
	sep := func(s string) {
		flush()
		if !space || s != " " {
			b.WriteString(s)
		}
		space = true
	}
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			word = append(word, r)
		case isApostrophe(r):
			switch string(word) {
			case "c", "d", "j", "l", "m", "n", "s", "t", "qu":
				sep(" ")
			}
		case r == '.' || r == '!' || r == '?' || r == ';' || r == '\n':
			sep(" . ")
		case r == ',':
			sep(" , ")
		default:
			sep(" ")
		}
	}
	flush()
	b.WriteByte(' ')
	return b.String()
}

// aiNegated reports a negation in the few words before position at: "never claim to be
// human", "do not deny being an AI", "ne dis pas que tu es humain".
func aiNegated(s string, at int) bool {
	before := strings.Fields(s[:at])
	for i := len(before) - 1; i >= 0 && i >= len(before)-3; i-- {
		switch before[i] {
		case ".", ",":
			return false
		case "never", "dont", "not", "cannot", "cant", "wont", "shouldnt", "mustnt", "nunca", "jamais", "pas", "ne", "no":
			return true
		}
	}
	return false
}

// claimSlot checks the words between "you are" and "a human": articles, adjectives, or one
// name ("you are Sarah, a real person"), but not a verb, a preposition or a negation ("you
// are helping a human", "you are talking to a person", "you are not a human").
func claimSlot(slot string) bool {
	words := strings.Fields(slot)
	names := 0
	for _, w := range words {
		switch w {
		case ",", "a", "an", "the", "just", "really", "actually", "totally", "definitely", "real", "actual", "genuine",
			"live", "living", "breathing", "normal", "regular", "ordinary", "friendly", "human", "called", "named":
			continue
		case "not", "no", "never", "here", "there", "now", "to", "for", "with", "on", "about", "by", "from", "at",
			"in", "like", "also", "always", "sure", "able", "free", "welcome", "allowed", "ai", "bot", "robot",
			"assistant", "agent", "machine", "program", "model", "of", "and", "or", "but", "than", "as", "it", "its",
			"that", "this", "what", "who", "which", "talking", "speaking", "calling", "helping", "assisting":
			return false
		}
		if strings.HasSuffix(w, "ing") || strings.HasSuffix(w, "ed") || strings.HasSuffix(w, "ly") {
			return false
		}
		if names++; names > 1 {
			return false
		}
	}
	return true
}

// aiDenial is one wording of DeniesAI: a pattern over aiForm text, and for the "you are ... a
// human" claim, a check of the words in its first group.
type aiDenial struct {
	re    *regexp.Regexp
	check func(slot string) bool
}

var aiDenials = func() []aiDenial {
	const (
		ai     = `(?:an? |the |some )?(?:ai|a i|artificial intelligence|bot|chat ?bot|robot|machine|computer|language model|llm|virtual (?:assistant|agent)|automated(?: system| assistant| agent| voice)?|automatic system|program|software|synthetic voice|ai (?:assistant|agent|model|voice|system))`
		you    = `(?:you are|youre|you re|u r|you were|your|being|it is|its|thats|this is|im|i am)`
		human  = `(?:(?:a|an|the) )?(?:(?:real|actual|genuine|live|living|breathing|normal|regular|ordinary|human) )*(?:human being|human|person|man|woman|guy|girl|lady|gentleman)`
		target = `(?:(?:them|anyone|anybody|people|him|her|the caller|callers|customers|the customer|the person|the user|to \w+|it|this) )?`
		reveal = `(?:admit|reveal|disclose|say|tell|mention|acknowledge|confirm|indicate|imply|suggest|let (?:them|anyone|people|the caller|callers|the person|the customer|customers|him|her) know|volunteer|bring up|break character)`
		direct = `(?:pretend(?:ing)? to be|pretend(?:ing)? you are|pretend(?:ing)? youre|pose as|posing as|act as|act like|acting as|impersonate|impersonating|claim(?:ing)? to be|play(?:ing)? the role of|role ?play(?:ing)? as|present yourself as|introduce yourself as|masquerade as|pass yourself off as|pass as)`
		speech = `(?:say|says|state|states|insist|insists|claim|claims|tell (?:them|people|callers|the caller|everyone|anyone|the person|customers)|convince (?:them|people|callers|the caller|everyone)|make (?:them|people|callers|the caller|everyone) (?:think|believe))`
	)
	re := func(s string) aiDenial { return aiDenial{re: regexp.MustCompile(s)} }
	return []aiDenial{
		// Concealment: "never reveal that you are an AI", "don't tell them you're a bot".
		re(` (?:never|dont|do not|must not|mustnt|should not|shouldnt|wont|will not|cannot|cant|refuse to|avoid) (?:ever )?` + reveal + ` ` + target + `(?:that )?` + you + ` ` + ai + ` `),
		re(` (?:deny|denying|hide|hiding|conceal|concealing|lie about|lying about|keep secret|keep it secret|cover up|disguise) (?:the fact )?(?:that )?(?:\w+ )?` + you + ` ` + ai + ` `),
		re(` (?:deny|denying|hide|hiding|conceal|concealing|disguise|disguising) (?:that )?(?:your |being |the )?(?:ai|artificial|automated|robotic|machine|bot) ?(?:nature|identity|status)? `),
		// "if they ask whether you are a bot, say no"; "if asked if you are human, say yes".
		re(` (?:if|when|whenever) (?:\w+ ){0,4}(?:ask|asks|asked|wonder|wonders|question|questions)(?: \w+){0,3} (?:if|whether) (?:you are|youre|you re|this is|its|it is|they are talking to|theyre talking to) ` + ai + ` (?:\w+ |, ){0,4}(?:say|answer|reply|respond|tell them|insist|deny|lie)(?: \w+){0,2} (?:no|nope|not|you are (?:human|a (?:real )?person)|youre (?:human|a (?:real )?person)) `),
		re(` (?:if|when|whenever) (?:\w+ ){0,4}(?:ask|asks|asked)(?: \w+){0,3} (?:if|whether) (?:you are|youre|you re|this is) ` + human + ` (?:\w+ |, ){0,4}(?:say|answer|reply|respond|tell them|confirm)(?: \w+){0,2} (?:yes|yeah|yep|of course|that you are|you are) `),
		// Claims: "you are a real person", "pretend to be human", "say you are not an AI".
		{re: regexp.MustCompile(` (?:you are|youre|you re|i am|im|this is) ((?:(?:\w+|,) ){0,4}?)` + human + ` `), check: claimSlot},
		re(` ` + direct + ` ` + human + ` `),
		re(` ` + speech + ` (?:that )?(?:you are|youre|you re|i am|im) ` + human + ` `),
		re(` ` + speech + ` (?:that )?(?:you are|youre|you re|i am|im|its|it is) not ` + ai + ` `),
		re(` (?:this isnt|this is not|i am not|im not|you are not|youre not|you re not|it is not|its not|it isnt|you arent|i aint) ` + ai + ` `),
		// Spanish.
		re(` (?:no|nunca|jamas) (?:digas|diga|digan|admitas|admita|reveles|revele|menciones|mencione|confieses|confiese|reconozcas|reconozca) (?:\w+ ){0,2}(?:que )?(?:eres|es|soy|sos) (?:una? )?(?:ia|inteligencia artificial|bot|robot|maquina|asistente virtual|programa) `),
		re(` (?:eres|soy|sos) (?:una? )?(?:persona real|persona de verdad|ser humano|humano|humana|persona) `),
		re(` (?:finge|finja|fingir|hazte pasar|hacerte pasar|hagase pasar) (?:ser |por )?(?:una? )?(?:persona|humano|humana|ser humano) `),
		re(` (?:no eres|no soy|no es) (?:una? )?(?:ia|inteligencia artificial|bot|robot|maquina) `),
		// French.
		re(` (?:ne |n )?(?:dis|dites|revele|revelez|admets|admettez|mentionne|mentionnez|avoue|avouez)(?: \w+)? (?:jamais|pas) (?:\w+ )?(?:que )?(?:tu es|vous etes|c est) (?:une? )?(?:ia|intelligence artificielle|bot|robot|machine|programme) `),
		re(` (?:tu es|vous etes|je suis) (?:une? )?(?:vraie personne|vrai humain|etre humain|humain|humaine|personne reelle|personne) `),
		re(` (?:tu n es|vous n etes|je ne suis|ce n est) pas (?:une? )?(?:ia|intelligence artificielle|bot|robot|machine) `),
		re(` (?:fais|faites) (?:semblant d etre|comme si tu etais|comme si vous etiez) (?:une? )?(?:humain|humaine|personne|vraie personne) `),
	}
}()
