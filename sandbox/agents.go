package sandbox

import (
	"encoding/json"
	"net/http"
	"regexp"
	"time"
)

// defaultVoice is the API's default voice ("Skylar - Friendly Guide").
const defaultVoice = "custom_voice_ea22ba5fdfaa18f39c274851c1"

var (
	voiceModes     = []string{"webhook", "hosted"}
	modelTiers     = []string{"turbo", "balanced", "max"}
	sttModes       = []string{"fast", "accurate"}
	ambientSounds  = []string{"none", "office", "coffee-shop", "outdoor"}
	denoisingModes = []string{"noise-cancellation", "noise-and-background-speech-cancellation"}
	languages      = []string{"af-ZA", "ar-SA", "az-AZ", "bg-BG", "bs-BA", "ca-ES", "cs-CZ", "cy-GB", "da-DK",
		"de-DE", "el-GR", "en-AU", "en-GB", "en-IN", "en-NZ", "en-US", "es-419", "es-ES", "fa-IR", "fi-FI",
		"fil-PH", "fr-CA", "fr-FR", "gl-ES", "he-IL", "hi-IN", "hr-HR", "hu-HU", "hy-AM", "id-ID", "is-IS",
		"it-IT", "ja-JP", "kk-KZ", "kn-IN", "ko-KR", "lt-LT", "lv-LV", "mk-MK", "mr-IN", "ms-MY", "ne-NP",
		"nl-BE", "nl-NL", "no-NO", "pl-PL", "pt-BR", "pt-PT", "ro-RO", "ru-RU", "sk-SK", "sl-SI", "sr-RS",
		"sv-SE", "sw-KE", "ta-IN", "th-TH", "tr-TR", "uk-UA", "ur-IN", "vi-VN", "yue-CN", "zh-CN"}
	toolNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// voice is one entry of GET /v1/agents/voices (snake_case).
type voice struct {
	VoiceID         string  `json:"voice_id"`
	VoiceName       string  `json:"voice_name"`
	Provider        string  `json:"provider"`
	Gender          *string `json:"gender"`
	Accent          *string `json:"accent"`
	PreviewAudioURL *string `json:"preview_audio_url"`
}

func voices() []voice {
	v := func(id, name, provider, gender, accent string) voice {
		return voice{VoiceID: id, VoiceName: name, Provider: provider, Gender: strPtr(gender), Accent: strPtr(accent),
			PreviewAudioURL: strPtr("https://sandbox.agentphone.invalid/voices/" + id + ".mp3")}
	}
	return []voice{
		v(defaultVoice, "Skylar - Friendly Guide", "ElevenLabs", "female", "American"),
		v("11labs-Marissa", "Marissa", "ElevenLabs", "female", "American"),
		v("11labs-Adrian", "Adrian", "ElevenLabs", "male", "American"),
		v("cartesia-Cleo", "Cleo", "Cartesia", "female", "British"),
		v("openai-Alloy", "Alloy", "OpenAI", "", ""),
		v("minimax-Max", "Max", "MiniMax", "male", ""),
	}
}

// agentCfg is the stored agent in its JSON (camelCase) form.
type agentCfg struct {
	ID                      string            `json:"id"`
	Name                    string            `json:"name"`
	Description             *string           `json:"description"`
	VoiceMode               string            `json:"voiceMode"`
	EnableMessaging         bool              `json:"enableMessaging"`
	ModelTier               string            `json:"modelTier"`
	SystemPrompt            *string           `json:"systemPrompt"`
	BeginMessage            *string           `json:"beginMessage"`
	Voice                   string            `json:"voice"`
	TransferNumber          *string           `json:"transferNumber"`
	CustomTools             []json.RawMessage `json:"customTools"`
	VoicemailMessage        *string           `json:"voicemailMessage"`
	CallScreeningIdentity   *string           `json:"callScreeningIdentity"`
	CallScreeningPurpose    *string           `json:"callScreeningPurpose"`
	SttMode                 string            `json:"sttMode"`
	AmbientSound            string            `json:"ambientSound"`
	DenoisingMode           string            `json:"denoisingMode"`
	MaxSilenceMs            int64             `json:"maxSilenceMs"`
	VoiceSpeed              float64           `json:"voiceSpeed"`
	InterruptionSensitivity float64           `json:"interruptionSensitivity"`
	EnableBackchannel       bool              `json:"enableBackchannel"`
	Language                string            `json:"language"`
	CreatedAt               string            `json:"createdAt"`
}

type agent struct {
	seq     int64
	cfg     agentCfg
	created time.Time
	hook    *webhook
}

// numberBrief is the {id, phoneNumber, status, type} form used inside agents.
type numberBrief struct {
	ID          string `json:"id"`
	PhoneNumber string `json:"phoneNumber"`
	Status      string `json:"status"`
	Type        string `json:"type"`
}

type agentView struct {
	agentCfg
	Numbers []numberBrief `json:"numbers"`
}

// agentNumbers lists the agent's active numbers, oldest attachment first. Caller holds s.mu.
func (s *Sandbox) agentNumbers(agentID string) []*number {
	var out []*number
	for _, n := range sortedBySeq(s.st.numbers, func(n *number) int64 { return n.attachSeq }) {
		if n.agentID == agentID && n.status == "active" {
			out = append(out, n)
		}
	}
	return out
}

func (s *Sandbox) viewAgent(a *agent) agentView {
	v := agentView{agentCfg: a.cfg, Numbers: []numberBrief{}}
	if v.CustomTools == nil {
		v.CustomTools = []json.RawMessage{}
	}
	for _, n := range s.agentNumbers(a.cfg.ID) {
		v.Numbers = append(v.Numbers, n.brief())
	}
	return v
}

func (s *Sandbox) listVoices(r *http.Request) (int, any, *apiError) {
	return ok(map[string]any{"data": voices()})
}

func (s *Sandbox) listAgents(r *http.Request) (int, any, *apiError) {
	q := newQuery(r)
	limit, offset := q.page(20, 100)
	if e := q.err(); e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var views []agentView
	for _, a := range sortedBySeq(s.st.agents, func(a *agent) int64 { return a.seq }) {
		views = append(views, s.viewAgent(a))
	}
	return ok(pageOf(views, limit, offset))
}

func (s *Sandbox) createAgent(r *http.Request) (int, any, *apiError) {
	f, e := readForm(r)
	if e != nil {
		return fail(e)
	}
	cfg := agentCfg{VoiceMode: "webhook", EnableMessaging: true, ModelTier: "balanced", Voice: defaultVoice,
		SttMode: "fast", AmbientSound: "none", DenoisingMode: "noise-cancellation", MaxSilenceMs: 600000,
		VoiceSpeed: 1.0, InterruptionSensitivity: 0.8, EnableBackchannel: true, Language: "en-US"}
	f.require("name")
	applyAgentFields(f, &cfg)
	if e := f.err(); e != nil {
		return fail(e)
	}
	if e := checkHosted(&cfg); e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	cfg.ID = s.ids.id("agt_")
	cfg.CreatedAt = ts(now)
	a := &agent{seq: s.st.next(), cfg: cfg, created: now}
	s.st.agents[cfg.ID] = a
	return ok(s.viewAgent(a))
}

// checkHosted rejects a hosted agent without a system prompt.
func checkHosted(cfg *agentCfg) *apiError {
	if cfg.VoiceMode == "hosted" && (cfg.SystemPrompt == nil || *cfg.SystemPrompt == "") {
		return valueError([]any{"body", "systemPrompt"}, "systemPrompt is required when voiceMode is 'hosted'")
	}
	return nil
}

// applyAgentFields copies every present, valid field of f onto cfg. Absent fields are left
// alone; null clears nullable fields; an empty transferNumber or voicemailMessage removes it.
func applyAgentFields(f *form, cfg *agentCfg) {
	if v, ok := f.str("name"); ok {
		if v == "" {
			f.fail("name", "String should have at least 1 character", "string_too_short")
		} else {
			cfg.Name = v
		}
	}
	nullable := []struct {
		key string
		dst **string
	}{
		{"description", &cfg.Description}, {"systemPrompt", &cfg.SystemPrompt}, {"beginMessage", &cfg.BeginMessage},
		{"transferNumber", &cfg.TransferNumber}, {"voicemailMessage", &cfg.VoicemailMessage},
		{"callScreeningIdentity", &cfg.CallScreeningIdentity}, {"callScreeningPurpose", &cfg.CallScreeningPurpose},
	}
	for _, nf := range nullable {
		key, dst := nf.key, nf.dst
		if f.isNull(key) {
			*dst = nil
			continue
		}
		if v, ok := f.str(key); ok {
			if key == "transferNumber" && v != "" && !e164RE.MatchString(v) {
				f.fail(key, "Value error, transferNumber must be an E.164 number such as +14155550123", "value_error")
				continue
			}
			if v == "" && (key == "transferNumber" || key == "voicemailMessage") {
				*dst = nil
				continue
			}
			*dst = &v
		}
	}
	enums := []struct {
		key     string
		dst     *string
		allowed []string
	}{
		{"voiceMode", &cfg.VoiceMode, voiceModes}, {"modelTier", &cfg.ModelTier, modelTiers},
		{"sttMode", &cfg.SttMode, sttModes}, {"ambientSound", &cfg.AmbientSound, ambientSounds},
		{"denoisingMode", &cfg.DenoisingMode, denoisingModes}, {"language", &cfg.Language, languages},
	}
	for _, e := range enums {
		if v, ok := f.enum(e.key, e.allowed...); ok {
			*e.dst = v
		}
	}
	if v, ok := f.str("voice"); ok && v != "" {
		cfg.Voice = v
	}
	if v, ok := f.boolean("enableMessaging"); ok {
		cfg.EnableMessaging = v
	}
	if v, ok := f.boolean("enableBackchannel"); ok {
		cfg.EnableBackchannel = v
	}
	if v, ok := f.integer("maxSilenceMs", 10000, 3600000); ok {
		cfg.MaxSilenceMs = v
	}
	if v, ok := f.number("voiceSpeed", 0.5, 2.0); ok {
		cfg.VoiceSpeed = v
	}
	if v, ok := f.number("interruptionSensitivity", 0.0, 1.0); ok {
		cfg.InterruptionSensitivity = v
	}
	if f.isNull("customTools") {
		cfg.CustomTools = nil
	} else if tools, ok := f.rawList("customTools"); ok {
		if checkCustomTools(f, tools) {
			cfg.CustomTools = tools
		}
	}
}

// checkCustomTools validates customTools items (at most 20; name, description, https url).
func checkCustomTools(f *form, tools []json.RawMessage) bool {
	if len(tools) > 20 {
		f.fail("customTools", "List should have at most 20 items after validation", "too_long")
		return false
	}
	good := true
	for i, raw := range tools {
		var t struct {
			Name        *string `json:"name"`
			Description *string `json:"description"`
			URL         *string `json:"url"`
			Method      *string `json:"method"`
			TimeoutMs   *int64  `json:"timeoutMs"`
		}
		bad := func(field, msg, typ string) {
			f.errs = append(f.errs, fieldError{Loc: []any{"body", "customTools", i, field}, Msg: msg, Type: typ})
			good = false
		}
		if err := json.Unmarshal(raw, &t); err != nil {
			f.errs = append(f.errs, fieldError{Loc: []any{"body", "customTools", i}, Msg: "Input should be a valid dictionary", Type: "dict_type"})
			good = false
			continue
		}
		switch {
		case t.Name == nil:
			bad("name", "Field required", "missing")
		case !toolNameRE.MatchString(*t.Name):
			bad("name", "String should match pattern '^[A-Za-z0-9_-]{1,64}$'", "string_pattern_mismatch")
		}
		if t.Description == nil {
			bad("description", "Field required", "missing")
		}
		switch {
		case t.URL == nil:
			bad("url", "Field required", "missing")
		case !httpsURL(*t.URL):
			bad("url", "Value error, url must be an https:// URL", "value_error")
		}
		if t.Method != nil && *t.Method != "GET" && *t.Method != "POST" {
			bad("method", "Input should be 'GET' or 'POST'", "enum")
		}
		if t.TimeoutMs != nil && (*t.TimeoutMs < 1000 || *t.TimeoutMs > 120000) {
			bad("timeoutMs", "Input should be between 1000 and 120000", "value_error")
		}
	}
	return good
}

// agentOr404 finds an agent. Caller holds s.mu.
func (s *Sandbox) agentOr404(id string) (*agent, *apiError) {
	a, found := s.st.agents[id]
	if !found {
		return nil, notFound("Agent", id)
	}
	return a, nil
}

func (s *Sandbox) getAgent(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, e := s.agentOr404(r.PathValue("agent_id"))
	if e != nil {
		return fail(e)
	}
	return ok(s.viewAgent(a))
}

func (s *Sandbox) updateAgent(r *http.Request) (int, any, *apiError) {
	f, e := readForm(r)
	if e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, e := s.agentOr404(r.PathValue("agent_id"))
	if e != nil {
		return fail(e)
	}
	cfg := a.cfg
	applyAgentFields(f, &cfg)
	if e := f.err(); e != nil {
		return fail(e)
	}
	if e := checkHosted(&cfg); e != nil {
		return fail(e)
	}
	a.cfg = cfg
	return ok(s.viewAgent(a))
}

func (s *Sandbox) deleteAgent(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, e := s.agentOr404(r.PathValue("agent_id"))
	if e != nil {
		return fail(e)
	}
	id := a.cfg.ID
	for _, n := range s.st.numbers {
		if n.agentID == id {
			n.agentID = ""
		}
	}
	for _, c := range s.st.convs {
		if c.agentID == id {
			c.agentID = ""
		}
	}
	for _, c := range s.st.calls {
		if c.agentID == id {
			c.agentID = ""
		}
	}
	delete(s.st.agents, id)
	return ok(map[string]any{"success": true, "id": id, "name": a.cfg.Name})
}

func (s *Sandbox) attachNumber(r *http.Request) (int, any, *apiError) {
	f, e := readForm(r)
	if e != nil {
		return fail(e)
	}
	f.require("numberId")
	numberID, _ := f.str("numberId")
	if e := f.err(); e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, e := s.agentOr404(r.PathValue("agent_id"))
	if e != nil {
		return fail(e)
	}
	n, found := s.st.numbers[numberID]
	if !found {
		return fail(notFound("Phone number", numberID))
	}
	if n.status != "active" {
		return fail(badRequest("Phone number " + numberID + " is released and cannot be attached"))
	}
	if n.agentID != a.cfg.ID {
		n.agentID = a.cfg.ID
		n.attachSeq = s.st.next()
	}
	return ok(map[string]any{"agentId": a.cfg.ID, "number": n.brief()})
}

func (s *Sandbox) detachNumber(r *http.Request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, e := s.agentOr404(r.PathValue("agent_id"))
	if e != nil {
		return fail(e)
	}
	numberID := r.PathValue("number_id")
	n, found := s.st.numbers[numberID]
	if !found {
		return fail(notFound("Phone number", numberID))
	}
	if n.agentID != a.cfg.ID {
		return fail(newError(http.StatusNotFound, "PHONE_NUMBER_NOT_FOUND",
			"Phone number "+numberID+" is not attached to agent "+a.cfg.ID))
	}
	n.agentID = ""
	return ok(map[string]any{"success": true})
}

func (s *Sandbox) listAgentConversations(r *http.Request) (int, any, *apiError) {
	q := newQuery(r)
	limit, offset := q.page(20, 100)
	if e := q.err(); e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, e := s.agentOr404(r.PathValue("agent_id"))
	if e != nil {
		return fail(e)
	}
	return ok(pageOf(s.conversationSummaries(func(c *conversation) bool { return c.agentID == a.cfg.ID }), limit, offset))
}

func (s *Sandbox) listAgentCalls(r *http.Request) (int, any, *apiError) {
	q := newQuery(r)
	limit, offset := q.page(20, 100)
	if e := q.err(); e != nil {
		return fail(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, e := s.agentOr404(r.PathValue("agent_id"))
	if e != nil {
		return fail(e)
	}
	return ok(pageOf(s.callSummaries(func(c *call) bool { return c.agentID == a.cfg.ID }), limit, offset))
}
