package api

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"path"
	"strconv"

	"github.com/gantry-ci/gantry/forge"
	"github.com/gantry-ci/gantry/gitlab"
)

func (s *Server) registerRepository(mux *http.ServeMux) {
	s.route(mux, "GET /api/v4/projects/{id}/repository/branches", nil, s.listRefs("heads"))
	s.route(mux, "GET /api/v4/projects/{id}/repository/branches/{branch}", nil, s.getRef("heads"))
	s.route(mux, "GET /api/v4/projects/{id}/repository/tags", nil, s.listRefs("tags"))
	s.route(mux, "GET /api/v4/projects/{id}/repository/tags/{tag}", nil, s.getRef("tags"))
	s.route(mux, "GET /api/v4/projects/{id}/repository/files/{path}", nil, s.getFile(false))
	s.route(mux, "HEAD /api/v4/projects/{id}/repository/files/{path}", nil, s.getFile(false))
	s.route(mux, "GET /api/v4/projects/{id}/repository/files/{path}/raw", nil, s.getFile(true))
}

func (s *Server) refJSON(kind string, pa forge.ProjectAccess, r forge.RefWithCommit) any {
	c := s.commit(pa.Project, r.Commit)
	if kind == "tags" {
		return gitlab.Tag{Name: r.Name, Message: r.Message, Target: r.Target, Commit: c, Protected: r.Protected}
	}
	return gitlab.Branch{Name: r.Name, Commit: c, Default: r.Name == pa.Project.DefaultBranch, CanPush: r.CanPush,
		Protected: r.Protected, DevelopersCanPush: r.DevelopersCanPush, DevelopersCanMerge: r.DevelopersCanMerge,
		WebURL: s.url("/" + pa.Project.FullPath() + "/-/tree/" + r.Name)}
}

func (s *Server) listRefs(kind string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) {
		search := c.params.strOr("search", "")
		if err := c.params.check(); err != nil {
			s.fail(w, r, err, "")
			return
		}
		refs, pa, err := s.Forge.Refs(r.Context(), c.actor, r.PathValue("id"), kind, search)
		if err != nil {
			s.fail(w, r, err, "Project")
			return
		}
		pg := c.page()
		page := pageOf(refs, pg)
		out := make([]any, 0, len(page))
		for _, ref := range page {
			out = append(out, s.refJSON(kind, pa, ref))
		}
		s.writePage(w, r, pg, len(refs), out)
	}
}

func (s *Server) getRef(kind string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) {
		name := r.PathValue("branch")
		noun := "Branch"
		if kind == "tags" {
			name, noun = r.PathValue("tag"), "Tag"
		}
		refs, pa, err := s.Forge.Refs(r.Context(), c.actor, r.PathValue("id"), kind, "")
		if err != nil {
			s.fail(w, r, err, "Project")
			return
		}
		for _, ref := range refs {
			if ref.Name == name {
				writeJSON(w, http.StatusOK, s.refJSON(kind, pa, ref))
				return
			}
		}
		s.fail(w, r, errNotFoundf(noun), noun)
	}
}

func (s *Server) getFile(raw bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) {
		ref := c.params.strOr("ref", "")
		if err := c.params.check(); err != nil {
			s.fail(w, r, err, "")
			return
		}
		f, err := s.Forge.File(r.Context(), c.actor, r.PathValue("id"), ref, r.PathValue("path"))
		if err != nil {
			s.fail(w, r, err, "File")
			return
		}
		sum := sha256.Sum256(f.Blob.Content)
		h := w.Header()
		h.Set("X-Gitlab-Blob-Id", f.Blob.ID)
		h.Set("X-Gitlab-Commit-Id", f.CommitID)
		h.Set("X-Gitlab-Content-Sha256", hex.EncodeToString(sum[:]))
		h.Set("X-Gitlab-Encoding", "base64")
		h.Set("X-Gitlab-File-Name", path.Base(f.Path))
		h.Set("X-Gitlab-File-Path", f.Path)
		h.Set("X-Gitlab-Last-Commit-Id", f.LastCommitID)
		h.Set("X-Gitlab-Ref", f.Ref)
		h.Set("X-Gitlab-Size", strconv.FormatInt(f.Blob.Size, 10))
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusOK)
			return
		}
		if raw {
			h.Set("Content-Type", "text/plain; charset=utf-8")
			h.Set("X-Content-Type-Options", "nosniff")
			w.Write(f.Blob.Content)
			return
		}
		writeJSON(w, http.StatusOK, gitlab.RepositoryFile{
			FileName: path.Base(f.Path), FilePath: f.Path, Size: f.Blob.Size, Encoding: "base64",
			Content: base64.StdEncoding.EncodeToString(f.Blob.Content), ContentSHA256: hex.EncodeToString(sum[:]),
			Ref: f.Ref, BlobID: f.Blob.ID, CommitID: f.CommitID, LastCommitID: f.LastCommitID,
		})
	}
}
