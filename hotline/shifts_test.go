package hotline

import (
	"reflect"
	"testing"
	"time"
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
	day := ShiftRule{ID: "day", Days: []time.Weekday{time.Monday, time.Tuesday}, Start: "09:00", End: "17:00", Volunteers: []string{"alice"}}
	night := ShiftRule{ID: "night", Days: []time.Weekday{time.Friday}, Start: "22:00", End: "06:00", Volunteers: []string{"bob"}}
	allday := ShiftRule{ID: "allday", Days: []time.Weekday{time.Sunday}, Start: "08:00", End: "08:00", Volunteers: []string{"carol"}}
	rules := []ShiftRule{day, night, allday}
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
		overrides []ShiftOverride
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
		{"full day sunday morning", at("2026-11-29 08:00"), nil, []string{"carol"}},
		{"full day into monday", at("2026-11-30 07:59"), nil, []string{"carol"}},
		{"full day ends", at("2026-11-30 08:00"), nil, []string{}},
		{"cancel by start date clears early saturday", at("2026-11-28 03:00"),
			[]ShiftOverride{{Date: "2026-11-27", RuleID: "night", Kind: OverrideCancel}}, []string{}},
		{"override on saturday does not touch friday's shift", at("2026-11-28 03:00"),
			[]ShiftOverride{{Date: "2026-11-28", Kind: OverrideCancel}}, []string{"bob"}},
		{"substitute", at("2026-11-24 12:00"),
			[]ShiftOverride{{Date: "2026-11-24", RuleID: "day", Kind: OverrideSubstitute, Volunteers: []string{"dave", "erin"}}}, []string{"dave", "erin"}},
		{"cancel every rule that day", at("2026-11-24 12:00"),
			[]ShiftOverride{{Date: "2026-11-24", Kind: OverrideCancel}}, []string{}},
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
	r := []ShiftRule{{ID: "s", Days: []time.Weekday{time.Sunday}, Start: "01:00", End: "09:00", Volunteers: []string{"v"}}}
	in := time.Date(2026, 3, 8, 8, 59, 0, 0, ny)
	out := time.Date(2026, 3, 8, 9, 0, 0, 0, ny)
	if got := OnShift(in, ny, r, nil); len(got) != 1 {
		t.Fatalf("08:59 local: %v", got)
	}
	if got := OnShift(out, ny, r, nil); len(got) != 0 {
		t.Fatalf("09:00 local: %v", got)
	}
}

func TestValidateShifts(t *testing.T) {
	good := []ShiftRule{{ID: "a", Days: []time.Weekday{1}, Start: "09:00", End: "17:00"}}
	cases := map[string]struct {
		rules     []ShiftRule
		overrides []ShiftOverride
		ok        bool
	}{
		"good":          {good, []ShiftOverride{{Date: "2026-01-02", Kind: OverrideCancel}}, true},
		"no id":         {[]ShiftRule{{Days: []time.Weekday{1}, Start: "09:00", End: "10:00"}}, nil, false},
		"dup id":        {append(good, good[0]), nil, false},
		"no days":       {[]ShiftRule{{ID: "a", Start: "09:00", End: "10:00"}}, nil, false},
		"bad day":       {[]ShiftRule{{ID: "a", Days: []time.Weekday{7}, Start: "09:00", End: "10:00"}}, nil, false},
		"bad time":      {[]ShiftRule{{ID: "a", Days: []time.Weekday{1}, Start: "9:00", End: "10:00"}}, nil, false},
		"hour 24":       {[]ShiftRule{{ID: "a", Days: []time.Weekday{1}, Start: "24:00", End: "10:00"}}, nil, false},
		"bad date":      {good, []ShiftOverride{{Date: "2026-13-01", Kind: OverrideCancel}}, false},
		"unknown rule":  {good, []ShiftOverride{{Date: "2026-01-02", RuleID: "zz", Kind: OverrideCancel}}, false},
		"empty subst":   {good, []ShiftOverride{{Date: "2026-01-02", Kind: OverrideSubstitute}}, false},
		"unknown kind":  {good, []ShiftOverride{{Date: "2026-01-02", Kind: "swap"}}, false},
		"overnight ok":  {[]ShiftRule{{ID: "n", Days: []time.Weekday{5}, Start: "22:00", End: "06:00"}}, nil, true},
		"full day ok":   {[]ShiftRule{{ID: "n", Days: []time.Weekday{5}, Start: "00:00", End: "00:00"}}, nil, true},
		"no rules ok":   {nil, nil, true},
		"substitute ok": {good, []ShiftOverride{{Date: "2026-01-02", RuleID: "a", Kind: OverrideSubstitute, Volunteers: []string{"x"}}}, true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := ValidateShifts(tc.rules, tc.overrides)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
