package admin

import (
	"embed"
	"mime"
	"net/http"
	"path"
)

// assets are the dashboard's files, built into the binary: the pages load
// nothing from anywhere else.
//
//go:embed assets
var assets embed.FS

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	s.serveFile(w, r, "assets/index.html")
}

func (s *Server) asset(w http.ResponseWriter, r *http.Request) {
	s.serveFile(w, r, path.Join("assets", path.Clean("/"+r.URL.Path[len("/assets/"):])))
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	data, err := assets.ReadFile(name)
	if err != nil || path.Base(name) == "login.html" {
		http.NotFound(w, r)
		return
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ctype)
	w.Write(data)
}
