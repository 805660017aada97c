package e2ee_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"

	"llamenos/e2ee"
	"llamenos/e2ee/e2eetest"
)

func newAdminKey(t *testing.T) e2eetest.SecretKey {
	t.Helper()
	sk, err := e2eetest.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

func signed(t *testing.T, sk e2eetest.SecretKey, set e2ee.AdminSet, op string, key e2ee.PublicKey) e2ee.AdminStatement {
	t.Helper()
	st, err := e2eetest.SignAdminStatement(rand.Reader, sk, e2ee.AdminStatement{Op: op, Key: key, Prev: set.Head})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestAdminChain(t *testing.T) {
	a, b, c := newAdminKey(t), newAdminKey(t), newAdminKey(t)
	var chain []e2ee.AdminStatement
	step := func(sk e2eetest.SecretKey, op string, key e2ee.PublicKey) e2ee.AdminSet {
		t.Helper()
		set, err := e2ee.VerifyAdminChain(chain)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, signed(t, sk, set, op, key))
		set, err = e2ee.VerifyAdminChain(chain)
		if err != nil {
			t.Fatalf("statement %d: %v", len(chain)-1, err)
		}
		return set
	}
	step(a, e2ee.AdminAdd, a.Public())
	step(a, e2ee.AdminAdd, b.Public())
	step(b, e2ee.AdminAdd, c.Public())
	set := step(c, e2ee.AdminRemove, a.Public())
	if len(set.Admins) != 2 || set.Admins[0] != b.Public() || set.Admins[1] != c.Public() || set.Len != 4 {
		t.Fatalf("set %+v", set)
	}

	bad := func(name string, mutate func([]e2ee.AdminStatement) []e2ee.AdminStatement, wantLen int) {
		t.Helper()
		ch := mutate(append([]e2ee.AdminStatement(nil), chain...))
		got, err := e2ee.VerifyAdminChain(ch)
		if !errors.Is(err, e2ee.ErrAdminChain) {
			t.Errorf("%s: err %v, want ErrAdminChain", name, err)
		}
		if got.Len != wantLen {
			t.Errorf("%s: verified prefix of %d statements, want %d", name, got.Len, wantLen)
		}
	}
	intruder := newAdminKey(t)
	bad("flipped signature bit", func(ch []e2ee.AdminStatement) []e2ee.AdminStatement { ch[2].Sig[5] ^= 1; return ch }, 2)
	bad("subject swapped after signing", func(ch []e2ee.AdminStatement) []e2ee.AdminStatement { ch[1].Key = intruder.Public(); return ch }, 1)
	bad("statement dropped", func(ch []e2ee.AdminStatement) []e2ee.AdminStatement { return append(ch[:1], ch[2:]...) }, 1)
	bad("signed by a removed admin", func(ch []e2ee.AdminStatement) []e2ee.AdminStatement {
		s, _ := e2ee.VerifyAdminChain(ch)
		return append(ch, signed(t, a, s, e2ee.AdminAdd, intruder.Public()))
	}, 4)
	bad("signed by a stranger", func(ch []e2ee.AdminStatement) []e2ee.AdminStatement {
		s, _ := e2ee.VerifyAdminChain(ch)
		return append(ch, signed(t, intruder, s, e2ee.AdminAdd, intruder.Public()))
	}, 4)
	bad("first statement by someone else", func(ch []e2ee.AdminStatement) []e2ee.AdminStatement {
		return []e2ee.AdminStatement{signed(t, intruder, e2ee.AdminSet{}, e2ee.AdminAdd, a.Public())}
	}, 0)
	bad("adding an admin twice", func(ch []e2ee.AdminStatement) []e2ee.AdminStatement {
		s, _ := e2ee.VerifyAdminChain(ch)
		return append(ch, signed(t, b, s, e2ee.AdminAdd, c.Public()))
	}, 4)
	bad("removing the last admin", func(ch []e2ee.AdminStatement) []e2ee.AdminStatement {
		s, _ := e2ee.VerifyAdminChain(ch)
		ch = append(ch, signed(t, b, s, e2ee.AdminRemove, c.Public()))
		s, _ = e2ee.VerifyAdminChain(ch)
		return append(ch, signed(t, b, s, e2ee.AdminRemove, b.Public()))
	}, 5)
	bad("unknown operation", func(ch []e2ee.AdminStatement) []e2ee.AdminStatement {
		s, _ := e2ee.VerifyAdminChain(ch)
		return append(ch, signed(t, b, s, "promote", intruder.Public()))
	}, 4)
}

// TestAdminStatementDigest pins the digest of one statement; the browser's
// test (ui/test/adminset.test.js) pins the same bytes.
func TestAdminStatementDigest(t *testing.T) {
	var st e2ee.AdminStatement
	st.Op = e2ee.AdminAdd
	for i := range st.Prev {
		st.Prev[i] = byte(i)
	}
	// The generator point's x: a valid key, written down in both tests.
	g, _ := hex.DecodeString("79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
	copy(st.Key[:], g)
	copy(st.By[:], g)
	d := st.Digest()
	if got, want := hex.EncodeToString(d[:]), adminDigestVector; got != want {
		t.Fatalf("digest %s, want %s", got, want)
	}
}

const adminDigestVector = "607eb8e986908ed8a0b1d2820de2b60d2004248563fa6086d382d2c641198590"
