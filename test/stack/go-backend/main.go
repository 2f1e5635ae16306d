// go-core: the Go backend of the full-stack tracing test (test/stack). Echo
// with the otelecho middleware serves the API; GORM with the otelgorm plugin
// reads PostgreSQL. A request that arrives with a traceparent (from
// tracegate, or from the Bun monolith through tracegate) continues that
// trace: one SERVER span for the request, one CLIENT span per query.
//
//	go-core [-listen 127.0.0.1:0]
//
// Environment: DATABASE_URL (postgres://user@host:port/db?sslmode=disable),
// TELEMETRY_ENABLED, TELEMETRY_SAMPLE_RATE, TELEMETRY_COLLECTOR_URL,
// TELEMETRY_BACKEND, OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_*, OTEL_BSP_*.
// Prints "PORT <n>" on stdout once it accepts connections; SIGTERM or SIGINT
// stops the server, flushes the spans and exits 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/contrib/instrumentation/github.com/labstack/echo/otelecho"
	"gorm.io/gorm"
)

type api struct {
	db *gorm.DB
}

type teamPermissions struct {
	ID          int64    `json:"id"`
	Name        string   `json:"name"`
	Members     int      `json:"members"`
	Permissions []string `json:"permissions"`
}

// orgPermissions lists what an organisation's teams may do. It loads the
// organisation, then its teams, then, team by team, the memberships and the
// permissions: the N+1 pattern, kept on purpose so that a trace shows it as
// a ladder of small DB spans. team_memberships has no index on team_id, so
// each of those queries scans the table: the slow step of the request.
func (a *api) orgPermissions(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "organization id must be an integer")
	}
	db := a.db.WithContext(c.Request().Context())

	var org Organization
	if err := db.First(&org, id).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return echo.NewHTTPError(http.StatusNotFound, "no such organization")
		}
		return err
	}
	var teams []Team
	if err := db.Where("organization_id = ?", org.ID).Order("id").Find(&teams).Error; err != nil {
		return err
	}
	out := make([]teamPermissions, 0, len(teams))
	all := map[string]bool{}
	for _, t := range teams {
		var members []TeamMembership
		if err := db.Where("team_id = ?", t.ID).Find(&members).Error; err != nil {
			return err
		}
		var perms []Permission
		if err := db.Where("team_id = ?", t.ID).Order("id").Find(&perms).Error; err != nil {
			return err
		}
		tp := teamPermissions{ID: t.ID, Name: t.Name, Members: len(members), Permissions: []string{}}
		for _, p := range perms {
			s := p.Action + ":" + p.Resource
			tp.Permissions = append(tp.Permissions, s)
			all[s] = true
		}
		out = append(out, tp)
	}
	list := make([]string, 0, len(all))
	for s := range all {
		list = append(list, s)
	}
	sort.Strings(list)
	return c.JSON(http.StatusOK, map[string]any{
		"organization": org,
		"teams":        out,
		"permissions":  list,
	})
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on (port 0 picks a free one)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	shutdownTracing, how, err := initTracer(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "go-core: %s\n", how)

	databaseURL := os.Getenv("DATABASE_URL")
	if databaseURL == "" {
		return errors.New("DATABASE_URL is not set")
	}
	db, err := openDB(databaseURL)
	if err != nil {
		return err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	defer sqlDB.Close()

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Use(otelecho.Middleware("go-core", otelecho.WithSkipper(func(c echo.Context) bool {
		// Health checks are not traced, as tracegate does not trace them.
		return c.Path() == "/healthz"
	})))
	a := &api{db: db}
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	e.GET("/organizations/:id/permissions", a.orgPermissions)

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	e.Listener = ln
	served := make(chan error, 1)
	go func() { served <- e.Start("") }()
	fmt.Printf("PORT %d\n", ln.Addr().(*net.TCPAddr).Port)

	select {
	case err := <-served:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	fmt.Fprintln(os.Stderr, "go-core: stopping")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.Shutdown(sctx); err != nil {
		fmt.Fprintf(os.Stderr, "go-core: server shutdown: %v\n", err)
	}
	// Flush what the batcher still holds, so no span of a served request is lost.
	if err := shutdownTracing(sctx); err != nil {
		return fmt.Errorf("tracing shutdown: %w", err)
	}
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "go-core: %v\n", err)
		os.Exit(1)
	}
}
