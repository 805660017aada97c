package swagger

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A miniature api-docs file exercising what the validator must catch.
const miniDoc = `{
 "apis": [
  {"path": "/things/{thingId}", "operations": [
    {"httpMethod": "GET", "nickname": "get", "responseClass": "Thing",
     "parameters": [{"name": "thingId", "paramType": "path", "required": true, "dataType": "string"}],
     "errorResponses": [{"code": 404, "reason": "nope"}]},
    {"httpMethod": "POST", "nickname": "poke", "responseClass": "void",
     "parameters": [
       {"name": "thingId", "paramType": "path", "required": true, "dataType": "string"},
       {"name": "how", "paramType": "query", "required": true, "dataType": "string",
        "allowableValues": {"valueType": "LIST", "values": ["gently", "firmly"]}},
       {"name": "ids", "paramType": "query", "allowMultiple": true, "dataType": "int"},
       {"name": "loud", "paramType": "query", "dataType": "boolean"},
       {"name": "variables", "paramType": "body", "dataType": "containers"}],
     "errorResponses": [{"code": "409", "reason": "busy"}]}]},
  {"path": "/things/special", "operations": [
    {"httpMethod": "GET", "nickname": "special", "responseClass": "List[Thing]", "parameters": []}]}
 ],
 "models": {
  "Message": {"id": "Message", "discriminator": "type", "subTypes": ["Event"],
   "properties": {"type": {"type": "string", "required": true}}},
  "Event": {"id": "Event", "subTypes": ["Poked"],
   "properties": {"timestamp": {"type": "Date", "required": true}}},
  "Poked": {"id": "Poked", "properties": {"thing": {"type": "Thing", "required": true}}},
  "Thing": {"id": "Thing", "properties": {
   "id": {"type": "string", "required": true},
   "state": {"type": "string", "required": true, "allowableValues": {"valueType": "LIST", "values": ["on", "off"]}},
   "count": {"type": "int"},
   "tags": {"type": "List[string]"},
   "vars": {"type": "object"}}}
 }
}`

func mini(t *testing.T) *Schema {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "things.json"), []byte(miniDoc), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestValidateModel(t *testing.T) {
	s := mini(t)
	tests := []struct {
		typ, doc string
		wantErr  string
	}{
		{"Thing", `{"id":"a","state":"on"}`, ""},
		{"Thing", `{"id":"a","state":"on","count":3,"tags":["x"],"vars":{"k":"v"}}`, ""},
		{"Thing", `{"id":"a"}`, `required field "state"`},
		{"Thing", `{"id":"a","state":"dim"}`, "not one of"},
		{"Thing", `{"id":"a","state":"on","count":1.5}`, "want integer"},
		{"Thing", `{"id":"a","state":"on","colour":"red"}`, `"colour" is not in the Thing model`},
		{"Thing", `{"id":"a","state":"on","tags":"x"}`, "want a list"},
		{"Thing", `{"id":7,"state":"on"}`, "want string"},
		{"List[Thing]", `[{"id":"a","state":"on"},{"id":"b"}]`, "[1]: required"},
	}
	for _, tc := range tests {
		err := s.ValidateModel(tc.typ, []byte(tc.doc))
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s %s: err = %v, want %q", tc.typ, tc.doc, err, tc.wantErr)
		}
	}
}

func TestValidateEvent(t *testing.T) {
	s := mini(t)
	good := `{"type":"Poked","timestamp":"2025-01-02T03:04:05.678+0000","thing":{"id":"a","state":"off"}}`
	if err := s.ValidateEvent([]byte(good)); err != nil {
		t.Fatal(err)
	}
	for doc, want := range map[string]string{
		`{"type":"Poked","timestamp":"2025-01-02T03:04:05Z","thing":{"id":"a","state":"off"}}`: "Asterisk's format",
		`{"type":"Poked","thing":{"id":"a","state":"off"}}`:                                    `"timestamp" missing`,
		`{"type":"Nope","timestamp":"2025-01-02T03:04:05.678+0000"}`:                           "unknown event type",
		`{"type":"Thing","id":"a","state":"on"}`:                                               "not an Event subtype",
	} {
		if err := s.ValidateEvent([]byte(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", doc, err, want)
		}
	}
}

func TestValidateRequest(t *testing.T) {
	s := mini(t)
	q := func(s string) url.Values { v, _ := url.ParseQuery(s); return v }
	tests := []struct {
		method, path, query, body string
		nick, wantErr             string
	}{
		{"GET", "/things/special", "", "", "special", ""},
		{"GET", "/things/x", "", "", "get", ""},
		{"POST", "/things/x", "how=gently&ids=1,2,3&loud=true", `{"variables":{"a":"b"}}`, "poke", ""},
		{"POST", "/things/x", "how=firmly", `{"how":"gently"}`, "poke", ""},
		{"POST", "/things/x", "", "", "poke", "required query parameter how"},
		{"POST", "/things/x", "how=wildly", "", "poke", "not one of"},
		{"POST", "/things/x", "how=gently&ids=1,x", "", "poke", "not an integer"},
		{"POST", "/things/x", "how=gently&loud=yes", "", "poke", "not true/false"},
		{"POST", "/things/x", "how=gently&how=firmly", "", "poke", "given 2 times"},
		{"POST", "/things/x", "how=gently&connection_over=x", "", "poke", `"connection_over" is not in the schema`},
		{"POST", "/things/x", "how=gently", `{"colour":"red"}`, "poke", "neither a body nor a query"},
		{"GET", "/things/x", "", `{"variables":{}}`, "get", "takes no body"},
		{"DELETE", "/things/x", "", "", "", "no operation"},
	}
	for _, tc := range tests {
		op, err := s.ValidateRequest(tc.method, tc.path, q(tc.query), []byte(tc.body))
		if op != nil && op.Nickname != tc.nick {
			t.Errorf("%s %s matched %s, want %s", tc.method, tc.path, op.Nickname, tc.nick)
		}
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s %s?%s: err = %v, want %q", tc.method, tc.path, tc.query, err, tc.wantErr)
		}
	}
}

func TestValidateResponse(t *testing.T) {
	s := mini(t)
	get, _, _ := s.Match("GET", "/things/x")
	poke, _, _ := s.Match("POST", "/things/x")
	tests := []struct {
		op      *Operation
		status  int
		body    string
		wantErr string
	}{
		{get, 200, `{"id":"a","state":"on"}`, ""},
		{get, 200, ``, "no Thing body"},
		{get, 404, `{"message":"Thing not found"}`, ""},
		{get, 409, `{"message":"x"}`, "not among its error responses"},
		{get, 404, `{"error":"x"}`, `want {"message"`},
		{poke, 204, ``, ""},
		{poke, 200, `{}`, "void operation"},
		{poke, 409, `{"message":"busy"}`, ""}, // code given as a string in the doc
	}
	for _, tc := range tests {
		err := s.ValidateResponse(tc.op, tc.status, []byte(tc.body))
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s %d %s: err = %v, want %q", tc.op.Nickname, tc.status, tc.body, err, tc.wantErr)
		}
	}
}

// TestLoadRealSchema checks the loader understands the Asterisk 22 files.
func TestLoadRealSchema(t *testing.T) {
	dir, ok := ReferenceDir()
	if !ok {
		t.Skip("ARI schema not found: set LLAMENOS_REFERENCE_DIR or keep shared/reference/ari-api-docs beside the repo")
	}
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	op, _, err := s.Match("POST", "/channels/externalMedia")
	if err != nil || op.Nickname != "externalMedia" {
		t.Fatalf("externalMedia matched %v, %v", op, err)
	}
	op, _, err = s.Match("POST", "/channels/abc")
	if err != nil || op.Nickname != "originateWithId" {
		t.Fatalf("POST /channels/abc matched %v, %v", op, err)
	}
	if props := s.properties("StasisStart"); props["application"] == nil || props["type"] == nil || props["channel"] == nil {
		t.Fatalf("StasisStart does not inherit Event and Message properties: %v", props)
	}
}
