package ci_test

import (
	"context"
	"encoding/json"
	"errors"
	"path"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/gantry-ci/gantry/ci"
)

// Keyword shape tests covering the features of GitLab's schema fixtures
// (spec/frontend/editor/schema/ci/yaml_tests): every accepted form
// compiles, every rejected one fails with a positioned error. The cases
// are written for Gantry; GitLab's files are not copied.

var acceptedForms = map[string]string{
	"artifacts reports": `
j:
  script: x
  artifacts:
    reports:
      cyclonedx: [sbom.json, "out/*.cdx.json"]
      junit: junit.xml
      dotenv: build.env
`,
	"cache forms": `
a: {script: x, cache: {when: on_failure}}
b: {script: x, cache: {key: k-$CI_COMMIT_REF_SLUG, paths: ["bin/*.apk", .config]}}
c: {script: x, cache: {key: with..dots., paths: [b/]}}
d: {script: x, cache: {key: {files: [Gemfile.lock, package.json], prefix: $CI_JOB_NAME}, paths: [vendor/]}}
e: {script: x, cache: {key: {files_commits: [go.sum]}, paths: [.go/]}}
f: {script: x, cache: [{untracked: true}, {policy: pull}, {policy: $CACHE_POLICY}]}
`,
	"image forms": `
a: {script: x, image: alpine:3}
b: {script: x, image: {name: alpine:3, entrypoint: [/bin/sh, -c], pull_policy: always}}
c: {script: x, image: {name: u, pull_policy: [always, if-not-present], docker: {platform: linux/arm64, user: ubuntu}}}
d: {script: x, image: {name: u, kubernetes: {user: "1001:1001"}}}
`,
	"services forms": `
a: {script: x, services: [php:8, "golang:1.26"]}
b:
  script: x
  services:
    - name: postgres:16
      alias: db
      entrypoint: [/entry]
      command: [start]
      pull_policy: if-not-present
      variables: {PORT: "${PORT}"}
      docker: {platform: arm64}
`,
	"variables forms": `
variables:
  PLAIN: "hello world"
  123456: "123456"
  DESCRIBED: {value: bar, description: a variable}
  ONLY_DESCRIPTION: {description: filled in by hand}
  RAW: {value: "$NOPE", expand: false}
  CHOICE: {value: staging, options: [production, staging]}
j:
  script: x
  variables: {RAW2: {value: "$X", expand: false}}
`,
	"job when": `
a: {script: x}
b: {script: x, when: always}
c: {script: x, when: on_failure}
d: {script: x, when: manual, manual_confirmation: "really?"}
`,
	"parallel bounds": `
a: {script: x, parallel: 1}
b: {script: x, parallel: 200}
`,
	"retry forms": `
a: {script: x, retry: 2}
b: {script: x, retry: {max: 1, when: runner_system_failure, exit_codes: 137}}
c: {script: x, retry: {max: 2, when: [always, unknown_failure, script_failure, api_failure, stuck_or_timeout_failure, runner_system_failure, runner_unsupported, stale_schedule, job_execution_timeout, archived_failure, unmet_prerequisites, scheduler_failure, data_integrity_failure]}}
d: {script: x, retry: {exit_codes: [137, 255]}}
`,
	"rules forms": `
workflow:
  name: named
  rules:
    - changes: {paths: [README.md]}
    - if: $CI_PIPELINE_SOURCE == "schedule"
      exists: [Dockerfile]
      variables: {FEATURE: "true"}
      when: always
a: {script: x, rules: [{changes: {paths: [README.md], compare_to: main}}]}
b: {script: x, rules: [{changes: [README.md]}]}
c: {script: x, rules: null}
`,
	"rules needs": `
lint: {script: x, rules: [{if: $v == null}]}
unit: {script: x, rules: [{if: $v == null, needs: [lint]}]}
all:
  script: x
  needs: [unit]
  rules:
    - if: $v == null
      needs: [{job: lint, artifacts: false, optional: true}, unit]
    - if: $v == true
      needs: [lint]
`,
	"script forms": `
default:
  before_script: [echo default]
  after_script: |
    echo default after
a: {before_script: "", after_script: "", script: [echo a]}
b: {before_script: [], after_script: [], script: echo b}
c:
  script: |
    echo multi
    echo line
d: {script: [[echo nested, echo array]]}
`,
	"nested stages": `
stages: [pre, [py, go], post, [cloud, client]]
a: {stage: py, script: x}
b: {stage: client, script: x}
`,
	"trigger forms": `
a: {trigger: {project: group/project, inputs: {example: a}}}
b: {trigger: {include: /path/child.yml}}
c: {trigger: {include: [{local: /child.yml, inputs: {x: 1}}]}}
d: {trigger: {include: [{project: group/lib, file: /c.yml, ref: main}]}}
e: {trigger: {include: [{template: t.yml}]}}
f: {trigger: {include: [{artifact: child.yml, job: generate}]}}
g: {trigger: {include: [{remote: "https://example.com/c.yml"}]}}
h: {trigger: group/project}
i: {trigger: $DOWNSTREAM}
`,
	"needs parallel matrix": `
build:
  script: x
  parallel:
    matrix: [{V1: [a, b], V2: [d, e]}]
one:
  script: x
  needs: [{job: build, parallel: {matrix: [{V1: [a], V2: d}]}}]
`,
	"only except null": `
base: {script: x, only: [foo], except: [bar]}
no-only: {extends: base, only: null}
no-except: {extends: base, except: null}
`,
	"auto cancel modes": `
workflow:
  auto_cancel: {on_new_commit: interruptible, on_job_failure: all}
  rules:
    - if: $CI_COMMIT_TAG
      auto_cancel: {on_new_commit: conservative, on_job_failure: none}
    - when: always
j: {script: x}
`,
	"execution keywords": `
default:
  id_tokens: {DEFAULT_TOKEN: {aud: [https://a.example, https://b.example]}}
vault-string:
  script: x
  secrets: {DB: {vault: prod/db/password@ops, token: $VAULT_TOKEN}}
vault-hash:
  script: x
  secrets:
    DB: {vault: {engine: {name: kv-v2, path: ops}, path: prod/db, field: password}, file: false}
azure:
  script: x
  secrets: {KEY: {azure_key_vault: {name: signing-key, version: "7"}}}
gcp:
  script: x
  secrets: {KEY: {gcp_secret_manager: {name: api-key, version: 3}, token: $GCP_TOKEN}}
scan:
  script: x
  dast_configuration: {site_profile: Staging, scanner_profile: ""}
cloud:
  script: x
  identity: google_cloud
steps:
  run:
    - name: build
      script: make
      env: {GOFLAGS: -mod=mod}
    - name: greet
      step: registry.example.com/steps/echo@v1
      inputs: {message: hi, count: 2, tags: [a, b], extra: {deep: true}}
    - name: from_git
      func: {git: {url: example.com/steps/git, rev: v2, dir: sub, file: step.yml}}
    - name: from_oci
      step: {oci: {registry: registry.example.com, repository: steps/oci, tag: "1.2"}}
`,
	"hooks and id_tokens": `
a:
  script: x
  hooks: {pre_get_sources_script: [echo hook]}
  id_tokens: {TOKEN: {aud: https://vault.example.com}}
`,
}

var rejectedForms = map[string]string{
	"report without paths":          "j: {script: x, artifacts: {reports: {cyclonedx: null}}}",
	"report outside reports":        "j: {script: x, artifacts: {cyclonedx: foo}}",
	"report as hash":                "j: {script: x, artifacts: {reports: {cyclonedx: {paths: [a]}}}}",
	"cache key files string":        "j: {script: x, cache: {key: {files: package.json}}}",
	"cache key three files":         "j: {script: x, cache: {key: {files: [a, b, c]}}}",
	"cache key three commits":       "j: {script: x, cache: {key: {files_commits: [a, b, c]}}}",
	"cache prefix array":            "j: {script: x, cache: {key: {files: [a], prefix: [p]}}}",
	"cache key dot":                 "j: {script: x, cache: {key: ., paths: [b]}}",
	"cache key dots":                "j: {script: x, cache: {key: ..., paths: [b]}}",
	"cache key slash":               "j: {script: x, cache: {key: a/b, paths: [b]}}",
	"cache paths string":            "j: {script: x, cache: {paths: b/*.apk}}",
	"cache untracked string":        "j: {script: x, cache: {untracked: 'true'}}",
	"cache when integer":            "j: {script: x, cache: {when: 0}}",
	"cache when list":               "j: {script: x, cache: {when: [always]}}",
	"cache when never":              "j: {script: x, cache: {when: never}}",
	"cache policy list":             "j: {script: x, cache: {policy: [push]}}",
	"cache policy unknown":          "j: {script: x, cache: {policy: sometimes}}",
	"hooks unknown":                 "j: {script: x, hooks: {post_script: [x]}}",
	"hooks boolean":                 "j: {script: x, hooks: {pre_get_sources_script: true}}",
	"image list":                    "j: {script: x, image: [a, b]}",
	"image without name":            "j: {script: x, image: {entrypoint: [sh]}}",
	"image entrypoint string":       "j: {script: x, image: {name: a, entrypoint: /bin/sh}}",
	"image empty pull_policy":       "j: {script: x, image: {name: a, pull_policy: []}}",
	"image platform list":           "j: {script: x, image: {name: a, docker: {platform: [arm64]}}}",
	"image empty user":              "j: {script: x, image: {name: a, docker: {user: ''}}}",
	"image docker unknown":          "j: {script: x, image: {name: a, docker: {color: red}}}",
	"image docker null":             "j: {script: x, image: {name: a, docker: null}}",
	"image kubernetes user list":    "j: {script: x, image: {name: a, kubernetes: {user: [dave]}}}",
	"trigger include without file":  "j: {trigger: {include: [{project: g/p}]}}",
	"trigger include without proj":  "j: {trigger: {include: [{file: c.yml}]}}",
	"auto cancel commit mode":       "workflow: {auto_cancel: {on_new_commit: eventually}}\nj: {script: x}",
	"auto cancel failure mode":      "workflow: {auto_cancel: {on_job_failure: some}}\nj: {script: x}",
	"auto cancel unknown setting":   "workflow: {auto_cancel: {on_merge: none}}\nj: {script: x}",
	"auto cancel list":              "workflow: {auto_cancel: [none]}\nj: {script: x}",
	"auto cancel rule mode":         "workflow: {rules: [{if: $A, auto_cancel: {on_job_failure: first}}]}\nj: {script: x}",
	"rules needs other pipeline":    "a: {script: x}\nj: {script: x, rules: [{if: $A, needs: [{pipeline: $UP, job: a}]}]}",
	"rules needs other project":     "a: {script: x}\nj: {script: x, rules: [{if: $A, needs: [{project: g/p, job: a, ref: main}]}]}",
	"id token aud hash":             "j: {script: x, id_tokens: {T: {aud: {url: x}}}}",
	"id token extra key":            "j: {script: x, id_tokens: {T: {aud: x, issuer: y}}}",
	"id token without aud":          "j: {script: x, id_tokens: {T: {}}}",
	"id token list":                 "j: {script: x, id_tokens: [T]}",
	"default id token bad aud":      "default: {id_tokens: {T: {aud: 5}}}\nj: {script: x}",
	"secret without provider":       "j: {script: x, secrets: {S: {token: $T}}}",
	"secret two providers":          "j: {script: x, secrets: {S: {vault: a/b, azure_key_vault: {name: n}}}}",
	"secret unknown key":            "j: {script: x, secrets: {S: {vault: a/b, ttl: 5}}}",
	"secret as string":              "j: {script: x, secrets: {S: a/b}}",
	"vault hash without field":      "j: {script: x, secrets: {S: {vault: {engine: {name: kv, path: p}, path: a}}}}",
	"vault engine without path":     "j: {script: x, secrets: {S: {vault: {engine: {name: kv}, path: a, field: b}}}}",
	"vault unknown key":             "j: {script: x, secrets: {S: {vault: {engine: {name: kv, path: p}, path: a, field: b, role: r}}}}",
	"azure without name":            "j: {script: x, secrets: {S: {azure_key_vault: {version: v}}}}",
	"azure null name":               "j: {script: x, secrets: {S: {azure_key_vault: {name: null}}}}",
	"gcp without token":             "j: {script: x, secrets: {S: {gcp_secret_manager: {name: n}}}}",
	"secret file string":            "j: {script: x, secrets: {S: {vault: a/b, file: 'yes'}}}",
	"dast unknown key":              "j: {script: x, dast_configuration: {site_profile: a, profile: b}}",
	"dast string":                   "j: {script: x, dast_configuration: profile}",
	"identity unknown":              "j: {script: x, identity: aws}",
	"run not a list":                "j: {run: {name: a, script: b}}",
	"run step unknown key":          "j: {run: [{name: a, script: b, shell: bash}]}",
	"run step without name":         "j: {run: [{script: b}]}",
	"run step bad name":             "j: {run: [{name: my-step, script: b}]}",
	"run script and step":           "j: {run: [{name: a, script: b, step: c}]}",
	"run empty script":              "j: {run: [{name: a, script: ''}]}",
	"run script list":               "j: {run: [{name: a, script: [b]}]}",
	"run neither script nor step":   "j: {run: [{name: a, env: {A: b}}]}",
	"run step and func":             "j: {run: [{name: a, step: b, func: c}]}",
	"run env list":                  "j: {run: [{name: a, script: b, env: [A]}]}",
	"run env number":                "j: {run: [{name: a, script: b, env: {A: 1}}]}",
	"run inputs list":               "j: {run: [{name: a, step: b, inputs: [x]}]}",
	"run step number":               "j: {run: [{name: a, step: 12}]}",
	"run git without rev":           "j: {run: [{name: a, step: {git: {url: u}}}]}",
	"run oci without tag":           "j: {run: [{name: a, step: {oci: {registry: r, repository: p}}}]}",
	"run with before_script":        "j: {before_script: [x], run: [{name: a, script: b}]}",
	"variable options string":       "variables: {E: {value: a, options: a}}\nj: {script: x}",
	"local include with cache":      "include: [{local: a.yml, cache: true}]\nj: {script: x}",
	"project include with cache":    "include: [{project: g/p, file: a.yml, cache: 1 hour}]\nj: {script: x}",
	"local include with integrity":  "include: [{local: a.yml, integrity: sha256-AAAA}]\nj: {script: x}",
	"remote cache too short":        "include: [{remote: 'https://ci.example.com/a.yml', cache: 30s}]\nj: {script: x}",
	"remote cache not a duration":   "include: [{remote: 'https://ci.example.com/a.yml', cache: soon}]\nj: {script: x}",
	"remote cache number":           "include: [{remote: 'https://ci.example.com/a.yml', cache: 3600}]\nj: {script: x}",
	"remote integrity md5":          "include: [{remote: 'https://ci.example.com/a.yml', integrity: md5-AAAA}]\nj: {script: x}",
	"remote integrity not base64":   "include: [{remote: 'https://ci.example.com/a.yml', integrity: sha256-no*pe}]\nj: {script: x}",
	"when unknown":                  "j: {script: x, when: on_xyz}",
	"when boolean":                  "j: {script: x, when: true}",
	"when list":                     "j: {script: x, when: [on_success]}",
	"parallel string":               "j: {script: x, parallel: '5'}",
	"parallel zero":                 "j: {script: x, parallel: 0}",
	"parallel too many":             "j: {script: x, parallel: 201}",
	"retry negative":                "j: {script: x, retry: -1}",
	"retry string":                  "j: {script: x, retry: '2'}",
	"retry unknown key":             "j: {script: x, retry: {max: 2, unknown: 2}}",
	"retry unknown reason":          "j: {script: x, retry: {when: [api_failure, made_up]}}",
	"retry exit code string":        "j: {script: x, retry: {exit_codes: '137'}}",
	"retry exit codes mixed":        "j: {script: x, retry: {exit_codes: [137, '1']}}",
	"retry exit codes duplicate":    "j: {script: x, retry: {exit_codes: [137, 137]}}",
	"rules compare_to hash":         "j: {script: x, rules: [{changes: {paths: [a], compare_to: {ref: main}}}]}",
	"rules paths beside changes":    "j: {script: x, rules: [{changes: null, paths: {file: x}}]}",
	"rules empty if":                "j: {script: x, rules: [{if: null}]}",
	"global script":                 "script: echo\nj: {script: x}",
	"default before_script number":  "default: {before_script: 0.1}\nj: {script: x}",
	"script boolean":                "j: {script: true}",
	"script empty list":             "j: {script: []}",
	"script empty string":           "j: {script: ''}",
	"service without name":          "j: {script: x, services: [{alias: db}]}",
	"service entrypoint string":     "j: {script: x, services: [{name: a, entrypoint: /e}]}",
	"service empty entrypoint":      "j: {script: x, services: [{name: a, entrypoint: []}]}",
	"service empty command":         "j: {script: x, services: [{name: a, command: []}]}",
	"service empty pull_policy":     "j: {script: x, services: [{name: a, pull_policy: []}]}",
	"service docker unknown":        "j: {script: x, services: [{name: a, docker: {x: y}}]}",
	"service kubernetes empty user": "j: {script: x, services: [{name: a, kubernetes: {user: ''}}]}",
	"stages of numbers":             "stages: [1, 2]\nj: {script: x}",
	"trigger empty":                 "j: {trigger: ''}",
	"trigger bad character":         "j: {trigger: 'group/slug#'}",
	"trigger leading slash":         "j: {trigger: /slug}",
	"trigger no slash":              "j: {trigger: slug}",
	"trigger trailing slash":        "j: {trigger: {project: slug/}}",
	"trigger include bad project":   "j: {trigger: {include: [{file: c.yml, project: /slug}]}}",
	"variables unknown key":         "variables: {FOO: {value: BAR, desc: typo}}\nj: {script: x}",
	"variable not in options":       "variables: {E: {value: dev, options: [prod, staging]}}\nj: {script: x}",
}

func TestAcceptedForms(t *testing.T) {
	for name, src := range acceptedForms {
		t.Run(name, func(t *testing.T) {
			_, err := ci.Compile(t.Context(), []byte(src), ci.Options{Ref: "main", Source: "push"})
			if err != nil {
				t.Errorf("rejected:\n%v", err)
			}
		})
	}
}

func TestRejectedForms(t *testing.T) {
	for name, src := range rejectedForms {
		t.Run(name, func(t *testing.T) {
			_, err := ci.Compile(t.Context(), []byte(src), ci.Options{Ref: "main", Source: "push"})
			var list ci.Errors
			if !errors.As(err, &list) {
				t.Fatalf("accepted (err %v)", err)
			}
			if list[0].Line == 0 || strings.Contains(err.Error(), "should implement the script") {
				t.Errorf("error without position or for the wrong reason: %v", err)
			}
		})
	}
}

// A matching workflow rule's auto_cancel settings replace the workflow's
// own, key by key.
func TestWorkflowRuleAutoCancel(t *testing.T) {
	src := `
workflow:
  auto_cancel: {on_new_commit: interruptible, on_job_failure: all}
  rules:
    - if: $CI_COMMIT_BRANCH == "main"
      auto_cancel: {on_new_commit: none}
    - when: always
j: {script: x}
`
	for ref, want := range map[string]string{
		"main":    `{"on_job_failure":"all","on_new_commit":"none"}`,
		"feature": `{"on_job_failure":"all","on_new_commit":"interruptible"}`,
	} {
		plan, err := ci.Compile(t.Context(), []byte(src), ci.Options{Ref: ref, Source: "push"})
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		var got, exp map[string]string
		if err := json.Unmarshal(plan.Workflow.AutoCancel, &got); err != nil {
			t.Fatalf("%s: %s: %v", ref, plan.Workflow.AutoCancel, err)
		}
		_ = json.Unmarshal([]byte(want), &exp)
		if diff := cmp.Diff(exp, got); diff != "" {
			t.Errorf("%s: auto_cancel (-want +got):\n%s", ref, diff)
		}
	}
}

// remoteIncluder serves include:remote from a function.
type remoteIncluder struct {
	ci.FSIncluder
	remote func(url string) ([]byte, error)
}

func (r *remoteIncluder) Remote(_ context.Context, url string) ([]byte, error) { return r.remote(url) }

// cache and integrity belong to remote includes; there they compile.
func TestRemoteIncludeCacheAndIntegrity(t *testing.T) {
	src := `
include:
  - remote: https://ci.example.com/a.yml
    cache: 2 hours
    integrity: sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=
  - remote: https://ci.example.com/b.yml
    cache: true
  - local: c.yml
    cache: false
`
	inc := &remoteIncluder{
		FSIncluder: ci.FSIncluder{FS: fstest.MapFS{"c.yml": {Data: []byte("c: {script: x}\n")}}},
		remote: func(url string) ([]byte, error) {
			return []byte(path.Base(url)[:1] + ": {script: x}\n"), nil
		},
	}
	opts := ci.Options{Ref: "main", Source: "push", Includer: inc, RemoteAllowlist: []string{"ci.example.com"}}
	plan, err := ci.Compile(t.Context(), []byte(src), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Jobs) != 3 {
		t.Errorf("got %d jobs, want a, b and c", len(plan.Jobs))
	}
}

// projectIncluder serves include:project from a function.
type projectIncluder struct {
	ci.FSIncluder
	project func(project string) ([]byte, error)
}

func (p *projectIncluder) Project(_ context.Context, project, _, _ string) ([]byte, error) {
	return p.project(project)
}

// include:project paths reach the includer as written (after variable
// expansion): GitLab finds no project at "/group/app" or "group/app/".
func TestIncludeProjectPathAsWritten(t *testing.T) {
	for _, want := range []string{"/group/app", "group/app/", "group/app"} {
		var got string
		inc := &projectIncluder{project: func(p string) ([]byte, error) {
			got = p
			return []byte("from-project: {script: x}\n"), nil
		}}
		src := "include: [{project: '" + want + "', file: ci.yml}]\nj: {script: x}\n"
		if _, err := ci.Compile(t.Context(), []byte(src), ci.Options{Ref: "main", Source: "push", Includer: inc}); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("includer asked for %q, want %q", got, want)
		}
	}
}
