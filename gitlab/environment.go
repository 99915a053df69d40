package gitlab

import "time"

// Environment is GitLab's environment entity (GET /projects/:id/environments).
type Environment struct {
	ID          int64      `json:"id"`
	Name        string     `json:"name"`
	Slug        string     `json:"slug"`
	ExternalURL *string    `json:"external_url"`
	State       string     `json:"state"`
	Tier        string     `json:"tier"`
	CreatedAt   *time.Time `json:"created_at"`
	UpdatedAt   *time.Time `json:"updated_at"`
}
