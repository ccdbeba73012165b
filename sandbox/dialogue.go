package sandbox

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
)

// line is one scripted exchange: what the other party says, then the agent's reply (hosted
// calls only; webhook calls get the reply from the webhook).
type line struct {
	caller string
	agent  string
}

const (
	objectiveStart = "--- CALL OBJECTIVE"
	objectiveEnd   = "--- END OBJECTIVE ---"
	maxTopicRunes  = 160
)

// extractTopic finds the call objective in a system prompt: the text between the
// "--- CALL OBJECTIVE ... ---" marker line and "--- END OBJECTIVE ---" when present, else the
// prompt itself. Whitespace is collapsed and the result bounded.
func extractTopic(prompt string) string {
	topic := prompt
	if i := strings.Index(prompt, objectiveStart); i >= 0 {
		rest := prompt[i+len(objectiveStart):]
		if j := strings.Index(rest, "---"); j >= 0 {
			body := rest[j+3:]
			if k := strings.Index(body, objectiveEnd); k >= 0 {
				body = body[:k]
			}
			topic = body
		}
	}
	topic = strings.TrimSpace(topic)
	var quoted string // agentphone-mcp passes the objective as one JSON string
	if strings.HasPrefix(topic, `"`) && json.Unmarshal([]byte(topic), &quoted) == nil {
		topic = quoted
	}
	topic = strings.Join(strings.Fields(topic), " ")
	if r := []rune(topic); len(r) > maxTopicRunes {
		cut := string(r[:maxTopicRunes])
		if sp := strings.LastIndex(cut, " "); sp > maxTopicRunes/2 {
			cut = cut[:sp]
		}
		topic = cut + "…"
	}
	topic = strings.TrimRight(topic, ".!? ")
	if topic == "" {
		topic = "a quick matter"
	}
	return topic
}

func hash(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// confidence is a deterministic speech-recognition confidence for an utterance.
func confidence(text string) float64 {
	if text == "" {
		return 1
	}
	return 0.85 + float64(hash(text)%15)/100
}

func defaultGreeting(agentName string, inbound bool) string {
	if agentName == "" {
		agentName = "your assistant"
	}
	if inbound {
		return fmt.Sprintf("Hello, you've reached %s. How can I help you today?", agentName)
	}
	return fmt.Sprintf("Hi, this is %s, an AI assistant calling on behalf of an AgentPhone user. Is now a good time?", agentName)
}

// hostedScript is a short, plausible dialogue about topic. The variant depends only on the
// topic, so the same topic always gives the same transcript.
func hostedScript(topic string, inbound bool, callerLines []string) []line {
	if len(callerLines) > 0 {
		out := make([]line, len(callerLines))
		for i, c := range callerLines {
			reply := "I understand. Regarding " + topic + ", I can help with that."
			if i == len(callerLines)-1 {
				reply = "Thanks for calling. Goodbye!"
			}
			out[i] = line{caller: c, agent: reply}
		}
		return out
	}
	if inbound {
		return []line{
			{"Hi, I have a quick question about " + topic + ".", "Of course, I can help with " + topic + ". What would you like to know?"},
			{"Can you confirm the details for me?", "Sure: " + topic + ". Is there anything else?"},
			{"No, that's all. Thanks!", "You're welcome. Goodbye!"},
		}
	}
	openers := []string{
		"Hello? Yes, this is a good time. What's this about?",
		"Hi, sure, I have a minute. What can I do for you?",
		"Yes, go ahead. What is it regarding?",
	}
	agrees := []string{
		"Okay, that works for me.",
		"Sure, that sounds fine.",
		"Yes, that's no problem at all.",
	}
	v := int(hash(topic) % 3)
	return []line{
		{openers[v], "I'm calling about the following: " + topic + "."},
		{"I see. What do you need from me?", "Could you confirm that this works for you?"},
		{agrees[v], "Great, I've noted that. Thank you for your time!"},
		{"Thanks, goodbye.", "Goodbye!"},
	}
}

// webhookScript is what the other party says on a webhook-driven call.
func webhookScript(inbound bool, callerLines []string) []line {
	lines := callerLines
	if len(lines) == 0 && inbound {
		lines = []string{"Hi, I'm calling about my account.", "Can you help me with that?", "Okay, thanks. Bye."}
	}
	if len(lines) == 0 {
		lines = []string{"Hello?", "Yes, speaking. Who is this?", "Okay, go ahead.", "Alright, thank you. Bye."}
	}
	out := make([]line, len(lines))
	for i, c := range lines {
		out[i] = line{caller: c}
	}
	return out
}

// summarize writes the call summary used in call details and agent.call_ended.
func summarize(c *call) string {
	if c.hosted {
		who := "the caller"
		if c.direction == "outbound" {
			who = c.to
		}
		return fmt.Sprintf("The agent spoke with %s about %s. The other party agreed and the call ended politely after %d turns.",
			who, c.topic, len(c.turns))
	}
	replies := 0
	for _, t := range c.turns {
		if t.response != nil {
			replies++
		}
	}
	return fmt.Sprintf("Webhook-driven %s call: %d caller turns, %d agent replies; ended by %s.",
		c.direction, c.next, replies, strings.ReplaceAll(c.reason, "_", " "))
}
