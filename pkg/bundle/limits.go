package bundle

// Limits bound the resources Parse may spend on one archive. A zero (or
// negative) field takes its value from DefaultLimits.
type Limits struct {
	// MaxArchiveBytes bounds the size of the zip itself (checked before
	// anything is read).
	MaxArchiveBytes int64
	// MaxUncompressedBytes bounds the sum of the uncompressed sizes of the
	// entries Parse reads.
	MaxUncompressedBytes int64
	// MaxFiles bounds the number of entries in the archive (directories and
	// ignored junk included: they all cost a central-directory record).
	MaxFiles int
	// MaxFileBytes bounds the uncompressed size of any single entry.
	MaxFileBytes int64
	// MaxCompressionRatio bounds uncompressed/compressed size of an entry
	// and of the whole archive. It is only applied once the uncompressed
	// size exceeds RatioFloorBytes, so small, very regular files are fine.
	MaxCompressionRatio int
}

// RatioFloorBytes is the uncompressed size below which the compression ratio
// is not checked: a 1 MiB entry cannot hurt anybody whatever its ratio.
const RatioFloorBytes = 1 << 20

// DefaultLimits returns the limits used for zero fields: 15 MiB archive
// (Apigee's bundle size limit), 64 MiB uncompressed in total, 2000 entries,
// 10 MiB per entry and a compression ratio of 200.
func DefaultLimits() Limits {
	return Limits{
		MaxArchiveBytes:      15 << 20,
		MaxUncompressedBytes: 64 << 20,
		MaxFiles:             2000,
		MaxFileBytes:         10 << 20,
		MaxCompressionRatio:  200,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxArchiveBytes <= 0 {
		l.MaxArchiveBytes = d.MaxArchiveBytes
	}
	if l.MaxUncompressedBytes <= 0 {
		l.MaxUncompressedBytes = d.MaxUncompressedBytes
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = d.MaxFiles
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = d.MaxFileBytes
	}
	if l.MaxCompressionRatio <= 0 {
		l.MaxCompressionRatio = d.MaxCompressionRatio
	}
	return l
}

// Options configure ParseWithOptions.
type Options struct {
	Limits Limits
	// ResourceExists, when set, is asked about resource URLs (for example
	// "jsc://common.js") that a policy references but the bundle does not
	// contain, so that environment- or organization-scoped resource files
	// can satisfy the reference. Returning true accepts the reference.
	// When nil, every referenced resource must be in the bundle.
	ResourceExists func(resourceURL string) bool
}
