// Package gantry holds Gantry's domain types and sentinel errors.
//
// It imports only the standard library: no JSON, SQL or YAML tags live here.
// Wire shapes are in package gitlab, persistence in package store, and the
// conversion between them sits at those edges.
package gantry

// Version is the product version reported by the API and the runner.
// Release builds override it with -ldflags "-X github.com/gantry-ci/gantry.Version=…".
var Version = "0.1.0-dev"

// GitLabVersion is the GitLab version Gantry's API and CI variables answer
// to; clients use it to decide which features they may call.
const GitLabVersion = "18.6.0"
