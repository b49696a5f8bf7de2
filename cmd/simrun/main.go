package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	// The first Ctrl-C stops the campaign after the seeds in flight and still prints the summary;
	// a second one kills the process as usual.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	go func() {
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}
