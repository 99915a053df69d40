// Package ci compiles GitLab CI configuration (.gitlab-ci.yml) into a Plan:
// the stages and jobs a pipeline gets for one ref, source and set of
// variables. It is pure: bytes, Options and an Includer in, a Plan or
// positioned errors (Errors of *Error, "file:line:col: message") out. It
// reads no files, no network and no clock of its own.
//
// # Processing order
//
//  1. Load each file with go.yaml.in/yaml/v3's node API into the package's
//     own immutable tree: anchors and aliases (per file, shared not copied,
//     with a node budget that stops alias bombs), merge keys with Psych's
//     order, duplicate keys (last value wins, first position kept), YAML
//     1.1 booleans (yes/no/on/off), the !reference tag, and the size and
//     depth limits (Limits). A "spec:" header document is split off.
//  2. Interpolate $[[ inputs.x ]] (and $[[ component.x ]]) with the typed
//     inputs the header declares (an input with rules: takes the options
//     and default of its first rule whose if matches), then resolve include: entries, depth
//     first: local (with globs and rules), project, template, component and
//     remote (only for hosts in Options.RemoteAllowlist). Included files
//     merge first, in order; the including file merges last and wins;
//     hashes merge deeply, everything else is replaced.
//  3. Resolve !reference tags (a reference to a key a job only gets
//     through extends sees the extended job), then extends: (multiple
//     parents left to right, 11 levels, cycles rejected).
//  4. Read the global keywords and validate every visible job, applying
//     default: (and the deprecated top-level image, services, cache,
//     before_script, after_script) with inherit:.
//  5. Evaluate against the pipeline context: predefined variables
//     (Predefined, JobPredefined), workflow:rules, parallel and matrix
//     expansion, rules or only/except per job, then needs, dependencies and
//     needs cycles, and drop stages that ended up empty. GitLab-side
//     expansion (environment name and url, tags, resource_group, trigger
//     project and branch) keeps unknown references; runner-side values
//     (scripts, image, services, cache keys, artifact names) stay as
//     written.
//
// Variable precedence, lowest first: predefined, global YAML (workflow
// rule variables on top of them), job YAML (matrix values on top), rule
// variables, CI/CD variables (Options.CIVariables), pipeline variables
// (Options.PipelineVariables).
//
// # Not implemented yet
//
//   - Execution-time features are checked and kept in the plan for later
//     issues: trigger (child and multi-project pipelines), hooks,
//     id_tokens, secrets, release, pages, identity, dast_configuration,
//     run (steps), environment kubernetes options.
//   - Keywords GitLab keeps behind feature flags that are off by default
//     are refused as GitLab refuses them with the flag off: job inputs:
//     (ci_job_inputs), spec:include (ci_file_inputs), and cache:key:files
//     takes at most two paths (ten with increase_ci_cache_key_files_limit).
//   - include:component resolves components of this instance by exact
//     version; "~latest" and semantic-version ranges need the server's tag
//     list. Interpolation functions expand_vars, truncate and posix_escape
//     are supported; component catalog metadata is not.
//   - rules:changes:compare_to is accepted but compared against
//     Options.ChangedPaths (the caller's diff base); rules:exists with
//     project/ref reads the pipeline's own repository.
//   - only/except kubernetes: active never matches (no cluster
//     integration).
//   - Environment slugs are the plain 24-character slug, without GitLab's
//     random suffix for names it had to change.
package ci
