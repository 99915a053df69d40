package trace

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// BenchmarkAppend measures aggregate ingestion: several jobs (4 goroutines
// per core) append to their own logs in parallel through the real SQLite
// store, with a job token and two masked variables to mask and a secret
// every 97 lines. MB/s is bytes appended per second across all jobs.
// 1 MiB is the runner's largest patch; 64 KiB and 60 KiB show appends that
// do and do not line up with store.TraceChunkSize; 4 KiB is the small
// patch of a quiet job (cost per append rather than per byte).
//
//	go test -run '^$' -bench BenchmarkAppend -benchtime 5s ./trace/
func BenchmarkAppend(b *testing.B) {
	secrets := []string{"glcbt-64_bXyZ0123456789abcdef", "AWS_SECRET_abcdefghijklmnopqrstuv", "hunter2hunter2"}
	for _, size := range []int{1 << 20, 64 << 10, 60 << 10, 4 << 10} {
		b.Run(fmt.Sprintf("chunk=%dKiB", size>>10), func(b *testing.B) {
			e := newEnv(b, 0)
			raw, _ := bigLog(secrets[0], size/50)
			chunk := []byte(raw[:size])
			var nextJob atomic.Int64
			b.SetBytes(int64(size))
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				job, off := nextJob.Add(1), int64(0)
				for pb.Next() {
					if off+int64(size) > DefaultMaxSize {
						job, off = nextJob.Add(1), 0
					}
					n, err := e.Append(b.Context(), job, off, chunk, secrets)
					if err != nil {
						b.Error(err)
						return
					}
					off = n
				}
			})
		})
	}
}
