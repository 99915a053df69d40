package pipeline_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/store"
)

// TestPipelineCreatesEnvironments: the environments the jobs name exist
// once the pipeline does, with their expanded names, URL and tier.
func TestPipelineCreatesEnvironments(t *testing.T) {
	h := newHarness(t)
	h.create(`variables: {APP: shop}
deploy:
  script: [x]
  environment: {name: review/$APP, url: "https://$APP.example.com"}
prod:
  script: [x]
  environment: {name: Live Shop, deployment_tier: production}
plain:
  script: [x]
`)
	got, _, err := h.store.Environments(t.Context(), h.project.ID, store.EnvironmentFilter{}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	want := []gantry.Environment{
		{ProjectID: h.project.ID, Name: "Live Shop", Slug: "live-shop-p5u861", Tier: "production", State: "available"},
		{ProjectID: h.project.ID, Name: "review/shop", Slug: "review-shop-7bz9cx", ExternalURL: "https://shop.example.com", Tier: "development", State: "available"},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(gantry.Environment{}, "ID", "CreatedAt", "UpdatedAt")); diff != "" {
		t.Errorf("environments (-want +got):\n%s", diff)
	}
}
