// Package settings is what admins configure in the browser and the daemon
// keeps in its database: the hotline's settings, the custom note fields and
// the shift schedule. Every change is validated whole (a bad entry changes
// nothing), audited, and tells the call engine to re-read who may ring.
package settings

import (
	"context"
	"errors"
	"fmt"

	"llamenos/fault"
	"llamenos/store"
)

// Engine is told when a change may change who rings.
type Engine interface{ VolunteersChanged() }

// Service reads and changes the configuration.
type Service struct {
	Store  *store.Store
	Engine Engine
}

// Get returns the hotline's settings.
func (s *Service) Get(ctx context.Context) (store.Settings, error) {
	return store.Read(ctx, s.Store, func(tx *store.Tx) (store.Settings, error) { return tx.Settings() })
}

// Update applies change to the stored settings and saves them if they are
// valid. change may refuse with a fault of its own.
func (s *Service) Update(ctx context.Context, actor string, change func(*store.Settings) error) (store.Settings, error) {
	st, err := store.Write(ctx, s.Store, func(tx *store.Tx) (store.Settings, error) {
		st, err := tx.Settings()
		if err != nil {
			return st, err
		}
		if err := change(&st); err != nil {
			return st, err
		}
		if err := st.Validate(); err != nil {
			return st, fault.Invalidf("%v", err)
		}
		if err := tx.PutSettings(st); err != nil {
			return st, err
		}
		return st, tx.Audit(actor, "settings.changed", "setting:hotline")
	})
	if err == nil {
		s.Engine.VolunteersChanged() // time zone or policy may change who rings
	}
	return st, err
}

// Fields returns the custom note fields.
func (s *Service) Fields(ctx context.Context) ([]store.CustomField, error) {
	return store.Read(ctx, s.Store, func(tx *store.Tx) ([]store.CustomField, error) { return tx.CustomFields() })
}

// SetFields replaces the custom note fields.
func (s *Service) SetFields(ctx context.Context, actor string, fields []store.CustomField) error {
	if err := store.ValidateCustomFields(fields); err != nil {
		return fault.Invalidf("%v", err)
	}
	return s.Store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.SetCustomFields(fields); err != nil {
			return err
		}
		return tx.Audit(actor, "fields.changed", "fields:notes")
	})
}

// Schedule is the whole shift schedule: weekly rules, per-date overrides
// and the fallback group rung when nobody on shift is free.
type Schedule struct {
	Rules     []store.ShiftRule
	Overrides []store.ShiftOverride
	Fallback  []string
}

func readSchedule(tx *store.Tx) (Schedule, error) {
	var sc Schedule
	var err error
	if sc.Rules, err = tx.ShiftRules(); err != nil {
		return sc, err
	}
	if sc.Overrides, err = tx.ShiftOverrides("", ""); err != nil {
		return sc, err
	}
	sc.Fallback, err = tx.FallbackGroup()
	return sc, err
}

// Shifts returns the schedule.
func (s *Service) Shifts(ctx context.Context) (Schedule, error) {
	return store.Read(ctx, s.Store, readSchedule)
}

// SetShifts replaces the whole schedule in one transaction. Rules without
// an id get a new one; overrides always do. Everyone named must be a
// volunteer of the hotline, and an override may name only a rule of the
// new schedule.
func (s *Service) SetShifts(ctx context.Context, actor string, sc Schedule) (Schedule, error) {
	out, err := store.Write(ctx, s.Store, func(tx *store.Tx) (Schedule, error) {
		vols, err := tx.Volunteers()
		if err != nil {
			return Schedule{}, err
		}
		known := map[string]bool{}
		for _, v := range vols {
			known[v.PubKey] = true
		}
		checkVols := func(what string, pks []string) error {
			for _, pk := range pks {
				if !known[pk] {
					return fault.Invalidf("%s: %q is not a volunteer of this hotline", what, pk)
				}
			}
			return nil
		}
		old, err := readSchedule(tx)
		if err != nil {
			return Schedule{}, err
		}
		for _, o := range old.Overrides {
			if err := tx.DeleteShiftOverride(o.ID); err != nil {
				return Schedule{}, err
			}
		}
		keep := map[string]bool{}
		for i, r := range sc.Rules {
			if r.ID == "" {
				if r.ID, err = store.NewID(); err != nil {
					return Schedule{}, err
				}
			}
			if keep[r.ID] {
				return Schedule{}, fault.Invalidf("shift %d: duplicate id", i+1)
			}
			keep[r.ID] = true
			if err := checkVols("shift "+r.Name, r.Volunteers); err != nil {
				return Schedule{}, err
			}
			if _, err := tx.PutShiftRule(r); err != nil {
				return Schedule{}, invalid(err, "shift %d", i+1)
			}
		}
		for _, r := range old.Rules {
			if !keep[r.ID] {
				if err := tx.DeleteShiftRule(r.ID); err != nil {
					return Schedule{}, err
				}
			}
		}
		for i, o := range sc.Overrides {
			if o.RuleID != "" && !keep[o.RuleID] {
				return Schedule{}, fault.Invalidf("override %d: no shift with id %q", i+1, o.RuleID)
			}
			if err := checkVols("override", o.Volunteers); err != nil {
				return Schedule{}, err
			}
			if o.ID, err = store.NewID(); err != nil {
				return Schedule{}, err
			}
			if _, err := tx.PutShiftOverride(o); err != nil {
				return Schedule{}, invalid(err, "override %d", i+1)
			}
		}
		if err := checkVols("fallback group", sc.Fallback); err != nil {
			return Schedule{}, err
		}
		if err := tx.SetFallbackGroup(sc.Fallback); err != nil {
			return Schedule{}, invalid(err, "fallback group")
		}
		if err := tx.Audit(actor, "shifts.changed", "setting:shifts"); err != nil {
			return Schedule{}, err
		}
		return readSchedule(tx)
	})
	if err == nil {
		s.Engine.VolunteersChanged()
	}
	return out, err
}

// invalid names the item a store validation error is about.
func invalid(err error, format string, args ...any) error {
	if errors.Is(err, store.ErrInvalid) {
		return fault.Invalidf("%s: %v", fmt.Sprintf(format, args...), err)
	}
	return err
}
