package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// direct calls the simulated API as the test (not through the server): what really happened.
func direct(t *testing.T, method, url, body string, out any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s %s: %v: %s", method, url, err, b)
	}
}

func buyDirect(t *testing.T, base, agentID string) (id, phone string) {
	t.Helper()
	var n struct {
		ID          string `json:"id"`
		PhoneNumber string `json:"phoneNumber"`
	}
	direct(t, http.MethodPost, base+"/v1/numbers", `{"areaCode":"415","agentId":"`+agentID+`"}`, &n)
	return n.ID, n.PhoneNumber
}

var codeRe = regexp.MustCompile(`Code (\d{6})`)

func operatorCode(t *testing.T, base, numberID string) string {
	t.Helper()
	var page struct {
		Data []struct {
			To   string `json:"to"`
			Body string `json:"body"`
		} `json:"data"`
	}
	direct(t, http.MethodGet, base+"/v1/numbers/"+numberID+"/messages", "", &page)
	for _, m := range page.Data {
		if sm := codeRe.FindStringSubmatch(m.Body); sm != nil && m.To == "+14155550123" {
			return sm[1]
		}
	}
	t.Fatalf("no code texted to the operator: %+v", page.Data)
	return ""
}
