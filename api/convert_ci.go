package api

import (
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/queue"
	"github.com/gantry-ci/gantry/store"
)

func (s *Server) pipelineBasic(p gantry.Pipeline, proj gantry.Project) gitlab.PipelineBasic {
	out := gitlab.PipelineBasic{ID: p.ID, IID: p.IID, ProjectID: p.ProjectID, SHA: p.SHA, Ref: p.Ref, Status: string(p.Status),
		Source: p.Source, CreatedAt: timePtr(p.CreatedAt), UpdatedAt: timePtr(p.UpdatedAt),
		WebURL: s.url("/" + proj.FullPath() + "/-/pipelines/" + itoa(p.ID))}
	if p.Name != "" {
		out.Name = &p.Name
	}
	return out
}

func (s *Server) pipeline(p gantry.Pipeline, proj gantry.Project, user *gantry.User) gitlab.Pipeline {
	out := gitlab.Pipeline{PipelineBasic: s.pipelineBasic(p, proj), BeforeSHA: p.BeforeSHA, Tag: p.Tag,
		StartedAt: timePtr(p.StartedAt), FinishedAt: timePtr(p.FinishedAt),
		DetailedStatus: detailedStatus(p.Status, s.url("/"+proj.FullPath()+"/-/pipelines/"+itoa(p.ID)))}
	if p.YAMLErrors != "" {
		out.YAMLErrors = &p.YAMLErrors
	}
	if user != nil && user.ID != 0 {
		u := s.userBasic(*user)
		out.User = &u
	}
	if !p.StartedAt.IsZero() && !p.FinishedAt.IsZero() {
		d := int64(p.FinishedAt.Sub(p.StartedAt) / time.Second)
		out.Duration = &d
	}
	return out
}

// detailedStatus is GitLab's presentation of a status.
func detailedStatus(st gantry.Status, path string) *gitlab.DetailedStatus {
	text := map[gantry.Status]string{gantry.StatusSuccess: "Passed", gantry.StatusFailed: "Failed", gantry.StatusRunning: "Running",
		gantry.StatusPending: "Pending", gantry.StatusCanceled: "Canceled", gantry.StatusSkipped: "Skipped", gantry.StatusManual: "Blocked",
		gantry.StatusCreated: "Created", gantry.StatusScheduled: "Scheduled", gantry.StatusCanceling: "Canceling",
		gantry.StatusWaitingForResource: "Waiting", gantry.StatusPreparing: "Preparing"}[st]
	return &gitlab.DetailedStatus{Icon: "status_" + string(st), Text: text, Label: string(st), Group: string(st),
		Tooltip: string(st), HasDetails: true, DetailsPath: path}
}

func (s *Server) job(j gantry.Job, p gantry.Pipeline, proj gantry.Project, arts []store.Artifact, runner *gantry.Runner) gitlab.Job {
	out := gitlab.Job{ID: j.ID, Status: string(j.Status), Stage: j.Stage, Name: j.Name, Ref: p.Ref, Tag: p.Tag,
		Coverage: j.Coverage, AllowFailure: j.AllowFailure, CreatedAt: timePtr(j.CreatedAt), StartedAt: timePtr(j.StartedAt),
		FinishedAt: timePtr(j.FinishedAt), ErasedAt: timePtr(j.ErasedAt), Pipeline: s.pipelineBasic(p, proj),
		WebURL: s.url("/" + proj.FullPath() + "/-/jobs/" + itoa(j.ID)), Artifacts: []gitlab.JobFile{},
		TagList: orEmpty(j.Tags), FailureReason: j.FailureReason}
	if !j.StartedAt.IsZero() {
		end := j.FinishedAt
		if end.IsZero() {
			end = time.Now()
		}
		d := end.Sub(j.StartedAt).Seconds()
		out.Duration = &d
	}
	if !j.QueuedAt.IsZero() && !j.StartedAt.IsZero() {
		q := j.StartedAt.Sub(j.QueuedAt).Seconds()
		out.QueuedDuration = &q
	}
	for _, a := range arts {
		f := gitlab.JobFile{FileType: a.FileType, Size: a.Size, Filename: a.Filename, FileFormat: a.Format}
		out.Artifacts = append(out.Artifacts, f)
		if a.FileType == "archive" {
			out.ArtifactsFile = &gitlab.JobFile{Size: a.Size, Filename: a.Filename}
			out.ArtifactsExpireAt = timePtr(a.ExpireAt)
		}
	}
	if runner != nil {
		rb := s.runnerBasic(*runner)
		out.Runner = &rb
	}
	return out
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// onlineWindow is how recently a runner must have called to be online.
const onlineWindow = queue.OnlineWindow

func (s *Server) runnerBasic(r gantry.Runner) gitlab.RunnerBasic {
	status := "never_contacted"
	online := !r.ContactedAt.IsZero() && time.Since(r.ContactedAt) < onlineWindow
	switch {
	case r.Paused:
		status = "paused"
	case online:
		status = "online"
	case !r.ContactedAt.IsZero():
		status = "offline"
	}
	return gitlab.RunnerBasic{ID: r.ID, Description: r.Description, Active: !r.Paused, Paused: r.Paused,
		IsShared: r.Type == gantry.InstanceRunner, RunnerType: string(r.Type), Online: online, Status: status}
}

// runnerBasics converts a page of runners for GET /runners and
// GET /projects/:id/runners.
func (s *Server) runnerBasics(rs []gantry.Runner) []gitlab.RunnerBasic {
	out := make([]gitlab.RunnerBasic, len(rs))
	for i, r := range rs {
		out[i] = s.runnerBasic(r)
	}
	return out
}

func (s *Server) runner(r gantry.Runner, projects []gantry.Project, managers []gantry.RunnerManager) gitlab.Runner {
	out := gitlab.Runner{RunnerBasic: s.runnerBasic(r), TagList: orEmpty(r.Tags), RunUntagged: r.RunUntagged, Locked: r.Locked,
		AccessLevel: "not_protected", ContactedAt: timePtr(r.ContactedAt), CreatedAt: timePtr(r.CreatedAt),
		MaintenanceNote: r.MaintenanceNote, Projects: []gitlab.RunnerProject{}, Groups: []gitlab.RunnerGroup{}}
	if r.RefProtectedOnly {
		out.AccessLevel = "ref_protected"
	}
	if r.MaximumTimeout > 0 {
		out.MaximumTimeout = &r.MaximumTimeout
	}
	if n := len(managers); n > 0 {
		m := managers[n-1]
		out.Version, out.Revision, out.Platform, out.Architecture = &m.Version, &m.Revision, &m.Platform, &m.Architecture
		out.IPAddress = &m.IPAddress
	}
	for _, p := range projects {
		out.Projects = append(out.Projects, gitlab.RunnerProject{ID: p.ID, Name: p.Name, Path: p.Path, PathWithNamespace: p.FullPath()})
	}
	if r.Type == gantry.GroupRunner {
		out.Groups = append(out.Groups, gitlab.RunnerGroup{ID: r.GroupID})
	}
	return out
}
