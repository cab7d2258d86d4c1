package config

import (
	"net/url"
	"strings"
	"time"
)

// Blob configures object storage (package blob).
type Blob struct {
	URL        string        `env:"URL" envDefault:"file://./data/blobs?create_dir=true&no_tmp_dir=true" accepts:"file:///absolute/dir, file://./relative/dir or s3://bucket?region=R[&endpoint=URL&use_path_style=true]" desc:"Where file contents are stored: a directory (file://, for local runs) or an S3 bucket (s3://; MinIO with endpoint= and use_path_style=true; credentials from the AWS_* variables)."`
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
	case parsed.Scheme == "s3" && parsed.Host == "":
		add("BLOB_URL", "names no bucket", urlAccepted)
	case parsed.Scheme == "file" && parsed.Path == "":
		add("BLOB_URL", "names no directory", urlAccepted)
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
