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

// VersionTable is the table in which goose records applied migrations.
const VersionTable = "goose_db_version"

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

// MergeMigrations combines the *.sql files of every source into one flat
// file system. Versions are global: two files with the same version are an
// error naming both.
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

// Migrator applies migrations as the schema owner.
type Migrator struct {
	db       *sql.DB
	provider *goose.Provider
}

// NewMigrator prepares the migrations in fsys (usually the result of
// MergeMigrations) on the database of owner, the schema owner's connection
// configuration (see OwnerConfig). Concurrent runs against the same
// database are serialised by a PostgreSQL advisory lock. Close releases it.
func NewMigrator(owner *pgx.ConnConfig, fsys fs.FS, logger *slog.Logger) (*Migrator, error) {
	db := stdlib.OpenDB(*owner)
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	opts := []goose.ProviderOption{
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
		goose.WithTableName(VersionTable),
	}
	if logger != nil {
		opts = append(opts, goose.WithSlog(logger))
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, opts...)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return &Migrator{db: db, provider: p}, nil
}

// Up applies every pending migration.
func (m *Migrator) Up(ctx context.Context) ([]*goose.MigrationResult, error) {
	res, err := m.provider.Up(ctx)
	if err != nil {
		return res, fmt.Errorf("migrate up: %w", err)
	}
	return res, nil
}

// Down rolls back the most recent migration.
func (m *Migrator) Down(ctx context.Context) (*goose.MigrationResult, error) {
	res, err := m.provider.Down(ctx)
	if err != nil {
		return res, fmt.Errorf("migrate down: %w", err)
	}
	return res, nil
}

// DownTo rolls back every migration newer than version (0 rolls back all).
func (m *Migrator) DownTo(ctx context.Context, version int64) ([]*goose.MigrationResult, error) {
	res, err := m.provider.DownTo(ctx, version)
	if err != nil {
		return res, fmt.Errorf("migrate down to %d: %w", version, err)
	}
	return res, nil
}

// Status reports every known migration and whether it is applied.
func (m *Migrator) Status(ctx context.Context) ([]*goose.MigrationStatus, error) {
	st, err := m.provider.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate status: %w", err)
	}
	return st, nil
}

// Close closes the owner connection.
func (m *Migrator) Close() error {
	return m.provider.Close()
}
