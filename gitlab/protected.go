package gitlab

// ProtectedBranch is /projects/:id/protected_branches.
type ProtectedBranch struct {
	ID                        int64            `json:"id"`
	Name                      string           `json:"name"`
	PushAccessLevels          []RefAccessLevel `json:"push_access_levels"`
	MergeAccessLevels         []RefAccessLevel `json:"merge_access_levels"`
	AllowForcePush            bool             `json:"allow_force_push"`
	CodeOwnerApprovalRequired bool             `json:"code_owner_approval_required"`
}

// ProtectedTag is /projects/:id/protected_tags.
type ProtectedTag struct {
	Name               string           `json:"name"`
	CreateAccessLevels []RefAccessLevel `json:"create_access_levels"`
}

// RefAccessLevel is one entry of a protected ref's access lists. Gantry
// only grants by role, so the user, group and deploy key are always null.
type RefAccessLevel struct {
	ID                     int64  `json:"id"`
	AccessLevel            int    `json:"access_level"`
	AccessLevelDescription string `json:"access_level_description"`
	DeployKeyID            *int64 `json:"deploy_key_id"`
	UserID                 *int64 `json:"user_id"`
	GroupID                *int64 `json:"group_id"`
}
