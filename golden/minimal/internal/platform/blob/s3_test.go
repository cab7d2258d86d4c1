package blob

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"
	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/blob/drivertest"
	"gocloud.dev/gcerrors"
)

const conformanceBucket = "conformance"

// fakeS3 is gofakes3 in the test, over HTTPS as S3 is (files'
// TestFilesOnS3 covers plain HTTP, as MinIO in compose is), plus three
// things S3 does that gofakes3 does not, so that gocloud's conformance suite
// runs whole: it keeps the Cache-Control and Content-Language of an object
// written by PUT (or copied) and answers them on HEAD and GET; it refuses
// a request that is not signed, and checks the signature and expiry of a
// presigned link (checkPresigned); and it pages a listing by a delimiter
// the way S3 does (listV2), where gofakes3 ends a page inside a common
// prefix and lists it again on the next one.
type fakeS3 struct {
	srv     *httptest.Server
	client  *minio.Client
	mu      sync.Mutex
	headers map[string]http.Header // by path
	lastPut http.Header
}

var keptHeaders = []string{"Cache-Control", "Content-Language"}

func newFakeS3(t *testing.T) *fakeS3 {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(conformanceBucket); err != nil {
		t.Fatal(err)
	}
	f := &fakeS3{headers: map[string]http.Header{}}
	s3 := gofakes3.New(backend).Server()
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case q.Has("X-Amz-Signature"):
			if err := checkPresigned(r, fakeS3Secret, time.Now()); err != nil {
				s3Error(w, http.StatusForbidden, "SignatureDoesNotMatch", err.Error())
				return
			}
		case r.Header.Get("Authorization") == "":
			s3Error(w, http.StatusForbidden, "AccessDenied", "the request is not signed")
			return
		}
		if r.Method == http.MethodGet && q.Get("list-type") == "2" && q.Get("delimiter") != "" {
			listV2(w, r, s3)
			return
		}
		f.mu.Lock()
		switch r.Method {
		case http.MethodPut:
			f.lastPut = r.Header.Clone()
			kept := http.Header{}
			for _, k := range keptHeaders {
				if v := r.Header.Get(k); v != "" {
					kept.Set(k, v)
				}
			}
			if src := r.Header.Get("X-Amz-Copy-Source"); src != "" {
				src, _ = url.PathUnescape(src)
				kept = f.headers["/"+strings.TrimPrefix(src, "/")]
			}
			f.headers[r.URL.Path] = kept
		case http.MethodGet, http.MethodHead:
			for k, v := range f.headers[r.URL.Path] {
				w.Header()[k] = v
			}
		}
		f.mu.Unlock()
		s3.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	var err error
	f.client, err = minio.New(strings.TrimPrefix(f.srv.URL, "https://"), &minio.Options{
		Creds:        credentials.NewStaticV4("test", fakeS3Secret, ""),
		Secure:       true,
		Transport:    f.srv.Client().Transport,
		Region:       "us-east-1",
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// fakeS3Secret is the secret key of the fake's one client.
const fakeS3Secret = "test-secret"

// s3Error answers as S3 answers an error.
func s3Error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_ = xml.NewEncoder(w).Encode(struct {
		XMLName xml.Name `xml:"Error"`
		Code    string
		Message string
	}{Code: code, Message: msg})
}

// checkPresigned checks a link presigned with SigV4 (query-string
// authentication) as S3 does: the signature over the method, the path, the
// query and the signed headers of r, with secret, and the expiry against
// now.
func checkPresigned(r *http.Request, secret string, now time.Time) error {
	q := r.URL.Query()
	sig := q.Get("X-Amz-Signature")
	q.Del("X-Amz-Signature")
	if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" {
		return fmt.Errorf("algorithm %q", q.Get("X-Amz-Algorithm"))
	}
	signedAt, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil {
		return fmt.Errorf("X-Amz-Date: %w", err)
	}
	expires, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || expires < 1 || expires > 7*24*3600 {
		return fmt.Errorf("X-Amz-Expires %q", q.Get("X-Amz-Expires"))
	}
	if now.After(signedAt.Add(time.Duration(expires) * time.Second)) {
		return errors.New("the link has expired")
	}
	scope := strings.SplitN(q.Get("X-Amz-Credential"), "/", 2) // key/date/region/s3/aws4_request
	if len(scope) != 2 || strings.Count(scope[1], "/") != 3 || !strings.HasPrefix(scope[1], signedAt.Format("20060102")+"/") {
		return fmt.Errorf("X-Amz-Credential %q", q.Get("X-Amz-Credential"))
	}
	var headers strings.Builder
	for _, h := range strings.Split(q.Get("X-Amz-SignedHeaders"), ";") {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		headers.WriteString(h + ":" + strings.TrimSpace(v) + "\n")
	}
	canonical := strings.Join([]string{
		r.Method, s3utils.EncodePath(r.URL.Path), strings.ReplaceAll(q.Encode(), "+", "%20"),
		headers.String(), q.Get("X-Amz-SignedHeaders"), "UNSIGNED-PAYLOAD",
	}, "\n")
	digest := sha256.Sum256([]byte(canonical))
	key := []byte("AWS4" + secret)
	for _, part := range strings.Split(scope[1], "/") {
		key = hmacSHA256(key, part)
	}
	want := hmacSHA256(key, "AWS4-HMAC-SHA256\n"+q.Get("X-Amz-Date")+"\n"+scope[1]+"\n"+hex.EncodeToString(digest[:]))
	if got, err := hex.DecodeString(sig); err != nil || !hmac.Equal(got, want) {
		return errors.New("the signature does not match the request")
	}
	return nil
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// listV2 answers a ListObjectsV2 request with a delimiter as S3 does: the
// keys under the prefix, each one that has the delimiter after the prefix
// rolled up into the common prefix that ends there, in one sorted sequence
// of objects and common prefixes, cut after max-keys entries, the
// continuation token naming the last. It asks s3 (gofakes3) only for the
// flat listing of the prefix, in one page.
func listV2(w http.ResponseWriter, r *http.Request, s3 http.Handler) {
	q := r.URL.Query()
	maxKeys := 1000
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s3Error(w, http.StatusBadRequest, "InvalidArgument", "max-keys "+v)
			return
		}
		maxKeys = min(n, 1000)
	}
	prefix, delim, after := q.Get("prefix"), q.Get("delimiter"), q.Get("continuation-token")
	inner := r.Clone(r.Context())
	iq := url.Values{"list-type": {"2"}, "prefix": {prefix}, "max-keys": {"100000"}}
	inner.URL.RawQuery = iq.Encode()
	rec := httptest.NewRecorder()
	s3.ServeHTTP(rec, inner)
	var flat minio.ListBucketV2Result
	if rec.Code != http.StatusOK || xml.Unmarshal(rec.Body.Bytes(), &flat) != nil || flat.IsTruncated {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "fake S3: the flat listing (status %d, truncated %v): %s", rec.Code, flat.IsTruncated, rec.Body.Bytes())
		return
	}
	type object struct {
		Key          string
		LastModified string
		ETag         string
		Size         int64
		StorageClass string
	}
	type entry struct {
		name string
		obj  *object // nil for a common prefix
	}
	var entries []entry
	for _, o := range flat.Contents {
		if i := strings.Index(o.Key[len(prefix):], delim); i >= 0 {
			cp := o.Key[:len(prefix)+i+len(delim)]
			if len(entries) == 0 || entries[len(entries)-1].name != cp {
				entries = append(entries, entry{name: cp})
			}
			continue
		}
		entries = append(entries, entry{name: o.Key, obj: &object{o.Key, o.LastModified.UTC().Format(time.RFC3339Nano), o.ETag, o.Size, "STANDARD"}})
	}
	slices.SortStableFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	entries = slices.CompactFunc(entries, func(a, b entry) bool { return a.name == b.name })
	start, found := slices.BinarySearchFunc(entries, after, func(e entry, k string) int { return strings.Compare(e.name, k) })
	if found && after != "" {
		start++
	}
	page := entries[start:min(start+maxKeys, len(entries))]
	type commonPrefix struct{ Prefix string }
	res := struct {
		XMLName               xml.Name `xml:"ListBucketResult"`
		Name                  string
		Prefix                string
		Delimiter             string
		MaxKeys               int
		KeyCount              int
		IsTruncated           bool
		ContinuationToken     string         `xml:",omitempty"`
		NextContinuationToken string         `xml:",omitempty"`
		Contents              []object       `xml:"Contents"`
		CommonPrefixes        []commonPrefix `xml:"CommonPrefixes"`
	}{Name: flat.Name, Prefix: prefix, Delimiter: delim, MaxKeys: maxKeys, KeyCount: len(page), ContinuationToken: after}
	for _, e := range page {
		if e.obj == nil {
			res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{e.name})
		} else {
			res.Contents = append(res.Contents, *e.obj)
		}
	}
	if start+maxKeys < len(entries) {
		res.IsTruncated, res.NextContinuationToken = true, page[len(page)-1].name
	}
	w.Header().Set("Content-Type", "application/xml")
	_ = xml.NewEncoder(w).Encode(res)
}

func (f *fakeS3) bucket() *blob.Bucket {
	return blob.NewBucket(newS3Bucket(f.client, conformanceBucket, nil))
}

// s3Harness runs a conformance case on a fakeS3 of its own.
type s3Harness struct{ *fakeS3 }

func newS3Harness(_ context.Context, t *testing.T) (drivertest.Harness, error) {
	return s3Harness{newFakeS3(t)}, nil
}

func (h s3Harness) MakeDriver(context.Context) (driver.Bucket, error) {
	return newS3Bucket(h.client, conformanceBucket, nil), nil
}

func (h s3Harness) MakeDriverForNonexistentBucket(context.Context) (driver.Bucket, error) {
	return newS3Bucket(h.client, "no-such-bucket", nil), nil
}

func (h s3Harness) HTTPClient() *http.Client         { return h.srv.Client() }
func (h s3Harness) SupportsCopy() bool               { return true }
func (h s3Harness) SupportsNonSlashDelimiters() bool { return true }
func (h s3Harness) Close()                           {}

// TestS3Conformance runs gocloud's conformance suite for blob drivers on
// the s3:// driver.
func TestS3Conformance(t *testing.T) {
	drivertest.RunConformanceTests(t, newS3Harness, []drivertest.AsTest{minioAs{}})
}

// minioAs checks that As exposes minio-go's types where s3.go says.
type minioAs struct{}

func (minioAs) Name() string { return "minio-go types" }

func (minioAs) BucketCheck(b *blob.Bucket) error {
	var c *minio.Client
	if !b.As(&c) || c == nil {
		return errors.New("Bucket.As(*minio.Client) failed")
	}
	return nil
}

func (minioAs) ErrorCheck(b *blob.Bucket, err error) error {
	var e minio.ErrorResponse
	if !b.ErrorAs(err, &e) || e.Code == "" {
		return fmt.Errorf("ErrorAs(minio.ErrorResponse) failed for %w", err)
	}
	return nil
}

func (minioAs) BeforeRead(as func(any) bool) error {
	var o *minio.GetObjectOptions
	if !as(&o) || o == nil {
		return errors.New("BeforeRead As(*minio.GetObjectOptions) failed")
	}
	return nil
}

func (minioAs) BeforeWrite(as func(any) bool) error {
	var o *minio.PutObjectOptions
	if !as(&o) || o == nil {
		return errors.New("BeforeWrite As(*minio.PutObjectOptions) failed")
	}
	return nil
}

func (minioAs) BeforeCopy(as func(any) bool) error {
	var dst *minio.CopyDestOptions
	var src *minio.CopySrcOptions
	if !as(&dst) || !as(&src) || dst == nil || src == nil {
		return errors.New("BeforeCopy As(*minio.CopyDestOptions, *minio.CopySrcOptions) failed")
	}
	return nil
}

func (minioAs) BeforeDelete(as func(any) bool) error {
	var o *minio.RemoveObjectOptions
	if !as(&o) || o == nil {
		return errors.New("BeforeDelete As(*minio.RemoveObjectOptions) failed")
	}
	return nil
}

func (minioAs) BeforeList(as func(any) bool) error {
	if as(new(*minio.ListObjectsOptions)) {
		return errors.New("BeforeList exposes no type, yet As succeeded")
	}
	return nil
}

func (minioAs) BeforeSign(as func(any) bool) error {
	var q *url.Values
	if !as(&q) || q == nil {
		return errors.New("BeforeSign As(*url.Values) failed")
	}
	return nil
}

func (minioAs) AttributesCheck(attrs *blob.Attributes) error {
	var info minio.ObjectInfo
	if !attrs.As(&info) || info.Key == "" {
		return errors.New("Attributes.As(minio.ObjectInfo) failed")
	}
	return nil
}

func (minioAs) ReaderCheck(r *blob.Reader) error {
	var info minio.ObjectInfo
	if !r.As(&info) {
		return errors.New("Reader.As(minio.ObjectInfo) failed")
	}
	return nil
}

func (minioAs) ListObjectCheck(o *blob.ListObject) error {
	if o.IsDir {
		var p minio.CommonPrefix
		if !o.As(&p) {
			return errors.New("ListObject.As(minio.CommonPrefix) failed")
		}
		return nil
	}
	var info minio.ObjectInfo
	if !o.As(&info) || info.Key == "" {
		return errors.New("ListObject.As(minio.ObjectInfo) failed")
	}
	return nil
}

// TestS3SignedURL checks what the driver signs, which gofakes3 does not
// verify: the method, the expiry, and the Content-Type of a PUT link; and
// that a GET link reads the object.
func TestS3SignedURL(t *testing.T) {
	f := newFakeS3(t)
	b := f.bucket()
	ctx := t.Context()
	if err := b.WriteAll(ctx, "tenants/a/x.txt", []byte("hello"), nil); err != nil {
		t.Fatal(err)
	}
	sign := func(o *blob.SignedURLOptions) url.Values {
		t.Helper()
		link, err := b.SignedURL(ctx, "tenants/a/x.txt", o)
		if err != nil {
			t.Fatalf("%s: %v", o.Method, err)
		}
		u, err := url.Parse(link)
		if err != nil {
			t.Fatal(err)
		}
		if u.Path != "/"+conformanceBucket+"/tenants/a/x.txt" {
			t.Errorf("%s link path %q", o.Method, u.Path)
		}
		return u.Query()
	}
	get := sign(&blob.SignedURLOptions{Method: http.MethodGet, Expiry: 90 * time.Second})
	del := sign(&blob.SignedURLOptions{Method: http.MethodDelete, Expiry: 90 * time.Second})
	put := sign(&blob.SignedURLOptions{Method: http.MethodPut, ContentType: "text/plain", Expiry: time.Hour})
	for name, q := range map[string]url.Values{"GET": get, "DELETE": del, "PUT": put} {
		if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" || q.Get("X-Amz-Signature") == "" || !strings.HasPrefix(q.Get("X-Amz-Credential"), "test/") {
			t.Errorf("%s link is not signed with SigV4 by the client's key: %v", name, q)
		}
	}
	if get.Get("X-Amz-Expires") != "90" || put.Get("X-Amz-Expires") != "3600" {
		t.Errorf("expiry: GET %s, PUT %s; want 90 and 3600", get.Get("X-Amz-Expires"), put.Get("X-Amz-Expires"))
	}
	if get.Get("X-Amz-Signature") == del.Get("X-Amz-Signature") && get.Get("X-Amz-Date") == del.Get("X-Amz-Date") {
		t.Error("a GET and a DELETE link carry the same signature: the method is not signed")
	}
	if got := put.Get("X-Amz-SignedHeaders"); got != "content-type;host" {
		t.Errorf("PUT link signs %q, want content-type;host", got)
	}
	if got := get.Get("X-Amz-SignedHeaders"); got != "host" {
		t.Errorf("GET link signs %q, want host", got)
	}
	_, err := b.SignedURL(ctx, "k", &blob.SignedURLOptions{Method: http.MethodPut, EnforceAbsentContentType: true})
	if gcerrors.Code(err) != gcerrors.Unimplemented {
		t.Errorf("PUT link refusing any Content-Type: %v, want Unimplemented", err)
	}
	link, err := b.SignedURL(ctx, "tenants/a/x.txt", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.srv.Client().Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET by link: %s", resp.Status)
	}
}

// TestS3ListDelimiters lists "directories" with delimiters of one and of
// several characters, in one page (the conformance suite pages them).
func TestS3ListDelimiters(t *testing.T) {
	b := newFakeS3(t).bucket()
	ctx := t.Context()
	for _, k := range []string{"p/dir1/a", "p/dir1/sub/b", "p/dir2/c", "p/f", "p/xABCy", "p/xABCz", "p/ctl\x01/d"} {
		if err := b.WriteAll(ctx, k, []byte(k), nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		prefix, delim string
		want          []string
	}{
		{"p/", "/", []string{"p/ctl\x01/", "p/dir1/", "p/dir2/", "p/f", "p/xABCy", "p/xABCz"}},
		{"p/dir1/", "/", []string{"p/dir1/a", "p/dir1/sub/"}},
		{"p/", "ABC", []string{"p/ctl\x01/d", "p/dir1/a", "p/dir1/sub/b", "p/dir2/c", "p/f", "p/xABC"}},
		{"p/d", "", []string{"p/dir1/a", "p/dir1/sub/b", "p/dir2/c"}},
	} {
		page, _, err := b.ListPage(ctx, blob.FirstPageToken, 100, &blob.ListOptions{Prefix: tc.prefix, Delimiter: tc.delim})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, o := range page {
			if o.IsDir != strings.HasSuffix(o.Key, cmp.Or(tc.delim, "\x00")) {
				t.Errorf("%s: IsDir = %v", o.Key, o.IsDir)
			}
			got = append(got, o.Key)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("list %q by %q = %q, want %q", tc.prefix, tc.delim, got, tc.want)
		}
	}
}

// TestS3Attributes writes an object with every attribute and reads them
// back as S3 gives them.
func TestS3Attributes(t *testing.T) {
	f := newFakeS3(t)
	b := f.bucket()
	ctx := t.Context()
	before := time.Now().Add(-time.Second).Truncate(time.Second)
	content := []byte("%PDF-1.4 attributes")
	err := b.WriteAll(ctx, "tenants/a/doc", content, &blob.WriterOptions{
		ContentType:        "application/pdf",
		CacheControl:       "private, max-age=60",
		ContentDisposition: `attachment; filename="doc.pdf"`,
		ContentEncoding:    "identity",
		ContentLanguage:    "fr",
		Metadata:           map[string]string{"Owner": "ada", "weird key=@:": "välue/ü"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.lastPut.Get("X-Amz-Meta-Weird%20key__0x3d____0x40____0x3a__"); got != "v%C3%A4lue%2F%C3%BC" {
		t.Errorf("metadata is not escaped as s3blob escapes it: %v", f.lastPut)
	}
	a, err := b.Attributes(ctx, "tenants/a/doc")
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(content)
	want := map[string]string{
		"ContentType": "application/pdf", "CacheControl": "private, max-age=60",
		"ContentDisposition": `attachment; filename="doc.pdf"`, "ContentEncoding": "identity", "ContentLanguage": "fr",
		"ETag": `"` + hex.EncodeToString(sum[:]) + `"`, "MD5": string(sum[:]),
		"Metadata": fmt.Sprint(map[string]string{"owner": "ada", "weird key=@:": "välue/ü"}),
		"Size":     fmt.Sprint(len(content)),
	}
	got := map[string]string{
		"ContentType": a.ContentType, "CacheControl": a.CacheControl,
		"ContentDisposition": a.ContentDisposition, "ContentEncoding": a.ContentEncoding, "ContentLanguage": a.ContentLanguage,
		"ETag": a.ETag, "MD5": string(a.MD5), "Metadata": fmt.Sprint(a.Metadata), "Size": fmt.Sprint(a.Size),
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %q, want %q", k, got[k], w)
		}
	}
	if a.ModTime.Before(before) || a.ModTime.After(time.Now().Add(time.Second)) {
		t.Errorf("ModTime %v, written after %v", a.ModTime, before)
	}
	var info minio.ObjectInfo
	if !a.As(&info) || info.Key != "tenants/a/doc" {
		t.Errorf("Attributes.As(minio.ObjectInfo): %+v", info)
	}
}

// TestS3WriterStreamsLargeObjects writes past one part: the upload streams
// in parts, and a writer cancelled midway creates nothing.
func TestS3WriterStreamsLargeObjects(t *testing.T) {
	f := newFakeS3(t)
	b := f.bucket()
	write := func(ctx context.Context, key string) *blob.Writer {
		w, err := b.NewWriter(ctx, key, &blob.WriterOptions{ContentType: "application/octet-stream"})
		if err != nil {
			t.Fatal(err)
		}
		for i := range s3PartSize>>20 + 2 {
			if _, err := w.Write(bytes.Repeat([]byte{byte('a' + i)}, 1<<20)); err != nil {
				t.Fatal(err)
			}
		}
		return w
	}
	if err := write(t.Context(), "big").Close(); err != nil {
		t.Fatal(err)
	}
	a, err := b.Attributes(t.Context(), "big")
	if err != nil || a.Size != s3PartSize+2<<20 {
		t.Errorf("big object: %v, size %d, want %d", err, a.Size, s3PartSize+2<<20)
	}
	got, err := b.ReadAll(t.Context(), "big")
	if err != nil || len(got) != s3PartSize+2<<20 || got[0] != 'a' || got[len(got)-1] != byte('a'+s3PartSize>>20+1) {
		t.Errorf("big object read back: %d bytes, %v", len(got), err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	w := write(ctx, "cancelled")
	cancel()
	if err := w.Close(); !errors.Is(err, context.Canceled) {
		t.Errorf("Close after cancel = %v, want context.Canceled", err)
	}
	if ok, err := b.Exists(t.Context(), "cancelled"); err != nil || ok {
		t.Errorf("a cancelled upload left an object: exists=%v, %v", ok, err)
	}
}

// TestS3Ready checks the readiness check of S3 storage: the bucket is
// there, is not, or S3 does not answer (an error when the check's context
// ends, not after minio-go's retries).
func TestS3Ready(t *testing.T) {
	f := newFakeS3(t)
	ready := func(ctx context.Context, bucket string) error {
		s := &Store{exists: newS3Bucket(f.client, bucket, nil).exists}
		return s.Ready(ctx)
	}
	if err := ready(t.Context(), conformanceBucket); err != nil {
		t.Errorf("Ready on the bucket: %v", err)
	}
	if err := ready(t.Context(), "no-such-bucket"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Ready on a missing bucket: %v", err)
	}
	f.srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := ready(ctx, conformanceBucket); err == nil {
		t.Error("Ready with S3 down: no error")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Ready with S3 down took %v after its context ended", d)
	}
}

// TestS3ErrorCode maps S3's answers to gcerrors, by code and by status.
func TestS3ErrorCode(t *testing.T) {
	b := &s3Bucket{}
	for _, tc := range []struct {
		err  error
		want gcerrors.ErrorCode
	}{
		{minio.ErrorResponse{Code: "NoSuchKey", StatusCode: 404}, gcerrors.NotFound},
		{minio.ErrorResponse{Code: "NoSuchBucket", StatusCode: 404}, gcerrors.NotFound},
		{fmt.Errorf("wrapped: %w", minio.ErrorResponse{Code: "NoSuchKey"}), gcerrors.NotFound},
		{minio.ErrorResponse{Code: "AccessDenied", StatusCode: 403}, gcerrors.PermissionDenied},
		{minio.ErrorResponse{Code: "SignatureDoesNotMatch", StatusCode: 403}, gcerrors.PermissionDenied},
		{minio.ErrorResponse{Code: "InvalidAccessKeyId", StatusCode: 403}, gcerrors.PermissionDenied},
		{minio.ErrorResponse{StatusCode: 401}, gcerrors.PermissionDenied},
		{minio.ErrorResponse{Code: "PreconditionFailed", StatusCode: 412}, gcerrors.FailedPrecondition},
		{minio.ErrorResponse{Code: "SlowDown", StatusCode: 503}, gcerrors.ResourceExhausted},
		{minio.ErrorResponse{StatusCode: 429}, gcerrors.ResourceExhausted},
		{minio.ErrorResponse{Code: "NotImplemented", StatusCode: 501}, gcerrors.Unimplemented},
		{minio.ErrorResponse{Code: "InvalidRange", StatusCode: 416}, gcerrors.InvalidArgument},
		{minio.ErrorResponse{Code: "InvalidArgument", StatusCode: 400}, gcerrors.InvalidArgument},
		{minio.ErrorResponse{Code: "InternalError", StatusCode: 500}, gcerrors.Internal},
		{minio.ErrorResponse{Code: "Teapot", StatusCode: 502}, gcerrors.Internal},
		{minio.ErrorResponse{Code: "Teapot", StatusCode: 418}, gcerrors.Unknown},
		{context.Canceled, gcerrors.Canceled},
		{fmt.Errorf("get: %w", context.DeadlineExceeded), gcerrors.DeadlineExceeded},
		{errS3Unsupported, gcerrors.Unimplemented},
		{errors.New("connection refused"), gcerrors.Unknown},
	} {
		if got := b.ErrorCode(tc.err); got != tc.want {
			t.Errorf("ErrorCode(%#v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestS3KeyEscaping checks the escaping shared with s3blob: what S3 cannot
// keep is escaped, text that could read as an escape is escaped too, and
// every key comes back as it went in.
func TestS3KeyEscaping(t *testing.T) {
	for in, want := range map[string]string{
		"tenants/a/files/b": "tenants/a/files/b",
		"a\x00b\x1fc":       "a__0x0__b__0x1f__c",
		"../x":              "..__0x2f__x",
		"a__0x41__b":        "a__0x5f___0x41__b",
		"__0x0\x19":         "__0x5f___0x0__0x19__",
		"ünï/cødé":          "ünï/cødé",
	} {
		if got := escapeS3Key(in); got != want {
			t.Errorf("escapeS3Key(%q) = %q, want %q", in, got, want)
		}
		if back := hexUnescape(escapeS3Key(in)); back != in {
			t.Errorf("hexUnescape(escapeS3Key(%q)) = %q", in, back)
		}
	}
}

// FuzzS3KeyEscaping: escaping is reversible for every key.
func FuzzS3KeyEscaping(f *testing.F) {
	for _, s := range []string{"", "a/b", "__0x", "__0x2f__", "../..", "\x01__0x__", "_____0x41___"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if !utf8.ValidString(key) {
			t.Skip("gocloud keys are UTF-8")
		}
		if back := hexUnescape(escapeS3Key(key)); back != key {
			t.Errorf("hexUnescape(escapeS3Key(%q)) = %q", key, back)
		}
	})
}
