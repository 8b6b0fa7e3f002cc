package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func get(t *testing.T, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	newHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, err := io.ReadAll(rec.Result().Body)
	if err != nil {
		t.Fatalf("failed to read body: %v", err)
	}
	return rec.Code, string(body)
}

func TestRootSaysHelloWorld(t *testing.T) {
	code, body := get(t, "/")
	if code != http.StatusOK || body != "Hello World" {
		t.Fatalf("GET / = %d %q, want 200 %q", code, body, "Hello World")
	}
}

func TestHealthzSaysOK(t *testing.T) {
	code, body := get(t, "/healthz")
	if code != http.StatusOK || body != "ok" {
		t.Fatalf("GET /healthz = %d %q, want 200 %q", code, body, "ok")
	}
}

func TestUnknownPathIsNotFound(t *testing.T) {
	if code, _ := get(t, "/nope"); code != http.StatusNotFound {
		t.Fatalf("GET /nope = %d, want 404", code)
	}
}

func TestHealthcheckPassesAgainstAHealthyServer(t *testing.T) {
	srv := httptest.NewServer(newHandler())
	defer srv.Close()
	if err := healthcheck(srv.URL + "/healthz"); err != nil {
		t.Fatalf("healthcheck: %v", err)
	}
}

func TestHealthcheckFailsWhenNothingListens(t *testing.T) {
	srv := httptest.NewServer(newHandler())
	url := srv.URL + "/healthz"
	srv.Close()
	if err := healthcheck(url); err == nil {
		t.Fatal("healthcheck succeeded against a closed server")
	}
}
