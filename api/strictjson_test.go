package api

import (
	"reflect"
	"strings"
	"testing"
)

func TestStrictJSONRefusesDuplicateAndMiscasedKeys(t *testing.T) {
	type inner struct {
		Name string `json:"name"`
	}
	type req struct {
		proofBody
		Role   string            `json:"role"`
		Items  []inner           `json:"items"`
		Raw    b64               `json:"raw"`
		Extra  map[string]inner  `json:"extra"`
		Labels map[string]string `json:"labels"`
	}
	typ := reflect.TypeFor[*req]()
	for _, tc := range []struct {
		body, want string
	}{
		{`{"role":"admin","pubkey":"a","items":[{"name":"x"}],"extra":{"k":{"name":"y"}},"labels":{"a":"b"}}`, ""},
		{`{"role":"admin","role":"volunteer"}`, `"role" appears twice`},
		{`{"Role":"admin"}`, `"Role" must be spelled "role"`},
		{`{"PubKey":"x"}`, `"PubKey" must be spelled "pubkey"`},
		{`{"items":[{"name":"a","NAME":"b"}]}`, `"items.NAME" must be spelled "items.name"`},
		{`{"items":[{"name":"a","name":"b"}]}`, `"items.name" appears twice`},
		{`{"extra":{"k":{"Name":"y"}}}`, `"extra.k.Name" must be spelled`},
		{`{"labels":{"a":"b","a":"c"}}`, `"labels.a" appears twice`},
		{`{"labels":{"A":"b","a":"c"}}`, ""}, // map keys are data: case matters, no clash
	} {
		err := checkStrictJSON([]byte(tc.body), typ)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.body, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want %q", tc.body, err, tc.want)
		}
	}
}

// TestAPIRefusesAmbiguousBodies: through the real handlers, a repeated or
// miscased key is a 400 and changes nothing.
func TestAPIRefusesAmbiguousBodies(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.setupAdmin()
	for _, body := range []string{
		`{"role":"volunteer","role":"admin"}`,
		`{"Role":"admin"}`,
	} {
		if r := e.do("POST", "/api/invites", []byte(body), admin); r.status != 400 {
			t.Errorf("%s: %d %s", body, r.status, r.body)
		}
	}
	var list struct{ Invites []any }
	e.do("GET", "/api/invites", nil, admin).json(t, &list)
	if len(list.Invites) != 0 {
		t.Fatalf("an ambiguous body made %d invites", len(list.Invites))
	}
}
