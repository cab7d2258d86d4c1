package config_test

import (
	"errors"
	"strings"
	"testing"

	"shop/internal/platform/config"
)

func TestParseS3URL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want config.S3
	}{
		{"s3://shop-files", config.S3{Bucket: "shop-files", Endpoint: "s3.amazonaws.com", Secure: true}},
		{"s3://shop-files/?region=eu-west-1", config.S3{Bucket: "shop-files", Region: "eu-west-1", Endpoint: "s3.amazonaws.com", Secure: true}},
		{"s3://shop?endpoint=http://minio:9000&region=us-east-1&use_path_style=true",
			config.S3{Bucket: "shop", Region: "us-east-1", Endpoint: "minio:9000", AddressStyle: config.AddressPath}},
		{"s3://shop?endpoint=https://s3.example.com/&s3ForcePathStyle=false",
			config.S3{Bucket: "shop", Endpoint: "s3.example.com", Secure: true, AddressStyle: config.AddressVirtualHost}},
		{"s3://shop?disable_https=true", config.S3{Bucket: "shop", Endpoint: "s3.amazonaws.com"}},
		{"s3://shop?anonymous=1&dualstack=true&accelerate=false",
			config.S3{Bucket: "shop", Endpoint: "s3.amazonaws.com", Secure: true, Anonymous: true, DualStack: true}},
		{"s3://shop?profile=prod&ssetype=aes256", config.S3{Bucket: "shop", Endpoint: "s3.amazonaws.com", Secure: true, Profile: "prod", SSE: "AES256"}},
		{"s3://shop?kmskeyid=alias/files", config.S3{Bucket: "shop", Endpoint: "s3.amazonaws.com", Secure: true, SSE: "aws:kms", KMSKeyID: "alias/files"}},
		{"s3://my.bucket-1?ssetype=aws:kms", config.S3{Bucket: "my.bucket-1", Endpoint: "s3.amazonaws.com", Secure: true, SSE: "aws:kms"}},
	} {
		got, err := config.ParseS3URL(tc.url)
		if err != nil || got != tc.want {
			t.Errorf("ParseS3URL(%q) = %+v, %v; want %+v", tc.url, got, err, tc.want)
		}
	}
}

func TestParseS3URLRefusesBadValues(t *testing.T) {
	for url, want := range map[string]string{
		"s3://":                                            "names no bucket",
		"s3://Shop":                                        `the bucket "Shop"`,
		"s3://ab":                                          `the bucket "ab"`,
		"s3://-shop":                                       `the bucket "-shop"`,
		"s3://shop..files":                                 `the bucket "shop..files"`,
		"s3://shop/files":                                  `the path "/files"`,
		"s3://key:secret@shop":                             "carries credentials",
		"file:///tmp":                                      `the scheme "file"`,
		"s3://shop?regoin=eu-west-1":                       `unknown parameter "regoin"`,
		"s3://shop?awssdk=v1":                              `unknown parameter "awssdk"`,
		"s3://shop?region=a&region=b":                      `repeats the parameter "region"`,
		"s3://shop?region=":                                `parameter "region" no value`,
		"s3://shop?use_path_style=maybe":                   `use_path_style="maybe": want true or false`,
		"s3://shop?disable_https=yes":                      `disable_https="yes": want true or false`,
		"s3://shop?anonymous=2":                            `anonymous="2"`,
		"s3://shop?dualstack=on":                           `dualstack="on"`,
		"s3://shop?accelerate=x":                           `accelerate="x"`,
		"s3://shop?endpoint=minio:9000":                    `endpoint="minio:9000": want the http or https URL of a host`,
		"s3://shop?endpoint=ftp://minio":                   `endpoint="ftp://minio"`,
		"s3://shop?endpoint=http://minio/s3":               `endpoint="http://minio/s3"`,
		"s3://shop?endpoint=http://u:p@minio":              `endpoint="http://u:p@minio"`,
		"s3://shop?ssetype=aws:kms:dsse":                   `ssetype="aws:kms:dsse": want AES256 or aws:kms`,
		"s3://shop?ssetype=AES256&kmskeyid=k":              "a KMS key needs ssetype=aws:kms",
		"s3://shop?use_path_style=1&s3ForcePathStyle=1":    "both use_path_style and s3ForcePathStyle",
		"s3://shop?anonymous=true&profile=p":               "both anonymous=true and profile",
		"s3://shop?endpoint=http://m:9000&dualstack=1":     "endpoint with dualstack or accelerate",
		"s3://shop?endpoint=http://m:9000&disable_https=1": "endpoint with disable_https",
		"s3://shop?a=%zz":                                  "malformed query",
	} {
		_, err := config.ParseS3URL(url)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseS3URL(%q) = %v, want an error with %q", url, err, want)
		}
	}
}

// TestLoadReportsBadS3URL: a bad s3:// BLOB_URL is a configuration problem
// that names the parameter and lists those accepted.
func TestLoadReportsBadS3URL(t *testing.T) {
	_, err := config.Load([]string{"DATABASE_URL=" + appURL, "BLOB_URL=s3://shop?region=eu-west-1&pathstyle=true"})
	var verr *config.ValidationError
	if !errors.As(err, &verr) || len(verr.Problems) != 1 || verr.Problems[0].Name != "BLOB_URL" {
		t.Fatalf("Load = %v, want one BLOB_URL problem", err)
	}
	for _, s := range []string{`unknown parameter "pathstyle"`, "use_path_style", "endpoint=", "kmskeyid"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message lacks %q:\n%s", s, err)
		}
	}
}

// FuzzParseS3URL: any text is either refused with an error or read into a
// location with a valid bucket and an endpoint host.
func FuzzParseS3URL(f *testing.F) {
	for _, s := range []string{
		"s3://shop?region=eu-west-1", "s3://shop?endpoint=http://minio:9000&use_path_style=true",
		"s3://shop?kmskeyid=k&ssetype=aws:kms", "s3://a.b?x=%", "s3://shop?endpoint=https://[::1]:9000",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		loc, err := config.ParseS3URL(raw)
		if err != nil {
			if err.Error() == "" {
				t.Errorf("ParseS3URL(%q): empty error", raw)
			}
			return
		}
		if len(loc.Bucket) < 3 || len(loc.Bucket) > 63 || strings.ToLower(loc.Bucket) != loc.Bucket || loc.Endpoint == "" ||
			strings.Contains(loc.Endpoint, "/") || (loc.KMSKeyID != "" && loc.SSE != "aws:kms") {
			t.Errorf("ParseS3URL(%q) = %+v", raw, loc)
		}
	})
}
