// Command operator is the fixture operator the e2e pipeline builds, packs into
// an image and deploys. It does what the e2e test (./e2etest) checks, and no
// more: for every TFJob it runs one pod per replica, owned by the TFJob (so
// the garbage collector deletes them with it), and marks the TFJob Succeeded
// when all of them succeed or Failed when one fails. The same binary is the
// replicas' program (`operator worker`), so one image serves both.
//
// It is a polling loop over the API's REST interface with only the standard
// library, not a client-go informer: it handles the few TFJobs a test makes,
// a pass a second is plenty, and without client-go build-image compiles it in
// a second or two, even in a job's pod with a cold build cache.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var err error
	if len(os.Args) > 1 && os.Args[1] == "worker" {
		err = worker(ctx, os.Args[2:])
	} else {
		err = operate(ctx, os.Args[1:])
	}
	if err != nil {
		log.Fatal(err)
	}
}

// worker is a TFJob replica: it works for a while and exits with the code
// it is told to, which is how the e2e test makes a replica fail.
func worker(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	code := fs.Int("exit-code", 0, "exit code")
	work := fs.Duration("work", time.Second, "how long to work before exiting")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Printf("worker %s of %s: working for %s\n", os.Getenv("TF_REPLICA_TYPE"), os.Getenv("TF_JOB_NAME"), *work)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(*work):
	}
	fmt.Printf("worker done, exiting %d\n", *code)
	os.Exit(*code)
	return nil
}

// operate runs the controller until ctx ends. /healthz answers 200 once a
// pass has succeeded and as long as the last one did: the Deployment's
// readiness probe, so Available means the operator can do its work.
func operate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("operator", flag.ContinueOnError)
	interval := fs.Duration("interval", time.Second, "time between two passes over the TFJobs")
	health := fs.String("health-addr", ":8080", "address of the /healthz endpoint")
	if err := fs.Parse(args); err != nil {
		return err
	}
	api, err := inCluster()
	if err != nil {
		return err
	}
	var healthy atomic.Bool
	srv := &http.Server{Addr: *health, ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !healthy.Load() {
			http.Error(w, "no successful pass yet, or the last one failed", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})}
	go func() {
		if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			log.Fatalf("health: %v", err)
		}
	}()
	defer srv.Close()
	log.Printf("reconciling TFJobs every %s", *interval)
	for {
		err := reconcileAll(ctx, api)
		healthy.Store(err == nil)
		if err != nil && ctx.Err() == nil {
			log.Printf("pass failed: %v", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*interval):
		}
	}
}
