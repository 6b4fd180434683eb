package admin

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// TestAssetsSelfContained: no embedded file refers to another host (the
// SVG namespace name is an identifier, not a fetch).
func TestAssetsSelfContained(t *testing.T) {
	url := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	err := fs.WalkDir(assets, "assets", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := assets.ReadFile(path)
		if err != nil {
			return err
		}
		text := strings.ReplaceAll(string(data), "http://www.w3.org/2000/svg", "")
		if m := url.FindString(text); m != "" {
			t.Errorf("%s refers to %s", path, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDashboardElements: the page has the elements app.js fills in.
func TestDashboardElements(t *testing.T) {
	page, err := assets.ReadFile("assets/index.html")
	if err != nil {
		t.Fatal(err)
	}
	script, err := assets.ReadFile("assets/app.js")
	if err != nil {
		t.Fatal(err)
	}
	ids := regexp.MustCompile(`(?:\$|setText|fill)\('([a-z0-9-]+)'`).FindAllSubmatch(script, -1)
	if len(ids) < 20 {
		t.Fatalf("found only %d element ids in app.js", len(ids))
	}
	for _, m := range ids {
		if !strings.Contains(string(page), `id="`+string(m[1])+`"`) {
			t.Errorf("app.js uses #%s, which index.html lacks", m[1])
		}
	}
}
