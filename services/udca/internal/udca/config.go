package udca

import (
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/cpclient"
	"github.com/hybrid-emulator/hybrid/pkg/service"
)

// Config is UDCA's configuration.
type Config struct {
	service.Common `yaml:",inline"`
	Org            string          `yaml:"org" usage:"Apigee organization"`
	DataDir        string          `yaml:"dataDir" usage:"where dataset files are buffered before upload"`
	ControlPlane   cpclient.Config `yaml:"controlPlane"`
	// GRPCListen is the record intake message processors stream to.
	GRPCListen string       `yaml:"grpcListen" usage:"address of the record intake message processors stream to (gRPC; hybrid's port is 20001)"`
	Files      FilesConfig  `yaml:"files"`
	Upload     UploadConfig `yaml:"upload"`
}

// FilesConfig says when a buffer file is closed and queued for upload.
type FilesConfig struct {
	MaxBytes int64         `yaml:"maxBytes" usage:"roll a buffer file once this many bytes of records (uncompressed) are in it"`
	MaxAge   time.Duration `yaml:"maxAge" usage:"roll a buffer file this long after its first record"`
}

// UploadConfig is the upload and retry policy. The defaults are hybrid's
// UDCA's: a failed file is retried after 60 s and discarded after 3 failed
// retries.
type UploadConfig struct {
	RetryInterval time.Duration `yaml:"retryInterval" usage:"wait after a failed upload before the file is tried again"`
	MaxRetries    int           `yaml:"maxRetries" usage:"failed retries after which a file is given up (discarded, or kept in failed/ with keepFailed)"`
	KeepFailed    bool          `yaml:"keepFailed" usage:"keep a file given up in failed/ and re-queue it after the next successful upload, instead of discarding it as hybrid's UDCA does"`
	Timeout       time.Duration `yaml:"timeout" usage:"bound of one upload: the signed URL request and the PUT"`
}

// DefaultConfig is the local-mode configuration.
func DefaultConfig() Config {
	return Config{
		Common:       service.DefaultCommon("127.0.0.1:8846"),
		Org:          "hybrid",
		DataDir:      ".run/udca",
		ControlPlane: cpclient.DefaultConfig(),
		GRPCListen:   "127.0.0.1:20001",
		Files:        FilesConfig{MaxBytes: 8 << 20, MaxAge: 10 * time.Second},
		Upload:       UploadConfig{RetryInterval: 60 * time.Second, MaxRetries: 3, Timeout: 60 * time.Second},
	}
}
