package gantry

import "time"

// VariableLevel says where a CI/CD variable is defined; closer levels win.
type VariableLevel string

// Variable levels, from farthest to closest.
const (
	InstanceLevel VariableLevel = "instance"
	GroupLevel    VariableLevel = "group"
	ProjectLevel  VariableLevel = "project"
)

// CIVariable is a CI/CD variable set through the API or UI (not in YAML).
type CIVariable struct {
	Key   string
	Value string
	// File makes the runner write Value to a file and set the variable to
	// its path (GitLab's variable_type "file").
	File bool
	// Masked values are hidden in job logs; Gantry also masks them in
	// traces it stores, whatever the runner sent.
	Masked bool
	// Protected variables are only given to pipelines on protected refs.
	Protected bool
	// Raw values are not expanded ($FOO stays $FOO).
	Raw bool
	// EnvironmentScope limits the variable to jobs whose environment
	// matches ("*" for all, wildcards allowed).
	EnvironmentScope string
	Description      string
	Level            VariableLevel
	// OwnerID is the group or project id (0 for instance variables).
	OwnerID int64
}

// ProtectedRef protects branches or tags whose name matches Name (which may
// hold "*" wildcards) in one project.
type ProtectedRef struct {
	ID        int64
	ProjectID int64
	Tag       bool
	Name      string
	// PushLevel is the least role that may push (or create the tag);
	// NoAccess means nobody may push.
	PushLevel AccessLevel
	// MergeLevel is the least role that may merge into the branch.
	MergeLevel AccessLevel
	// AllowForcePush permits force pushes by those who may push.
	AllowForcePush bool
	CreatedAt      time.Time
}
