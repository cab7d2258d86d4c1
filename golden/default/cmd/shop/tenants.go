package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/jackc/pgx/v5"

	"shop/internal/platform/tenancy"
)

// tenants runs the operator commands on tenants. They connect as the schema
// owner: the app role may only read the tenants tables.
func tenants(ctx context.Context, args, environ []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{"tenants needs one of create, rename, list"}
	}
	var op func(ctx context.Context, conn *pgx.Conn) error
	switch sub, rest := args[0], args[1:]; sub {
	case "create":
		if len(rest) != 2 {
			return usageError{"tenants create needs a SLUG and a NAME"}
		}
		if err := errors.Join(tenancy.CheckSlug(rest[0]), tenancy.CheckName(rest[1])); err != nil {
			return usageError{err.Error()}
		}
		op = func(ctx context.Context, conn *pgx.Conn) error {
			t, err := tenancy.CreateTenant(ctx, conn, rest[0], rest[1])
			if err != nil {
				return slugTaken(err, rest[0])
			}
			fmt.Fprintf(stdout, "created tenant %s (%s), id %s\n", t.Slug, t.Name, t.ID)
			fmt.Fprintf(stdout, "every running instance serves it within %s\n", tenancy.UnknownSlugTTL)
			return nil
		}
	case "rename":
		if len(rest) != 2 {
			return usageError{"tenants rename needs a SLUG and a NEW-SLUG"}
		}
		if err := tenancy.CheckSlug(rest[1]); err != nil {
			return usageError{err.Error()}
		}
		op = func(ctx context.Context, conn *pgx.Conn) error {
			t, err := tenancy.RenameTenant(ctx, conn, rest[0], rest[1])
			if errors.Is(err, tenancy.ErrUnknownTenant) {
				return fmt.Errorf("no tenant has the slug %q (see %q)", rest[0], "tenants list")
			}
			if err != nil {
				return slugTaken(err, rest[1])
			}
			fmt.Fprintf(stdout, "renamed tenant %s to %s, id %s\n", rest[0], t.Slug, t.ID)
			fmt.Fprintf(stdout, "%s keeps naming this tenant and can never name another\n", rest[0])
			return nil
		}
	case "list":
		if len(rest) != 0 {
			return usageError{"tenants list takes no arguments"}
		}
		op = func(ctx context.Context, conn *pgx.Conn) error {
			records, err := tenancy.ListTenants(ctx, conn)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "SLUG\tNAME\tID\tCREATED AT\tFORMER SLUGS")
			for _, r := range records {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Slug, r.Name, r.ID, r.CreatedAt.UTC().Format("2006-01-02 15:04:05Z"), strings.Join(r.FormerSlugs, " "))
			}
			return tw.Flush()
		}
	default:
		return usageError{fmt.Sprintf("unknown tenants command %q: use create, rename or list", sub)}
	}

	_, owner, err := ownerConfig(environ)
	if err != nil {
		return err
	}
	conn, err := connectOwner(ctx, owner)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	return op(ctx, conn)
}

// slugTaken explains ErrSlugTaken; other errors pass unchanged.
func slugTaken(err error, slug string) error {
	if errors.Is(err, tenancy.ErrSlugTaken) {
		return fmt.Errorf("the slug %q names another tenant, now or before a rename, and is never given to a second one: choose another", slug)
	}
	return err
}
