package api

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"llamenos/config"
	"llamenos/leakcheck"
)

// writeCert writes a self-signed certificate for localhost.
func writeCert(t *testing.T, dir, cn string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestServeTLSFromCertFiles(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	certFile, keyFile := writeCert(t, dir, "first")
	ln, err := Listen(config.Server{Listen: "127.0.0.1:0", TLSCertFile: certFile, TLSKeyFile: keyFile}, dir)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(ctx, ln) }()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 5 * time.Second}
	defer client.CloseIdleConnections() // its keep-alive connection is the test's, not the server's
	res, err := client.Get("https://" + ln.Addr().String() + "/api/health")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"status":"ok"`) || res.TLS == nil {
		t.Fatalf("health over TLS: %d %s", res.StatusCode, body)
	}
	if got := res.TLS.PeerCertificates[0].Subject.CommonName; got != "first" {
		t.Fatalf("served certificate %q", got)
	}
	// Plain HTTP on the TLS port is refused.
	plain := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
	defer plain.CloseIdleConnections()
	if res, err := plain.Get("http://" + ln.Addr().String() + "/api/health"); err == nil {
		res.Body.Close()
		if res.StatusCode == 200 {
			t.Fatal("plain HTTP answered on the TLS listener")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestListenRefusesBadCertificate(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(config.Server{Listen: "127.0.0.1:0", TLSCertFile: bad, TLSKeyFile: bad}, dir); err == nil || !strings.Contains(err.Error(), "tls certificate") {
		t.Fatalf("bad certificate: %v", err)
	}
}

func TestCertificateReloads(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeCert(t, dir, "first")
	kp := &keyPair{cert: certFile, key: keyFile}
	c1, err := kp.get(nil)
	if err != nil {
		t.Fatal(err)
	}
	writeCert(t, dir, "renewed")
	// A renewed file is picked up at the next check (at most a minute later).
	future := time.Now().Add(2 * time.Second)
	if err := os.Chtimes(certFile, future, future); err != nil {
		t.Fatal(err)
	}
	kp.checked = time.Time{}
	c2, err := kp.get(nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(c2.Certificate[0])
	if c1 == c2 || leaf.Subject.CommonName != "renewed" {
		t.Fatalf("certificate not reloaded: %q", leaf.Subject.CommonName)
	}
}
