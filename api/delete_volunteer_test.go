package api

import (
	"context"
	"strings"
	"testing"
	"time"

	"llamenos/store"
)

// TestDeleteVolunteer: an admin deletes a deactivated account; its sealed
// profile goes with it, the call it answered stays, naming its key, and
// an active account cannot be deleted.
func TestDeleteVolunteer(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.setupAdmin()
	v := e.join(admin, "volunteer")
	callID, _ := store.NewID()
	if err := e.st.Update(context.Background(), func(tx *store.Tx) error {
		_, err := tx.PutCall(store.Call{ID: callID, StartedAt: time.Now().Add(-time.Hour), AnsweredBy: v.pk, Outcome: store.OutcomeAnswered})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if r := e.do("DELETE", "/api/volunteers/"+v.pk, nil, admin); r.status != 409 {
		t.Fatalf("deleting an active account: %d %s", r.status, r.body)
	}
	if r := e.do("PATCH", "/api/volunteers/"+v.pk, map[string]bool{"active": false}, admin); r.status != 200 {
		t.Fatalf("deactivate: %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/api/volunteers/"+v.pk, nil, admin); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/api/volunteers/"+v.pk, nil, admin); r.status != 404 {
		t.Fatalf("deleting twice: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/volunteers", nil, admin); r.status != 200 || strings.Contains(string(r.body), v.pk) {
		t.Fatalf("the deleted account is still listed: %d %s", r.status, r.body)
	}
	err := e.st.View(context.Background(), func(tx *store.Tx) error {
		if _, err := tx.Volunteer(v.pk); err == nil {
			t.Error("the volunteer record (and its sealed profile) is still stored")
		}
		c, err := tx.Call(callID)
		if err != nil || c.AnsweredBy != v.pk {
			t.Errorf("the call metadata did not survive: %+v %v", c, err)
		}
		es, _, err := tx.AuditLog("", 1)
		if err == nil && (es[0].Action != "volunteer.deleted" || es[0].Subjects[0] != "volunteer:"+v.pk || es[0].Actor != admin.pk) {
			t.Errorf("not audited: %+v", es[0])
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
