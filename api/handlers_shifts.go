package api

import (
	"errors"
	"net/http"
	"time"

	"llamenos/auth"
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

func readShifts(tx *store.Tx) (shiftsJSON, error) {
	rules, err := tx.ShiftRules()
	if err != nil {
		return shiftsJSON{}, err
	}
	ovs, err := tx.ShiftOverrides("", "")
	if err != nil {
		return shiftsJSON{}, err
	}
	fb, err := tx.FallbackGroup()
	if err != nil {
		return shiftsJSON{}, err
	}
	out := shiftsJSON{Rules: []shiftRuleJSON{}, Overrides: []shiftOverrideJSON{}, Fallback: nonNil(fb)}
	for _, r := range rules {
		days := make([]int, len(r.Days))
		for i, d := range r.Days {
			days[i] = int(d)
		}
		out.Rules = append(out.Rules, shiftRuleJSON{r.ID, r.Name, days, r.Start, r.End, nonNil(r.Volunteers)})
	}
	for _, o := range ovs {
		out.Overrides = append(out.Overrides, shiftOverrideJSON{o.ID, o.Date, o.RuleID, string(o.Kind), o.Volunteers})
	}
	return out, nil
}

func (s *Server) getShifts(w http.ResponseWriter, r *http.Request, _ auth.Identity) error {
	out, err := store.Read(r.Context(), s.Store, readShifts)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// putShifts replaces the whole schedule in one transaction: rules, date
// overrides and the fallback group. A bad entry refuses all of it.
func (s *Server) putShifts(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	var req shiftsJSON
	if err := decodeJSON(w, r, defaultBodyLimit, &req); err != nil {
		return err
	}
	out, err := store.Write(r.Context(), s.Store, func(tx *store.Tx) (shiftsJSON, error) {
		vols, err := tx.Volunteers()
		if err != nil {
			return shiftsJSON{}, err
		}
		known := map[string]bool{}
		for _, v := range vols {
			known[v.PubKey] = true
		}
		checkVols := func(what string, pks []string) error {
			for _, pk := range pks {
				if !known[pk] {
					return errBadRequest("%s: %q is not a volunteer of this hotline", what, pk)
				}
			}
			return nil
		}
		oldRules, err := tx.ShiftRules()
		if err != nil {
			return shiftsJSON{}, err
		}
		oldOvs, err := tx.ShiftOverrides("", "")
		if err != nil {
			return shiftsJSON{}, err
		}
		for _, o := range oldOvs {
			if err := tx.DeleteShiftOverride(o.ID); err != nil {
				return shiftsJSON{}, err
			}
		}
		keep := map[string]bool{}
		for i, rr := range req.Rules {
			if rr.ID == "" {
				if rr.ID, err = store.NewID(); err != nil {
					return shiftsJSON{}, err
				}
			}
			if keep[rr.ID] {
				return shiftsJSON{}, errBadRequest("shift %d: duplicate id", i+1)
			}
			keep[rr.ID] = true
			if err := checkVols("shift "+rr.Name, rr.Volunteers); err != nil {
				return shiftsJSON{}, err
			}
			days := make([]time.Weekday, len(rr.Days))
			for j, d := range rr.Days {
				days[j] = time.Weekday(d)
			}
			if _, err := tx.PutShiftRule(store.ShiftRule{ID: rr.ID, Name: rr.Name, Days: days, Start: rr.Start, End: rr.End, Volunteers: rr.Volunteers}); err != nil {
				return shiftsJSON{}, invalid(err, "shift %d", i+1)
			}
		}
		for _, old := range oldRules {
			if !keep[old.ID] {
				if err := tx.DeleteShiftRule(old.ID); err != nil {
					return shiftsJSON{}, err
				}
			}
		}
		for i, o := range req.Overrides {
			if o.RuleID != "" && !keep[o.RuleID] {
				return shiftsJSON{}, errBadRequest("override %d: no shift with id %q", i+1, o.RuleID)
			}
			if err := checkVols("override", o.Volunteers); err != nil {
				return shiftsJSON{}, err
			}
			id, err := store.NewID()
			if err != nil {
				return shiftsJSON{}, err
			}
			if _, err := tx.PutShiftOverride(store.ShiftOverride{ID: id, Date: o.Date, RuleID: o.RuleID, Kind: store.OverrideKind(o.Kind), Volunteers: o.Volunteers}); err != nil {
				return shiftsJSON{}, invalid(err, "override %d", i+1)
			}
		}
		if err := checkVols("fallback group", req.Fallback); err != nil {
			return shiftsJSON{}, err
		}
		if err := tx.SetFallbackGroup(req.Fallback); err != nil {
			return shiftsJSON{}, invalid(err, "fallback group")
		}
		if err := tx.Audit(who.PubKey, "shifts.changed", "setting:shifts"); err != nil {
			return shiftsJSON{}, err
		}
		return readShifts(tx)
	})
	if err != nil {
		return err
	}
	s.Calls.VolunteersChanged()
	s.pushPresence()
	writeJSON(w, http.StatusOK, out)
	return nil
}

// invalid turns a store validation error into a 400 naming the item.
func invalid(err error, format string, args ...any) error {
	if errors.Is(err, store.ErrInvalid) {
		e := errBadRequest(format, args...)
		e.Message += ": " + err.Error()
		return e
	}
	return err
}
