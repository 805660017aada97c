// Package store is the daemon's embedded database (bbolt): every record the
// server may know (call metadata, sealed envelopes, hashes; see
// docs/threat-model.md) and nothing else. Secrets arrive sealed
// (envelopes are opaque bytes here) or hashed (caller numbers by CallerKey,
// whose key is in a file outside the database; session tokens and invite
// codes as SHA-256). Tx.Purge and the caller-hash erasure are what the
// daemon's retention task runs.
//
// Use: Open once; then Store.View / Store.Update (or Read / Write) run a
// function with a *Tx whose typed methods read and write records. One
// Update is one bbolt transaction, committed with fsync: a change and its
// audit entry (Tx.Audit) land together or not at all.
//
// Layout: one bucket per record type, keyed by natural key in raw bytes;
// index buckets with composite keys and empty values serve the listings
// (newest first, opaque cursors). Records are a version byte, JSON and a
// CRC-32C, because bbolt checksums only its meta pages. Schema changes are
// ordered migrations (schema.go) stepping a version key; a binary refuses a
// newer schema rather than misreading it.
//
// Backup is an online copy (tx.WriteTo). VerifyFile checks a file without
// trusting it (bounds-checked page walk first, since bbolt would crash on a
// truncated file; then bbolt's check, the schema, every record and index,
// the audit chain). Restore verifies a copy before it atomically replaces
// the live file, and refuses while a daemon holds the file's lock.
package store
