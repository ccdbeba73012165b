package main

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// makeArchive packs dir into out (.tar.gz or .zip by its name) under the top-level folder
// named like dir. Entries are sorted, owned by nobody and dated mtime, so the same files
// give the same archive.
func makeArchive(out, dir string, mtime time.Time) error {
	root := filepath.Base(dir)
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		} else if !d.IsDir() {
			return fmt.Errorf("%s: only regular files go into a release archive", p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	switch {
	case strings.HasSuffix(out, ".zip"):
		err = writeZip(f, dir, root, files, mtime)
	case strings.HasSuffix(out, ".tar.gz"):
		err = writeTarGz(f, dir, root, files, mtime)
	default:
		err = fmt.Errorf("%s: the archive name must end in .zip or .tar.gz", out)
	}
	if err != nil {
		return err
	}
	return f.Close()
}

func entryName(dir, root, p string) (string, error) {
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return "", err
	}
	return path.Join(root, filepath.ToSlash(rel)), nil
}

func writeTarGz(w io.Writer, dir, root string, files []string, mtime time.Time) error {
	gz := gzip.NewWriter(w)
	gz.ModTime = mtime
	tw := tar.NewWriter(gz)
	for _, p := range files {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		name, err := entryName(dir, root, p)
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: name, Mode: int64(fi.Mode().Perm()), Size: fi.Size(), ModTime: mtime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if err := copyFile(tw, p); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func writeZip(w io.Writer, dir, root string, files []string, mtime time.Time) error {
	zw := zip.NewWriter(w)
	for _, p := range files {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		name, err := entryName(dir, root, p)
		if err != nil {
			return err
		}
		hdr := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: mtime}
		hdr.SetMode(fi.Mode().Perm())
		zf, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		if err := copyFile(zf, p); err != nil {
			return err
		}
	}
	return zw.Close()
}

func copyFile(w io.Writer, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}
