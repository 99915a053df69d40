-- Job logs while their jobs run (package trace). A job's log is archived to
-- the blob store when the job ends; then its chunks go and only the traces
-- row stays, marked archived. Rows are keyed by job id without a foreign
-- key, so that this migration does not depend on the jobs table's.
--
-- size counts the bytes the runner sent (its offsets and the CRC32 cover
-- them); stored counts the bytes readable from trace_chunks. The
-- difference is the held-back tail that may begin a secret: it is never
-- stored, only held_mac, which lets the next append recognise which
-- secret's prefix it was, and held_mask, the mask bytes already decided
-- for its start.
CREATE TABLE traces (
	job_id      INTEGER PRIMARY KEY,
	size        INTEGER NOT NULL DEFAULT 0,
	stored      INTEGER NOT NULL DEFAULT 0,
	crc32       INTEGER NOT NULL DEFAULT 0,
	held_mac    BLOB,
	held_mask   BLOB,
	archived_at INTEGER NOT NULL DEFAULT 0,
	updated_at  INTEGER NOT NULL
);

-- The readable bytes in pieces (store.TraceChunkSize; the last one may be
-- shorter); start is the piece's offset in the log.
CREATE TABLE trace_chunks (
	job_id INTEGER NOT NULL,
	start  INTEGER NOT NULL,
	data   BLOB    NOT NULL,
	PRIMARY KEY (job_id, start)
);
