package api

import (
	"context"
	"errors"
	"net/http"

	"llamenos/auth"
	"llamenos/e2ee"
)

// Demo drives the embedded Asterisk simulator of `llamenos demo`: an admin
// places a pretend call from the browser, and tests read back what the
// simulated caller heard. These routes exist only in demo mode.
type Demo interface {
	// PlaceCall dials in from caller (empty: a random fictional number).
	PlaceCall(ctx context.Context, audio, caller string) (DemoCall, error)
	Call(id string) (DemoCall, error)
	HangupCall(id string) error
	Asterisk() DemoAsterisk
}

// DemoCall is a simulated caller as the demo routes report it. The caller's
// number is deliberately absent.
type DemoCall struct {
	ID       string  `json:"id"`
	Audio    string  `json:"audio"`
	Answered bool    `json:"answered"`
	Ended    bool    `json:"ended"`
	Heard    []Heard `json:"heard"`
	// HeardPackets counts RTP packets the caller received from the volunteer.
	HeardPackets int `json:"heardPackets"`
	// Recent is Heard over the last second the caller received only: what
	// they hear now, once HeardPackets has grown by 50 since a test looked.
	Recent []Heard `json:"recent"`
	// OnHold: the caller hears music on hold now. Holds counts how often it
	// started (waiting for an answer, and each time the volunteer's media
	// dropped).
	OnHold bool `json:"onHold"`
	Holds  int  `json:"holds"`
	// Played lists what was played to the caller, in order: sound URIs
	// ("sound:llamenos/transcribed") and "moh:CLASS" when music on hold
	// started.
	Played []string `json:"played"`
}

// Heard is the level of one probe frequency in what the caller received.
type Heard struct {
	Hz       float64 `json:"hz"`
	Detected bool    `json:"detected"`
	Level    float64 `json:"level"`
}

// DemoAsterisk lists what the simulator still holds.
type DemoAsterisk struct {
	Channels []string `json:"channels"`
	Bridges  []string `json:"bridges"`
}

// ErrDemoNoCall is returned by Demo for an unknown simulated call.
var ErrDemoNoCall = errors.New("demo: no such simulated call")

func (s *Server) demoRoutes() []route {
	return []route{
		{method: "POST", pattern: "/api/demo/calls", access: adminOnly, h: s.demoPlace},
		{method: "GET", pattern: "/api/demo/calls/{id}", access: adminOnly, h: s.demoGet},
		{method: "DELETE", pattern: "/api/demo/calls/{id}", access: adminOnly, h: s.demoHangup},
		{method: "GET", pattern: "/api/demo/asterisk", access: adminOnly, h: s.demoAsterisk},
		{method: "POST", pattern: "/api/demo/tamper/copy-note", access: adminOnly, h: s.demoCopyNote},
		{method: "POST", pattern: "/api/demo/tamper/add-admin", access: adminOnly, h: s.demoForgeAdmin},
	}
}

func (s *Server) demoPlace(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	var req struct {
		Audio  string `json:"audio"`
		Caller string `json:"caller"`
	}
	if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
		return err
	}
	switch req.Audio {
	case "":
		req.Audio = "voice"
	case "voice", "tone", "tones":
	default:
		return errBadRequest("audio must be voice, tone or tones")
	}
	if req.Caller != "" {
		if _, err := e2ee.NormalizeE164(req.Caller); err != nil {
			return errBadRequest("caller must be an E.164 number such as +15550100123")
		}
	}
	c, err := s.Demo.PlaceCall(r.Context(), req.Audio, req.Caller)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) demoGet(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	c, err := s.Demo.Call(r.PathValue("id"))
	if errors.Is(err, ErrDemoNoCall) {
		return errNotFound("no such simulated call")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) demoHangup(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	err := s.Demo.HangupCall(r.PathValue("id"))
	if errors.Is(err, ErrDemoNoCall) {
		return errNotFound("no such simulated call")
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) demoAsterisk(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	writeJSON(w, http.StatusOK, s.Demo.Asterisk())
	return nil
}

// demoCopyNote plays a compromised server: it copies a note's envelope into
// a new note on another call, bypassing the browser. The envelope is bound
// to its original call and note, so every browser must refuse to open the
// copy (an integrity error, never plaintext). Demo mode only.
func (s *Server) demoCopyNote(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	var req struct {
		NoteID string `json:"noteId"`
		CallID string `json:"callId"`
	}
	if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
		return err
	}
	n, err := s.Records.ForgeCopy(r.Context(), who.PubKey, req.NoteID, req.CallID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, noteView(n))
	return nil
}

// demoForgeAdmin plays someone who edits the database: it makes pubkey an
// active admin by role alone (people.Service.ForgeAdmin), and tells every
// open tab, as a real role change would.
func (s *Server) demoForgeAdmin(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	var req struct {
		PubKey string `json:"pubkey"`
	}
	if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
		return err
	}
	if err := s.People.ForgeAdmin(r.Context(), req.PubKey); err != nil {
		return err
	}
	s.pushMeAll(r)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
