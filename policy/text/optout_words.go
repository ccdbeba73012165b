package text

import "strings"

// The opt-out recogniser's vocabulary. Every word is written in plain spelling and compared
// in wordKey form; the tables are built once and only read.

// keySet returns the wordKey forms of space-separated phrases, the phrases separated by
// commas ("stop all, opt out" holds "stop all" and "opt out").
func keySet(list string) map[string]bool {
	m := map[string]bool{}
	for _, phrase := range strings.Split(list, ",") {
		var ws []string
		for _, w := range strings.Fields(phrase) {
			ws = append(ws, wordKey(w))
		}
		if len(ws) > 0 {
			m[strings.Join(ws, " ")] = true
		}
	}
	return m
}

var (
	// wholeKeywords revoke when they are the whole reply (courtesy words aside): the FCC's
	// words and the carriers' English, Spanish and French keyword lists.
	wholeKeywords = keySet("stop, stopall, stop all, stop everything, stop now, end, end all, quit, quit all, cancel, cancel all, " +
		"unsubscribe, unsubscribe all, unsub, revoke, optout, opt out, remove, remove me, td, no more, enough, halt, " +
		"arret, arrete, arretez, arreter, stop svp, fin, annuler, desabonner, desinscrire, " +
		"baja, alto, para, parar, pare, paren, detener, detente, cancelar, basta, no mas, de baja, dar de baja, darme de baja, " +
		"go away, get lost, fuck off, f off, piss off, bugger off, sod off, back off, buzz off, leave me alone")

	// strongKeywords revoke also as one sentence of a longer reply ("Stop, wrong number").
	strongKeywords = keySet("stop, stopall, stop all, stop now, unsubscribe, unsub, revoke, optout, opt out, remove me, " +
		"arret, arrete, arretez, desabonner, desinscrire, baja, de baja, darme de baja, no mas, halt, " +
		"go away, get lost, fuck off, f off, piss off, bugger off, sod off, back off, buzz off, leave me alone")

	// fillers are courtesy words and greetings that do not change a keyword.
	fillers = keySet("please, pls, plz, plse, now, thanks, thank, thankyou, you, thx, ty, tks, ok, okay, k, hi, hello, hey, " +
		"hiya, yo, sorry, lol, sir, maam, guys, dude, man, bro, immediately, asap, already, again, anymore, then, " +
		"por, favor, porfa, gracias, hola, ya, svp, stp, merci, bonjour, salut, sil, vous, plait, oui, yes, okey, " +
		"omg, ugh, wtf, seriously, today")

	// dropped words are removed before matching: intensifiers and politeness inside a phrase.
	dropped = keySet("please, pls, plz, kindly, just, really, fucking, fuckin, freaking, frigging, damn, goddamn, " +
		"bloody, ever, literally, totally, actually, simply, f*cking")

	// negators negate the request that follows within a few words ("don't stop").
	negators = keySet("dont, never, not, cant, cannot, wont, wouldnt, shouldnt, couldnt, neither, nor, didnt, doesnt")

	// bridges may stand between a negator and the word it negates ("don't want to unsubscribe").
	bridges = keySet("want, wanna, to, going, gonna, trying, like, need, even, be, have, has, had, ever, i, we, ya, u, me, you")

	// secondPerson before a negator turns "won't stop" into a complaint about the sender
	// ("you won't stop texting me", "u didn't stop"), which is flagged.
	secondPerson = keySet("you, u, ya, they, yall, y'all")

	// stopWords are the "stop" words that are flagged in any sentence that does not settle them.
	stopWords = keySet("stop, halt, arret, arrete, arretez, arreter")

	// stopPlaces before "stop" make it a place: "bus stop", "full stop", "non-stop".
	stopPlaces = keySet("bus, pit, full, non, one, last, next, truck, rest, first, short, whistle, tram, train, metro, " +
		"subway, shuttle, quick, brief, tour, pitstop")

	// stopAfter after "stop" makes it a visit or a thing: "stop by", "stop sign".
	stopAfter = keySet("by, over, in, off, at, sign, signs, light, lights, watch, motion, loss, gap, band, codon, " +
		"bath, cock, gate, word, words, de, d, du, des, bus")

	// elisions are the French elided words an apostrophe ends ("m'appelez").
	elisions = keySet("c, d, j, l, m, n, s, t, qu")
)

// word classes used by the phrases, each word with the channel it names ("" for all).
var (
	verbClass = classOf(map[OptOutScope]string{
		ScopeCalls: "calling, call, calls, ringing, ring, phoning, phone, dialing, dialling, dial, robocalling",
		ScopeTexts: "texting, text, texts, messaging, message, messages, sending, send, sms, smsing, msg, msging, msgs, " +
			"emailing, email, writing, write, mms",
		ScopeAll: "contacting, contact, bothering, bother, spamming, spam, harassing, harass, pestering, pester, hounding, " +
			"receiving, getting, reaching, reach",
	})
	objClass = classOf(map[OptOutScope]string{
		ScopeAll: "it, this, that, these, those, now, immediately, all, everything, them, asap, right",
	})
	nounClass = classOf(map[OptOutScope]string{
		ScopeCalls: "calls, call, robocalls, robocall, voicemails, phone",
		ScopeTexts: "texts, text, messages, message, msgs, msg, sms, smses, emails, mms, txt, txts",
		ScopeAll: "spam, alerts, alert, notifications, notification, reminders, reminder, subscription, subscriptions, " +
			"marketing, promotions, promos, ads, offers, updates, contact",
	})
	esVerbClass = classOf(map[OptOutScope]string{
		ScopeCalls: "llames, llame, llamen, llamar, llamas, llaman, llamarme, llamarnos",
		ScopeTexts: "escribas, escriba, escriban, escribir, escribirme, mandes, mande, manden, mandar, mandarme, envies, envie, " +
			"envien, enviar, enviarme, textees, textear, textearme, mensajees, mensajear",
		ScopeAll: "contactes, contacte, contacten, contactar, contactarme, molestes, moleste, molesten, molestar, molestarme",
	})
	esNounClass = classOf(map[OptOutScope]string{
		ScopeCalls: "llamadas, llamada",
		ScopeTexts: "mensajes, mensaje, textos, texto, sms, msjs, mensajitos",
		ScopeAll:   "spam, publicidad, promociones, notificaciones",
	})
	frVerbClass = classOf(map[OptOutScope]string{
		ScopeCalls: "appeler, appelez, appelle, appelles, appeller",
		ScopeTexts: "ecrire, ecrivez, ecris, ecrit, envoyer, envoyez, envoie, texter, textez, textoter",
		ScopeAll:   "contacter, contactez, contacte, deranger, derangez, derange, harceler, harcelez, spammer, solliciter, sollicitez",
	})
	frNounClass = classOf(map[OptOutScope]string{
		ScopeCalls: "appels, appel",
		ScopeTexts: "messages, message, sms, textos, texto",
		ScopeAll:   "spam, pub, publicites, notifications",
	})
	targetClass = classOf(map[OptOutScope]string{
		ScopeAll: "you, this, your, number, it, u, ya",
	})
)

// classOf builds a word class: word key -> the scope the word names.
func classOf(byScope map[OptOutScope]string) map[string]OptOutScope {
	m := map[string]OptOutScope{}
	for scope, list := range byScope {
		for w := range keySet(list) {
			m[w] = scope
		}
	}
	return m
}

// phrase is one opt-out or ambiguous wording. Its elements match one word each: a set of
// alternatives or a word class; optional elements may be skipped.
type phrase struct {
	elems []element
	class OptOutClass
	// negative phrases carry their own negation ("don't call me"): no negation check.
	negative bool
	// restrict, for a revocation, turns it into a flag when the words after the match limit
	// it ("don't call me before noon").
	restrict func(words []string, start, end int) bool
	// guard, for a flag, drops it when the words around the match show it is about something
	// else ("I want to cancel my appointment", "the end").
	guard func(words []string, start, end int) bool
}

type element struct {
	words    map[string]bool
	class    map[string]OptOutScope
	optional bool
}

// compile parses "stop|quit @verb ?me|us": alternatives split by '|', '?' marks an optional
// element, '@name' names a word class.
func compile(spec string, class OptOutClass, classes map[string]map[string]OptOutScope) phrase {
	p := phrase{class: class}
	for _, tok := range strings.Fields(spec) {
		var e element
		if strings.HasPrefix(tok, "?") {
			e.optional, tok = true, tok[1:]
		}
		if strings.HasPrefix(tok, "@") {
			e.class = classes[tok[1:]]
			if e.class == nil {
				panic("text: unknown word class " + tok) // a typo in the tables below
			}
		} else {
			e.words = keySet(strings.ReplaceAll(tok, "|", ","))
		}
		p.elems = append(p.elems, e)
	}
	return p
}

// matchAt matches p at words[i:]: the number of words matched and the scope they name.
func (p phrase) matchAt(words []string, i int) (int, OptOutScope, bool) {
	var scopes []OptOutScope
	var try func(e, w int) (int, bool)
	try = func(e, w int) (int, bool) {
		if e == len(p.elems) {
			return w, true
		}
		el := p.elems[e]
		if w < len(words) {
			if el.words[words[w]] {
				if end, ok := try(e+1, w+1); ok {
					return end, true
				}
			} else if s, ok := el.class[words[w]]; ok {
				scopes = append(scopes, s)
				if end, ok := try(e+1, w+1); ok {
					return end, true
				}
				scopes = scopes[:len(scopes)-1]
			}
		}
		if el.optional {
			return try(e+1, w)
		}
		return 0, false
	}
	end, ok := try(0, i)
	if !ok || end == i {
		return 0, "", false
	}
	scope := ScopeAll
	for _, s := range scopes {
		switch {
		case s == ScopeAll:
		case scope == ScopeAll && !sawOther(scopes, s):
			scope = s
		case scope != s:
			scope = ScopeAll
		}
	}
	return end - i, scope, true
}

// sawOther reports whether scopes names a channel other than s.
func sawOther(scopes []OptOutScope, s OptOutScope) bool {
	for _, x := range scopes {
		if x != ScopeAll && x != s {
			return true
		}
	}
	return false
}

// limits are words after "don't call me" that limit the request to a time or a condition.
var limits = keySet("until, till, til, before, after, between, during, tomorrow, today, tonight, later, unless, if, " +
	"while, when, antes, despues, hasta, manana, avant, apres, demain, weekends, weekdays, mornings, evenings, nights")

// limitPrepositions followed by a time limit it too: "on weekends", "at night", "this week".
var (
	limitPrepositions = keySet("on, at, this, next, in, during, por, la, le, en")
	limitTimes        = keySet("work, weekend, weekends, weekday, weekdays, night, nights, morning, mornings, evening, " +
		"evenings, afternoon, afternoons, week, month, monday, tuesday, wednesday, thursday, friday, saturday, sunday, " +
		"noche, manana, tarde, semana, nuit, matin, soir, semaine, travail")
	// limitSkip are words between the request and its limit: "don't call me before noon".
	limitSkip = keySet("me, us, again, here, anymore, this, number")
)

// limited reports a limit after the match: "don't call me before noon", "not on weekends".
func limited(words []string, _, end int) bool {
	for i := end; i < len(words); i++ {
		w := words[i]
		switch {
		case limits[w]:
			return true
		case limitPrepositions[w] && i+1 < len(words) && limitTimes[words[i+1]]:
			return true
		case limitSkip[w]:
			continue
		}
		return false
	}
	return false
}

// final reports words after the match other than courtesy words: "I said stop" revokes, "I
// said stop at the corner" does not.
func final(words []string, _, end int) bool {
	for _, w := range words[end:] {
		if !fillers[w] {
			return true
		}
	}
	return false
}

// determiners before a weak keyword make it a noun: "the end", "this weekend's end".
var determiners = keySet("the, a, an, this, that, my, your, his, her, its, our, their, at, of")

// aboutSomethingElse reports that a weak keyword is a noun ("the end") or has an object that is
// not a courtesy word, an object pronoun or a messaging noun ("cancel my appointment").
func aboutSomethingElse(words []string, start, end int) bool {
	if start > 0 && determiners[words[start-1]] {
		return true
	}
	for _, w := range words[end:] {
		if fillers[w] {
			continue
		}
		_, obj := objClass[w]
		_, noun := nounClass[w]
		return !(obj || noun)
	}
	return false
}

var optOutPhrases = func() []phrase {
	classes := map[string]map[string]OptOutScope{
		"verb": verbClass, "obj": objClass, "noun": nounClass, "esverb": esVerbClass, "esnoun": esNounClass,
		"frverb": frVerbClass, "frnoun": frNounClass, "target": targetClass,
	}
	revoke := func(spec string) phrase { return compile(spec, OptOutRevoked, classes) }
	requested := func(spec string) phrase {
		p := compile(spec, OptOutRevoked, classes)
		p.guard = final
		return p
	}
	negative := func(spec string) phrase {
		p := compile(spec, OptOutRevoked, classes)
		p.negative, p.restrict = true, limited
		return p
	}
	flag := func(spec string) phrase { return compile(spec, OptOutAmbiguous, classes) }
	weak := func(spec string) phrase {
		p := flag(spec)
		p.guard = aboutSomethingElse
		return p
	}
	return []phrase{
		// English.
		revoke("stop|quit|cease|end|halt @verb"),
		revoke("stop|halt @obj"),
		requested("i|we said|say|asked|told ?you ?to stop|halt"),
		requested("can|could|will|would|you ?you ?please|need|have|must ?to stop|halt"),
		requested("make it|them|this stop"),
		revoke("stop|cancel|end|quit|halt ?with ?the|these|those|this|your|all|my|any|ur @noun"),
		negative("dont|never @verb ?me|us|this|here|again"),
		negative("do not @verb"),
		negative("dont|never you dare @verb"),
		negative("no|not more|further|longer @noun"),
		negative("no longer @verb ?me|us"),
		revoke("remove|delete|erase|drop|unlist|unsubscribe|unsub me|us"),
		revoke("remove|delete|erase|drop|lose|forget my|this|our number|phone|info|details|contact|data"),
		revoke("take|get|put me|us off|out"),
		revoke("take|get my|this|our number off|out"),
		revoke("opt me|us out"),
		revoke("leave me|us alone"),
		revoke("revoke|withdraw|rescind|retract|cancel ?my|our|all|the|any consent|permission|authorization|optin"),
		negative("dont|not|longer|never consent|consented"),
		negative("dont|not|longer want|need ?these|those|your|any|more|the|ur @noun"),
		negative("dont|not|longer want to receive|get"),
		revoke("unsubscribe|unsub|unsubscribing|unsubscribed|revoke|revoking|optout|stopall"),
		revoke("opt out"),
		revoke("stop all"),
		// Spanish.
		negative("no|nunca me|nos @esverb"),
		revoke("deja|dejen|deje|dejad|dejes|para|paren|pare de @esverb"),
		revoke("de baja"),
		revoke("borrame|borrenme|borreme|sacame|saquenme|saqueme|quitame|quitenme|quiteme|eliminame|eliminenme|elimineme"),
		negative("no mas @esnoun"),
		negative("no quiero ?recibir ?mas @esnoun"),
		// French.
		revoke("arretez|arrete|arretes|arreter|cessez|cesse|cesser de ?m|me|nous @frverb"),
		negative("ne m|me|nous @frverb plus"),
		negative("m|me @frverb plus"),
		revoke("desabonner|desinscrire|desabonnement|desinscription|desabonnez|desinscrivez|desabonne|desinscris"),
		revoke("retirez|supprimez|enlevez|rayez|effacez moi|nous"),
		revoke("laissez|laisse|laissez moi|nous tranquille|tranquilles"),
		revoke("fichez|foutez moi|nous la paix"),
		negative("plus de @frnoun"),
		// Flags.
		flag("wrong number|person|numero"),
		flag("numero equivocado|incorrecto"),
		flag("mauvais numero"),
		flag("not|no interested|intrested|interest"),
		flag("no me interesa"),
		flag("pas interesse|interessee|interesses"),
		flag("spam|scam|spammer|scammer|spammers|scammers|fraud|phishing|harassment|harassing|harassed|harass"),
		flag("block|blocking|blocked|report|reporting|reported @target"),
		flag("lawyer|attorney|fcc|tcpa|ftc|dnc"),
		flag("never|didnt|not signed|sign|subscribed|subscribe|opted|agreed"),
		flag("get|got|gave|find|found my number"),
		flag("who gave you"),
		flag("cancel|end|quit @obj"),
		weak("cancel|end|quit|remove"),
	}
}()

// phrasesByFirstWord indexes optOutPhrases by the words their first element can match, so a
// sentence is only tried against the phrases that can start at each word; phrasesAnyWord are
// the phrases whose first element is optional.
var phrasesByFirstWord, phrasesAnyWord = func() (map[string][]int, []int) {
	by := map[string][]int{}
	var anyWord []int
	for i, p := range optOutPhrases {
		first := p.elems[0]
		if first.optional {
			anyWord = append(anyWord, i)
			continue
		}
		for w := range first.words {
			by[w] = append(by[w], i)
		}
		for w := range first.class {
			by[w] = append(by[w], i)
		}
	}
	return by, anyWord
}()
