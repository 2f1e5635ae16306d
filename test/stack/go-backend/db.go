package main

// The database: GORM on PostgreSQL (pgx driver) with the otelgorm plugin,
// which turns every query into a CLIENT span under the span in the query's
// context. Handlers only pass their request context (db.WithContext); no
// query has tracing code of its own.

import (
	"fmt"
	"net"
	"net/url"
	"strconv"

	"github.com/uptrace/opentelemetry-go-extra/otelgorm"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

type Organization struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type Team struct {
	ID             int64  `json:"id"`
	OrganizationID int64  `json:"organization_id"`
	Name           string `json:"name"`
}

type TeamMembership struct {
	ID     int64  `json:"id"`
	TeamID int64  `json:"team_id"`
	UserID int64  `json:"user_id"`
	Role   string `json:"role"`
}

type Permission struct {
	ID       int64  `json:"id"`
	TeamID   int64  `json:"team_id"`
	Action   string `json:"action"`
	Resource string `json:"resource"`
}

// openDB connects to databaseURL (postgres://user@host:port/dbname?...) and
// registers the otelgorm plugin. The server address, port and database name
// are added to every DB span as the semantic conventions recommend; otelgorm
// itself sets db.system, db.statement, db.sql.table and db.rows_affected.
func openDB(databaseURL string) (*gorm.DB, error) {
	u, err := url.Parse(databaseURL)
	if err != nil || u.Scheme != "postgres" {
		return nil, fmt.Errorf("DATABASE_URL: %q is not a postgres:// URL", databaseURL)
	}
	host, portText, err := net.SplitHostPort(u.Host)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %q needs host:port", databaseURL)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: bad port %q", portText)
	}
	dbName := u.Path
	if len(dbName) > 0 && dbName[0] == '/' {
		dbName = dbName[1:]
	}

	db, err := gorm.Open(postgres.Open(databaseURL), &gorm.Config{
		Logger: logger.Default.LogMode(logger.Warn),
	})
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", u.Redacted(), err)
	}
	if err := db.Use(otelgorm.NewPlugin(
		otelgorm.WithoutMetrics(),
		otelgorm.WithDBName(dbName),
		otelgorm.WithAttributes(
			semconv.DBNamespace(dbName),
			semconv.ServerAddress(host),
			semconv.ServerPort(port),
		),
	)); err != nil {
		return nil, fmt.Errorf("otelgorm: %w", err)
	}
	return db, nil
}
