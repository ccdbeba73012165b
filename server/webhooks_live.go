package server

import (
	"encoding/json"
	"net/http"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/tools"
)

// holdTurn keeps a caller utterance open for the model (listen_call, then say). Shortly
// before the webhook timeout it streams an interim filler as NDJSON and keeps waiting; after
// liveMaxInterims fillers it ends the turn politely with a goodbye and a hangup.
func (rv *receiver) holdTurn(w http.ResponseWriter, r *http.Request, ev *apiclient.WebhookEvent) {
	v := ev.Voice
	live := rv.app.live
	if live == nil {
		writeJSON(w, apiclient.VoiceResponse{Text: LiveGoodbye, Hangup: true})
		return
	}
	t := live.Hold(tools.LiveTurn{CallID: v.CallID, AgentID: ev.AgentID, NumberID: v.NumberID, From: v.From, To: v.To,
		Direction: string(v.Direction), Text: v.Transcript, At: rv.app.clock.Now()})
	defer live.Release(t)

	wait := max(rv.secrets.timeout(ev.AgentID)-interimLead, interimLead)
	streaming := false
	for n := 0; ; n++ {
		timer := rv.app.clock.NewTimer(wait)
		select {
		case resp := <-t.Answer():
			timer.Stop()
			rv.writeFinal(w, streaming, resp)
			return
		case <-r.Context().Done():
			timer.Stop()
			rv.app.logger.Info("the voice webhook request ended before the model answered", "call", v.CallID)
			return
		case <-timer.Chan():
		}
		if n >= liveMaxInterims {
			live.Release(t)
			select {
			case resp := <-t.Answer(): // the model answered just in time
				rv.writeFinal(w, streaming, resp)
			default:
				rv.app.logger.Warn("the model did not answer the caller; ending the turn with a goodbye", "call", v.CallID)
				rv.writeFinal(w, streaming, apiclient.VoiceResponse{Text: LiveGoodbye, Hangup: true})
			}
			return
		}
		if !streaming {
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.WriteHeader(http.StatusOK)
			streaming = true
		}
		writeLine(w, apiclient.VoiceResponse{Text: InterimFiller, Interim: true})
	}
}

// writeFinal answers the turn: one JSON object, or the last NDJSON line after fillers.
func (rv *receiver) writeFinal(w http.ResponseWriter, streaming bool, resp apiclient.VoiceResponse) {
	resp.Interim = false
	if !streaming {
		writeJSON(w, resp)
		return
	}
	writeLine(w, resp)
}

func writeLine(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	_, _ = w.Write(append(b, '\n'))
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}
