package database

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var platformFiles embed.FS

// The platform's migrations and the modules' are two goose sequences, each
// with its own version table, so that a module's versions never depend on
// how many migrations the platform has, and a platform migration added later
// never lands between applied module migrations. Migrate up runs the
// platform's sequence first.
const (
	// PlatformVersionTable records the platform's migrations.
	PlatformVersionTable = "goose_platform_version"
	// VersionTable records the modules' migrations (goose's default name:
	// before the platform had its own sequence it recorded every migration,
	// the platform's first one as version 1).
	VersionTable = "goose_db_version"
)

// MigrationSource is a named set of goose SQL migrations at the root of FS.
type MigrationSource struct {
	Name string
	FS   fs.FS
}

// PlatformMigrations returns the platform's own migrations.
func PlatformMigrations() MigrationSource {
	sub, err := fs.Sub(platformFiles, "migrations")
	if err != nil {
		panic(err) // unreachable: the directory is embedded
	}
	return MigrationSource{Name: "platform", FS: sub}
}

// MergeMigrations combines the *.sql files of the modules' sources into one
// flat file system, the modules' sequence. Versions are unique in it: two
// files with the same version are an error naming both.
func MergeMigrations(sources ...MigrationSource) (fs.FS, error) {
	m := mergedFS{files: map[string]mergedFile{}}
	versions := map[int64]string{}
	for _, src := range sources {
		if src.FS == nil {
			continue
		}
		names, err := fs.Glob(src.FS, "*.sql")
		if err != nil {
			return nil, fmt.Errorf("migrations of %s: %w", src.Name, err)
		}
		for _, name := range names {
			version, err := goose.NumericComponent(name)
			if err != nil {
				return nil, fmt.Errorf("migrations of %s: %s: file name must start with a version number: %w", src.Name, name, err)
			}
			where := src.Name + ": " + name
			if prev, ok := versions[version]; ok {
				return nil, fmt.Errorf("duplicate migration version %d: %s and %s; give one of them an unused version", version, prev, where)
			}
			versions[version] = where
			info, err := fs.Stat(src.FS, name)
			if err != nil {
				return nil, fmt.Errorf("migrations of %s: %w", src.Name, err)
			}
			m.files[name] = mergedFile{fsys: src.FS, info: info}
		}
	}
	return m, nil
}

// mergedFS is a flat, read-only file system whose files live in other file
// systems.
type mergedFS struct {
	files map[string]mergedFile
}

type mergedFile struct {
	fsys fs.FS
	info fs.FileInfo
}

func (m mergedFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		entries, _ := m.ReadDir(".")
		return &mergedDir{entries: entries}, nil
	}
	f, ok := m.files[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return f.fsys.Open(name)
}

func (m mergedFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if name != "." {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	entries := make([]fs.DirEntry, 0, len(m.files))
	for _, f := range m.files {
		entries = append(entries, fs.FileInfoToDirEntry(f.info))
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, nil
}

type mergedDir struct {
	entries []fs.DirEntry
	offset  int
}

func (d *mergedDir) Stat() (fs.FileInfo, error) { return dirInfo{}, nil }
func (d *mergedDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: ".", Err: errors.New("is a directory")}
}
func (d *mergedDir) Close() error { return nil }

func (d *mergedDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.offset:]
	if n <= 0 {
		d.offset = len(d.entries)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	rest = rest[:min(n, len(rest))]
	d.offset += len(rest)
	return rest, nil
}

type dirInfo struct{}

func (dirInfo) Name() string       { return "." }
func (dirInfo) Size() int64        { return 0 }
func (dirInfo) Mode() fs.FileMode  { return fs.ModeDir | 0o555 }
func (dirInfo) ModTime() time.Time { return time.Time{} }
func (dirInfo) IsDir() bool        { return true }
func (dirInfo) Sys() any           { return nil }

// Migrator applies migrations as the schema owner: the platform's sequence,
// then the modules'.
type Migrator struct {
	db       *sql.DB
	platform *goose.Provider
	modules  *goose.Provider
}

// migrateLock is the PostgreSQL advisory lock key that serialises migrate
// runs on a database, taken around both sequences.
const migrateLock int64 = 0x5aa5_6e6e_0001

// NewMigrator prepares the platform's migrations and the modules' in fsys
// (usually the result of MergeMigrations) on the database of owner, the
// schema owner's connection configuration (see OwnerConfig). Concurrent
// runs against the same database are serialised by a PostgreSQL advisory
// lock. Close releases it.
func NewMigrator(owner *pgx.ConnConfig, fsys fs.FS, logger *slog.Logger) (*Migrator, error) {
	db := stdlib.OpenDB(*owner)
	m := &Migrator{db: db}
	var err error
	if m.platform, err = newProvider(db, PlatformMigrations().FS, PlatformVersionTable, logger); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("migrate: platform: %w", err)
	}
	// A project without modules has no module migrations: one sequence.
	if names, _ := fs.Glob(fsys, "*.sql"); len(names) > 0 {
		if m.modules, err = newProvider(db, fsys, VersionTable, logger); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("migrate: modules: %w", err)
		}
	}
	return m, nil
}

// sequences returns the platform's sequence and, when there are module
// migrations, the modules'.
func (m *Migrator) sequences() []*goose.Provider {
	if m.modules == nil {
		return []*goose.Provider{m.platform}
	}
	return []*goose.Provider{m.platform, m.modules}
}

func newProvider(db *sql.DB, fsys fs.FS, table string, logger *slog.Logger) (*goose.Provider, error) {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
		goose.WithTableName(table),
	}
	if logger != nil {
		opts = append(opts, goose.WithSlog(logger))
	}
	return goose.NewProvider(goose.DialectPostgres, db, fsys, opts...)
}

// locked runs f holding the migrate lock on a connection of its own.
func (m *Migrator) locked(ctx context.Context, f func(conn *sql.Conn) error) (err error) {
	conn, err := m.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrateLock); err != nil {
		return err
	}
	defer func() {
		// A fresh context: the lock goes even when ctx was cancelled.
		_, uerr := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrateLock)
		err = errors.Join(err, uerr)
	}()
	return f(conn)
}

// adoptLegacy records the platform's first migration as applied in a
// database migrated before the platform had its own sequence: one whose
// goose_db_version records version 1 (then the platform's tenants
// migration) and that has the tenants table, but has no
// goose_platform_version. The modules' sequence keeps its rows. It reports
// whether it adopted the database.
func adoptLegacy(ctx context.Context, conn *sql.Conn) (bool, error) {
	var legacy bool
	err := conn.QueryRowContext(ctx, `SELECT to_regclass($1) IS NULL AND to_regclass($2) IS NOT NULL AND to_regclass('tenants') IS NOT NULL`,
		PlatformVersionTable, VersionTable).Scan(&legacy)
	if err != nil || !legacy {
		return false, err
	}
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM "+VersionTable+" WHERE version_id = 1 AND is_applied)").Scan(&legacy); err != nil || !legacy {
		return false, err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback() }() // after Commit it does nothing
	// goose's own version table, as goose creates it.
	for _, q := range []string{
		`CREATE TABLE ` + PlatformVersionTable + ` (
			id integer PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,
			version_id bigint NOT NULL,
			is_applied boolean NOT NULL,
			tstamp timestamp NOT NULL DEFAULT now()
		)`,
		`INSERT INTO ` + PlatformVersionTable + ` (version_id, is_applied) VALUES (0, true), (1, true)`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return false, err
		}
	}
	return true, tx.Commit()
}

// Up applies every pending migration: the platform's, then the modules'.
// A database migrated before the platform had its own sequence is adopted
// first (see adoptLegacy).
func (m *Migrator) Up(ctx context.Context) ([]*goose.MigrationResult, error) {
	var res []*goose.MigrationResult
	err := m.locked(ctx, func(conn *sql.Conn) error {
		if _, err := adoptLegacy(ctx, conn); err != nil {
			return fmt.Errorf("adopting the migration history: %w", err)
		}
		for _, p := range m.sequences() {
			r, err := p.Up(ctx)
			res = append(res, r...)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("migrate up: %w", err)
	}
	return res, nil
}

// Down rolls back the most recent migration of the modules, or when none is
// applied, of the platform.
func (m *Migrator) Down(ctx context.Context) (*goose.MigrationResult, error) {
	var res *goose.MigrationResult
	err := m.locked(ctx, func(*sql.Conn) error {
		p := m.platform
		if m.modules != nil {
			v, err := m.modules.GetDBVersion(ctx)
			if err != nil {
				return err
			}
			if v > 0 {
				p = m.modules
			}
		}
		var err error
		res, err = p.Down(ctx)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("migrate down: %w", err)
	}
	return res, nil
}

// DownTo rolls back every module migration newer than version; 0 rolls
// back every migration, the platform's too.
func (m *Migrator) DownTo(ctx context.Context, version int64) ([]*goose.MigrationResult, error) {
	var res []*goose.MigrationResult
	err := m.locked(ctx, func(*sql.Conn) error {
		var providers []*goose.Provider
		if m.modules != nil {
			providers = append(providers, m.modules)
		}
		if version == 0 {
			providers = append(providers, m.platform)
		}
		for _, p := range providers {
			r, err := p.DownTo(ctx, version)
			res = append(res, r...)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("migrate down to %d: %w", version, err)
	}
	return res, nil
}

// Status reports every known migration, the platform's then the modules',
// and whether it is applied.
func (m *Migrator) Status(ctx context.Context) ([]*goose.MigrationStatus, error) {
	var all []*goose.MigrationStatus
	for _, p := range m.sequences() {
		st, err := p.Status(ctx)
		if err != nil {
			return nil, fmt.Errorf("migrate status: %w", err)
		}
		all = append(all, st...)
	}
	return all, nil
}

// Close closes the owner connection (both sequences share it).
func (m *Migrator) Close() error {
	return m.db.Close()
}
