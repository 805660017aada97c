package api

import (
	"net/http"
	"time"

	"llamenos/auth"
	"llamenos/settings"
	"llamenos/store"
)

type shiftRuleJSON struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Days       []int    `json:"days"`
	Start      string   `json:"start"`
	End        string   `json:"end"`
	Volunteers []string `json:"volunteers"`
}

type shiftOverrideJSON struct {
	ID         string   `json:"id,omitempty"`
	Date       string   `json:"date"`
	RuleID     string   `json:"ruleId,omitempty"`
	Kind       string   `json:"kind"`
	Volunteers []string `json:"volunteers,omitempty"`
}

type shiftsJSON struct {
	Rules     []shiftRuleJSON     `json:"rules"`
	Overrides []shiftOverrideJSON `json:"overrides"`
	Fallback  []string            `json:"fallback"`
}

func shiftsView(sc settings.Schedule) shiftsJSON {
	out := shiftsJSON{Rules: []shiftRuleJSON{}, Overrides: []shiftOverrideJSON{}, Fallback: nonNil(sc.Fallback)}
	for _, r := range sc.Rules {
		days := make([]int, len(r.Days))
		for i, d := range r.Days {
			days[i] = int(d)
		}
		out.Rules = append(out.Rules, shiftRuleJSON{r.ID, r.Name, days, r.Start, r.End, nonNil(r.Volunteers)})
	}
	for _, o := range sc.Overrides {
		out.Overrides = append(out.Overrides, shiftOverrideJSON{o.ID, o.Date, o.RuleID, string(o.Kind), o.Volunteers})
	}
	return out
}

func (v shiftsJSON) schedule() settings.Schedule {
	sc := settings.Schedule{Fallback: v.Fallback}
	for _, r := range v.Rules {
		days := make([]time.Weekday, len(r.Days))
		for j, d := range r.Days {
			days[j] = time.Weekday(d)
		}
		sc.Rules = append(sc.Rules, store.ShiftRule{ID: r.ID, Name: r.Name, Days: days, Start: r.Start, End: r.End, Volunteers: r.Volunteers})
	}
	for _, o := range v.Overrides {
		sc.Overrides = append(sc.Overrides, store.ShiftOverride{Date: o.Date, RuleID: o.RuleID, Kind: store.OverrideKind(o.Kind), Volunteers: o.Volunteers})
	}
	return sc
}

func (s *Server) getShifts(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	sc, err := s.Settings.Shifts(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, shiftsView(sc))
	return nil
}

// putShifts replaces the whole schedule: rules, date overrides and the
// fallback group. A bad entry refuses all of it.
func (s *Server) putShifts(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	var req shiftsJSON
	if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
		return err
	}
	sc, err := s.Settings.SetShifts(r.Context(), who.PubKey, req.schedule())
	if err != nil {
		return err
	}
	s.pushPresence()
	writeJSON(w, http.StatusOK, shiftsView(sc))
	return nil
}
