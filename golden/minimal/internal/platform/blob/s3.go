package blob

import (
	"bytes"
	"cmp"
	"context"
	"crypto/md5" //nolint:gosec // G501: Content-MD5 is S3's check of the transfer, not a security measure
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"gocloud.dev/blob/driver"
	"gocloud.dev/gcerrors"

	"example.com/minimal/internal/platform/config"
)

// The s3:// driver: gocloud's driver.Bucket over minio-go, which speaks
// the S3 API to AWS and to any compatible store. Keys and metadata are
// escaped as gocloud's own s3blob escapes them, so objects written by one
// are read by the other.
//
// As exposes minio-go's types:
//   - Bucket: *minio.Client
//   - Error: minio.ErrorResponse
//   - ListObject: minio.ObjectInfo for an object, minio.CommonPrefix for a
//     "directory"
//   - Reader and Attributes: minio.ObjectInfo
//   - ReaderOptions.BeforeRead: *minio.GetObjectOptions
//   - WriterOptions.BeforeWrite: *minio.PutObjectOptions
//   - CopyOptions.BeforeCopy: *minio.CopySrcOptions, *minio.CopyDestOptions
//   - DeleteOptions.BeforeDelete: *minio.RemoveObjectOptions
//   - SignedURLOptions.BeforeSign: *url.Values (the signed query, e.g.
//     response-content-disposition)

// s3PartSize is the part of a streamed upload held in memory: an object
// larger than this goes up in parts of this size (at most 10,000 of them,
// so 80 GB), a smaller one in a single request when the writer closes.
const s3PartSize = 8 << 20

// s3MinPartSize is the smallest part S3 accepts.
const s3MinPartSize = 5 << 20

// s3ListPageSize is the page of a listing that names no page size (S3's
// largest).
const s3ListPageSize = 1000

// errS3Unsupported marks what S3 cannot do (gcerrors.Unimplemented).
var errS3Unsupported = errors.New("not supported by S3")

// openS3 opens the bucket of an s3:// BLOB_URL. Credentials come from
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, then the
// shared credentials file (AWS_SHARED_CREDENTIALS_FILE or
// ~/.aws/credentials, the profile of profile= or AWS_PROFILE), then the
// platform's identity: a web identity token (EKS IRSA:
// AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN), the container
// credentials endpoint (ECS, EKS Pod Identity), or the EC2 instance role
// (IMDSv2). ADR 0007 says what is not supported. anonymous=true sends
// unsigned requests.
func openS3(loc config.S3) (*s3Bucket, error) {
	creds := credentials.NewStatic("", "", "", credentials.SignatureAnonymous)
	if !loc.Anonymous {
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{},
			&credentials.FileAWSCredentials{Profile: loc.Profile},
			&credentials.IAM{},
		})
	}
	lookup := minio.BucketLookupAuto
	switch loc.AddressStyle {
	case config.AddressPath:
		lookup = minio.BucketLookupPath
	case config.AddressVirtualHost:
		lookup = minio.BucketLookupDNS
	}
	client, err := minio.New(loc.Endpoint, &minio.Options{
		Creds:        creds,
		Secure:       loc.Secure,
		Region:       cmp.Or(loc.Region, os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION")),
		BucketLookup: lookup,
	})
	if err != nil {
		return nil, fmt.Errorf("S3 client for %s: %w", loc.Endpoint, err)
	}
	if loc.DualStack {
		client.SetS3EnableDualstack(true)
	}
	if loc.Accelerate {
		client.SetS3TransferAccelerate("s3-accelerate.amazonaws.com")
	}
	var sse encrypt.ServerSide
	switch loc.SSE {
	case "AES256":
		sse = encrypt.NewSSE()
	case "aws:kms":
		if sse, err = encrypt.NewSSEKMS(loc.KMSKeyID, nil); err != nil {
			return nil, fmt.Errorf("S3 encryption with KMS key %q: %w", loc.KMSKeyID, err)
		}
	}
	return newS3Bucket(client, loc.Bucket, sse), nil
}

// s3Bucket is a driver.Bucket on one S3 bucket.
type s3Bucket struct {
	client *minio.Client
	name   string
	// sse encrypts written and copied objects; nil leaves it to the bucket.
	sse encrypt.ServerSide
}

func newS3Bucket(client *minio.Client, name string, sse encrypt.ServerSide) *s3Bucket {
	return &s3Bucket{client: client, name: name, sse: sse}
}

// exists asks whether the bucket exists (HEAD on the bucket): the check of
// Store.Ready, which, unlike blob.Bucket.IsAccessible (a listing, see
// listObjectsV2), ends with its context.
func (b *s3Bucket) exists(ctx context.Context) (bool, error) {
	return b.client.BucketExists(ctx, b.name)
}

// ErrorCode maps S3's error codes, then its HTTP statuses, to gcerrors.
func (b *s3Bucket) ErrorCode(err error) gcerrors.ErrorCode {
	switch {
	case errors.Is(err, errS3Unsupported):
		return gcerrors.Unimplemented
	case errors.Is(err, context.Canceled):
		return gcerrors.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return gcerrors.DeadlineExceeded
	}
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) {
		return gcerrors.Unknown
	}
	switch resp.Code {
	case "NoSuchKey", "NoSuchBucket", "NoSuchVersion", "NotFound":
		return gcerrors.NotFound
	case "PreconditionFailed":
		return gcerrors.FailedPrecondition
	case "AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch",
		"ExpiredToken", "InvalidToken", "AccountProblem":
		return gcerrors.PermissionDenied
	case "SlowDown", "ServiceUnavailable", "RequestTimeTooSkewed":
		return gcerrors.ResourceExhausted
	case "NotImplemented":
		return gcerrors.Unimplemented
	case "InvalidArgument", "InvalidRange", "InvalidBucketName", "KeyTooLongError",
		"EntityTooLarge", "EntityTooSmall", "InvalidDigest", "BadDigest", "MalformedXML":
		return gcerrors.InvalidArgument
	case "InternalError":
		return gcerrors.Internal
	}
	switch s := resp.StatusCode; {
	case s == http.StatusNotFound:
		return gcerrors.NotFound
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return gcerrors.PermissionDenied
	case s == http.StatusPreconditionFailed:
		return gcerrors.FailedPrecondition
	case s == http.StatusTooManyRequests || s == http.StatusServiceUnavailable:
		return gcerrors.ResourceExhausted
	case s == http.StatusNotImplemented:
		return gcerrors.Unimplemented
	case s == http.StatusBadRequest || s == http.StatusRequestedRangeNotSatisfiable:
		return gcerrors.InvalidArgument
	case s >= 500:
		return gcerrors.Internal
	}
	return gcerrors.Unknown
}

// As exposes the *minio.Client.
func (b *s3Bucket) As(i any) bool {
	p, ok := i.(**minio.Client)
	if ok {
		*p = b.client
	}
	return ok
}

// ErrorAs exposes minio.ErrorResponse.
func (b *s3Bucket) ErrorAs(err error, i any) bool { return errors.As(err, i) }

// Attributes reads an object's attributes (HEAD).
func (b *s3Bucket) Attributes(ctx context.Context, key string) (*driver.Attributes, error) {
	info, err := b.client.StatObject(ctx, b.name, escapeS3Key(key), minio.StatObjectOptions{})
	if err != nil {
		return nil, err
	}
	md := make(map[string]string, len(info.UserMetadata))
	for k, v := range info.UserMetadata {
		md[strings.ToLower(hexUnescape(pathUnescape(k)))] = pathUnescape(v)
	}
	h := info.Metadata
	return &driver.Attributes{
		CacheControl:       h.Get("Cache-Control"),
		ContentDisposition: h.Get("Content-Disposition"),
		ContentEncoding:    h.Get("Content-Encoding"),
		ContentLanguage:    h.Get("Content-Language"),
		ContentType:        info.ContentType,
		Metadata:           md,
		ModTime:            info.LastModified,
		Size:               info.Size,
		MD5:                eTagMD5(info.ETag),
		ETag:               `"` + info.ETag + `"`,
		AsFunc:             asObjectInfo(info),
	}, nil
}

// ListPaged lists a page of objects; the page token is S3's continuation
// token.
func (b *s3Bucket) ListPaged(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	if opts.BeforeList != nil {
		if err := opts.BeforeList(func(any) bool { return false }); err != nil {
			return nil, err
		}
	}
	res, err := b.listObjectsV2(ctx, escapeS3Key(opts.Prefix), string(opts.PageToken), escapeS3Key(opts.Delimiter), cmp.Or(opts.PageSize, s3ListPageSize))
	if err != nil {
		return nil, err
	}
	page := &driver.ListPage{}
	if res.IsTruncated {
		page.NextPageToken = []byte(res.NextContinuationToken)
	}
	for _, o := range res.Contents {
		page.Objects = append(page.Objects, &driver.ListObject{
			Key:     hexUnescape(o.Key),
			ModTime: o.LastModified,
			Size:    o.Size,
			MD5:     eTagMD5(strings.Trim(o.ETag, `"`)),
			AsFunc:  asObjectInfo(o),
		})
	}
	for _, p := range res.CommonPrefixes {
		page.Objects = append(page.Objects, &driver.ListObject{
			Key:   hexUnescape(p.Prefix),
			IsDir: true,
			AsFunc: func(i any) bool {
				q, ok := i.(*minio.CommonPrefix)
				if ok {
					*q = p
				}
				return ok
			},
		})
	}
	// S3 lists objects and "directories" apart; a page is one sorted list.
	slices.SortFunc(page.Objects, func(x, y *driver.ListObject) int { return strings.Compare(x.Key, y.Key) })
	return page, nil
}

// listObjectsV2 is one ListObjectsV2 request. minio-go's Core offers the
// request with a delimiter and a continuation token (its iterator has
// neither) but takes no context: the request runs apart and a cancelled ctx
// stops the wait for it. The abandoned request ends on its own, bounded by
// the client's timeouts.
func (b *s3Bucket) listObjectsV2(ctx context.Context, prefix, token, delimiter string, pageSize int) (minio.ListBucketV2Result, error) {
	type result struct {
		res minio.ListBucketV2Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := minio.Core{Client: b.client}.ListObjectsV2(b.name, prefix, "", token, delimiter, pageSize)
		done <- result{res, err}
	}()
	select {
	case r := <-done:
		return r.res, r.err
	case <-ctx.Done():
		return minio.ListBucketV2Result{}, ctx.Err()
	}
}

// NewRangeReader reads length bytes of key from offset (to the end when
// length is negative).
func (b *s3Bucket) NewRangeReader(ctx context.Context, key string, offset, length int64, opts *driver.ReaderOptions) (driver.Reader, error) {
	var get minio.GetObjectOptions
	var err error
	switch {
	case length == 0:
		// S3 has no empty range: ask for a byte, read none, and so still
		// learn the object's attributes (and whether it exists).
		err = get.SetRange(offset, offset)
	case length > 0:
		err = get.SetRange(offset, offset+length-1)
	case offset > 0:
		err = get.SetRange(offset, 0)
	}
	if err != nil {
		return nil, err
	}
	if opts.BeforeRead != nil {
		asFunc := func(i any) bool {
			p, ok := i.(**minio.GetObjectOptions)
			if ok {
				*p = &get
			}
			return ok
		}
		if err := opts.BeforeRead(asFunc); err != nil {
			return nil, err
		}
	}
	body, info, h, err := minio.Core{Client: b.client}.GetObject(ctx, b.name, escapeS3Key(key), get)
	if err != nil && length == 0 && b.ErrorCode(err) == gcerrors.InvalidArgument {
		// The byte asked for lies past the end (an empty object): there
		// is nothing to read, but the object exists.
		return b.emptyRange(ctx, key)
	}
	if err != nil {
		return nil, err
	}
	r := &s3Reader{body: body, info: info, attrs: driver.ReaderAttributes{
		ContentType: info.ContentType,
		ModTime:     info.LastModified,
		Size:        objectSize(info.Size, h.Get("Content-Range")),
	}}
	if length == 0 {
		_ = body.Close()
		r.body = http.NoBody
	}
	return r, nil
}

// emptyRange is the reader of a zero-length read past an object's end.
func (b *s3Bucket) emptyRange(ctx context.Context, key string) (driver.Reader, error) {
	info, err := b.client.StatObject(ctx, b.name, escapeS3Key(key), minio.StatObjectOptions{})
	if err != nil {
		return nil, err
	}
	return &s3Reader{body: http.NoBody, info: info, attrs: driver.ReaderAttributes{
		ContentType: info.ContentType,
		ModTime:     info.LastModified,
		Size:        info.Size,
	}}, nil
}

// objectSize is the size of the whole object: Content-Length is the size
// of the range, Content-Range ("bytes 10-14/27") ends with the whole.
func objectSize(length int64, contentRange string) int64 {
	if _, total, ok := strings.Cut(contentRange, "/"); ok {
		if n, err := strconv.ParseInt(total, 10, 64); err == nil {
			return n
		}
	}
	return length
}

// s3Reader is the body of a GetObject.
type s3Reader struct {
	body  io.ReadCloser
	info  minio.ObjectInfo
	attrs driver.ReaderAttributes
}

func (r *s3Reader) Read(p []byte) (int, error)           { return r.body.Read(p) }
func (r *s3Reader) Close() error                         { return r.body.Close() }
func (r *s3Reader) Attributes() *driver.ReaderAttributes { return &r.attrs }
func (r *s3Reader) As(i any) bool                        { return asObjectInfo(r.info)(i) }

// asObjectInfo is the As of what carries a minio.ObjectInfo.
func asObjectInfo(info minio.ObjectInfo) func(i any) bool {
	return func(i any) bool {
		p, ok := i.(*minio.ObjectInfo)
		if ok {
			*p = info
		}
		return ok
	}
}

// NewTypedWriter streams an object up: the upload starts with the first
// Write and completes at Close. A writer whose ctx ends before Close
// writes nothing.
func (b *s3Bucket) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	md := make(map[string]string, len(opts.Metadata))
	for k, v := range opts.Metadata {
		md[escapeS3MetadataKey(k)] = url.PathEscape(v)
	}
	put := minio.PutObjectOptions{
		ContentType:          contentType,
		CacheControl:         opts.CacheControl,
		ContentDisposition:   opts.ContentDisposition,
		ContentEncoding:      opts.ContentEncoding,
		ContentLanguage:      opts.ContentLanguage,
		UserMetadata:         md,
		ServerSideEncryption: b.sse,
	}
	partSize := max(cmp.Or(opts.BufferSize, s3PartSize), s3MinPartSize)
	put.PartSize = uint64(partSize)
	if opts.IfNotExist {
		put.SetMatchETagExcept("*")
	}
	if opts.BeforeWrite != nil {
		asFunc := func(i any) bool {
			p, ok := i.(**minio.PutObjectOptions)
			if ok {
				*p = &put
			}
			return ok
		}
		if err := opts.BeforeWrite(asFunc); err != nil {
			return nil, err
		}
	}
	return &s3Writer{ctx: ctx, b: b, key: escapeS3Key(key), opts: put, partSize: partSize, done: make(chan struct{})}, nil
}

// s3Writer uploads an object. It holds the first part in memory: an
// object that fits goes up in one PutObject at Close; a larger one streams,
// in parts, through a pipe into a PutObject running in its own goroutine.
type s3Writer struct {
	ctx  context.Context
	b    *s3Bucket
	key  string
	opts minio.PutObjectOptions
	// partSize bounds buf: the largest object sent in one request.
	partSize int
	buf      []byte
	// pw feeds the streaming upload once the object outgrew buf.
	pw *io.PipeWriter
	// done is closed when the streaming upload ended; err is then set.
	done chan struct{}
	err  error
}

func (w *s3Writer) Write(p []byte) (int, error) {
	if w.pw != nil {
		return w.pw.Write(p)
	}
	if len(w.buf)+len(p) <= w.partSize {
		w.buf = append(w.buf, p...)
		return len(p), nil
	}
	pr, pw := io.Pipe()
	w.pw = pw
	first := w.buf
	w.buf = nil
	w.start(io.MultiReader(bytes.NewReader(first), pr), -1, pr)
	return w.pw.Write(p)
}

// start runs the PutObject of r (size bytes, -1 when unknown); pr, when
// not nil, is closed with its error so that a Write waiting on a failed
// upload returns.
func (w *s3Writer) start(r io.Reader, size int64, pr *io.PipeReader) {
	go func() {
		defer close(w.done)
		_, w.err = w.b.client.PutObject(w.ctx, w.b.name, w.key, r, size, w.opts)
		if pr != nil {
			_ = pr.CloseWithError(cmp.Or(w.err, io.ErrClosedPipe))
		}
	}()
}

// Close completes the upload. An upload whose context ended is abandoned:
// the object is not created.
func (w *s3Writer) Close() error {
	if err := w.ctx.Err(); err != nil {
		if w.pw != nil {
			_ = w.pw.CloseWithError(err)
			<-w.done
		}
		return err
	}
	if w.pw == nil {
		return w.putSmall()
	}
	_ = w.pw.Close()
	<-w.done
	return w.err
}

// putSmall writes an object that fits in one part with one PutObject whose
// payload is signed (SHA-256) and checked by S3 (Content-MD5).
func (w *s3Writer) putSmall() error {
	md5sum := md5.Sum(w.buf) //nolint:gosec // G401: see the import
	sha := sha256.Sum256(w.buf)
	opts := w.opts
	// The payload's hash is in the signature: no streaming signature.
	opts.DisableContentSha256 = true
	_, err := minio.Core{Client: w.b.client}.PutObject(w.ctx, w.b.name, w.key, bytes.NewReader(w.buf), int64(len(w.buf)),
		base64.StdEncoding.EncodeToString(md5sum[:]), hex.EncodeToString(sha[:]), opts)
	return err
}

// Copy copies srcKey to dstKey in the bucket, with its metadata.
func (b *s3Bucket) Copy(ctx context.Context, dstKey, srcKey string, opts *driver.CopyOptions) error {
	dst := minio.CopyDestOptions{Bucket: b.name, Object: escapeS3Key(dstKey), Encryption: b.sse}
	src := minio.CopySrcOptions{Bucket: b.name, Object: escapeS3Key(srcKey)}
	if opts.BeforeCopy != nil {
		asFunc := func(i any) bool {
			switch p := i.(type) {
			case **minio.CopyDestOptions:
				*p = &dst
			case **minio.CopySrcOptions:
				*p = &src
			default:
				return false
			}
			return true
		}
		if err := opts.BeforeCopy(asFunc); err != nil {
			return err
		}
	}
	_, err := b.client.CopyObject(ctx, dst, src)
	return err
}

// Delete deletes key; a missing key is NotFound (S3 itself says nothing).
func (b *s3Bucket) Delete(ctx context.Context, key string, opts *driver.DeleteOptions) error {
	if _, err := b.client.StatObject(ctx, b.name, escapeS3Key(key), minio.StatObjectOptions{}); err != nil {
		return err
	}
	var remove minio.RemoveObjectOptions
	if opts.BeforeDelete != nil {
		asFunc := func(i any) bool {
			p, ok := i.(**minio.RemoveObjectOptions)
			if ok {
				*p = &remove
			}
			return ok
		}
		if err := opts.BeforeDelete(asFunc); err != nil {
			return err
		}
	}
	return b.client.RemoveObject(ctx, b.name, escapeS3Key(key), remove)
}

// SignedURL presigns a GET, PUT or DELETE of key (SigV4, in the query) for
// opts.Expiry. A PUT link with a content type signs the Content-Type
// header, so an upload must send that type; S3 cannot refuse a
// Content-Type that was not signed (EnforceAbsentContentType).
func (b *s3Bucket) SignedURL(ctx context.Context, key string, opts *driver.SignedURLOptions) (string, error) {
	params := url.Values{}
	headers := http.Header{}
	switch opts.Method {
	case http.MethodGet, http.MethodDelete:
	case http.MethodPut:
		if opts.EnforceAbsentContentType {
			return "", fmt.Errorf("blob: a signed PUT that refuses any Content-Type: %w", errS3Unsupported)
		}
		if opts.ContentType != "" {
			headers.Set("Content-Type", opts.ContentType)
		}
	default:
		return "", fmt.Errorf("blob: signed URL for the method %q: %w", opts.Method, errS3Unsupported)
	}
	if opts.BeforeSign != nil {
		asFunc := func(i any) bool {
			p, ok := i.(**url.Values)
			if ok {
				*p = &params
			}
			return ok
		}
		if err := opts.BeforeSign(asFunc); err != nil {
			return "", err
		}
	}
	u, err := b.client.PresignHeader(ctx, opts.Method, b.name, escapeS3Key(key), opts.Expiry, params, headers)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// Close releases nothing: the client holds no resource of its own.
func (b *s3Bucket) Close() error { return nil }

// eTagMD5 is the MD5 that an ETag (without quotes) is for a single-part
// upload; nil for a multipart one ("<hex>-<parts>").
func eTagMD5(etag string) []byte {
	md5, err := hex.DecodeString(etag)
	if err != nil || len(md5) != 16 {
		return nil
	}
	return md5
}

// escapeS3Key escapes what S3 does not keep in a key, as s3blob does:
// control characters, and the "/" of "../".
func escapeS3Key(key string) string {
	return hexEscape(key, func(r []rune, i int) bool {
		return r[i] < 32 || (i > 1 && r[i] == '/' && r[i-1] == '.' && r[i-2] == '.')
	})
}

// escapeS3MetadataKey escapes a metadata key as s3blob does: URL path
// escaping, then "@", ":" and "=", which S3 refuses in a header name.
func escapeS3MetadataKey(k string) string {
	return hexEscape(url.PathEscape(k), func(r []rune, i int) bool {
		return r[i] == '@' || r[i] == ':' || r[i] == '='
	})
}

func pathUnescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// hexEscape writes each rune for which escape holds as "__0x<hex>__"
// (gocloud's escaping, which s3blob applies to keys), and also the "_" that
// starts any "__0x" of s, so that no text of s reads as an escape and
// hexUnescape(hexEscape(s)) == s for every s. (gocloud escapes such a "_"
// only when a whole escape follows, and so maps "__0x0\x19" and "\x000x19__"
// to the same key; the two agree on every key without "__0x".)
func hexEscape(s string, escape func(r []rune, i int) bool) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if escape(r, i) || strings.HasPrefix(string(r[i:min(i+4, len(r))]), "__0x") {
			fmt.Fprintf(&b, "__%#x__", c)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// hexUnescape reverses hexEscape.
func hexUnescape(s string) string {
	if !strings.Contains(s, "__0x") {
		return s
	}
	r := []rune(s)
	var b strings.Builder
	for i := 0; i < len(r); i++ {
		if c, end, ok := hexEscapeAt(r, i); ok {
			b.WriteRune(c)
			i = end
			continue
		}
		b.WriteRune(r[i])
	}
	return b.String()
}

// hexEscapeAt reads an escape "__0x<hex>__" starting at r[i]: the rune it
// stands for and the index of its last "_".
func hexEscapeAt(r []rune, i int) (rune, int, bool) {
	const start = "__0x"
	if len(r)-i < len(start) || string(r[i:i+len(start)]) != start {
		return 0, 0, false
	}
	j := i + len(start)
	k := j
	for k < len(r) && r[k] != '_' {
		k++
	}
	if k+1 >= len(r) || r[k+1] != '_' {
		return 0, 0, false
	}
	n, err := strconv.ParseInt(string(r[j:k]), 16, 32)
	if err != nil {
		return 0, 0, false
	}
	return rune(n), k + 1, true
}
