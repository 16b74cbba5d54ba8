package bundle

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FromPath returns the zip of a bundle given as a zip file or as a folder
// holding apiproxy/ or sharedflowbundle/ (or being one), with its kind and
// the name its root XML file gives it.
func FromPath(path string) (data []byte, kind Kind, name string, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, 0, "", err
	}
	if !st.IsDir() {
		data, err = os.ReadFile(path)
		if err != nil {
			return nil, 0, "", err
		}
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return nil, 0, "", fmt.Errorf("%s: not a zip: %w", path, err)
		}
		for _, f := range zr.File {
			root, rest, _ := strings.Cut(f.Name, "/")
			if !strings.Contains(rest, "/") && strings.HasSuffix(rest, ".xml") && (root == "apiproxy" || root == "sharedflowbundle") {
				return data, kindOf(root), strings.TrimSuffix(rest, ".xml"), nil
			}
		}
		return nil, 0, "", fmt.Errorf("%s: no apiproxy/<name>.xml or sharedflowbundle/<name>.xml in the zip", path)
	}
	dir := path
	root := ""
	for _, r := range []string{"apiproxy", "sharedflowbundle"} {
		if filepath.Base(filepath.Clean(path)) == r {
			dir, root = filepath.Dir(filepath.Clean(path)), r
		} else if fi, err := os.Stat(filepath.Join(path, r)); err == nil && fi.IsDir() {
			root = r
		}
		if root != "" {
			break
		}
	}
	if root == "" {
		return nil, 0, "", fmt.Errorf("%s: no apiproxy/ or sharedflowbundle/ folder", path)
	}
	xmls, _ := filepath.Glob(filepath.Join(dir, root, "*.xml"))
	if len(xmls) != 1 {
		return nil, 0, "", fmt.Errorf("%s/%s: want exactly one <name>.xml, found %d", dir, root, len(xmls))
	}
	name = strings.TrimSuffix(filepath.Base(xmls[0]), ".xml")
	data, err = ZipFS(os.DirFS(dir), root, root)
	if err != nil {
		return nil, 0, "", fmt.Errorf("%s: %w", dir, err)
	}
	return data, kindOf(root), name, nil
}

// ZipFS zips the files under dir in fsys as a bundle whose root folder is
// root (apiproxy or sharedflowbundle): dir/x becomes root/x.
func ZipFS(fsys fs.FS, dir, root string) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: only regular files go into a bundle", p)
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		w, err := zw.Create(root + strings.TrimPrefix(p, dir))
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	})
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func kindOf(root string) Kind {
	if root == KindSharedFlow.Root() {
		return KindSharedFlow
	}
	return KindProxy
}
