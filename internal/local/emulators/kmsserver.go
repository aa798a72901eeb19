package emulators

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync"
	"time"

	kmsconfig "github.com/nsmithuk/local-kms/src/config"
	kmsdata "github.com/nsmithuk/local-kms/src/data"
	kmshandler "github.com/nsmithuk/local-kms/src/handler"
	"github.com/sirupsen/logrus"
)

// kmsAccountID is the account in local-kms's key ARNs (its own default).
const kmsAccountID = "111122223333"

// kmsRegionMu guards local-kms's process-wide configuration: its ARNs are
// built from package variables (config.AWSRegion, config.AWSAccountId), so
// every local-kms served by one process has one region.
var (
	kmsRegionMu sync.Mutex
	kmsRegion   string
)

func setKMSRegion(region string) error {
	kmsRegionMu.Lock()
	defer kmsRegionMu.Unlock()
	if kmsRegion != "" && kmsRegion != region {
		return fmt.Errorf("localenv: local-kms already serves region %s in this process, not %s", kmsRegion, region)
	}
	if kmsRegion == "" {
		kmsRegion = region
		kmsconfig.AWSRegion = region
		kmsconfig.AWSAccountId = kmsAccountID
	}
	return nil
}

// kmsServer is local-kms (github.com/nsmithuk/local-kms, pinned in go.mod)
// served in this process on a 127.0.0.1 listener. The local-kms program
// listens on ":"+PORT, every interface, and has no option to do otherwise;
// its request handlers and database are packages of their own, so this
// serves them on a loopback socket instead: only this machine reaches the
// keys.
type kmsServer struct {
	ln   net.Listener
	srv  *http.Server
	db   *kmsdata.Database
	log  *os.File
	done chan struct{} // closed once Serve has returned
	once sync.Once
	err  error
}

// serveKMS opens local-kms's database in dataDir and serves it on ln,
// logging to logPath.
func serveKMS(ln net.Listener, dataDir, logPath, region string) (_ *kmsServer, err error) {
	if err := setKMSRegion(region); err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("localenv: local-kms log: %w", err)
	}
	db, err := openKMSDatabase(dataDir)
	if err != nil {
		logFile.Close()
		return nil, err
	}
	logger := logrus.New()
	logger.SetOutput(logFile)
	logger.SetFormatter(&logrus.TextFormatter{DisableColors: true, FullTimestamp: true})
	s := &kmsServer{ln: ln, db: db, log: logFile, done: make(chan struct{})}
	s.srv = &http.Server{
		Handler:           kmsHandler(logger, db),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(logFile, "local-kms: serve: %v\n", err)
		}
	}()
	return s, nil
}

// openKMSDatabase is data.NewDatabase, which panics when the database
// can't be opened, with the panic as an error.
func openKMSDatabase(dir string) (db *kmsdata.Database, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("localenv: local-kms database %s: %v", dir, r)
		}
	}()
	return kmsdata.NewDatabase(dir), nil
}

// kmsHandler is local-kms's src.HandleRequest with a logger of our own
// (src's logs every Encrypt and Decrypt to stderr): POST / with a JSON
// body, the action named by X-Amz-Target ("TrentService.<Action>") called
// on local-kms's request handler.
func kmsHandler(logger *logrus.Logger, db *kmsdata.Database) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path != "/":
			http.Error(w, "Page not found", http.StatusNotFound)
			return
		case r.Method != http.MethodPost:
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
			return
		case !strings.Contains(r.Header.Get("Content-Type"), "json"):
			http.Error(w, "Only JSON based content types accepted", http.StatusUnsupportedMediaType)
			return
		}
		_, action, ok := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
		action, _, _ = strings.Cut(action, ".")
		method := reflect.ValueOf(kmshandler.NewRequestHandler(r, logger, db)).MethodByName(action)
		if !ok || !method.IsValid() || method.Type().NumIn() != 0 || method.Type().NumOut() != 1 {
			http.Error(w, fmt.Sprintf("Passed X-Amz-Target (%s) is not implemented", r.Header.Get("X-Amz-Target")), http.StatusNotImplemented)
			return
		}
		resp, ok := method.Call(nil)[0].Interface().(kmshandler.Response)
		if !ok {
			http.Error(w, fmt.Sprintf("Passed X-Amz-Target (%s) is not implemented", r.Header.Get("X-Amz-Target")), http.StatusNotImplemented)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(resp.Code)
		_, _ = io.WriteString(w, resp.Body)
	})
}

// stop closes the listener and every connection, then the database. It is
// idempotent; a nil server is a no-op.
func (s *kmsServer) stop() error {
	if s == nil {
		return nil
	}
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopGrace)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			_ = s.srv.Close()
		}
		<-s.done
		s.db.Close()
		s.err = s.log.Close()
	})
	return s.err
}

// stopped says whether stop has run.
func (s *kmsServer) stopped() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// addr is where the server listens.
func (s *kmsServer) addr() net.Addr { return s.ln.Addr() }
