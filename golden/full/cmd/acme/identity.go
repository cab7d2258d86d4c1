package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/acme/acme/internal/platform/auth"
	"github.com/acme/acme/internal/platform/config"
	"github.com/acme/acme/internal/platform/tenancy"
)

// The operator commands for API keys and members connect as the schema
// owner (MIGRATE_DATABASE_URL): they serve the first steps, before anyone
// can sign in, and support. Every change still runs in the tenant's
// row-level security scope.

const apikeysUsage = /* #nosec G101 -- usage text, not a credential */ `usage:
  acme apikeys create --tenant SLUG --name NAME [--role admin|member] [--expires 720h]
  acme apikeys list --tenant SLUG
  acme apikeys revoke PREFIX`

const membersUsage = `usage:
  acme members add --tenant SLUG --email EMAIL --role owner|admin|member`

func apikeys(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"apikeys needs create, list or revoke\n" + apikeysUsage}
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "create":
		flags := newFlags("apikeys create", stderr)
		slug := flags.String("tenant", "", "slug of the key's tenant (required)")
		name := flags.String("name", "", "what the key is for, e.g. ci or billing-sync (required)")
		role := flags.String("role", string(auth.RoleMember), "admin or member")
		expires := flags.Duration("expires", 0, "lifetime, e.g. 720h; 0 never expires")
		if err := parseFlags(flags, rest, apikeysUsage, "tenant", "name"); err != nil {
			return err
		}
		var expiresAt *time.Time
		if *expires != 0 {
			at := time.Now().Add(*expires)
			expiresAt = &at
		}
		if bad := auth.CheckKeyInput(*name, auth.Role(*role), expiresAt, time.Now()); len(bad) > 0 {
			return usageError{fmt.Sprintf("invalid API key: %s\n%s", describe(bad), apikeysUsage)}
		}
		return withOwner(ctx, environ, func(conn *pgx.Conn) error {
			t, err := tenantBySlug(ctx, conn, *slug)
			if err != nil {
				return err
			}
			k, err := auth.CreateAPIKey(ctx, conn, t.ID, *name, auth.Role(*role), expiresAt, nil)
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "created API key %s (%s, role %s) for tenant %s; it is shown once, below:\n", k.Prefix, k.ID, k.Role, t.Slug)
			_, err = fmt.Fprintln(stdout, k.Key)
			return err
		})
	case "list":
		flags := newFlags("apikeys list", stderr)
		slug := flags.String("tenant", "", "slug of the tenant (required)")
		if err := parseFlags(flags, rest, apikeysUsage, "tenant"); err != nil {
			return err
		}
		return withOwner(ctx, environ, func(conn *pgx.Conn) error {
			t, err := tenantBySlug(ctx, conn, *slug)
			if err != nil {
				return err
			}
			keys, err := auth.ListAPIKeys(ctx, conn, t.ID)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "PREFIX\tNAME\tROLE\tCREATED\tEXPIRES\tREVOKED\tLAST USED")
			for _, k := range keys {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.Prefix, k.Name, k.Role, stamp(&k.CreatedAt), stamp(k.ExpiresAt), stamp(k.RevokedAt), stamp(k.LastUsedAt))
			}
			return tw.Flush()
		})
	case "revoke":
		if len(rest) != 1 {
			return usageError{"apikeys revoke needs the key's prefix (or the key)\n" + apikeysUsage}
		}
		prefix := auth.PrefixOf(rest[0])
		return withOwner(ctx, environ, func(conn *pgx.Conn) error {
			id, tenant, err := auth.FindAPIKey(ctx, conn, prefix)
			if errors.Is(err, auth.ErrNotFound) {
				return fmt.Errorf("no API key has prefix %q; see %q", prefix, "acme apikeys list --tenant SLUG")
			}
			if err != nil {
				return err
			}
			if _, err := auth.RevokeAPIKey(ctx, conn, tenant, id); err != nil {
				return err
			}
			_, err = fmt.Fprintf(stdout, "revoked API key %s; every instance refuses it within %s\n", prefix, auth.CacheTTL)
			return err
		})
	default:
		return usageError{fmt.Sprintf("unknown apikeys command %q\n%s", sub, apikeysUsage)}
	}
}

func members(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		return usageError{"members needs add\n" + membersUsage}
	}
	flags := newFlags("members add", stderr)
	slug := flags.String("tenant", "", "slug of the tenant (required)")
	email := flags.String("email", "", "email of a user who signed in at least once (required)")
	role := flags.String("role", "", "owner, admin or member (required)")
	if err := parseFlags(flags, args[1:], membersUsage, "tenant", "email", "role"); err != nil {
		return err
	}
	if !auth.Role(*role).Valid() {
		return usageError{fmt.Sprintf("invalid role %q: use owner, admin or member\n%s", *role, membersUsage)}
	}
	return withOwner(ctx, environ, func(conn *pgx.Conn) error {
		t, err := tenantBySlug(ctx, conn, *slug)
		if err != nil {
			return err
		}
		m, err := auth.AddMember(ctx, conn, t.ID, *email, auth.Role(*role))
		switch {
		case errors.Is(err, auth.ErrNoSuchUser):
			return fmt.Errorf("nobody has signed in with %s yet (or several accounts share it): people are added after their first sign-in", *email)
		case errors.Is(err, auth.ErrAlreadyMember):
			return fmt.Errorf("%s is already a member of %s", *email, t.Slug)
		case err != nil:
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s (%s) is now %s of %s\n", m.Email, m.UserID, m.Role, t.Slug)
		return err
	})
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	flags := flag.NewFlagSet(name, flag.ContinueOnError)
	flags.SetOutput(stderr)
	return flags
}

// parseFlags parses args and checks that every required flag was given.
func parseFlags(flags *flag.FlagSet, args []string, usage string, required ...string) error {
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error() + "\n" + usage}
	}
	if flags.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q\n%s", flags.Arg(0), usage)}
	}
	set := map[string]bool{}
	flags.Visit(func(f *flag.Flag) { set[f.Name] = f.Value.String() != "" })
	for _, name := range required {
		if !set[name] {
			return usageError{fmt.Sprintf("--%s is required\n%s", name, usage)}
		}
	}
	return nil
}

// withOwner runs fn on a connection of the schema owner.
func withOwner(ctx context.Context, environ []string, fn func(*pgx.Conn) error) error {
	cfg, err := config.Load(environ)
	if err != nil {
		return err
	}
	if err := cfg.RequireMigrate(); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, cfg.Migrate.DatabaseURL)
	if err != nil {
		return fmt.Errorf("connect as MIGRATE_DATABASE_URL: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	return fn(conn)
}

func tenantBySlug(ctx context.Context, conn *pgx.Conn, slug string) (tenancy.Tenant, error) {
	t, err := tenancy.NewResolver(conn, 0).BySlug(ctx, slug)
	if errors.Is(err, tenancy.ErrUnknownTenant) {
		return tenancy.Tenant{}, fmt.Errorf("no tenant has slug %q", slug)
	}
	return t, err
}

func describe(bad map[string]string) string {
	var parts []string
	for field, why := range bad {
		parts = append(parts, field+" "+why)
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}

func stamp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}
