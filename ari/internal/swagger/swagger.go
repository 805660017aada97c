// Package swagger loads the ARI Swagger 1.1/1.2 resource listings that
// Asterisk ships (rest-api/api-docs/*.json) and validates requests,
// responses and event messages against them. It exists so the client and
// the simulator can be checked against the real schema in tests; it knows
// only the subset of Swagger that ARI uses.
package swagger

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Schema is the union of every api-docs file in a directory.
type Schema struct {
	Models     map[string]*Model
	Operations []*Operation
	parent     map[string]string // model -> the model listing it in subTypes
}

// Model is a Swagger model.
type Model struct {
	ID            string               `json:"id"`
	Properties    map[string]*Property `json:"properties"`
	SubTypes      []string             `json:"subTypes"`
	Discriminator string               `json:"discriminator"`
}

// Property is a model property.
type Property struct {
	Type            string           `json:"type"`
	Required        bool             `json:"required"`
	AllowableValues *AllowableValues `json:"allowableValues"`
}

// AllowableValues restricts a value to a LIST or a RANGE.
type AllowableValues struct {
	ValueType string   `json:"valueType"`
	Values    []string `json:"values"`
	Min       *float64 `json:"min"`
	Max       *float64 `json:"max"`
}

// Operation is one HTTP method on one path.
type Operation struct {
	Method         string
	Path           string
	Nickname       string
	ResponseClass  string
	Params         []*Param
	ErrorResponses []int
	segments       []string
}

// Param is an operation parameter.
type Param struct {
	Name            string           `json:"name"`
	ParamType       string           `json:"paramType"`
	DataType        string           `json:"dataType"`
	Required        bool             `json:"required"`
	AllowMultiple   bool             `json:"allowMultiple"`
	AllowableValues *AllowableValues `json:"allowableValues"`
}

type apiDoc struct {
	APIs []struct {
		Path       string `json:"path"`
		Operations []struct {
			HTTPMethod     string   `json:"httpMethod"`
			Nickname       string   `json:"nickname"`
			ResponseClass  string   `json:"responseClass"`
			Parameters     []*Param `json:"parameters"`
			ErrorResponses []struct {
				Code json.RawMessage `json:"code"`
			} `json:"errorResponses"`
		} `json:"operations"`
	} `json:"apis"`
	Models map[string]*Model `json:"models"`
}

// Load reads every *.json api-docs file in dir (resources.json, the
// listing, is skipped).
func Load(dir string) (*Schema, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	s := &Schema{Models: map[string]*Model{}, parent: map[string]string{}}
	for _, f := range files {
		if filepath.Base(f) == "resources.json" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var doc apiDoc
		if err := json.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("swagger: %s: %w", f, err)
		}
		for name, m := range doc.Models {
			if m.ID == "" {
				m.ID = name
			}
			s.Models[name] = m
		}
		for _, api := range doc.APIs {
			for _, op := range api.Operations {
				o := &Operation{Method: op.HTTPMethod, Path: api.Path, Nickname: op.Nickname,
					ResponseClass: op.ResponseClass, Params: op.Parameters,
					segments: strings.Split(strings.Trim(api.Path, "/"), "/")}
				for _, er := range op.ErrorResponses {
					var code int
					var str string
					if json.Unmarshal(er.Code, &code) != nil && json.Unmarshal(er.Code, &str) == nil {
						code, _ = strconv.Atoi(str) // some codes are quoted strings
					}
					o.ErrorResponses = append(o.ErrorResponses, code)
				}
				s.Operations = append(s.Operations, o)
			}
		}
	}
	if len(s.Operations) == 0 {
		return nil, fmt.Errorf("swagger: no operations in %s", dir)
	}
	for name, m := range s.Models {
		for _, sub := range m.SubTypes {
			s.parent[sub] = name
		}
	}
	return s, nil
}

// ReferenceDir finds the ARI schema folder: $LLAMENOS_REFERENCE_DIR, else
// shared/reference in the working directory or any ancestor; the schema is
// its ari-api-docs subfolder.
func ReferenceDir() (string, bool) {
	if d := os.Getenv("LLAMENOS_REFERENCE_DIR"); d != "" {
		p := filepath.Join(d, "ari-api-docs")
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
		return "", false
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		p := filepath.Join(dir, "shared", "reference", "ari-api-docs")
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", false
		}
		dir = up
	}
}

// properties returns a model's properties including inherited ones.
func (s *Schema) properties(model string) map[string]*Property {
	out := map[string]*Property{}
	for m := model; m != ""; m = s.parent[m] {
		if mm := s.Models[m]; mm != nil {
			for k, v := range mm.Properties {
				if _, seen := out[k]; !seen {
					out[k] = v
				}
			}
		}
	}
	return out
}

// ValidateModel checks a JSON document against a model or a type such as
// "List[Channel]".
func (s *Schema) ValidateModel(typ string, data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return s.validate(typ, v, typ)
}

// ValidateEvent checks an events-socket message: its "type" picks the
// model (Message's discriminator), which must be a subtype of Event.
func (s *Schema) ValidateEvent(data []byte) error {
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	typ, _ := v["type"].(string)
	if s.Models[typ] == nil {
		return fmt.Errorf("unknown event type %q", typ)
	}
	isEvent := false
	for m := typ; m != ""; m = s.parent[m] {
		isEvent = isEvent || m == "Event"
	}
	if !isEvent {
		return fmt.Errorf("%s is not an Event subtype", typ)
	}
	return s.validate(typ, v, typ)
}

func (s *Schema) validate(typ string, v any, path string) error {
	if inner, ok := strings.CutPrefix(typ, "List["); ok {
		inner = strings.TrimSuffix(inner, "]")
		arr, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: want a list, got %T", path, v)
		}
		for i, el := range arr {
			if err := s.validate(inner, el, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	}
	switch typ {
	case "string":
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%s: want string, got %T", path, v)
		}
		return nil
	case "int", "long":
		n, ok := v.(float64)
		if !ok || n != math.Trunc(n) {
			return fmt.Errorf("%s: want integer, got %v", path, v)
		}
		return nil
	case "double", "float":
		if _, ok := v.(float64); !ok {
			return fmt.Errorf("%s: want number, got %T", path, v)
		}
		return nil
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: want boolean, got %T", path, v)
		}
		return nil
	case "Date":
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: want date string, got %T", path, v)
		}
		if _, err := time.Parse("2006-01-02T15:04:05.000-0700", str); err != nil {
			return fmt.Errorf("%s: date %q not in Asterisk's format: %v", path, str, err)
		}
		return nil
	case "object":
		if _, ok := v.(map[string]any); !ok {
			return fmt.Errorf("%s: want object, got %T", path, v)
		}
		return nil
	}
	if s.Models[typ] == nil {
		return fmt.Errorf("%s: schema has no type %q", path, typ)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: want %s object, got %T", path, typ, v)
	}
	props := s.properties(typ)
	names := make([]string, 0, len(props))
	for name := range props {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		p := props[name]
		val, present := obj[name]
		if !present || val == nil {
			if p.Required {
				return fmt.Errorf("%s: required field %q missing", path, name)
			}
			continue
		}
		if err := s.validate(p.Type, val, path+"."+name); err != nil {
			return err
		}
		if err := checkAllowed(p.AllowableValues, val, path+"."+name); err != nil {
			return err
		}
	}
	for name := range obj {
		if _, declared := props[name]; !declared {
			return fmt.Errorf("%s: field %q is not in the %s model", path, name, typ)
		}
	}
	return nil
}

func checkAllowed(av *AllowableValues, v any, path string) error {
	if av == nil {
		return nil
	}
	switch strings.ToUpper(av.ValueType) {
	case "LIST":
		str := fmt.Sprint(v)
		if !slices.Contains(av.Values, str) {
			return fmt.Errorf("%s: %q is not one of %v", path, str, av.Values)
		}
	case "RANGE":
		var n float64
		switch x := v.(type) {
		case float64:
			n = x
		case string:
			f, err := strconv.ParseFloat(x, 64)
			if err != nil {
				return fmt.Errorf("%s: %q is not a number", path, x)
			}
			n = f
		}
		if av.Min != nil && n < *av.Min || av.Max != nil && n > *av.Max {
			return fmt.Errorf("%s: %v out of range", path, n)
		}
	}
	return nil
}

// Match finds the operation for a method and a decoded path relative to
// the ARI base ("/channels/abc/answer"); literal segments win over
// parameters, as in Asterisk's router.
func (s *Schema) Match(method, path string) (*Operation, map[string]string, error) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var best *Operation
	var bestArgs map[string]string
	bestLit := -1
	for _, op := range s.Operations {
		if op.Method != method || len(op.segments) != len(segs) {
			continue
		}
		args := map[string]string{}
		lit := 0
		ok := true
		for i, p := range op.segments {
			if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
				args[strings.Trim(p, "{}")] = segs[i]
				continue
			}
			if p != segs[i] {
				ok = false
				break
			}
			lit++
		}
		if ok && lit > bestLit {
			best, bestArgs, bestLit = op, args, lit
		}
	}
	if best == nil {
		return nil, nil, fmt.Errorf("no operation %s %s in the schema", method, path)
	}
	return best, bestArgs, nil
}

// ValidateRequest checks a request's path parameters, query string and
// body against the operation it matches.
func (s *Schema) ValidateRequest(method, path string, query url.Values, body []byte) (*Operation, error) {
	op, args, err := s.Match(method, path)
	if err != nil {
		return nil, err
	}
	byName := map[string]*Param{}
	for _, p := range op.Params {
		byName[p.Name] = p
	}
	for name, val := range args {
		p := byName[name]
		if p == nil || p.ParamType != "path" {
			return op, fmt.Errorf("%s: path parameter %s not declared", op.Nickname, name)
		}
		if val == "" {
			return op, fmt.Errorf("%s: empty path parameter %s", op.Nickname, name)
		}
	}
	for name, vals := range query {
		p := byName[name]
		if p == nil || p.ParamType != "query" {
			return op, fmt.Errorf("%s: query parameter %q is not in the schema", op.Nickname, name)
		}
		if len(vals) != 1 {
			return op, fmt.Errorf("%s: %s given %d times; lists are one comma-separated value", op.Nickname, name, len(vals))
		}
		items := []string{vals[0]}
		if p.AllowMultiple {
			items = strings.Split(vals[0], ",")
		}
		for _, it := range items {
			if err := checkParamValue(p, it); err != nil {
				return op, fmt.Errorf("%s: %w", op.Nickname, err)
			}
		}
	}
	for _, p := range op.Params {
		if p.ParamType == "query" && p.Required && query.Get(p.Name) == "" {
			return op, fmt.Errorf("%s: required query parameter %s missing", op.Nickname, p.Name)
		}
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		hasBody := false
		for _, p := range op.Params {
			hasBody = hasBody || p.ParamType == "body"
		}
		if !hasBody {
			return op, fmt.Errorf("%s: takes no body", op.Nickname)
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(body, &obj); err != nil {
			return op, fmt.Errorf("%s: body is not a JSON object: %v", op.Nickname, err)
		}
		for k, raw := range obj {
			if p := byName[k]; p != nil && p.ParamType == "body" {
				var m map[string]any
				if json.Unmarshal(raw, &m) != nil {
					return op, fmt.Errorf("%s: body %s is not an object", op.Nickname, k)
				}
				continue
			}
			if p := byName[k]; p == nil || p.ParamType != "query" {
				return op, fmt.Errorf("%s: body key %q is neither a body nor a query parameter", op.Nickname, k)
			}
		}
	}
	return op, nil
}

func checkParamValue(p *Param, v string) error {
	switch p.DataType {
	case "int", "long":
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return fmt.Errorf("%s=%q is not an integer", p.Name, v)
		}
	case "boolean":
		if v != "true" && v != "false" {
			return fmt.Errorf("%s=%q is not true/false", p.Name, v)
		}
	case "double":
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return fmt.Errorf("%s=%q is not a number", p.Name, v)
		}
	}
	if p.AllowableValues != nil {
		if err := checkAllowed(p.AllowableValues, v, p.Name); err != nil {
			return err
		}
	}
	return nil
}

// ErrorStatuses are answered by every ARI operation besides its declared
// errorResponses: bad parameters, authentication, internal errors.
var ErrorStatuses = []int{400, 401, 500}

// ValidateResponse checks a response for op: 2xx bodies against the
// responseClass (void means 204 with no body); errors must be a declared
// status with a {"message": string} body.
func (s *Schema) ValidateResponse(op *Operation, status int, body []byte) error {
	empty := len(strings.TrimSpace(string(body))) == 0
	if status >= 200 && status < 300 {
		switch op.ResponseClass {
		case "void":
			if status != 204 || !empty {
				return fmt.Errorf("%s: void operation answered %d with %d bytes", op.Nickname, status, len(body))
			}
			return nil
		case "binary":
			return nil
		}
		if empty {
			return fmt.Errorf("%s: %d with no %s body", op.Nickname, status, op.ResponseClass)
		}
		if err := s.ValidateModel(op.ResponseClass, body); err != nil {
			return fmt.Errorf("%s: %w", op.Nickname, err)
		}
		return nil
	}
	if !slices.Contains(op.ErrorResponses, status) && !slices.Contains(ErrorStatuses, status) {
		return fmt.Errorf("%s: status %d is not among its error responses %v", op.Nickname, status, op.ErrorResponses)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return fmt.Errorf("%s: error body is not JSON: %v", op.Nickname, err)
	}
	msg, ok := m["message"].(string)
	if !ok || msg == "" || len(m) != 1 {
		return fmt.Errorf("%s: error body %s, want {\"message\": ...}", op.Nickname, body)
	}
	return nil
}

// ErrNoSchema is returned by tests' loaders when the reference folder is
// absent.
var ErrNoSchema = errors.New("swagger: ARI schema folder not found")
