package ari

import (
	"reflect"
	"sync"
)

// Caller ids reach the client in event frames and REST responses. The
// client keeps no copy it does not wipe: a frame's bytes are zeroed once
// decoded, a response body once decoded, and the decoded CallerIDs are
// Private. Whoever receives a decoded value owns its Private fields and
// wipes them when done: WipeEvent for an event, WipeNotification for a
// notification, Channel.Wipe for a channel from a REST call. The client
// wipes what it never hands over: events it drops (unknown types, full
// queues, closed subscriptions) and notifications nobody read.

// WipeEvent zeroes every Private in ev (the caller ids of its channels) and
// the raw frame of an UnknownEvent. Call it once done with an event taken
// from a Subscription or a Notification. An event routed to several
// subscriptions reaches each as a copy of its own.
func WipeEvent(ev Event) {
	if ev == nil {
		return
	}
	if u, ok := ev.(*UnknownEvent); ok {
		clear(u.Raw)
		u.Raw = nil
		return
	}
	eachPrivate(reflect.ValueOf(ev), func(p *Private) { p.Wipe() })
}

// WipeNotification zeroes the caller ids a notification carries: the event
// of a NewChannel or Unrouted, the channels of a Resync.
func WipeNotification(n Notification) {
	switch n := n.(type) {
	case *NewChannel:
		WipeEvent(n.Event)
	case *Unrouted:
		WipeEvent(n.Event)
	case *Resync:
		n.Wipe()
	}
}

// Wipe zeroes the caller ids of every channel in the snapshot.
func (r *Resync) Wipe() {
	for i := range r.Channels {
		r.Channels[i].Wipe()
	}
}

// cloneEvent returns a copy of ev whose Private fields have buffers of
// their own (pointed-to structs are copied too); other fields are shared,
// as nothing changes them.
func cloneEvent(ev Event) Event {
	if u, ok := ev.(*UnknownEvent); ok {
		c := *u
		c.Raw = append([]byte(nil), u.Raw...)
		return &c
	}
	v := reflect.ValueOf(ev).Elem()
	c := reflect.New(v.Type())
	c.Elem().Set(v)
	ownPrivate(c.Elem())
	return c.Interface().(Event)
}

var privateType = reflect.TypeFor[Private]()

// holdsPrivate caches, per type, whether a value of it can reach a Private
// through exported fields, pointers, slices or arrays.
var holdsPrivate sync.Map // reflect.Type → bool

func reachesPrivate(t reflect.Type) bool {
	if v, ok := holdsPrivate.Load(t); ok {
		return v.(bool)
	}
	r := reaches(t, map[reflect.Type]bool{})
	holdsPrivate.Store(t, r)
	return r
}

func reaches(t reflect.Type, visiting map[reflect.Type]bool) bool {
	if t == privateType {
		return true
	}
	if visiting[t] {
		return false // a cycle adds nothing new
	}
	visiting[t] = true
	switch t.Kind() {
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && reaches(f.Type, visiting) {
				return true
			}
		}
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return reaches(t.Elem(), visiting)
	}
	return false
}

// eachPrivate calls f on every Private reachable from v through exported
// fields, pointers, slices and arrays.
func eachPrivate(v reflect.Value, f func(*Private)) {
	if !reachesPrivate(v.Type()) {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			eachPrivate(v.Elem(), f)
		}
	case reflect.Struct:
		if v.Type() == privateType {
			f(v.Addr().Interface().(*Private))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				eachPrivate(v.Field(i), f)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			eachPrivate(v.Index(i), f)
		}
	}
}

// ownPrivate gives every Private reachable from the addressable v a buffer
// of its own, copying the pointed-to structs and slices on the way.
func ownPrivate(v reflect.Value) {
	if !reachesPrivate(v.Type()) {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		c := reflect.New(v.Type().Elem())
		c.Elem().Set(v.Elem())
		ownPrivate(c.Elem())
		v.Set(c)
	case reflect.Struct:
		if v.Type() == privateType {
			p := v.Addr().Interface().(*Private)
			*p = p.Clone()
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				ownPrivate(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.IsNil() {
			return
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(c, v)
		for i := range c.Len() {
			ownPrivate(c.Index(i))
		}
		v.Set(c)
	case reflect.Array:
		for i := range v.Len() {
			ownPrivate(v.Index(i))
		}
	}
}
