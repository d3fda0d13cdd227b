package media

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atende/atende"
)

func TestPutOpenDelete(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tenant := atende.NewID()
	f, err := s.Put(context.Background(), tenant, "../../etc/factura março.pdf", "application/pdf", strings.NewReader("%PDF-1.4 hola"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "factura março.pdf" || f.Size != 13 || len(f.SHA256) != 64 {
		t.Fatalf("stored %+v", f)
	}
	r, err := s.Open(tenant, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if string(b) != "%PDF-1.4 hola" {
		t.Fatalf("content %q", b)
	}
	if _, err := s.Open(atende.NewID(), f.ID); atende.ErrorCode(err) != atende.ENotFound {
		t.Fatalf("another tenant opened the file: %v", err)
	}
	if _, err := s.Open(tenant, "../../x"); atende.ErrorCode(err) != atende.ENotFound {
		t.Fatalf("path traversal: %v", err)
	}
	if err := s.Delete(tenant, f.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(tenant, f.ID); atende.ErrorCode(err) != atende.ENotFound {
		t.Fatalf("after delete: %v", err)
	}
}

func TestPutRefusesTooLargeAndLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	s, _ := New(dir)
	tenant := atende.NewID()
	_, err := s.Put(context.Background(), tenant, "big.bin", "application/octet-stream", bytes.NewReader(make([]byte, 2048)), 1024)
	if err != ErrTooLarge {
		t.Fatalf("err = %v", err)
	}
	var files []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 0 {
		t.Fatalf("left behind %v", files)
	}
}

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"C:\\Users\\ana\\foto.jpg":  "foto.jpg",
		"<script>alert(1)</script>": "script_",
		"":                          "file",
		"..":                        "file",
		"informe final (v2).docx":   "informe final _v2_.docx",
	} {
		if got := CleanName(in); got != want {
			t.Errorf("CleanName(%q) = %q, want %q", in, got, want)
		}
	}
}
