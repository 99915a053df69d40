package gitlab

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gantry-ci/gantry/internal/corpus"
)

// strict decodes with unknown fields refused, so a field the real
// exchange carries and the type lacks fails the test.
func strict(t *testing.T, data []byte, v any) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		t.Fatalf("decode into %T: %v\n%s", v, err, data)
	}
}

// Every request body the real gitlab-runner sent, and every job payload the
// stand-in server answered, decodes into our types without unknown fields
// and survives a round trip.
func TestCapturesDecode(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpus.SharedDir(t), "gitlab", "captures", "task[23]-*.jsonl"))
	if len(files) == 0 {
		t.Fatal("no captures found")
	}
	seen := map[string]int{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			var ex struct {
				Method, URI string
				Status      int
				ReqJSON     json.RawMessage `json:"req_json"`
				RespBody    string          `json:"resp_body"`
			}
			if err := json.Unmarshal(sc.Bytes(), &ex); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			path, _, _ := strings.Cut(ex.URI, "?")
			switch {
			case path == "/api/v4/jobs/request":
				roundTrip(t, ex.ReqJSON, &JobRequest{})
				if ex.Status == 201 {
					roundTrip(t, []byte(ex.RespBody), &JobPayload{})
				}
			case path == "/api/v4/runners/verify":
				roundTrip(t, ex.ReqJSON, &VerifyRunnerRequest{})
				roundTrip(t, []byte(ex.RespBody), &RunnerCredentials{})
			case path == "/api/v4/runners" && ex.Method == "POST":
				roundTrip(t, ex.ReqJSON, &RegisterRunnerRequest{})
			case path == "/api/v4/runners/managers":
				roundTrip(t, ex.ReqJSON, &UnregisterRunnerRequest{})
			case strings.HasPrefix(path, "/api/v4/jobs/") && ex.Method == "PUT":
				roundTrip(t, ex.ReqJSON, &UpdateJobRequest{})
			default:
				continue
			}
			seen[ex.Method+" "+path]++
		}
		fh.Close()
	}
	if seen["POST /api/v4/jobs/request"] == 0 || seen["POST /api/v4/runners/verify"] == 0 || seen["POST /api/v4/runners"] == 0 {
		t.Errorf("captures exercised: %v", seen)
	}
}

func roundTrip[T any](t *testing.T, data []byte, v *T) {
	t.Helper()
	strict(t, data, v)
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var back T
	strict(t, out, &back)
	if diff := cmp.Diff(*v, back); diff != "" {
		t.Errorf("%T round trip (-first +second):\n%s", v, diff)
	}
}

// A job payload never carries "run": null or "", and token_expires_at is
// null, not "", when the token does not expire.
func TestEncodingRules(t *testing.T) {
	b, _ := json.Marshal(JobPayload{ID: 1})
	if bytes.Contains(b, []byte(`"run"`)) {
		t.Errorf("empty run encoded: %s", b)
	}
	b, _ = json.Marshal(RunnerCredentials{ID: 1, Token: "glrt-x"})
	if !bytes.Contains(b, []byte(`"token_expires_at":null`)) {
		t.Errorf("credentials: %s", b)
	}
	b, _ = json.Marshal(UpdateJobRequest{Token: "t", State: JobStateSuccess})
	if bytes.Contains(b, []byte(`"exit_code"`)) || !bytes.Contains(b, []byte(`"output":{}`)) {
		t.Errorf("update: %s", b)
	}
}
