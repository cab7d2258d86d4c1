package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/acme/acme/internal/platform/auth"
	"github.com/acme/acme/internal/platform/database/dbtest"
	"github.com/acme/acme/internal/platform/jobs"
	"github.com/acme/acme/internal/platform/jobs/jobstest"
	"github.com/acme/acme/internal/platform/tenancy"
)

// fixture is a test database with two tenants, each owning two widgets in
// a tenant-owned table under row-level security, and a job queue on it.
type fixture struct {
	db     *dbtest.DB
	env    *jobstest.Env
	a, b   uuid.UUID // tenants
	widget map[uuid.UUID][]uuid.UUID
}

func newFixture(t *testing.T, extra ...string) *fixture {
	t.Helper()
	db := dbtest.New(t)
	f := &fixture{db: db, widget: map[uuid.UUID][]uuid.UUID{}}
	ctx := t.Context()
	_, err := db.OwnerPool.Exec(ctx, `
		CREATE TABLE widgets (
		    id        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
		    tenant_id uuid NOT NULL REFERENCES tenants (id),
		    name      text NOT NULL
		);
		CREATE INDEX ON widgets (tenant_id);
		ALTER TABLE widgets ENABLE ROW LEVEL SECURITY;
		ALTER TABLE widgets FORCE ROW LEVEL SECURITY;
		CREATE POLICY tenant_isolation ON widgets
		    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
		    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);`)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		slug string
		id   *uuid.UUID
	}{{"tenant-a", &f.a}, {"tenant-b", &f.b}} {
		if err := db.OwnerPool.QueryRow(ctx, `INSERT INTO tenants (slug, name) VALUES ($1, $1) RETURNING id`, tt.slug).Scan(tt.id); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			var w uuid.UUID
			if err := db.OwnerPool.QueryRow(ctx, `INSERT INTO widgets (tenant_id, name) VALUES ($1, $2) RETURNING id`, *tt.id, fmt.Sprint("widget ", i)).Scan(&w); err != nil {
				t.Fatal(err)
			}
			f.widget[*tt.id] = append(f.widget[*tt.id], w)
		}
	}
	f.env = jobstest.New(t, db, db.AppPool, extra...)
	return f
}

// enqueue enqueues a job of kind for tenant in a transaction of its own,
// as principal p.
func (f *fixture) enqueue(t *testing.T, tenant uuid.UUID, p *auth.Principal, kind string, args any) uuid.UUID {
	t.Helper()
	ctx := t.Context()
	if p != nil {
		ctx = auth.WithPrincipal(ctx, *p)
	}
	var id uuid.UUID
	err := tenancy.InTx(ctx, f.db.AppPool, tenant, func(tx pgx.Tx) error {
		var err error
		id, err = f.env.Queue.Enqueue(ctx, tx, tenant, kind, args)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (f *fixture) handle(t *testing.T, kind string, h jobs.Handler) {
	t.Helper()
	if err := f.env.Queue.Handle(kind, h); err != nil {
		t.Fatal(err)
	}
}

type touchResult struct {
	Touched     int64  `json:"touched"`
	OthersSeen  int    `json:"others_seen"`
	Tenant      string `json:"tenant"`
	User        string `json:"user"`
	Role        string `json:"role"`
	JobTenantOK bool   `json:"job_tenant_ok"`
}

// TestJobRunsAsItsTenant runs a job that updates every row it can see
// (no WHERE clause) and looks for another tenant's rows by id: row-level
// security limits it to its own tenant, and it finds its tenant and
// principal in its context.
func TestJobRunsAsItsTenant(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.handle(t, "test.touch", func(ctx context.Context, job jobs.Job) (any, error) {
		var args struct {
			Other uuid.UUID `json:"other"`
		}
		if err := json.Unmarshal(job.Args, &args); err != nil {
			return nil, jobs.Permanent(err)
		}
		tenant, ok := tenancy.FromContext(ctx)
		if !ok {
			return nil, jobs.Permanent(errors.New("no tenant in the job's context"))
		}
		p, _ := auth.FromContext(ctx)
		tag, err := tenancy.Exec(ctx, f.db.AppPool, tenant.ID, `UPDATE widgets SET name = 'touched by job'`)
		if err != nil {
			return nil, err
		}
		var seen int
		err = tenancy.Query(ctx, f.db.AppPool, tenant.ID, func(rows pgx.Rows) error {
			var err error
			seen, err = pgx.CollectExactlyOneRow(rows, pgx.RowTo[int])
			return err
		}, `SELECT count(*) FROM widgets WHERE id = $1`, args.Other)
		return touchResult{
			Touched: tag.RowsAffected(), OthersSeen: seen, Tenant: tenant.ID.String(),
			User: p.UserID.String(), Role: string(p.Role), JobTenantOK: job.TenantID == tenant.ID,
		}, err
	})
	f.env.Start(t)

	user := uuid.New()
	id := f.enqueue(t, f.a, &auth.Principal{UserID: user, TenantID: f.a, Role: "admin"}, "test.touch", map[string]uuid.UUID{"other": f.widget[f.b][0]})
	st := f.env.Wait(t, f.a, id, 30*time.Second)
	if st.State != "completed" || st.Attempts != 1 || st.Error != "" {
		t.Fatalf("status %+v, want completed after one attempt", st)
	}
	var res touchResult
	if err := json.Unmarshal(st.Result, &res); err != nil {
		t.Fatal(err)
	}
	want := touchResult{Touched: 2, OthersSeen: 0, Tenant: f.a.String(), User: user.String(), Role: "admin", JobTenantOK: true}
	if res != want {
		t.Errorf("job saw %+v, want %+v", res, want)
	}
	rows, _ := f.db.OwnerPool.Query(t.Context(), `SELECT tenant_id, count(*) FROM widgets WHERE name = 'touched by job' GROUP BY tenant_id`)
	touched, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct {
		Tenant uuid.UUID
		N      int
	}])
	if err != nil {
		t.Fatal(err)
	}
	if len(touched) != 1 || touched[0].Tenant != f.a || touched[0].N != 2 {
		t.Errorf("rows touched by tenant: %+v, want only tenant A's two", touched)
	}
	var recorded uuid.UUID
	if err := f.db.OwnerPool.QueryRow(t.Context(), `SELECT user_id FROM jobs WHERE id = $1`, id).Scan(&recorded); err != nil || recorded != user {
		t.Errorf("job author = %s (%v), want %s", recorded, err, user)
	}
}

// TestStatusIsTenantScoped reads a job's status over HTTP as its tenant and
// as another one, which gets 404 whether or not the id exists.
func TestStatusIsTenantScoped(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.handle(t, "test.noop", func(context.Context, jobs.Job) (any, error) { return map[string]string{"file": "/api/v1/files/x"}, nil })
	f.env.Start(t)
	id := f.enqueue(t, f.a, nil, "test.noop", nil)
	f.env.Wait(t, f.a, id, 30*time.Second)

	mux := http.NewServeMux()
	f.env.Queue.Register(mux)
	srv := f.env.Serve(t, jobstest.NewServer(t), f.db, mux)
	get := func(tenant, path string) (int, jobs.Status) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		srv.As(t, req, tenant, auth.RoleMember)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var st jobs.Status
		_ = json.NewDecoder(res.Body).Decode(&st)
		return res.StatusCode, st
	}
	if code, st := get("tenant-a", jobs.StatusPath(id)); code != 200 || st.State != "completed" || !strings.Contains(string(st.Result), "/api/v1/files/x") {
		t.Errorf("tenant A: %d %+v, want 200 completed with the result", code, st)
	}
	for _, path := range []string{jobs.StatusPath(id), jobs.StatusPath(uuid.New()), "/api/v1/jobs/not-a-uuid"} {
		if code, _ := get("tenant-b", path); code != http.StatusNotFound {
			t.Errorf("tenant B GET %s: %d, want 404", path, code)
		}
	}
	if _, err := f.env.Queue.Get(t.Context(), f.b, id); !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("Get as tenant B: %v, want ErrNotFound", err)
	}
}

// metric returns the value of one series of metric name on env's
// registry: a counter's or gauge's value, a histogram's sample count. The
// label values are given in the order of their names; a missing series is 0.
func metric(t *testing.T, env *jobstest.Env, name string, labels ...string) float64 {
	t.Helper()
	families, err := env.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range families {
		if fam.GetName() != name {
			continue
		}
	series:
		for _, m := range fam.GetMetric() {
			pairs := m.GetLabel()
			if len(pairs) != len(labels) {
				continue
			}
			for i, p := range pairs {
				if p.GetValue() != labels[i] {
					continue series
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}

// TestRolledBackWriteRunsNoJob enqueues a job in a transaction that then
// rolls back its domain write: no job runs and no status row remains.
// A job enqueued the same way in a transaction that commits runs, even when
// the queue delivers it before the commit.
func TestRolledBackWriteRunsNoJob(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var ran sync.Map
	f.handle(t, "test.record", func(_ context.Context, job jobs.Job) (any, error) {
		ran.Store(job.ID, true)
		return nil, nil
	})
	f.env.Start(t)
	ctx := t.Context()

	var rolledBack uuid.UUID
	errAbort := errors.New("abort the write")
	err := tenancy.InTx(ctx, f.db.AppPool, f.a, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO widgets (tenant_id, name) VALUES ($1, 'never committed')`, f.a); err != nil {
			return err
		}
		var err error
		if rolledBack, err = f.env.Queue.Enqueue(ctx, tx, f.a, "test.record", nil); err != nil {
			return err
		}
		f.env.AwaitDelivery(t, rolledBack) // a worker holds it, where the backend allows that before COMMIT
		return errAbort
	})
	if !errors.Is(err, errAbort) || rolledBack == uuid.Nil {
		t.Fatalf("InTx = %v, id %s", err, rolledBack)
	}

	var committed uuid.UUID
	err = tenancy.InTx(ctx, f.db.AppPool, f.a, func(tx pgx.Tx) error {
		var err error
		if committed, err = f.env.Queue.Enqueue(ctx, tx, f.a, "test.record", nil); err != nil {
			return err
		}
		f.env.AwaitDelivery(t, committed) // as above: the worker must wait for the COMMIT, not give up
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st := f.env.Wait(t, f.a, committed, 30*time.Second); st.State != "completed" {
		t.Fatalf("committed job: %+v", st)
	}
	f.env.Idle(t, f.db, 30*time.Second)

	if _, ok := ran.Load(rolledBack); ok {
		t.Error("the job of the rolled-back write ran")
	}
	if _, ok := ran.Load(committed); !ok {
		t.Error("the job of the committed write did not run")
	}
	var rows int
	if err := f.db.OwnerPool.QueryRow(ctx, `SELECT count(*) FROM jobs WHERE id = $1`, rolledBack).Scan(&rows); err != nil || rows != 0 {
		t.Errorf("%d status rows for the rolled-back job (%v), want 0", rows, err)
	}
	if err := f.db.OwnerPool.QueryRow(ctx, `SELECT count(*) FROM widgets WHERE name = 'never committed'`).Scan(&rows); err != nil || rows != 0 {
		t.Errorf("%d rolled-back widgets (%v), want 0", rows, err)
	}
	assertNoBackendJob(t, f, rolledBack)
}

// TestShutdownLetsJobsFinishThenHandsThemBack stops a worker twice: a job
// shorter than JOBS_SHUTDOWN_TIMEOUT finishes during the stop; a longer one
// is cancelled at the timeout, shows as queued with the interruption, and
// completes in the next worker.
func TestShutdownLetsJobsFinishThenHandsThemBack(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "JOBS_SHUTDOWN_TIMEOUT=1s")
	started := make(chan uuid.UUID, 10)
	f.handle(t, "test.short", func(ctx context.Context, job jobs.Job) (any, error) {
		started <- job.ID
		select {
		case <-time.After(300 * time.Millisecond):
			return "finished", nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	var longAttempts atomic.Int32
	f.handle(t, "test.long", func(ctx context.Context, job jobs.Job) (any, error) {
		if longAttempts.Add(1) > 1 {
			return "finished later", nil
		}
		started <- job.ID
		<-ctx.Done() // far longer than the shutdown timeout
		return nil, ctx.Err()
	})

	f.env.Seal(t)
	stop := f.env.Run(t)
	short := f.enqueue(t, f.a, nil, "test.short", nil)
	<-started
	stopAt := time.Now()
	stop()
	if st := f.env.Wait(t, f.a, short, time.Second); st.State != "completed" || st.Attempts != 1 {
		t.Errorf("short job after a graceful stop: %+v, want completed in its first attempt", st)
	}
	if got := metric(t, f.env, "jobs_finished_total", "test.short", "cancelled"); got != 0 {
		t.Errorf("the short job was cancelled %v times during a graceful stop", got)
	}
	if d := time.Since(stopAt); d > 5*time.Second {
		t.Errorf("stop took %s for a 300ms job", d)
	}

	stop = f.env.Run(t)
	long := f.enqueue(t, f.a, nil, "test.long", nil)
	<-started
	f.env.Wait(t, f.a, long, 10*time.Second, "running")
	stopAt = time.Now()
	stop()
	if d := time.Since(stopAt); d < time.Second || d > 10*time.Second {
		t.Errorf("stop with a stuck job took %s, want JOBS_SHUTDOWN_TIMEOUT (1s) and a little", d)
	}
	st := f.env.Wait(t, f.a, long, time.Second, "queued")
	if !strings.Contains(st.Error, "interrupted") {
		t.Errorf("interrupted job: %+v, want queued with the interruption as its error", st)
	}
	if got := metric(t, f.env, "jobs_finished_total", "test.long", "cancelled"); got != 1 {
		t.Errorf("jobs_finished_total{outcome=cancelled} = %v, want 1", got)
	}

	f.env.Run(t)
	// The interrupted attempt does not count.
	if st := f.env.Wait(t, f.a, long, 30*time.Second); st.State != "completed" || st.Attempts != 1 || longAttempts.Load() != 2 {
		t.Errorf("handed-back job in the next worker: %+v after %d runs, want completed in its second run, still attempt 1", st, longAttempts.Load())
	}
}

// TestMetrics checks the queue's metrics: depth counts waiting jobs,
// duration and wait are observed per kind.
func TestMetrics(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.handle(t, "test.noop", func(context.Context, jobs.Job) (any, error) { return nil, nil })
	f.env.Seal(t)
	ids := []uuid.UUID{f.enqueue(t, f.a, nil, "test.noop", nil), f.enqueue(t, f.b, nil, "test.noop", nil)}
	depth := func() float64 {
		t.Helper()
		return metric(t, f.env, "jobs_queue_depth", f.env.Config.Jobs.Queue)
	}
	if d := depth(); d != 2 {
		t.Errorf("jobs_queue_depth before any worker = %v, want 2", d)
	}
	f.env.Run(t)
	for i, id := range ids {
		f.env.Wait(t, []uuid.UUID{f.a, f.b}[i], id, 30*time.Second)
	}
	f.env.Idle(t, f.db, 30*time.Second)
	if d := depth(); d != 0 {
		t.Errorf("jobs_queue_depth after the jobs ran = %v, want 0", d)
	}
	for _, name := range []string{"jobs_duration_seconds", "jobs_wait_seconds"} {
		if n := metric(t, f.env, name, "test.noop"); n != 2 {
			t.Errorf("%s{kind=test.noop} observed %v times, want 2", name, n)
		}
	}
}

// TestHandleRejectsBadRegistrations covers kind names and registration
// order.
func TestHandleRejectsBadRegistrations(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	noop := func(context.Context, jobs.Job) (any, error) { return nil, nil }
	for _, kind := range []string{"", "export", "Projects.Export", "projects.", ".export", "projects export"} {
		if err := f.env.Queue.Handle(kind, noop); err == nil {
			t.Errorf("Handle(%q) accepted", kind)
		}
	}
	if err := f.env.Queue.Handle("test.once", noop); err != nil {
		t.Fatal(err)
	}
	if err := f.env.Queue.Handle("test.once", noop); err == nil {
		t.Error("a kind registered twice was accepted")
	}
	f.env.Seal(t)
	if err := f.env.Queue.Handle("test.late", noop); err == nil {
		t.Error("a kind registered after Seal was accepted")
	}
	err := tenancy.InTx(t.Context(), f.db.AppPool, f.a, func(tx pgx.Tx) error {
		_, err := f.env.Queue.Enqueue(t.Context(), tx, f.a, "test.unknown", nil)
		return err
	})
	if !errors.Is(err, jobs.ErrUnknownKind) {
		t.Errorf("Enqueue of an unregistered kind: %v, want ErrUnknownKind", err)
	}
}
