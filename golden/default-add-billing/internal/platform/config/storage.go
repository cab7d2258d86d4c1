package config

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Blob configures object storage (package blob).
type Blob struct {
	URL        string        `env:"URL" envDefault:"file://./data/blobs?create_dir=true&no_tmp_dir=true" accepts:"file:///absolute/dir, file://./relative/dir or s3://bucket?region=R[&endpoint=URL&use_path_style=true]" desc:"Where file contents are stored: a directory (file://, for local runs) or an S3 bucket (s3://; MinIO with endpoint= and use_path_style=true; credentials from the AWS_* variables or the platform's role, see ADR 0007)."`
	SigningKey string        `env:"SIGNING_KEY" envDefault:"" secret:"true" accepts:"at least 32 characters of random text" desc:"Secret that signs download links of file:// storage; required in production. Unset elsewhere, each process draws a random one, so links die with it."`
	URLExpiry  time.Duration `env:"URL_EXPIRY" envDefault:"15m" desc:"How long a signed download link stays valid."`
}

// Upload configures file uploads (package files).
type Upload struct {
	MaxBytes     int64  `env:"MAX_BYTES" envDefault:"10485760" desc:"Largest file an upload may carry, in bytes; a larger one is refused with 413 and nothing is stored."`
	ContentTypes string `env:"CONTENT_TYPES" envDefault:"image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,text/csv,application/json" accepts:"comma-separated media types" desc:"Media types an upload may declare; the first bytes must agree with the declared type."`
}

// FileStorage reports whether the blob URL names a local directory.
func (b Blob) FileStorage() bool { return strings.HasPrefix(b.URL, "file://") }

// AllowedContentTypes returns UPLOAD_CONTENT_TYPES as a list.
func (u Upload) AllowedContentTypes() []string {
	var out []string
	for t := range strings.SplitSeq(u.ContentTypes, ",") {
		if t = strings.ToLower(strings.TrimSpace(t)); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// minSigningKey is the shortest BLOB_SIGNING_KEY accepted: an HMAC-SHA256
// key should carry at least 256 bits.
const minSigningKey = 32

// storageProblems reports invalid object storage and upload settings.
func storageProblems(env Environment, b Blob, u Upload, values map[string]string) []Problem {
	var problems []Problem
	add := func(name, reason, accepted string) {
		v, set := values[name]
		problems = append(problems, Problem{Name: name, Value: v, Set: set, Reason: reason, Accepted: accepted})
	}
	const urlAccepted = "file:///absolute/dir, file://./relative/dir or s3://bucket?region=R"
	switch parsed, err := url.Parse(b.URL); {
	case err != nil:
		add("BLOB_URL", "is not a URL", urlAccepted)
	case parsed.Scheme != "file" && parsed.Scheme != "s3":
		add("BLOB_URL", "must use the file or s3 scheme", urlAccepted)
	case parsed.Scheme == "file" && parsed.Path == "":
		add("BLOB_URL", "names no directory", urlAccepted)
	case parsed.Scheme == "s3":
		if _, err := ParseS3URL(b.URL); err != nil {
			add("BLOB_URL", err.Error(), s3Accepted)
		}
	}
	switch {
	case b.SigningKey != "" && len(b.SigningKey) < minSigningKey:
		add("BLOB_SIGNING_KEY", "is too short", "at least 32 characters of random text")
	case b.SigningKey == "" && env == Production && b.FileStorage():
		add("BLOB_SIGNING_KEY", "is required in production with file:// storage", "at least 32 characters of random text")
	}
	if b.URLExpiry <= 0 || b.URLExpiry > 7*24*time.Hour {
		add("BLOB_URL_EXPIRY", "must be positive and at most 7 days (the longest an S3 signature lives)", "a duration such as 15m")
	}
	if u.MaxBytes < 1 {
		add("UPLOAD_MAX_BYTES", "must be at least 1", "a positive number of bytes")
	}
	if len(u.AllowedContentTypes()) == 0 {
		add("UPLOAD_CONTENT_TYPES", "must name at least one media type", "comma-separated media types such as image/png,application/pdf")
	}
	return problems
}

// s3Accepted is what an s3:// BLOB_URL may say.
const s3Accepted = "s3://bucket?region=R with the optional parameters " + s3Params

// s3Params are the query parameters of an s3:// BLOB_URL.
const s3Params = "endpoint=http(s)://host[:port], use_path_style (or s3ForcePathStyle)=true|false, " +
	"disable_https=true|false, anonymous=true|false, profile=NAME, dualstack=true|false, " +
	"accelerate=true|false, ssetype=AES256|aws:kms, kmskeyid=ID"

// AddressStyle is how requests name the bucket: in the path
// (endpoint/bucket/key) or in the host name (bucket.endpoint/key).
type AddressStyle int

const (
	// AddressAuto names the bucket in the host on AWS and in the path on
	// any other endpoint (MinIO and most S3-compatible stores).
	AddressAuto AddressStyle = iota
	// AddressPath is use_path_style=true.
	AddressPath
	// AddressVirtualHost is use_path_style=false.
	AddressVirtualHost
)

// S3 is where an s3:// BLOB_URL points and how to reach it.
type S3 struct {
	Bucket string
	// Region is empty when the URL names none: the driver then takes
	// AWS_REGION or AWS_DEFAULT_REGION, or asks the bucket.
	Region string
	// Endpoint is host[:port]; s3.amazonaws.com unless endpoint= names one.
	Endpoint string
	// Secure is HTTPS: an https endpoint, or the default one without
	// disable_https=true.
	Secure       bool
	AddressStyle AddressStyle
	// Anonymous sends unsigned requests (a public bucket).
	Anonymous bool
	// Profile names the section of the shared credentials file.
	Profile    string
	DualStack  bool
	Accelerate bool
	// SSE is the server-side encryption of written objects: "", "AES256" or
	// "aws:kms" (with KMSKeyID, or the bucket's default KMS key).
	SSE      string
	KMSKeyID string
}

// awsEndpoint is the endpoint of an s3:// URL without endpoint=.
const awsEndpoint = "s3.amazonaws.com"

// ParseS3URL reads an s3:// BLOB_URL. An unknown, repeated or empty
// parameter, or a value a parameter does not take, is an error naming it.
func ParseS3URL(raw string) (S3, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return S3{}, errors.New("is not a URL")
	case u.Scheme != "s3":
		return S3{}, fmt.Errorf("has the scheme %q, not s3", u.Scheme)
	case u.User != nil:
		return S3{}, errors.New("carries credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead")
	case u.Host == "":
		return S3{}, errors.New("names no bucket")
	case u.Path != "" && u.Path != "/":
		return S3{}, fmt.Errorf("has the path %q after the bucket; a bucket URL has none", u.Path)
	case u.Fragment != "":
		return S3{}, fmt.Errorf("has the fragment %q; a bucket URL has none", u.Fragment)
	}
	if err := checkBucketName(u.Host); err != nil {
		return S3{}, err
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return S3{}, fmt.Errorf("has a malformed query: %w", err)
	}
	s := S3{Bucket: u.Host, Endpoint: awsEndpoint, Secure: true}
	var endpointSet, pathStyleSet, disableHTTPS bool
	for name, values := range q {
		if len(values) != 1 {
			return S3{}, fmt.Errorf("repeats the parameter %q", name)
		}
		v := values[0]
		if v == "" {
			return S3{}, fmt.Errorf("gives the parameter %q no value", name)
		}
		var bad error
		switch name {
		case "region":
			s.Region = v
		case "endpoint":
			endpointSet = true
			s.Endpoint, s.Secure, bad = parseEndpoint(v)
		case "use_path_style", "s3ForcePathStyle":
			if pathStyleSet {
				return S3{}, errors.New("sets both use_path_style and s3ForcePathStyle; use use_path_style alone")
			}
			pathStyleSet = true
			var path bool
			if path, bad = parseBool(v); path {
				s.AddressStyle = AddressPath
			} else {
				s.AddressStyle = AddressVirtualHost
			}
		case "disable_https":
			disableHTTPS, bad = parseBool(v)
		case "anonymous":
			s.Anonymous, bad = parseBool(v)
		case "profile":
			s.Profile = v
		case "dualstack":
			s.DualStack, bad = parseBool(v)
		case "accelerate":
			s.Accelerate, bad = parseBool(v)
		case "ssetype":
			switch {
			case strings.EqualFold(v, "AES256"):
				s.SSE = "AES256"
			case strings.EqualFold(v, "aws:kms"):
				s.SSE = "aws:kms"
			default:
				bad = errors.New("want AES256 or aws:kms")
			}
		case "kmskeyid":
			s.KMSKeyID = v
		default:
			return S3{}, fmt.Errorf("has the unknown parameter %q", name)
		}
		if bad != nil {
			return S3{}, fmt.Errorf("has %s=%q: %w", name, v, bad)
		}
	}
	switch {
	case s.KMSKeyID != "" && s.SSE == "":
		s.SSE = "aws:kms"
	case s.KMSKeyID != "" && s.SSE != "aws:kms":
		return S3{}, fmt.Errorf("has kmskeyid with ssetype=%s; a KMS key needs ssetype=aws:kms", s.SSE)
	case s.Anonymous && s.Profile != "":
		return S3{}, errors.New("sets both anonymous=true and profile; an anonymous client reads no credentials")
	case endpointSet && (s.DualStack || s.Accelerate):
		return S3{}, errors.New("sets endpoint with dualstack or accelerate, which choose AWS's endpoint")
	case endpointSet && disableHTTPS:
		return S3{}, errors.New("sets endpoint with disable_https; the endpoint's scheme (http or https) says it")
	case disableHTTPS:
		s.Secure = false
	}
	return s, nil
}

// parseEndpoint reads endpoint=: an http or https URL of a host, with no
// path. It returns host[:port] and whether the scheme is https.
func parseEndpoint(v string) (host string, secure bool, err error) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", false, errors.New("want the http or https URL of a host, such as http://minio:9000")
	}
	return u.Host, u.Scheme == "https", nil
}

// parseBool reads a boolean parameter.
func parseBool(v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errors.New("want true or false")
	}
	return b, nil
}

// checkBucketName applies S3's rules for bucket names: 3 to 63 lower-case
// letters, digits, dots and hyphens, starting and ending with a letter or a
// digit.
func checkBucketName(name string) error {
	ok := len(name) >= 3 && len(name) <= 63
	for i, c := range name {
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		inner := c == '.' || c == '-'
		if !alnum && (!inner || i == 0 || i == len(name)-1) {
			ok = false
		}
	}
	if !ok || strings.Contains(name, "..") {
		return fmt.Errorf("names the bucket %q; a bucket name is 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit", name)
	}
	return nil
}
