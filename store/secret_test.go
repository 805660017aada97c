package store

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestInstallSecretNeverPrints(t *testing.T) {
	s, _ := openTest(t)
	secret := s.Secret()
	key := secret.key[:]
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("opened", "secret", secret, "wrapped", struct{ S InstallSecret }{secret})
	slog.New(slog.NewTextHandler(&logged, nil)).Info("opened", "secret", secret)
	js, _ := json.Marshal(map[string]any{"s": secret})
	outputs := []string{logged.String(), string(js)}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d", "%T"} {
		outputs = append(outputs, fmt.Sprintf(verb, secret), fmt.Sprintf(verb, &secret), fmt.Sprintf(verb, []InstallSecret{secret}))
	}
	forms := []string{hex.EncodeToString(key), strings.ToUpper(hex.EncodeToString(key)), string(key), fmt.Sprint([]byte(key)), fmt.Sprint(key[:4])}
	for _, out := range outputs {
		for _, f := range forms {
			if strings.Contains(out, f) {
				t.Fatalf("secret printed in %q", out)
			}
		}
	}
	if a, b := secret.MAC([]byte("+1555")), secret.MAC([]byte("+1555")); a != b || a == secret.MAC([]byte("+1556")) {
		t.Error("MAC is not a function of its input")
	}
}
