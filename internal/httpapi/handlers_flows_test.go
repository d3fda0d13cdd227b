package httpapi

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/atende/atende"
)

func flowBody(queueID, url string) map[string]any {
	return map[string]any{
		"name": "Línea principal", "language": "es", "entry": "welcome",
		"nodes": map[string]any{
			"welcome": map[string]any{"kind": "play", "prompts": []string{"welcome"}, "next": "main"},
			"main": map[string]any{"kind": "menu", "prompts": []string{"menu"}, "options": map[string]string{"1": "look", "0": "queue"},
				"branches": map[string]string{"fallback": "queue"}},
			"look":  map[string]any{"kind": "http", "url": url, "branches": map[string]string{"ok": "queue", "error": "queue"}},
			"queue": map[string]any{"kind": "queue", "queue_id": queueID},
		},
	}
}

func TestFlowsCRUD(t *testing.T) {
	a := newTestAPI(t)
	admin := a.tokens["admin"]
	var f atende.Flow
	resp := a.do("POST", apiPrefix+"/voice/flows", admin, flowBody(a.ids["queue"], "https://8.8.8.8/customers?phone={{caller}}"), nil, &f)
	if resp.StatusCode != http.StatusCreated || f.Version != 1 || resp.Header.Get("ETag") != `"1"` || f.Nodes["main"].TimeoutSec != 5 {
		t.Fatalf("create: %d %+v", resp.StatusCode, f)
	}
	path := apiPrefix + "/voice/flows/" + f.ID
	var got atende.Flow
	if r := a.do("GET", path, a.tokens["agent"], nil, nil, &got); r.StatusCode != 200 || got.Nodes["look"].URL != "https://8.8.8.8/customers?phone={{caller}}" {
		t.Fatalf("get: %d %+v", r.StatusCode, got)
	}
	var list struct{ Items []atende.Flow }
	if r := a.do("GET", apiPrefix+"/voice/flows", a.tokens["planner"], nil, nil, &list); r.StatusCode != 200 || len(list.Items) != 2 {
		t.Fatalf("list: %d %d", r.StatusCode, len(list.Items))
	}
	// A change that breaks the graph names the field.
	p := wantProblem(t, a.do("PATCH", path, admin, map[string]any{"entry": "ghost"}, map[string]string{"If-Match": `"1"`}, nil), 400, atende.EInvalid, "entry")
	if !strings.Contains(p.Detail, `unknown node "ghost"`) {
		t.Fatalf("detail %q", p.Detail)
	}
	wantProblem(t, a.do("PATCH", path, admin, map[string]any{"nodes": map[string]any{"queue": map[string]any{"next": "welcome"}}}, map[string]string{"If-Match": `"1"`}, nil),
		400, atende.EInvalid, "nodes.queue.next")
	var up atende.Flow
	if r := a.do("PATCH", path, admin, map[string]any{"nodes": map[string]any{"look": nil, "main": map[string]any{"options": map[string]any{"1": nil}}}},
		map[string]string{"If-Match": `"1"`}, &up); r.StatusCode != 200 || up.Version != 2 || len(up.Nodes) != 3 || len(up.Nodes["main"].Options) != 1 {
		t.Fatalf("patch: %d %+v", r.StatusCode, up)
	}
	wantProblem(t, a.do("PATCH", path, admin, map[string]any{"name": "x"}, map[string]string{"If-Match": `"1"`}, nil), 412, atende.EPreconditionFailed, "")
	// Server-set fields are refused on create; names are unique per tenant.
	body := flowBody(a.ids["queue"], "https://8.8.8.8/")
	body["version"] = 3
	wantProblem(t, a.do("POST", apiPrefix+"/voice/flows", admin, body, nil, nil), 400, atende.EInvalid, "version")
	wantProblem(t, a.do("POST", apiPrefix+"/voice/flows", admin, flowBody(a.ids["queue"], "https://8.8.8.8/"), nil, nil), 409, atende.EConflict, "name")
	if r := a.do("DELETE", path, admin, nil, map[string]string{"If-Match": `"2"`}, nil); r.StatusCode != 204 {
		t.Fatalf("delete: %d", r.StatusCode)
	}
	wantProblem(t, a.do("GET", path, admin, nil, nil, nil), 404, atende.ENotFound, "")
}

func TestFlowsRefuseInternalLookups(t *testing.T) {
	a := newTestAPI(t)
	for u, want := range map[string]string{
		"http://127.0.0.1:8080/x":                  "public addresses",
		"https://169.254.169.254/latest/meta-data": "public addresses",
		"https://10.0.0.7/{{caller}}":              "public addresses",
		"http://localhost/x":                       "public addresses",
		"http://8.8.8.8/x":                         "https://",
		"http://crm.example.com/{{caller}}":        "https://",
	} {
		p := wantProblem(t, a.do("POST", apiPrefix+"/voice/flows", a.tokens["admin"], flowBody(a.ids["queue"], u), nil, nil), 400, atende.EInvalid, "nodes.look.url")
		if !strings.Contains(p.Detail, want) {
			t.Fatalf("%s: %q, want %q", u, p.Detail, want)
		}
	}
}

func TestFlowsTenantIsolation(t *testing.T) {
	a := newTestAPI(t)
	path := apiPrefix + "/voice/flows/" + a.ids["flow"]
	bAdmin := a.tokens["b-admin"]
	wantProblem(t, a.do("GET", path, bAdmin, nil, nil, nil), 404, atende.ENotFound, "")
	wantProblem(t, a.do("PATCH", path, bAdmin, map[string]any{"name": "mine"}, map[string]string{"If-Match": `"1"`}, nil), 404, atende.ENotFound, "")
	wantProblem(t, a.do("DELETE", path, bAdmin, nil, map[string]string{"If-Match": `"1"`}, nil), 404, atende.ENotFound, "")
	wantProblem(t, a.do("POST", path+"/validate", bAdmin, nil, nil, nil), 404, atende.ENotFound, "")
	var list struct{ Items []atende.Flow }
	if r := a.do("GET", apiPrefix+"/voice/flows", bAdmin, nil, nil, &list); r.StatusCode != 200 || len(list.Items) != 0 {
		t.Fatalf("tenant B lists %d flows", len(list.Items))
	}
	// Tenant A's queue does not exist for tenant B.
	p := wantProblem(t, a.do("POST", apiPrefix+"/voice/flows", bAdmin, flowBody(a.ids["queue"], "https://8.8.8.8/"), nil, nil), 400, atende.EInvalid, "nodes.queue.queue_id")
	if !strings.Contains(p.Detail, "unknown queue") {
		t.Fatalf("detail %q", p.Detail)
	}
	wantProblem(t, a.do("POST", apiPrefix+"/voice/flow-presets/brazil", bAdmin, map[string]any{"name": "SAC", "queue_id": a.ids["queue"]}, nil, nil),
		400, atende.EInvalid, "nodes.hours.queue_id")
}

func TestFlowValidateReportsEveryIssue(t *testing.T) {
	a := newTestAPI(t)
	body := flowBody(a.ids["queue"], "https://10.1.2.3/")
	nodes := body["nodes"].(map[string]any)
	nodes["orphan"] = map[string]any{"kind": "hangup"}
	nodes["welcome"].(map[string]any)["next"] = "nowhere"
	nodes["queue"].(map[string]any)["queue_id"] = atende.NewID()
	var out flowCheck
	if r := a.do("POST", apiPrefix+"/voice/flows/validate", a.tokens["qa"], body, nil, &out); r.StatusCode != 200 {
		t.Fatalf("validate: %d", r.StatusCode)
	}
	got := map[string]string{}
	for _, is := range out.Issues {
		got[is.Field] = is.Severity
	}
	want := map[string]string{"nodes.welcome.next": "error", "nodes.look.url": "error", "nodes.queue.queue_id": "error"}
	if out.Valid || len(got) != len(want) {
		t.Fatalf("issues %+v", out.Issues)
	}
	for f, sev := range want {
		if got[f] != sev {
			t.Fatalf("issue %s: %q in %+v", f, got[f], out.Issues)
		}
	}
	// A valid flow with a node no path reaches is valid with a warning.
	body = flowBody(a.ids["queue"], "https://8.8.8.8/")
	body["nodes"].(map[string]any)["orphan"] = map[string]any{"kind": "hangup"}
	if r := a.do("POST", apiPrefix+"/voice/flows/validate", a.tokens["admin"], body, nil, &out); r.StatusCode != 200 || !out.Valid ||
		len(out.Issues) != 1 || out.Issues[0].Field != "nodes.orphan" || out.Issues[0].Severity != "warning" {
		t.Fatalf("warning: %+v", out)
	}
	// The stored fixture flow checks clean.
	if r := a.do("POST", apiPrefix+"/voice/flows/"+a.ids["flow"]+"/validate", a.tokens["agent"], nil, nil, &out); r.StatusCode != 200 || !out.Valid || len(out.Issues) != 0 {
		t.Fatalf("stored: %+v", out)
	}
	// A stored flow whose queue was deleted since is reported.
	sysA := atende.SystemActor(a.tenant["a"].ID)
	q := &atende.Queue{Name: "Temporal", Channels: []atende.Channel{atende.ChannelVoice}}
	if err := a.store.CreateQueue(context.Background(), sysA, q); err != nil {
		t.Fatal(err)
	}
	var f atende.Flow
	if r := a.do("POST", apiPrefix+"/voice/flows", a.tokens["admin"], flowBody(q.ID, "https://8.8.8.8/"), nil, &f); r.StatusCode != 201 {
		t.Fatalf("create: %d", r.StatusCode)
	}
	if err := a.store.DeleteQueue(context.Background(), sysA, q.ID, 0); err != nil {
		t.Fatal(err)
	}
	if r := a.do("POST", apiPrefix+"/voice/flows/"+f.ID+"/validate", a.tokens["admin"], nil, nil, &out); r.StatusCode != 200 || out.Valid ||
		len(out.Issues) != 1 || out.Issues[0].Field != "nodes.queue.queue_id" {
		t.Fatalf("deleted queue: %+v", out)
	}
}

func TestFlowPresets(t *testing.T) {
	a := newTestAPI(t)
	admin := a.tokens["admin"]
	var br atende.Flow
	if r := a.do("POST", apiPrefix+"/voice/flow-presets/brazil", admin, map[string]any{"name": "SAC", "queue_id": a.ids["queue"]}, nil, &br); r.StatusCode != 201 {
		t.Fatalf("brazil: %d", r.StatusCode)
	}
	if br.Preset != atende.PresetBrazil || br.Language != "pt-BR" || br.Nodes["menu"].Options["1"] != "complaint" || br.Nodes["menu"].Options["2"] != "cancellation" {
		t.Fatalf("brazil flow %+v", br)
	}
	// The SAC first menu cannot be edited away.
	wantProblem(t, a.do("PATCH", apiPrefix+"/voice/flows/"+br.ID, admin, map[string]any{"nodes": map[string]any{"menu": map[string]any{"prompts": []string{"menu"}}}},
		map[string]string{"If-Match": `"1"`}, nil), 400, atende.EInvalid, "nodes.menu.prompts")

	// Spain: the queue takes its Spain preset, capping the wait at 3 minutes
	// with a callback that keeps the place.
	q, err := a.store.Queue(context.Background(), a.tenant["a"].ID, a.ids["queue"])
	if err != nil || q.Routing.Preset != "" {
		t.Fatalf("fixture queue %+v %v", q.Routing, err)
	}
	// A token that may manage configuration but not queues may not do it.
	secret, _, err := a.store.CreateAPIToken(context.Background(), atende.SystemActor(a.tenant["a"].ID), a.users["admin"].ID, "config only",
		[]atende.Permission{atende.PermConfigManage, atende.PermConfigRead}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantProblem(t, a.do("POST", apiPrefix+"/voice/flow-presets/spain", secret, map[string]any{"name": "Línea", "queue_id": a.ids["queue"]}, nil, nil), 403, atende.EForbidden, "")
	var es atende.Flow
	if r := a.do("POST", apiPrefix+"/voice/flow-presets/spain", admin, map[string]any{"name": "Línea", "queue_id": a.ids["queue"]}, nil, &es); r.StatusCode != 201 {
		t.Fatalf("spain: %d", r.StatusCode)
	}
	q, _ = a.store.Queue(context.Background(), a.tenant["a"].ID, a.ids["queue"])
	if es.Preset != atende.PresetSpain || q.Routing.Preset != atende.PresetSpain || q.MaxWaitSec != atende.SpainMaxWaitSec ||
		q.Routing.MaxWaitAction.Type != atende.ActionCallback {
		t.Fatalf("spain flow %+v queue %d %+v", es.Preset, q.MaxWaitSec, q.Routing.MaxWaitAction)
	}
	wantProblem(t, a.do("POST", apiPrefix+"/voice/flow-presets/mars", admin, map[string]any{"name": "X", "queue_id": a.ids["queue"]}, nil, nil), 400, atende.EInvalid, "preset")
	wantProblem(t, a.do("POST", apiPrefix+"/voice/flow-presets/spain", admin, map[string]any{"name": "Y", "queue_id": atende.NewID()}, nil, nil), 400, atende.EInvalid, "queue_id")
}

// testWAV is a WAV of a 440 Hz tone: 16-bit PCM at rate with channels.
func testWAV(rate, channels int, secs float64) []byte {
	n := int(float64(rate) * secs)
	data := make([]byte, 0, n*channels*2)
	for i := range n {
		v := int16(12000 * math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
		for range channels {
			data = binary.LittleEndian.AppendUint16(data, uint16(v))
		}
	}
	b := []byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(channels))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate*channels*2))
	b = binary.LittleEndian.AppendUint16(b, uint16(channels*2))
	b = binary.LittleEndian.AppendUint16(b, 16)
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = append(b, data...)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

func uploadPrompt(a *testAPI, token, name string, body []byte) *http.Response {
	a.t.Helper()
	req, err := http.NewRequest("POST", a.http.URL+apiPrefix+"/voice/prompts?name="+name, bytes.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "audio/wav")
	resp, err := a.http.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	a.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestPromptUploadConvertsAndFlowsUseIt(t *testing.T) {
	a := newTestAPI(t)
	admin := a.tokens["admin"]
	resp := uploadPrompt(a, admin, "saludo.wav", testWAV(16000, 2, 1.5))
	var out promptOutput
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&out) != nil {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	if out.Ref != "upload:"+out.ID || out.Original.Rate != 16000 || out.Original.Channels != 2 || out.Seconds < 1.49 || out.Seconds > 1.51 ||
		out.Size != 44+2*12000 {
		t.Fatalf("upload %+v", out)
	}
	// What is kept is telephony audio.
	f, err := a.store.Media(context.Background(), a.tenant["a"].ID, out.ID)
	if err != nil || f.ContentType != "audio/wav" {
		t.Fatalf("media %+v %v", f, err)
	}
	// A flow may play it; an unknown upload or another tenant's is refused.
	body := flowBody(a.ids["queue"], "https://8.8.8.8/")
	body["nodes"].(map[string]any)["welcome"].(map[string]any)["prompts"] = []string{out.Ref, "welcome"}
	if r := a.do("POST", apiPrefix+"/voice/flows", admin, body, nil, nil); r.StatusCode != http.StatusCreated {
		t.Fatalf("flow with upload: %d", r.StatusCode)
	}
	body["name"] = "Otra"
	body["nodes"].(map[string]any)["welcome"].(map[string]any)["prompts"] = []string{"welcome", "upload:" + atende.NewID()}
	wantProblem(t, a.do("POST", apiPrefix+"/voice/flows", admin, body, nil, nil), 400, atende.EInvalid, "nodes.welcome.prompts[1]")
	q := &atende.Queue{Name: "B", Channels: []atende.Channel{atende.ChannelVoice}}
	if err := a.store.CreateQueue(context.Background(), atende.SystemActor(a.tenant["b"].ID), q); err != nil {
		t.Fatal(err)
	}
	bBody := flowBody(q.ID, "https://8.8.8.8/")
	bBody["nodes"].(map[string]any)["welcome"].(map[string]any)["prompts"] = []string{out.Ref}
	wantProblem(t, a.do("POST", apiPrefix+"/voice/flows", a.tokens["b-admin"], bBody, nil, nil), 400, atende.EInvalid, "nodes.welcome.prompts[0]")

	// Bad files are refused with what is wrong; agents may not upload.
	p := wantProblem(t, uploadPrompt(a, admin, "x.wav", testWAV(4000, 1, 1)), 400, atende.EInvalid, "file")
	if !strings.Contains(p.Detail, "4000 Hz") {
		t.Fatalf("detail %q", p.Detail)
	}
	wantProblem(t, uploadPrompt(a, admin, "x.mp3", []byte("ID3\x04 not a wav")), 400, atende.EInvalid, "file")
	wantProblem(t, uploadPrompt(a, a.tokens["agent"], "x.wav", testWAV(8000, 1, 1)), 403, atende.EForbidden, "")
}
