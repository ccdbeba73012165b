package phone

import (
	"strings"
	"unicode"
)

// crisisLines are the crisis lines and helplines of the default allowed countries (the US, its
// territories and Canada), in E.164. The server never calls or texts them: 47 CFR
// 64.1200(a)(1)(i) bars autodialed and artificial-voice calls to emergency lines and poison
// control centres, and an AI calling a lifeline takes it from someone in crisis. They are
// denied like 911 and 988 [emergency], whatever the confirmation.
var crisisLines = map[string]string{
	"+18002738255": "the 988 Suicide & Crisis Lifeline and Veterans Crisis Line (1-800-273-TALK)",
	"+18007994889": "the 988 Lifeline's TTY line",
	"+18886289454": "the 988 Lifeline in Spanish",
	"+18007842433": "1-800-SUICIDE",
	"+18002221222": "Poison Help, the US poison control line",
	"+18007997233": "the National Domestic Violence Hotline",
	"+18007873224": "the National Domestic Violence Hotline (TTY)",
	"+18883737888": "the National Human Trafficking Hotline",
	"+18006624357": "the SAMHSA National Helpline",
	"+18664887386": "the Trevor Lifeline",
	"+18775658860": "Trans Lifeline",
	"+18773306366": "Trans Lifeline (Canada)",
	"+18004224453": "the Childhelp National Child Abuse Hotline",
	"+18006564673": "the RAINN National Sexual Assault Hotline",
	"+18009855990": "the Disaster Distress Helpline",
	"+18007862929": "the National Runaway Safeline",
	"+18334564566": "Talk Suicide Canada",
	"+18006686868": "Kids Help Phone",
	"+18552423310": "the Hope for Wellness Help Line",
	"+18447647669": "Canada's poison centres (1-844-POISON-X)",
	"+18002689017": "the Ontario Poison Centre",
	"+18004635060": "the Québec Poison Centre",
	"+18005678911": "the BC Drug and Poison Information Centre",
	"+18662773553": "the Québec suicide prevention line (1-866-APPELLE)",
	"+18339001010": "the Canadian Human Trafficking Hotline",
}

// crisisTextLines are the short codes of crisis text lines (they are short codes, refused
// anyway; this names them).
var crisisTextLines = map[string]string{
	"741741": "the Crisis Text Line",
	"838255": "the Veterans Crisis Line's text line",
	"88788":  "the National Domestic Violence Hotline's text line",
	"233733": "the National Human Trafficking Hotline's text line",
	"678678": "TrevorText",
	"45645":  "Talk Suicide Canada's text line",
	"686868": "Kids Help Phone's text line",
}

// crisisReason is the refusal for a crisis line.
func crisisReason(name string) string {
	return "this is " + name + ", a crisis or help line; the server never calls or texts it. If someone needs it, tell them to call or text it themselves (988 in the US and Canada, 911 in an emergency)"
}

// keypadDigits spells the letters of a vanity number as keypad digits ("1-800-273-TALK" ->
// "1-800-273-8255"). ok is false when s has no letters.
func keypadDigits(s string) (string, bool) {
	const keys = "22233344455566677778889999"
	letters := false
	out := strings.Map(func(r rune) rune {
		if r < 128 && unicode.IsLetter(r) {
			letters = true
			return rune(keys[unicode.ToUpper(r)-'A'])
		}
		return r
	}, s)
	return out, letters
}
