package publisher

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// checkpoint is the last delivered sequence number of each shard of one
// stream. A checkpoint of another stream (the table made again) is
// ignored: its sequence numbers mean nothing in this one.
type checkpoint struct {
	StreamARN string            `json:"streamArn"`
	Shards    map[string]string `json:"shards"`
}

// checkpointError is a checkpoint file that cannot be read or written:
// the reader stops rather than deliver without keeping its place.
type checkpointError struct{ err error }

func (e *checkpointError) Error() string { return "events checkpoint: " + e.err.Error() }
func (e *checkpointError) Unwrap() error { return e.err }

func loadCheckpoint(path, streamARN string) (checkpoint, error) {
	cp := checkpoint{StreamARN: streamARN, Shards: map[string]string{}}
	if path == "" {
		return cp, nil
	}
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cp, nil
	}
	if err != nil {
		return cp, &checkpointError{err}
	}
	var saved checkpoint
	if err := json.Unmarshal(raw, &saved); err != nil {
		return cp, &checkpointError{fmt.Errorf("%s: %w", path, err)}
	}
	if saved.StreamARN == streamARN && saved.Shards != nil {
		cp.Shards = saved.Shards
	}
	return cp, nil
}

// save writes the checkpoint whole, to a temporary file renamed over the
// old one: a crash leaves the old checkpoint or the new, never half of one.
func (cp checkpoint) save(path string) error {
	if path == "" {
		return nil
	}
	raw, err := json.Marshal(cp)
	if err != nil {
		return &checkpointError{err}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return &checkpointError{err}
	}
	_, err = tmp.Write(raw)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return &checkpointError{err}
	}
	return nil
}
