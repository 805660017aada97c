package store

import (
	"errors"
	"fmt"
	"sort"
	"time"
	"unicode/utf8"
)

// Shifts are stored here; deciding who is on shift at an instant is the
// hotline's job (it has the clock, the zone and the routing rules).

// ShiftRule is a weekly shift in the hotline's IANA time zone (Settings).
// End at or before Start is an overnight shift ending the next day; "24:00"
// as End means midnight at the end of the day.
type ShiftRule struct {
	ID string `json:"id"`
	// Name is the admin's label for the shift ("Night line"); plaintext.
	Name       string         `json:"name,omitempty"`
	Days       []time.Weekday `json:"days"`
	Start      string         `json:"start"`
	End        string         `json:"end"`
	Volunteers []string       `json:"vols"`
	CreatedAt  time.Time      `json:"created"`
	UpdatedAt  time.Time      `json:"updated"`
}

// OverrideKind says what an override does to the shifts of its date.
type OverrideKind string

const (
	OverrideCancel     OverrideKind = "cancel"
	OverrideSubstitute OverrideKind = "substitute"
)

// ShiftOverride changes the shifts that start on Date (YYYY-MM-DD in the
// hotline's zone): one rule's when RuleID is set, else every rule's.
// Substitute replaces their volunteers with Volunteers; cancel drops them.
type ShiftOverride struct {
	ID         string       `json:"id"`
	Date       string       `json:"date"`
	RuleID     string       `json:"rule,omitempty"`
	Kind       OverrideKind `json:"kind"`
	Volunteers []string     `json:"vols,omitempty"`
	CreatedAt  time.Time    `json:"created"`
}

const maxShiftVolunteers = 500

// ParseClock reads "HH:MM" (00:00..23:59, and 24:00 when end is true) as
// minutes after midnight.
func ParseClock(s string, end bool) (int, error) {
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("time %q: want HH:MM", truncate(s, 20))
	}
	var digits [4]int
	for i, j := range []int{0, 1, 3, 4} {
		if s[j] < '0' || s[j] > '9' {
			return 0, fmt.Errorf("time %q: want HH:MM", s)
		}
		digits[i] = int(s[j] - '0')
	}
	h, m := digits[0]*10+digits[1], digits[2]*10+digits[3]
	if end && h == 24 && m == 0 {
		return 24 * 60, nil
	}
	if h > 23 || m > 59 {
		return 0, fmt.Errorf("time %q: out of range", s)
	}
	return h*60 + m, nil
}

func validPubKeySet(what string, pks []string, max int) error {
	if len(pks) > max {
		return fmt.Errorf("%s: %d volunteers, at most %d", what, len(pks), max)
	}
	seen := make(map[string]bool, len(pks))
	for _, pk := range pks {
		if err := ValidPubKey(pk); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if seen[pk] {
			return fmt.Errorf("%s: volunteer %s listed twice", what, pk)
		}
		seen[pk] = true
	}
	return nil
}

func (r *ShiftRule) validate() error {
	var errs []error
	if err := ValidID(r.ID); err != nil {
		errs = append(errs, err)
	}
	if n := utf8.RuneCountInString(r.Name); !utf8.ValidString(r.Name) || n > 80 {
		errs = append(errs, errors.New("name: at most 80 characters"))
	}
	if len(r.Days) == 0 || len(r.Days) > 7 {
		errs = append(errs, errors.New("days: want 1 to 7 weekdays"))
	}
	seen := map[time.Weekday]bool{}
	for _, d := range r.Days {
		if d < time.Sunday || d > time.Saturday || seen[d] {
			errs = append(errs, fmt.Errorf("days: %d is not a weekday 0..6 or is repeated", d))
		}
		seen[d] = true
	}
	start, err1 := ParseClock(r.Start, false)
	end, err2 := ParseClock(r.End, true)
	errs = append(errs, err1, err2)
	if err1 == nil && err2 == nil && start == end {
		errs = append(errs, errors.New("start and end are equal; use 00:00 to 24:00 for a whole day"))
	}
	if err := validPubKeySet("shift", r.Volunteers, maxShiftVolunteers); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (o *ShiftOverride) validate() error {
	var errs []error
	if err := ValidID(o.ID); err != nil {
		errs = append(errs, err)
	}
	if _, err := time.Parse(time.DateOnly, o.Date); err != nil {
		errs = append(errs, fmt.Errorf("date %q: want YYYY-MM-DD", truncate(o.Date, 20)))
	}
	if o.RuleID != "" {
		if err := ValidID(o.RuleID); err != nil {
			errs = append(errs, fmt.Errorf("rule: %w", err))
		}
	}
	switch o.Kind {
	case OverrideCancel:
		if len(o.Volunteers) != 0 {
			errs = append(errs, errors.New("a cancel override lists no volunteers"))
		}
	case OverrideSubstitute:
		if len(o.Volunteers) == 0 {
			errs = append(errs, errors.New("a substitute override needs volunteers"))
		}
	default:
		errs = append(errs, fmt.Errorf("kind %q: want cancel or substitute", o.Kind))
	}
	if err := validPubKeySet("override", o.Volunteers, maxShiftVolunteers); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// PutShiftRule creates or replaces a weekly rule. CreatedAt is kept from the
// stored rule; UpdatedAt is the tx time.
func (tx *Tx) PutShiftRule(r ShiftRule) (ShiftRule, error) {
	if err := r.validate(); err != nil {
		return ShiftRule{}, fmt.Errorf("store: put shift: %w: %w", ErrInvalid, err)
	}
	old, err := tx.ShiftRule(r.ID)
	switch {
	case err == nil:
		r.CreatedAt = old.CreatedAt
	case errors.Is(err, ErrNotFound):
		r.CreatedAt = tx.now
	default:
		return ShiftRule{}, err
	}
	r.UpdatedAt = tx.now
	r.Days = append([]time.Weekday{}, r.Days...)
	sort.Slice(r.Days, func(i, j int) bool { return r.Days[i] < r.Days[j] })
	key, _ := idBytes(r.ID)
	return r, tx.putRecord(bucketShiftRules, key, &r)
}

// ShiftRule returns one rule.
func (tx *Tx) ShiftRule(id string) (ShiftRule, error) {
	key, err := idBytes(id)
	if err != nil {
		return ShiftRule{}, fmt.Errorf("store: shift: %w: %w", ErrInvalid, err)
	}
	var r ShiftRule
	if err := tx.getRecord(bucketShiftRules, key, &r); err != nil {
		return ShiftRule{}, fmt.Errorf("store: shift %s: %w", id, err)
	}
	return r, nil
}

// ShiftRules lists every rule, oldest id first.
func (tx *Tx) ShiftRules() ([]ShiftRule, error) {
	return listAll[ShiftRule](tx, bucketShiftRules)
}

// DeleteShiftRule removes a rule and the overrides aimed at it.
func (tx *Tx) DeleteShiftRule(id string) error {
	if _, err := tx.ShiftRule(id); err != nil {
		return err
	}
	key, _ := idBytes(id)
	b, err := tx.bucket(bucketShiftRules)
	if err != nil {
		return err
	}
	if err := b.Delete(key); err != nil {
		return fmt.Errorf("store: delete shift: %w", err)
	}
	overrides, err := listAll[ShiftOverride](tx, bucketOverrides)
	if err != nil {
		return err
	}
	for _, o := range overrides {
		if o.RuleID == id {
			if err := tx.DeleteShiftOverride(o.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// PutShiftOverride creates or replaces an override.
func (tx *Tx) PutShiftOverride(o ShiftOverride) (ShiftOverride, error) {
	if err := o.validate(); err != nil {
		return ShiftOverride{}, fmt.Errorf("store: put override: %w: %w", ErrInvalid, err)
	}
	if o.RuleID != "" {
		if _, err := tx.ShiftRule(o.RuleID); err != nil {
			return ShiftOverride{}, fmt.Errorf("store: put override: %w", err)
		}
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = tx.now
	}
	key, _ := idBytes(o.ID)
	return o, tx.putRecord(bucketOverrides, key, &o)
}

// ShiftOverrides lists overrides dated from..to inclusive (YYYY-MM-DD;
// empty means unbounded), by date.
func (tx *Tx) ShiftOverrides(from, to string) ([]ShiftOverride, error) {
	all, err := listAll[ShiftOverride](tx, bucketOverrides)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, o := range all {
		if (from == "" || o.Date >= from) && (to == "" || o.Date <= to) {
			out = append(out, o)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Date < out[j].Date })
	return out, nil
}

// DeleteShiftOverride removes one override.
func (tx *Tx) DeleteShiftOverride(id string) error {
	key, err := idBytes(id)
	if err != nil {
		return fmt.Errorf("store: delete override: %w: %w", ErrInvalid, err)
	}
	b, err := tx.bucket(bucketOverrides)
	if err != nil {
		return err
	}
	if b.Get(key) == nil {
		return fmt.Errorf("store: override %s: %w", id, ErrNotFound)
	}
	if err := b.Delete(key); err != nil {
		return fmt.Errorf("store: delete override: %w", err)
	}
	return nil
}

type fallbackGroup struct {
	Volunteers []string `json:"vols"`
}

// FallbackGroup is who rings when nobody is on shift.
func (tx *Tx) FallbackGroup() ([]string, error) {
	var g fallbackGroup
	err := tx.getRecord(bucketMeta, keyFallback, &g)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: fallback group: %w", err)
	}
	return g.Volunteers, nil
}

// SetFallbackGroup replaces the fallback group.
func (tx *Tx) SetFallbackGroup(pks []string) error {
	if err := validPubKeySet("fallback group", pks, maxShiftVolunteers); err != nil {
		return fmt.Errorf("store: %w: %w", ErrInvalid, err)
	}
	return tx.putRecord(bucketMeta, keyFallback, &fallbackGroup{Volunteers: append([]string{}, pks...)})
}
