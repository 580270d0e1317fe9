// Package dashboard builds the dashboard web app in web/ (TypeScript and Preact, bundled by
// esbuild's Go API, so no bundler binary is downloaded) into a plain static site, and serves it
// as the local stack does: on the dashboard API's own origin, with /config.json and a proxy to
// moto's Cognito. The deployed site is the same files with the stack's /config.json.
package dashboard

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"mime"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// Site is the built dashboard: every file by its URL path ("/index.html", "/assets/main-HASH.js").
type Site struct {
	Files map[string][]byte
	// Script is the path of the entry script index.html loads: the initial JavaScript.
	Script string
}

// ErrNoModules is returned by Build when web/node_modules has not been installed.
var ErrNoModules = errors.New("web/node_modules is missing: run `npm ci` in web/ (make web-deps does)")

// Build bundles web/src/main.tsx and its CSS, minified, into assets named by their content's hash,
// and writes index.html to load them. root is the module root.
func Build(root string) (*Site, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	web := filepath.Join(root, "web")
	if _, err := os.Stat(filepath.Join(web, "node_modules", "preact", "package.json")); err != nil {
		return nil, ErrNoModules
	}
	outdir := filepath.Join(web, "dist", "assets")
	r := api.Build(api.BuildOptions{
		AbsWorkingDir:     web,
		EntryPoints:       []string{"src/main.tsx"},
		Bundle:            true,
		Write:             false,
		Outdir:            outdir,
		EntryNames:        "[name]-[hash]",
		Format:            api.FormatESModule,
		Target:            api.ES2022,
		Platform:          api.PlatformBrowser,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		JSX:               api.JSXAutomatic,
		JSXImportSource:   "preact",
		Charset:           api.CharsetUTF8,
		LegalComments:     api.LegalCommentsEndOfFile,
		Define:            map[string]string{"process.env.NODE_ENV": `"production"`},
		LogLevel:          api.LogLevelSilent,
	})
	if len(r.Errors) > 0 {
		var msgs []string
		for _, m := range r.Errors {
			if m.Location != nil {
				msgs = append(msgs, fmt.Sprintf("%s:%d:%d: %s", m.Location.File, m.Location.Line, m.Location.Column, m.Text))
			} else {
				msgs = append(msgs, m.Text)
			}
		}
		return nil, fmt.Errorf("build the dashboard:\n  %s", strings.Join(msgs, "\n  "))
	}
	s := &Site{Files: map[string][]byte{}}
	var css string
	for _, f := range r.OutputFiles {
		rel, err := filepath.Rel(outdir, f.Path)
		if err != nil {
			return nil, err
		}
		p := "/assets/" + filepath.ToSlash(rel)
		s.Files[p] = f.Contents
		switch path.Ext(p) {
		case ".js":
			s.Script = p
		case ".css":
			css = p
		}
	}
	if s.Script == "" || css == "" {
		return nil, fmt.Errorf("build the dashboard: no script or stylesheet among %d outputs", len(r.OutputFiles))
	}
	index, err := os.ReadFile(filepath.Join(web, "index.html"))
	if err != nil {
		return nil, err
	}
	for placeholder, actual := range map[string]string{"/assets/main.js": s.Script, "/assets/main.css": css} {
		if !bytes.Contains(index, []byte(`"`+placeholder+`"`)) {
			return nil, fmt.Errorf("web/index.html does not reference %s", placeholder)
		}
		index = bytes.ReplaceAll(index, []byte(`"`+placeholder+`"`), []byte(`"`+actual+`"`))
	}
	s.Files["/index.html"] = index
	return s, nil
}

// Write writes the site's files under dir (web/dist for a deploy), replacing its assets.
func (s *Site) Write(dir string) error {
	if err := os.RemoveAll(filepath.Join(dir, "assets")); err != nil {
		return err
	}
	for _, p := range s.Paths() {
		f := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(p, "/")))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(f, s.Files[p], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Paths lists the site's paths, sorted.
func (s *Site) Paths() []string {
	ps := make([]string, 0, len(s.Files))
	for p := range s.Files {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// InitialJS returns the size of the JavaScript the page loads before it can render, raw and
// gzipped (best compression, as CloudFront's or a server's gzip would send it at most).
func (s *Site) InitialJS() (raw, gz int) {
	b := s.Files[s.Script]
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	w.Write(b)
	w.Close()
	return len(b), buf.Len()
}

// contentType is the Content-Type of a site path.
func contentType(p string) string {
	if t := mime.TypeByExtension(path.Ext(p)); t != "" {
		return t
	}
	return "application/octet-stream"
}
