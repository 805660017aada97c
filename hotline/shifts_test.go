package hotline

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"llamenos/leakcheck"
	"llamenos/store"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestOnShift(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	day := store.ShiftRule{ID: "day", Days: []time.Weekday{time.Monday, time.Tuesday}, Start: "09:00", End: "17:00", Volunteers: []string{"alice"}}
	night := store.ShiftRule{ID: "night", Days: []time.Weekday{time.Friday}, Start: "22:00", End: "06:00", Volunteers: []string{"bob"}}
	allday := store.ShiftRule{ID: "allday", Days: []time.Weekday{time.Sunday}, Start: "00:00", End: "24:00", Volunteers: []string{"carol"}}
	late := store.ShiftRule{ID: "late", Days: []time.Weekday{time.Wednesday}, Start: "20:00", End: "00:00", Volunteers: []string{"dan"}}
	rules := []store.ShiftRule{day, night, allday, late}
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, ny)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	cases := []struct {
		name      string
		when      time.Time
		overrides []store.ShiftOverride
		want      []string
	}{
		{"monday morning", at("2026-11-23 09:00"), nil, []string{"alice"}},
		{"monday end is exclusive", at("2026-11-23 17:00"), nil, []string{}},
		{"wednesday not scheduled", at("2026-11-25 10:00"), nil, []string{}},
		{"friday before night", at("2026-11-27 21:59"), nil, []string{}},
		{"friday night", at("2026-11-27 23:30"), nil, []string{"bob"}},
		// Llámenos checked the current day after midnight; Saturday is not a shift day.
		{"overnight continues into saturday", at("2026-11-28 05:59"), nil, []string{"bob"}},
		{"overnight over on saturday", at("2026-11-28 06:00"), nil, []string{}},
		{"thursday night is not friday's shift", at("2026-11-27 02:00"), nil, []string{}},
		{"whole day starts at midnight", at("2026-11-29 00:00"), nil, []string{"carol"}},
		{"whole day until 23:59", at("2026-11-29 23:59"), nil, []string{"carol"}},
		{"whole day ends at 24:00", at("2026-11-30 00:00"), nil, []string{}},
		{"shift ending at 00:00 runs to midnight", at("2026-11-25 23:59"), nil, []string{"dan"}},
		{"shift ending at 00:00 does not spill over", at("2026-11-26 00:01"), nil, []string{}},
		{"cancel by start date clears early saturday", at("2026-11-28 03:00"),
			[]store.ShiftOverride{{Date: "2026-11-27", RuleID: "night", Kind: store.OverrideCancel}}, []string{}},
		{"override on saturday does not touch friday's shift", at("2026-11-28 03:00"),
			[]store.ShiftOverride{{Date: "2026-11-28", Kind: store.OverrideCancel}}, []string{"bob"}},
		{"override for another rule", at("2026-11-24 12:00"),
			[]store.ShiftOverride{{Date: "2026-11-24", RuleID: "night", Kind: store.OverrideCancel}}, []string{"alice"}},
		{"substitute", at("2026-11-24 12:00"),
			[]store.ShiftOverride{{Date: "2026-11-24", RuleID: "day", Kind: store.OverrideSubstitute, Volunteers: []string{"dave", "erin"}}}, []string{"dave", "erin"}},
		{"cancel every rule that day", at("2026-11-24 12:00"),
			[]store.ShiftOverride{{Date: "2026-11-24", Kind: store.OverrideCancel}}, []string{}},
		// The same instant is 14:00 UTC: the zone decides.
		{"zone matters", time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC), nil, []string{"alice"}},
		{"zone matters outside", time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC), nil, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := OnShift(tc.when, ny, rules, tc.overrides)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestOnShiftAcrossDST(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	// 2026-03-08: clocks jump from 02:00 to 03:00. A 01:00-09:00 Sunday shift
	// still starts and ends at local wall-clock times.
	r := []store.ShiftRule{{ID: "s", Days: []time.Weekday{time.Sunday}, Start: "01:00", End: "09:00", Volunteers: []string{"v"}}}
	in := time.Date(2026, 3, 8, 8, 59, 0, 0, ny)
	out := time.Date(2026, 3, 8, 9, 0, 0, 0, ny)
	if got := OnShift(in, ny, r, nil); len(got) != 1 {
		t.Fatalf("08:59 local: %v", got)
	}
	if got := OnShift(out, ny, r, nil); len(got) != 0 {
		t.Fatalf("09:00 local: %v", got)
	}
	// 2026-11-01: 01:00-02:00 happens twice; both instants are on shift.
	r = []store.ShiftRule{{ID: "s", Days: []time.Weekday{time.Sunday}, Start: "01:00", End: "02:00", Volunteers: []string{"v"}}}
	first := time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC)  // 01:30 EDT
	second := time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC) // 01:30 EST
	for _, at := range []time.Time{first, second} {
		if got := OnShift(at, ny, r, nil); len(got) != 1 {
			t.Fatalf("%v: %v", at, got)
		}
	}
}

func TestOnShiftIgnoresUnparsableRules(t *testing.T) {
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	every := []time.Weekday{0, 1, 2, 3, 4, 5, 6}
	rules := []store.ShiftRule{
		{ID: "bad", Days: every, Start: "9:00", End: "17:00", Volunteers: []string{"x"}},
		{ID: "same", Days: every, Start: "09:00", End: "09:00", Volunteers: []string{"y"}},
	}
	if got := OnShift(at, time.UTC, rules, nil); len(got) != 0 {
		t.Fatalf("got %v, want nobody", got)
	}
}

func TestScheduledNowWithoutASchedule(t *testing.T) {
	leakcheck.Check(t)
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pk := func(b byte) string { return strings.Repeat(string("0123456789abcdef"[b]), 64) }
	now := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC) // a Wednesday night: nobody's shift
	scheduled := func() []string {
		t.Helper()
		got, err := store.Read(context.Background(), st, func(tx *store.Tx) ([]string, error) { return ScheduledNow(tx, now) })
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	err = st.Update(context.Background(), func(tx *store.Tx) error {
		for i, active := range []bool{true, true, false} {
			if _, err := tx.CreateVolunteer(store.Volunteer{PubKey: pk(byte(i + 1)), Role: store.RoleVolunteer, Active: active}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// No shifts and no fallback group: every active volunteer counts as on shift.
	if got := scheduled(); !reflect.DeepEqual(got, []string{pk(1), pk(2)}) {
		t.Fatalf("unconfigured schedule: %v", got)
	}
	// Once a fallback group exists the schedule is configured: nobody is on shift now.
	if err := st.Update(context.Background(), func(tx *store.Tx) error { return tx.SetFallbackGroup([]string{pk(2)}) }); err != nil {
		t.Fatal(err)
	}
	if got := scheduled(); len(got) != 0 {
		t.Fatalf("with a fallback group: %v", got)
	}
	// So does any shift rule.
	err = st.Update(context.Background(), func(tx *store.Tx) error {
		if err := tx.SetFallbackGroup(nil); err != nil {
			return err
		}
		id, _ := store.NewID()
		_, err := tx.PutShiftRule(store.ShiftRule{ID: id, Days: []time.Weekday{time.Monday}, Start: "09:00", End: "17:00", Volunteers: []string{pk(1)}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := scheduled(); len(got) != 0 {
		t.Fatalf("with a rule that does not cover now: %v", got)
	}
}
