package bundle

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"unicode/utf8"
)

// entry is a regular file of the archive that Parse reads.
type entry struct {
	name string
	f    *zip.File
	data []byte
}

// readArchive opens the zip, checks every entry name and the limits, and
// returns the contents of the entries under the bundle root that Parse uses
// (sorted by name). Entries that are ignored (see classify) are not read.
func readArchive(data []byte, kind Kind, lim Limits) ([]*entry, error) {
	if len(data) == 0 {
		return nil, verr(ErrNotZip, "", "the bundle is empty")
	}
	if int64(len(data)) > lim.MaxArchiveBytes {
		return nil, verr(ErrTooLarge, "", "the archive is %d bytes; the limit is %d bytes", len(data), lim.MaxArchiveBytes)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // names are checked below
		return nil, verr(ErrNotZip, "", "the bundle is not a zip archive (%v)", err)
	}
	if len(zr.File) > lim.MaxFiles {
		return nil, verr(ErrTooLarge, "", "the archive has %d entries; the limit is %d", len(zr.File), lim.MaxFiles)
	}
	if len(zr.File) == 0 {
		return nil, verr(ErrInvalidBundle, "", "the archive contains no files (expected %s/)", kind.Root())
	}

	// Pass 1: names, types and layout of every entry; nothing is read yet.
	seen := make(map[string]string, len(zr.File)) // case-folded name → name
	var entries []*entry
	var declared uint64
	for _, f := range zr.File {
		name := f.Name
		if err := checkName(name); err != nil {
			return nil, err
		}
		key := strings.TrimSuffix(name, "/")
		folded := strings.ToLower(key)
		if prev, dup := seen[folded]; dup {
			if prev == key {
				return nil, verr(ErrInvalidBundle, name, "the archive contains this entry more than once")
			}
			// Extracted on a case-insensitive file system (macOS, Windows)
			// one would overwrite the other.
			return nil, verr(ErrInvalidBundle, name, "entry name differs only in case from %s", prev)
		}
		seen[folded] = key
		mode := f.Mode()
		if mode&fs.ModeSymlink != 0 {
			return nil, verr(ErrZipSlip, name, "symbolic links are not allowed in a bundle")
		}
		if mode.IsDir() || strings.HasSuffix(name, "/") {
			if err := classifyDir(name, kind); err != nil {
				return nil, err
			}
			continue
		}
		if !mode.IsRegular() {
			return nil, verr(ErrInvalidBundle, name, "special files (%v) are not allowed in a bundle", mode.Type())
		}
		use, err := classify(name, kind)
		if err != nil {
			return nil, err
		}
		if !use {
			continue
		}
		if f.Flags&0x1 != 0 {
			return nil, verr(ErrInvalidBundle, name, "encrypted entries are not supported")
		}
		if f.Method != zip.Store && f.Method != zip.Deflate {
			return nil, verr(ErrInvalidBundle, name, "unsupported compression method %d (use deflate or store)", f.Method)
		}
		if err := checkDeclaredSize(f, int64(len(data)), lim); err != nil {
			return nil, err
		}
		declared += f.UncompressedSize64
		if declared > uint64(lim.MaxUncompressedBytes) {
			return nil, verr(ErrTooLarge, "", "the bundle's files add up to more than %d bytes uncompressed", lim.MaxUncompressedBytes)
		}
		entries = append(entries, &entry{name: name, f: f})
	}
	if declared > RatioFloorBytes && declared/uint64(len(data)) > uint64(lim.MaxCompressionRatio) {
		return nil, verr(ErrZipBomb, "", "the archive expands from %d to %d bytes (more than %d:1)", len(data), declared, lim.MaxCompressionRatio)
	}

	// Pass 2: read, trusting the declared sizes only as upper bounds that
	// have been checked against the limits above.
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	for _, e := range entries {
		b, err := readEntry(e.f)
		if err != nil {
			return nil, err
		}
		e.data = b
	}
	return entries, nil
}

// checkDeclaredSize checks an entry's header sizes against the limits.
func checkDeclaredSize(f *zip.File, archiveSize int64, lim Limits) error {
	size := f.UncompressedSize64
	compressed := f.CompressedSize64
	if compressed > uint64(archiveSize) {
		compressed = uint64(archiveSize) // it cannot consume more than the archive
	}
	if compressed == 0 {
		compressed = 1
	}
	if size > RatioFloorBytes && size/compressed > uint64(lim.MaxCompressionRatio) {
		return verr(ErrZipBomb, f.Name, "expands from %d to %d bytes (more than %d:1)", f.CompressedSize64, size, lim.MaxCompressionRatio)
	}
	if size > uint64(lim.MaxFileBytes) {
		return verr(ErrTooLarge, f.Name, "is %d bytes uncompressed; the limit per file is %d bytes", size, lim.MaxFileBytes)
	}
	return nil
}

// readEntry reads exactly the declared number of bytes and verifies there is
// no more (archive/zip also refuses to read past the declared size) and that
// the checksum matches.
func readEntry(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, verr(ErrNotZip, f.Name, "cannot open entry: %v", err)
	}
	defer rc.Close()
	buf := make([]byte, f.UncompressedSize64) // bounded by checkDeclaredSize
	if _, err := io.ReadFull(rc, buf); err != nil {
		return nil, verr(ErrNotZip, f.Name, "corrupt entry: %v", err)
	}
	var probe [1]byte
	n, err := rc.Read(probe[:])
	for n == 0 && err == nil { // a reader may return 0, nil; try again
		n, err = rc.Read(probe[:])
	}
	switch {
	case n > 0 || errors.Is(err, zip.ErrFormat):
		return nil, verr(ErrZipBomb, f.Name, "decompresses to more than the %d bytes its header declares", f.UncompressedSize64)
	case err == io.EOF:
		return buf, nil
	default:
		return nil, verr(ErrNotZip, f.Name, "corrupt entry: %v", err)
	}
}

// Entry-name shape limits: a segment longer than a file system's
// NAME_MAX cannot be extracted anywhere, and no bundle nests folders
// anywhere near MaxNameDepth deep (apiproxy/resources/<type>/<file> is
// four).
const (
	MaxNameSegmentBytes = 255
	MaxNameDepth        = 32
)

// checkName rejects entry names that could escape an extraction directory or
// that different tools would interpret differently.
func checkName(name string) error {
	bad := func(why string) error { return verr(ErrZipSlip, quoteName(name), "%s", why) }
	switch {
	case name == "":
		return bad("empty entry name")
	case strings.ContainsRune(name, 0):
		return bad("entry name contains a NUL byte")
	case !utf8.ValidString(name):
		// Tools disagree on what such a name is (CP437, Latin-1, …).
		return bad("entry name is not valid UTF-8")
	case strings.ContainsRune(name, '\\'):
		return bad("entry name contains a backslash")
	case strings.HasPrefix(name, "/"):
		return bad("absolute entry name")
	case len(name) >= 2 && name[1] == ':' && isASCIILetter(name[0]):
		return bad("entry name starts with a drive letter")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return bad("entry name contains a control character")
		}
	}
	segs := strings.Split(strings.TrimSuffix(name, "/"), "/")
	for _, seg := range segs {
		if seg == ".." {
			return bad("entry name contains a \"..\" segment")
		}
		if len(seg) > MaxNameSegmentBytes {
			return bad(fmt.Sprintf("entry name has a segment of %d bytes; the limit is %d (a file name no file system takes)", len(seg), MaxNameSegmentBytes))
		}
	}
	if len(segs) > MaxNameDepth {
		return bad(fmt.Sprintf("entry name is nested %d levels deep; the limit is %d", len(segs), MaxNameDepth))
	}
	if path.Clean(name) != strings.TrimSuffix(name, "/") {
		return bad("entry name is not canonical (empty or \".\" segments)")
	}
	return nil
}

// quoteName makes a hostile name printable in an error message: control
// characters and bytes that are not UTF-8 become \xNN.
func quoteName(name string) string {
	var q []byte
	for i := 0; i < len(name); {
		r, size := utf8.DecodeRuneInString(name[i:])
		if r < 0x20 || r == 0x7f || r == utf8.RuneError && size == 1 {
			c := name[i]
			q = append(q, '\\', 'x', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		} else {
			q = append(q, name[i:i+size]...)
		}
		i += size
	}
	return string(q)
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// Folders of a bundle.
const (
	dirProxies     = "proxies"
	dirTargets     = "targets"
	dirPolicies    = "policies"
	dirSharedFlows = "sharedflows"
	dirResources   = "resources"
)

// isJunk reports whether a path is operating-system litter that is ignored
// wherever it appears: __MACOSX/ at the top, any file or folder whose name
// starts with "." (.DS_Store, ._AppleDouble, .git, .gitkeep …), Thumbs.db
// and desktop.ini.
func isJunk(p string) bool {
	segs := strings.Split(strings.TrimSuffix(p, "/"), "/")
	if segs[0] == "__MACOSX" {
		return true
	}
	for _, s := range segs {
		if strings.HasPrefix(s, ".") {
			return true
		}
	}
	switch segs[len(segs)-1] {
	case "Thumbs.db", "desktop.ini":
		return true
	}
	return false
}

// classifyDir checks a directory entry.
func classifyDir(name string, kind Kind) error {
	if isJunk(name) {
		return nil
	}
	first, _, _ := strings.Cut(strings.TrimSuffix(name, "/"), "/")
	if first != kind.Root() {
		return outsideRoot(name, kind)
	}
	return nil
}

// classify decides what to do with a regular file: use it (true), ignore it
// (false), or reject the bundle.
func classify(name string, kind Kind) (bool, error) {
	if isJunk(name) {
		return false, nil
	}
	root := kind.Root()
	rest, ok := strings.CutPrefix(name, root+"/")
	if !ok {
		return false, outsideRoot(name, kind)
	}
	segs := strings.Split(rest, "/")
	if len(segs) == 1 {
		// Top level: the manifest; other non-XML files are ignored.
		return strings.HasSuffix(rest, ".xml"), nil
	}
	switch dir := segs[0]; dir {
	case dirProxies, dirTargets, dirPolicies, dirSharedFlows:
		if kind == KindSharedFlow && (dir == dirProxies || dir == dirTargets) {
			return false, verr(ErrInvalidBundle, name, "a shared flow bundle cannot contain %s/", dir)
		}
		if kind == KindProxy && dir == dirSharedFlows {
			return false, verr(ErrInvalidBundle, name, "an API proxy bundle cannot contain %s/ (import it as a shared flow)", dir)
		}
		if len(segs) != 2 || !strings.HasSuffix(segs[1], ".xml") || segs[1] == ".xml" {
			return false, verr(ErrInvalidBundle, name, "unexpected file: %s/%s/ may only contain *.xml files", root, dir)
		}
		return true, nil
	case dirResources:
		if len(segs) < 3 || segs[1] == "" {
			return false, verr(ErrInvalidBundle, name, "resource files must be in %s/resources/<type>/ (e.g. resources/jsc/)", root)
		}
		return true, nil
	}
	// Other folders (manifests/, integration-endpoints/, tests/ …) are not
	// part of the runtime configuration and are ignored.
	return false, nil
}

func outsideRoot(name string, kind Kind) error {
	root := kind.Root()
	first, _, _ := strings.Cut(name, "/")
	other := KindSharedFlow
	if kind == KindSharedFlow {
		other = KindProxy
	}
	switch {
	case first == other.Root():
		return verr(ErrInvalidBundle, name, "this is %s (%s/), not %s (%s/)", other.article(), other.Root(), kind.article(), root)
	case strings.Contains("/"+name, "/"+root+"/"):
		return verr(ErrInvalidBundle, name, "%s/ must be at the top of the archive, not inside %s/", root, first)
	}
	return verr(ErrInvalidBundle, name, "entry outside %s/ (a bundle holds only the %s/ folder)", root, root)
}
