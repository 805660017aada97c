package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestAuditSearch(t *testing.T) {
	clk := newClock()
	s, _ := openTest(t, withClock(clk))
	start := clk.Now() // entries 1 and 2, store.migrated to v1 and v2, are stamped here
	call := newID(t)
	steps := []struct {
		actor, action string
		subjects      []string
	}{
		{pk(1), "login", []string{"volunteer:" + pk(1)}},                      // 3
		{ActorSystem, "call.answered", []string{"call:" + call}},              // 4
		{pk(2), "note.created", []string{"note:" + newID(t), "call:" + call}}, // 5
		{ActorSystem, "call.ended", []string{"call:" + call}},                 // 6
		{pk(1), "settings.changed", []string{"setting:hotline"}},              // 7
		{pk(1), "callback.x", nil},                                            // 8: not in the "call" family
	}
	for _, st := range steps {
		clk.Advance(time.Minute)
		update(t, s, func(tx *Tx) error { return tx.Audit(st.actor, st.action, st.subjects...) })
	}
	seqs := func(f AuditFilter, limit int) []uint64 {
		t.Helper()
		es, next, err := s.AuditSearch(context.Background(), f, "", limit)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		if next != "" {
			t.Fatalf("%+v: a next cursor after every entry was read", f)
		}
		out := []uint64{}
		for _, e := range es {
			out = append(out, e.Seq)
		}
		return out
	}
	cases := []struct {
		name string
		f    AuditFilter
		want []uint64
	}{
		{"everything", AuditFilter{}, []uint64{8, 7, 6, 5, 4, 3, 2, 1}},
		{"actor", AuditFilter{Actor: pk(1)}, []uint64{8, 7, 3}},
		{"system", AuditFilter{Actor: ActorSystem}, []uint64{6, 4, 2, 1}},
		{"family", AuditFilter{Action: "call"}, []uint64{6, 4}},
		{"one action", AuditFilter{Action: "call.ended"}, []uint64{6}},
		{"kind", AuditFilter{Kind: "call"}, []uint64{6, 5, 4}},
		{"from", AuditFilter{From: start.Add(4 * time.Minute)}, []uint64{8, 7, 6}},
		{"to", AuditFilter{To: start.Add(2 * time.Minute)}, []uint64{3, 2, 1}},
		{"range and kind", AuditFilter{Kind: "call", From: start.Add(3 * time.Minute), To: start.Add(4 * time.Minute)}, []uint64{5}},
		{"nothing", AuditFilter{Actor: pk(3)}, []uint64{}},
	}
	for _, c := range cases {
		if got := seqs(c.f, 50); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}

	// Paging through a filter: two by two.
	var got []uint64
	cursor := ""
	for range 10 {
		es, next, err := s.AuditSearch(context.Background(), AuditFilter{Actor: pk(1)}, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			got = append(got, e.Seq)
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	if fmt.Sprint(got) != "[8 7 3]" {
		t.Errorf("paged: %v", got)
	}

	for _, bad := range []AuditFilter{
		{Actor: "admin"},
		{Action: "Call"},
		{Action: "call."},
		{Kind: "caller"},
		{From: start, To: start},
	} {
		_, _, err := s.AuditSearch(context.Background(), bad, "", 10)
		wantErr(t, err, ErrInvalid)
	}
}

// A filter that matches nothing reads at most AuditScanLimit entries per
// page and says where to go on.
func TestAuditSearchBoundsTheScan(t *testing.T) {
	s, _ := openTest(t)
	update(t, s, func(tx *Tx) error {
		for range AuditScanLimit + 10 {
			if err := tx.Audit(pk(1), "login"); err != nil {
				return err
			}
		}
		return nil
	})
	f := AuditFilter{Actor: ActorSystem} // only entries 1 and 2, the migrations
	es, next, err := s.AuditSearch(context.Background(), f, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 0 || next == "" {
		t.Fatalf("first page: %d entries, next %q: want none and a cursor", len(es), next)
	}
	es, next, err = s.AuditSearch(context.Background(), f, next, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Seq != 2 || es[1].Seq != 1 || next != "" {
		t.Fatalf("second page: %+v next %q", es, next)
	}
}
