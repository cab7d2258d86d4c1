package config

// Redis configures the connection to Redis, which holds the job queue.
type Redis struct {
	URL string `env:"URL" envDefault:"redis://127.0.0.1:6379/0" secret:"true" accepts:"redis://[user:password@]host:port/db or rediss:// for TLS" desc:"Redis URL of the job queue (Asynq)."`
}
