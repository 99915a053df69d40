package gitlab

// Variable is a CI/CD variable as /projects/:id/variables,
// /groups/:id/variables and /admin/ci/variables show it. Instance
// variables have no environment scope and can't be hidden, so those
// fields are left out for them; Value is null for hidden variables.
type Variable struct {
	VariableType     string  `json:"variable_type"` // env_var or file
	Key              string  `json:"key"`
	Value            *string `json:"value"`
	Hidden           *bool   `json:"hidden,omitempty"`
	Protected        bool    `json:"protected"`
	Masked           bool    `json:"masked"`
	Raw              bool    `json:"raw"`
	EnvironmentScope *string `json:"environment_scope,omitempty"`
	Description      *string `json:"description"`
}
