package sandbox

import "net/http"

// routes registers every endpoint. net/http's ServeMux picks the most specific pattern, which
// gives the order the reference asks for: /v1/agents/voices before /v1/agents/{agent_id},
// /v1/contacts/capabilities before /v1/contacts/{contact_id}, /v1/webhooks/deliveries/stats
// and /all-time before any id pattern, /v1/calls/web before /v1/calls/{call_id}.
func (s *Sandbox) routes() {
	m := http.NewServeMux()
	h := func(pattern string, jh jsonHandler) { m.Handle(pattern, s.j(jh)) }

	// usage
	h("GET /v1/usage", s.getUsage)
	h("GET /v1/usage/daily", s.getUsageDaily)
	h("GET /v1/usage/monthly", s.getUsageMonthly)
	h("GET /v1/usage/by-number", s.getUsageByNumber)
	h("GET /v1/usage/by-agent", s.getUsageByAgent)

	// agents
	h("GET /v1/agents/voices", s.listVoices)
	h("GET /v1/agents", s.listAgents)
	h("POST /v1/agents", s.createAgent)
	h("GET /v1/agents/{agent_id}", s.getAgent)
	h("PATCH /v1/agents/{agent_id}", s.updateAgent)
	h("DELETE /v1/agents/{agent_id}", s.deleteAgent)
	h("POST /v1/agents/{agent_id}/numbers", s.attachNumber)
	h("DELETE /v1/agents/{agent_id}/numbers/{number_id}", s.detachNumber)
	h("GET /v1/agents/{agent_id}/conversations", s.listAgentConversations)
	h("GET /v1/agents/{agent_id}/calls", s.listAgentCalls)
	h("GET /v1/agents/{agent_id}/webhook", s.getAgentWebhook)
	h("POST /v1/agents/{agent_id}/webhook", s.setAgentWebhook)
	h("DELETE /v1/agents/{agent_id}/webhook", s.deleteAgentWebhook)
	h("GET /v1/agents/{agent_id}/webhook/deliveries", s.listAgentDeliveries)
	h("POST /v1/agents/{agent_id}/webhook/test", s.testAgentWebhook)

	// numbers and contact cards
	h("GET /v1/numbers", s.listNumbers)
	h("POST /v1/numbers", s.buyNumber)
	h("GET /v1/numbers/{number_id}", s.getNumber)
	h("DELETE /v1/numbers/{number_id}", s.releaseNumber)
	h("GET /v1/numbers/{number_id}/messages", s.listNumberMessages)
	h("GET /v1/numbers/{number_id}/calls", s.listNumberCalls)
	h("GET /v1/numbers/{number_id}/contact-card", s.getContactCard)
	h("PUT /v1/numbers/{number_id}/contact-card", s.putContactCard)
	h("DELETE /v1/numbers/{number_id}/contact-card", s.deleteContactCard)

	// calls
	h("GET /v1/calls", s.listCalls)
	h("POST /v1/calls", s.createCall)
	h("POST /v1/calls/web", s.createWebCall)
	h("GET /v1/calls/{call_id}", s.getCall)
	h("POST /v1/calls/{call_id}/end", s.endCall)
	h("GET /v1/calls/{call_id}/transcript", s.getTranscript)
	m.HandleFunc("GET /v1/calls/{call_id}/recording", s.getRecording)
	m.HandleFunc("GET /v1/calls/{call_id}/transcript/stream", s.streamTranscript)

	// messages and reactions
	h("POST /v1/messages", s.sendMessage)
	h("POST /v1/messages/{message_id}/reactions", s.sendReaction)

	// conversations
	h("GET /v1/conversations", s.listConversations)
	h("GET /v1/conversations/{conversation_id}", s.getConversation)
	h("PATCH /v1/conversations/{conversation_id}", s.updateConversation)
	h("GET /v1/conversations/{conversation_id}/messages", s.listConversationMessages)
	h("POST /v1/conversations/{conversation_id}/typing", s.sendTyping)
	h("POST /v1/conversations/{conversation_id}/background", s.setBackground)
	h("DELETE /v1/conversations/{conversation_id}/background", s.deleteBackground)

	// contacts
	h("GET /v1/contacts", s.listContacts)
	h("POST /v1/contacts", s.createContact)
	h("GET /v1/contacts/capabilities", s.contactCapabilities)
	h("GET /v1/contacts/{contact_id}", s.getContact)
	h("PATCH /v1/contacts/{contact_id}", s.updateContact)
	h("DELETE /v1/contacts/{contact_id}", s.deleteContact)

	// project webhook and deliveries
	h("GET /v1/webhooks", s.getProjectWebhook)
	h("POST /v1/webhooks", s.setProjectWebhook)
	h("DELETE /v1/webhooks", s.deleteProjectWebhook)
	h("GET /v1/webhooks/deliveries", s.listProjectDeliveries)
	h("GET /v1/webhooks/deliveries/stats", s.deliveryStats)
	h("GET /v1/webhooks/deliveries/all-time", s.deliveryAllTime)
	h("POST /v1/webhooks/test", s.testProjectWebhook)

	// registration, sub-accounts, location
	h("GET /v1/register/status", s.registrationStatus)
	h("POST /v1/register", s.register)
	h("GET /v1/sub-accounts", s.listSubAccounts)
	h("POST /v1/sub-accounts", s.createSubAccount)
	h("PATCH /v1/sub-accounts/{sub_account_id}", s.updateSubAccount)
	h("DELETE /v1/sub-accounts/{sub_account_id}", s.deleteSubAccount)
	h("GET /v1/location/{phone_number}", s.getLocation)
	h("POST /v1/location/refresh", s.refreshLocation)

	// sandbox-only injection
	h("POST /sandbox/inbound/sms", s.httpInboundSMS)
	h("POST /sandbox/inbound/call", s.httpInboundCall)

	s.mux = m
}
